"""The notification service follows merges (C13): B's email activities move to the survivor A
and back.

Each activity a merge moves keeps its origin in ``merged_from`` (merge id and B's code); the
unmerge moves exactly those back, and order-sync's ``OrdersReassigned`` brings back the
emails of orders that went to A since the merge but were B's. Events arrive on one queue,
``<ns>.notification.merges``; each is applied once (inbox), and an unmerge that overtakes
its merge waits for it (retried with back-off).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.rabbit import RabbitQueue, RabbitRouter

from contracts.customer.merges import CustomersMerged, CustomersUnmerged, OrdersReassigned
from contracts.envelope import Event
from plumbing.errors import ArrivedEarly
from plumbing.messaging import events_exchange, routed_as, work_queue
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store

MERGES_QUEUE = "merges"
EVENTS: tuple[type[Event[Any]], ...] = (CustomersMerged, CustomersUnmerged, OrdersReassigned)


async def customers_merged(message: CustomersMerged, runtime: Runtime) -> None:
    p = message.payload

    async def work(uow: UnitOfWork) -> None:
        await store.move_to_survivor(uow, merge_id=p.merge_id, merged_code=p.merged_code, survivor_code=p.survivor_code)

    await apply_once(runtime, message, work)


async def customers_unmerged(message: CustomersUnmerged, runtime: Runtime) -> None:
    p = message.payload

    async def work(uow: UnitOfWork) -> None:
        if not await store.merge_applied(uow, p.merge_id):
            raise ArrivedEarly(f"merge {p.merge_id} is not applied yet")
        await store.move_back_merged(uow, merge_id=p.merge_id, merged_code=p.merged_code)

    await apply_once(runtime, message, work)


async def orders_reassigned(message: OrdersReassigned, runtime: Runtime) -> None:
    p = message.payload

    async def work(uow: UnitOfWork) -> None:
        await store.reassign_order_activities(uow, from_code=p.from_code, to_code=p.to_code, orders=p.orders)

    if p.orders:
        await apply_once(runtime, message, work)


def merges_queue(runtime: ServiceRuntime) -> RabbitQueue:
    return work_queue(
        runtime.settings.topology,
        runtime.name,
        MERGES_QUEUE,
        binding=EVENTS[0].routing_key(),
        max_attempts=runtime.settings.max_attempts,
    )


async def bind_merges_queue(runtime: ServiceRuntime) -> None:
    """Startup hook: FastStream binds a queue with one routing key; the others are bound here."""
    queue = await runtime.broker.declare_queue(merges_queue(runtime))
    exchange = await runtime.broker.declare_exchange(events_exchange(runtime.settings.topology))
    for event in EVENTS:
        await queue.bind(exchange, routing_key=event.routing_key())


def build_router(runtime: ServiceRuntime) -> RabbitRouter:
    router = RabbitRouter()
    keys = ", ".join(event.routing_key() for event in EVENTS)
    merges = router.subscriber(
        merges_queue(runtime),
        events_exchange(runtime.settings.topology),
        title=f"{runtime.name}.{MERGES_QUEUE}",
        description=f"Merges and unmerges: email activities follow the customer. Bound by routing key: {keys}.",
    )
    handlers: tuple[Callable[..., Awaitable[None]], ...] = (customers_merged, customers_unmerged, orders_reassigned)
    for event, handler in zip(EVENTS, handlers, strict=True):
        merges(filter=routed_as(event.routing_key()))(handler)
    return router
