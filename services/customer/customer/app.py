"""Wiring of the customer service. Start: ``faststream run customer.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from .handlers import build_routers
from .store import ensure_indexes

SERVICE = "customer"


def create_app(settings: ServiceSettings | None = None) -> AsgiFastStream:
    return create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[ensure_indexes],
        description="Customer records: create, find, read, correct, merge, enable and disable.",
    )
