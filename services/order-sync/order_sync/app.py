"""Wiring of the order-sync service. Start: ``faststream run order_sync.app:create_app --factory``."""

from __future__ import annotations

import asyncio

from faststream.asgi import AsgiFastStream

from plumbing.client import OmsClientPool
from plumbing.service import ServiceRuntime, create_service_app
from plumbing.settings import ServiceSettings

from .handlers import build_routers
from .intake import create_intake
from .order_events import sweep_parked
from .resources import Resources, resources
from .scopes import ScopeDirectory
from .store import ensure_indexes

SERVICE = "order-sync"
#: Requests to the customer service in flight at once per worker (one connection each).
CUSTOMER_CLIENTS = 8


async def open_clients(runtime: ServiceRuntime) -> None:
    pool = OmsClientPool(runtime.settings, size=CUSTOMER_CLIENTS, producer=SERVICE)
    await pool.start()
    runtime.resources[SERVICE] = Resources(
        customers=pool,
        scopes=ScopeDirectory(pool),
        intake=create_intake(runtime),
        sweeper=asyncio.create_task(sweep_parked(runtime), name="parked-events-sweeper"),
    )


async def close_clients(runtime: ServiceRuntime) -> None:
    if SERVICE in runtime.resources:
        held = resources(runtime)
        held.sweeper.cancel()
        await asyncio.gather(held.sweeper, return_exceptions=True)
        await held.customers.close()


def create_app(settings: ServiceSettings | None = None) -> AsgiFastStream:
    return create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[ensure_indexes, open_clients],
        on_shutdown=[close_clients],
        description="Takes the orders that storefronts publish and ties each to a customer.",
    )
