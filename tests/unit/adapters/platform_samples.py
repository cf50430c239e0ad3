"""Sample payloads of Adobe Commerce / Magento 2 and Shopware 6, kept beside their tests
(``platforms/<platform>/``, README there names what each one is), and the cases the shared
tests (test_adapters_hostile_bodies) run them as, like the fixtures of the other platforms."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from .test_adapters_platform_shapes import Case

SAMPLES = Path(__file__).resolve().parent / "platforms"
SAMPLE_PLATFORMS = ("magento", "shopware", "ebay", "amazon")
#: Each sample once; the body names its event (both platforms read it from the body).
SAMPLE_CASES = [
    Case("magento", "order-registered-rest.json", "sales_order_place_after"),
    Case("magento", "order-guest-webhook-observer.json", ""),
    Case("magento", "order-configurable-io-event.json", ""),
    Case("magento", "shipment-created-observer.json", ""),
    Case("shopware", "checkout-order-placed-registered.json", ""),
    Case("shopware", "checkout-order-placed-guest-net.json", ""),
    Case("shopware", "state-enter-transaction-paid.json", ""),
    Case("shopware", "state-enter-delivery-shipped.json", ""),
    Case("ebay", "order-de-paid.json", "order"),
    Case("ebay", "order-fr-cancelled.json", "order"),
    Case("ebay", "order-us-partially-shipped.json", "order"),
    Case("amazon", "getorder-de-unshipped.json", "order"),
    Case("amazon", "order-fr-shipped-gift.json", "order"),
    Case("amazon", "order-uk-canceled.json", "order"),
    Case("amazon", "order-us-partially-shipped.json", "order"),
    Case("amazon", "order-change-status.json", "ORDER_CHANGE"),
    Case("amazon", "orders-2026-getorder-de-unshipped.json", "order"),
]


def sample_bytes(platform: str, name: str) -> bytes:
    return (SAMPLES / platform / name).read_bytes()


def sample(platform: str, name: str) -> Any:
    """The sample as the adapters parse a body: JSON numbers as decimals."""
    return json.loads(sample_bytes(platform, name), parse_float=Decimal)
