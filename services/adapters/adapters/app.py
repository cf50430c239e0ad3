"""Wiring of the adapters. Start: ``faststream run adapters.app:create_app --factory --port 8084``.

Webhooks: ``POST /webhooks/shopify``, ``/webhooks/commercetools``, ``/webhooks/saleor``,
``/webhooks/medusa``, ``/webhooks/woocommerce``, ``/webhooks/bigcommerce``,
``/webhooks/magento`` (Adobe Commerce / Magento 2, through a signing module or relay),
``/webhooks/shopware`` (Shopware 6 app webhooks); queues ``<ns>.adapters.<platform>`` bound
``platform.<platform>.#`` on ``<ns>.upstream`` (handlers.py), the only way in for the polled
marketplaces (eBay, Amazon: a poller publishes their Order objects, ``platform.ebay.order``).
"""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.client import OmsClientPool
from plumbing.runtime import ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from .bigcommerce_client import HttpBigCommerceOrders
from .handlers import PLATFORM_ADAPTERS, SERVICE, Adapters, build_routers, ignored_counter, redact_dead_letter, webhook
from .settings import AdapterSettings
from .signatures import Verifier


def create_app(
    settings: ServiceSettings | None = None, adapter_settings: AdapterSettings | None = None
) -> AsgiFastStream:
    adapter_settings = adapter_settings or AdapterSettings()
    settings = settings or ServiceSettings()
    bigcommerce = None
    if adapter_settings.bigcommerce_store_hash and adapter_settings.bigcommerce_access_token:
        bigcommerce = HttpBigCommerceOrders(
            adapter_settings.bigcommerce_store_hash,
            adapter_settings.bigcommerce_access_token.get_secret_value(),
            api_url=adapter_settings.bigcommerce_api_url,
            timeout=adapter_settings.bigcommerce_timeout,
        )

    async def start(runtime: ServiceRuntime) -> None:
        await adapters.start()

    async def stop(runtime: ServiceRuntime) -> None:
        await adapters.close()

    app = create_service_app(
        SERVICE,
        settings,
        build_routers,
        on_startup=[start],
        on_shutdown=[stop],
        description="Takes orders as Shopify, commercetools, Saleor, Medusa, WooCommerce, BigCommerce, "
        "Adobe Commerce (Magento 2) and Shopware 6 publish them (O8).",
    )
    runtime: ServiceRuntime = app.context.get("runtime")
    # C18: whatever fails on the broker route, a customer or compliance topic's dead letter
    # keeps its ids only.
    runtime.dead_letters.redactors.append(redact_dead_letter)
    # Built with the runtime (its counter is on the runtime's registry), before the app starts.
    adapters = Adapters(
        settings=adapter_settings,
        verifier=Verifier(adapter_settings),
        clients=OmsClientPool(settings, size=2, producer=SERVICE),
        ignored=ignored_counter(runtime),
        bigcommerce=bigcommerce,
    )
    app.context.set_global("adapters", adapters)  # the broker consumers' AdaptersOf
    for platform in (p for p in PLATFORM_ADAPTERS.values() if p.webhook):
        app.mount(f"/webhooks/{platform.name}", webhook(runtime, adapters, platform))
    return app
