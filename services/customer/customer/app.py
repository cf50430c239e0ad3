"""Wiring of the customer service. Start: ``faststream run customer.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitRouter

from plumbing.runtime import CommandTable, ServiceRuntime, on_command
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from .accounts import handlers as accounts
from .accounts import links as account_links
from .accounts import store as account_store
from .history import handlers as history
from .history import store as history_store
from .merges import handlers as merges
from .merges import store as merge_store
from .privacy import data_requests
from .privacy import handlers as privacy
from .privacy import store as privacy_store
from .records import handlers as records
from .records import store as record_store
from .relations import groups, organizations
from .relations import store as relations_store
from .settings import CustomerSettings

SERVICE = "customer"

#: The one command table: every capability's handlers, on the service's one command queue.
COMMANDS: CommandTable = {
    **records.HANDLERS,
    **accounts.HANDLERS,
    **organizations.HANDLERS,
    **groups.HANDLERS,
    **merges.HANDLERS,
    **privacy.HANDLERS,
    **data_requests.HANDLERS,
    **history.COMMANDS,
}


def build_routers(runtime: ServiceRuntime[CustomerSettings]) -> list[RabbitRouter]:
    for command, handler in COMMANDS.items():
        on_command(runtime, command, handler)
    return history.build_routers(runtime)  # the history's event subscriptions


def create_app(settings: ServiceSettings | None = None) -> AsgiFastStream:
    if not isinstance(settings, CustomerSettings):
        settings = CustomerSettings(**(settings.model_dump() if settings else {}))
    other_services = privacy.other_services(settings, SERVICE)

    def dependencies(runtime: ServiceRuntime[CustomerSettings]) -> dict[str, object]:
        """What the handlers declare besides the runtime (``Injected``), built once."""
        return {
            "accounts": account_links.accounts(runtime),
            "order-news": history.order_news_batcher(runtime),
            "other-services": other_services,
        }

    return create_service_app(
        SERVICE,
        settings,
        build_routers,
        on_startup=[
            account_links.require_link_key,
            record_store.ensure_indexes,
            account_store.ensure_indexes,
            history_store.ensure_indexes,
            relations_store.ensure_indexes,
            merge_store.ensure_indexes,
            privacy_store.ensure_indexes,
            lambda runtime: other_services.start(),
        ],
        on_shutdown=[lambda runtime: other_services.close()],
        dependencies=dependencies,
        description="Customer records: create, find, read, correct, merge, enable and disable.",
    )
