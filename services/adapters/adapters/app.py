"""Wiring of the adapters. Start: ``faststream run adapters.app:create_app --factory --port 8084``.

Webhooks: ``POST /webhooks/shopify``, ``/webhooks/commercetools``, ``/webhooks/saleor``,
``/webhooks/medusa``; queues ``<ns>.adapters.<platform>`` (handlers.py).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from .handlers import PLATFORM_ADAPTERS, SERVICE, Adapters, build_routers, close_clients, open_clients, webhook
from .settings import AdapterSettings
from .signatures import Verifier


def create_app(settings: ServiceSettings | None = None, adapter_settings: AdapterSettings | None = None) -> AsgiFastStream:
    adapter_settings = adapter_settings or AdapterSettings()
    app = create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[open_clients],
        on_shutdown=[close_clients],
        description="Takes orders as Shopify, commercetools, Saleor and Medusa publish them (O8).",
    )
    runtime = app.context.get("runtime")
    runtime.resources[SERVICE] = Adapters(settings=adapter_settings, verifier=Verifier(adapter_settings))
    for platform in PLATFORM_ADAPTERS.values():
        app.mount(f"/webhooks/{platform.name}", webhook(runtime, platform))
    return app
