"""Wiring of the customer service. Start: ``faststream run customer.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitRouter

from plumbing.service import ServiceRuntime, create_service_app
from plumbing.settings import ServiceSettings

from . import (
    account_handlers,
    account_store,
    handlers,
    history,
    history_store,
    merge_store,
    privacy,
    relations_store,
    store,
)
from .settings import CustomerSettings

SERVICE = "customer"


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    return [*handlers.build_routers(runtime), *history.build_routers(runtime)]


def create_app(settings: ServiceSettings | None = None) -> AsgiFastStream:
    if not isinstance(settings, CustomerSettings):
        settings = CustomerSettings(**(settings.model_dump() if settings else {}))
    return create_service_app(
        SERVICE,
        settings,
        build_routers,
        on_startup=[
            account_handlers.open_accounts,
            store.ensure_indexes,
            account_store.ensure_indexes,
            history_store.ensure_indexes,
            relations_store.ensure_indexes,
            merge_store.ensure_indexes,
            privacy.open_clients,
        ],
        on_shutdown=[privacy.close_clients],
        description="Customer records: create, find, read, correct, merge, enable and disable.",
    )
