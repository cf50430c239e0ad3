"""O8 over the real servers: WooCommerce and BigCommerce webhooks become linked orders.

BigCommerce's V2 Orders API is the recorded one (tests/fixtures/platforms/bigcommerce/api/),
put in the running adapters' place of the HTTP client; everything else is real: the
adapters' HTTP server, RabbitMQ, order-sync, the customer service and MongoDB.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from adapters.bigcommerce_client import FetchFailed
from adapters.settings import AdapterSettings
from adapters.signatures import Verifier, hmac_base64
from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import dead_letter_queue, upstream_exchange

from ...support import eventually
from ...unit.adapters.test_adapters_platform_shapes import RecordedBigCommerceOrders, expected, flatten
from ..order_sync.test_order_sync import link_of, order_db  # noqa: F401
from .test_adapters import Stack, body_of, dead_letters, drain, placed_from_tap, send, stack, upstream_tap  # noqa: F401

WC_SECRET = "wc-integration-secret"
BC_AUTHORIZATION = "Bearer bc-integration"


def configure(stack: Stack) -> RecordedBigCommerceOrders:
    """The two platforms' settings on the running adapters, and the recorded BigCommerce API."""
    settings = AdapterSettings(
        **{
            **dict(stack.adapters.settings),
            "woocommerce_secret": WC_SECRET,
            "woocommerce_scope": "eu-fr",
            "bigcommerce_authorization": BC_AUTHORIZATION,
            "bigcommerce_scope": "eu-fr",
        }
    )
    stack.adapters.settings = settings
    stack.adapters.verifier = Verifier(settings)
    recorded = RecordedBigCommerceOrders()
    stack.adapters.bigcommerce = recorded
    return recorded


def wc_headers(body: bytes, topic: str = "order.created", secret: str = WC_SECRET) -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": hmac_base64(secret, body),
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Delivery-ID": "17",
    }


def same_fields(payload: dict[str, Any], key: str) -> dict[str, Any]:
    want = expected()[key]["messages"][0]
    got = flatten(payload)
    return {
        k: (got.get(k), v) for k, v in want.items() if k not in ("routing_key", "source_system") and got.get(k) != v
    }


async def test_o8_woocommerce_webhooks_ping_signed_order_and_401_unsigned(client: OmsClient, stack: Stack) -> None:
    configure(stack)
    tap = await upstream_tap(client)
    # The ping WooCommerce sends when the webhook is created: unsigned, acknowledged, not kept.
    status, answer = await send(
        stack, "woocommerce", b"webhook_id=42", {"content-type": "application/x-www-form-urlencoded"}
    )
    assert (status, answer) == (200, {"status": "ignored", "reason": "ping"})
    body = body_of("woocommerce", "order-created-registered.json")
    for headers in ({"X-WC-Webhook-Topic": "order.created"}, wc_headers(body, secret="not-the-secret")):
        status, answer = await send(stack, "woocommerce", body, headers)
        assert (status, answer) == (401, {"error": "invalid signature"})
    await asyncio.sleep(0.5)
    assert await drain(tap) == []  # neither the ping nor the unsigned order published anything

    status, answer = await send(stack, "woocommerce", body, wc_headers(body))
    assert status == 202 and answer["status"] == "accepted", answer
    placed = await placed_from_tap(tap, "728")
    assert not same_fields(placed, "woocommerce/order-created-registered.json @ order.created")
    linked = await link_of(client, "woocommerce", "728")
    assert linked.rule == "created" and linked.order.total == Decimal("29.35")
    # Completed with the Shipment Tracking extension's meta: placed, status, shipped.
    tracked = body_of("woocommerce", "order-updated-completed-tracking.json")
    status, answer = await send(stack, "woocommerce", tracked, wc_headers(tracked, "order.updated"))
    assert status == 202 and [m["routing_key"] for m in answer["messages"]] == [
        "order.order-placed.v1",
        "order.order-status-changed.v1",
        "order.payment-received.v1",
        "order.order-shipped.v1",
    ]
    depth = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, "adapters"))
    assert depth.declaration_result.message_count == 0


async def test_o8_bigcommerce_thin_webhook_is_read_through_the_api_and_linked(client: OmsClient, stack: Stack) -> None:
    recorded = configure(stack)
    tap = await upstream_tap(client)
    body = body_of("bigcommerce", "store-order-created.json")
    for headers in ({}, {"Authorization": "Bearer guess"}):
        status, answer = await send(stack, "bigcommerce", body, headers)
        assert (status, answer) == (401, {"error": "invalid signature"})
    assert recorded.calls == []  # nothing read for a stranger
    await asyncio.sleep(0.5)
    assert await drain(tap) == []

    status, answer = await send(stack, "bigcommerce", body, {"Authorization": BC_AUTHORIZATION})
    assert status == 202 and answer["status"] == "accepted", answer
    assert recorded.calls[0] == "orders/250"
    placed = await placed_from_tap(tap, "250")
    assert not same_fields(placed, "bigcommerce/store-order-created.json @ (body)")
    linked = await link_of(client, "bigcommerce", "250")
    assert linked.rule == "created" and linked.order.total == Decimal("72.23")
    shipment = body_of("bigcommerce", "store-shipment-created.json")
    status, answer = await send(stack, "bigcommerce", shipment, {"Authorization": BC_AUTHORIZATION})
    assert status == 202 and [m["routing_key"] for m in answer["messages"]] == ["order.order-shipped.v1"]

    # The broker route reads the order too (a relay that publishes BigCommerce's webhooks).
    await client.broker.publish(
        body_of("bigcommerce", "store-order-created-252-guest-jpy.json"),
        exchange=upstream_exchange(client.settings.topology),
        routing_key="platform.bigcommerce.store.order.created",
        content_type="application/json",
        persist=True,
    )
    guest = await link_of(client, "bigcommerce", "252")
    assert guest.customer_code and guest.order.currency == "JPY" and guest.order.total == Decimal("3190")


