"""Wiring of the adapters. Start: ``faststream run adapters.app:create_app --factory --port 8084``.

Webhooks: ``POST /webhooks/shopify``, ``/webhooks/commercetools``, ``/webhooks/saleor``,
``/webhooks/medusa``, ``/webhooks/woocommerce``, ``/webhooks/bigcommerce``; queues
``<ns>.adapters.<platform>`` (handlers.py).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from .bigcommerce_client import HttpBigCommerceOrders
from .handlers import (
    PLATFORM_ADAPTERS,
    SERVICE,
    Adapters,
    build_routers,
    close_clients,
    ignored_counter,
    open_clients,
    redact_dead_letter,
    webhook,
)
from .settings import AdapterSettings
from .signatures import Verifier


def create_app(
    settings: ServiceSettings | None = None, adapter_settings: AdapterSettings | None = None
) -> AsgiFastStream:
    adapter_settings = adapter_settings or AdapterSettings()
    app = create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[open_clients],
        on_shutdown=[close_clients],
        description="Takes orders as Shopify, commercetools, Saleor, Medusa, WooCommerce and BigCommerce publish them (O8).",
    )
    runtime = app.context.get("runtime")
    bigcommerce = None
    if adapter_settings.bigcommerce_store_hash and adapter_settings.bigcommerce_access_token:
        bigcommerce = HttpBigCommerceOrders(
            adapter_settings.bigcommerce_store_hash,
            adapter_settings.bigcommerce_access_token.get_secret_value(),
            api_url=adapter_settings.bigcommerce_api_url,
            timeout=adapter_settings.bigcommerce_timeout,
        )
    runtime.resources[SERVICE] = Adapters(
        settings=adapter_settings,
        verifier=Verifier(adapter_settings),
        bigcommerce=bigcommerce,
        ignored=ignored_counter(runtime),
    )
    # C18: whatever fails on the broker route, a customer or compliance topic's dead letter
    # keeps its ids only.
    runtime.dead_letters.redactors.append(redact_dead_letter)
    for platform in PLATFORM_ADAPTERS.values():
        app.mount(f"/webhooks/{platform.name}", webhook(runtime, platform))
    return app
