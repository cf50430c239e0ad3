"""Wiring of the order-sync service. Start: ``faststream run order_sync.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.runtime import ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from .handlers import build_routers, new_records_batcher
from .intake import create_intake
from .order_events import ParkedSweeper
from .reindexing import Reindexer
from .resources import CustomerService
from .store import ensure_indexes

SERVICE = "order-sync"


def create_app(settings: ServiceSettings | None = None) -> AsgiFastStream:
    settings = settings or ServiceSettings()
    customers = CustomerService.of(settings, SERVICE)
    sweeper = ParkedSweeper()
    reindexer = Reindexer()

    def dependencies(runtime: ServiceRuntime) -> dict[str, object]:
        """What the handlers declare besides the runtime (``Injected``), built once."""
        return {
            "customer-service": customers,
            "intake": create_intake(runtime, customers),
            "new-records": new_records_batcher(runtime),
        }

    async def start(runtime: ServiceRuntime) -> None:
        await customers.clients.start()
        sweeper.start(runtime)
        reindexer.start(runtime)

    async def stop(runtime: ServiceRuntime) -> None:
        await sweeper.stop()
        await reindexer.stop()
        await customers.clients.close()

    return create_service_app(
        SERVICE,
        settings,
        build_routers,
        on_startup=[ensure_indexes, start],
        on_shutdown=[stop],
        dependencies=dependencies,
        description="Takes the orders that storefronts publish and ties each to a customer.",
    )