async def test_o8_bigcommerce_read_failures_retry_or_keep_the_webhook(client: OmsClient, stack: Stack) -> None:
    recorded = configure(stack)
    tap = await upstream_tap(client)
    # BigCommerce's API is down: 503, so BigCommerce delivers the webhook again; nothing kept.
    recorded.failures["orders/250"] = FetchFailed("GET orders/250: HTTP 503", transient=True, status=503)
    body = body_of("bigcommerce", "store-order-created.json")
    status, answer = await send(stack, "bigcommerce", body, {"Authorization": BC_AUTHORIZATION})
    assert (status, answer) == (503, {"error": "could not read the order; retry"})
    # No such order (404): the webhook is kept as a dead letter, replayable once fixed.
    missing = body_of("bigcommerce", "store-order-created-999-not-found.json")
    status, answer = await send(stack, "bigcommerce", missing, {"Authorization": BC_AUTHORIZATION})
    assert status == 202 and answer["status"] == "dead-lettered", answer
    assert answer["errors"] == [{"field": "data.id", "reason": "the order could not be read: GET orders/999: HTTP 404"}]
    [letter] = await dead_letters(client, 1)
    assert letter.body == missing  # the webhook as BigCommerce sent it, byte for byte
    assert letter.headers[dl.ORIGINAL_ROUTING_KEY] == "platform.bigcommerce.store.order.created"
    assert json.loads(letter.headers[dl.FIELD_ERRORS])[0]["field"] == "data.id"
    await asyncio.sleep(0.5)
    assert await drain(tap) == []


async def test_o7_o8_payments_archives_and_shipment_updates_apply_once(
    client: OmsClient, stack: Stack, order_db: Any
) -> None:
    """WooCommerce's paid order and BigCommerce's captured one each record one payment,
    however many updates follow; BigCommerce's archive is a status change, and its
    shipment update ships nothing twice."""
    configure(stack)
    body = body_of("woocommerce", "order-created.json")
    status, answer = await send(stack, "woocommerce", body, wc_headers(body))
    assert status == 202 and "order.payment-received.v1" in [m["routing_key"] for m in answer["messages"]]
    completed = body_of("woocommerce", "order-updated-completed.json")
    status, _ = await send(stack, "woocommerce", completed, wc_headers(completed, "order.updated"))
    assert status == 202
    for path in ("bigcommerce/store-order-created.json", "bigcommerce/store-order-updated.json"):
        webhook = body_of(*path.split("/"))
        status, _ = await send(stack, "bigcommerce", webhook, {"Authorization": BC_AUTHORIZATION})
        assert status == 202
    for name in ("store-order-created-251-tax-inclusive-eur.json", "store-shipment-created.json"):
        webhook = body_of("bigcommerce", name)
        assert (await send(stack, "bigcommerce", webhook, {"Authorization": BC_AUTHORIZATION}))[0] == 202
    updated = body_of("bigcommerce", "store-shipment-updated.json")
    assert (await send(stack, "bigcommerce", updated, {"Authorization": BC_AUTHORIZATION}))[0] == 202
    archived = body_of("bigcommerce", "store-order-archived.json")
    assert (await send(stack, "bigcommerce", archived, {"Authorization": BC_AUTHORIZATION}))[0] == 202

    async def applied() -> dict[str, Any] | None:
        projection = {"status": 1, "payments": 1, "shipments": 1}
        docs = {d["_id"].rsplit("|", 1)[1]: d async for d in order_db["orders"].find({}, projection)}
        woo, bc, shipped = docs.get("727"), docs.get("250"), docs.get("251")
        done = (
            woo
            and woo.get("status") == "completed"
            and woo.get("payments")
            and bc
            and bc.get("status") == "archived"
            and bc.get("payments")
            and shipped
            and shipped.get("shipments")
        )
        return docs if done else None

    docs = await eventually(applied, timeout=20)
    await asyncio.sleep(1)  # anything late would land now
    docs = await applied()
    assert docs is not None
    assert [p["payment_id"] for p in docs["727"]["payments"]] == ["727:paid"]
    assert [(p["payment_id"], p["amount"]) for p in docs["250"]["payments"]] == [("250:paid", "72.23")]
    assert [s["shipment_id"] for s in docs["251"]["shipments"]] == ["12"]
