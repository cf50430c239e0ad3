"""O1, O7: an order event whose order never arrives (a Shopify test order the adapter ignored,
an order lost upstream) does not wait forever: it is set aside as a rejected order, with the
reason, where an operator lists them."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.order_sync.linking import ListRejectedOrders
from contracts.upstream.orders import OrderShipped
from customer.app import create_app as customer_app
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from ..conftest import create_scope
from .test_order_sync import order_db  # noqa: F401 - a fixture


def shipped(number: str) -> OrderShipped:
    ref = {"source_system": "shopify:acme-eu", "order_number": number, "scope": "eu-fr"}
    return OrderShipped.model_validate(
        {
            "producer": "shop",
            "payload": {
                **ref,
                "shipment_id": f"F-{number}",
                "carrier": "UPS",
                "tracking_number": "1Z999",
                "lines": [],
                "shipped_at": "2026-11-21T10:00:00Z",
            },
        }
    )


async def test_o1_o7_an_event_whose_order_never_arrives_is_set_aside_with_its_reason(
    settings: ServiceSettings,
    client: OmsClient,
    cleanup: Cleanup,
    order_db: AsyncDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMS_ORDER_SYNC_PARKED_DAYS", str(1 / 86400))  # one second
    monkeypatch.setenv("OMS_ORDER_SYNC_PARKED_SWEEP_SECONDS", "0.3")
    async with running(customer_app(settings), order_sync_app(settings), cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR", default_language="fr")
        await client.publish_upstream(shipped("TEST-1001"))  # a test order's fulfillment: the order was ignored

        async def set_aside() -> object:
            reply = await client.call(ListRejectedOrders, {"limit": 20})
            return next((r for r in reply.result if r.message_id and "TEST-1001" in r.body_excerpt), None)

        rejected = await eventually(set_aside, timeout=15)
        assert "shopify:acme-eu|TEST-1001 never arrived" in rejected.reason
        assert rejected.routing_key == "order.order-shipped.v1"
        assert await order_db["parked_events"].count_documents({}) == 0
