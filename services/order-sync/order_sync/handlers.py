"""Messages in and out of the order-sync service."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter

from contracts.orders import OrderPlaced
from plumbing.messaging import routed_as, upstream_exchange, work_queue
from plumbing.service import Runtime, ServiceRuntime

from . import store

UPSTREAM_QUEUE = "upstream-orders"


async def order_placed(message: OrderPlaced, runtime: Runtime) -> None:
    """Record the order as received (matching comes with step 6)."""
    await store.record_received(runtime.db, message)


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    topology = runtime.settings.topology
    router = RabbitRouter()
    upstream = router.subscriber(
        work_queue(
            topology,
            runtime.name,
            UPSTREAM_QUEUE,
            binding="order.#",
            max_attempts=runtime.settings.max_attempts,
        ),
        upstream_exchange(topology),
        title=f"{runtime.name}.upstream-orders",
        description="Orders and order events published by upstream commerce systems.",
    )
    upstream(filter=routed_as(OrderPlaced.routing_key()))(order_placed)
    return [router]
