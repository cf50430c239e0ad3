"""O8 over the real servers: Adobe Commerce / Magento 2 and Shopware 6 webhooks become linked
orders, payments and shipments; a wrong signature is 401 with nothing published; a body of the
wrong shape is a dead letter naming the field; Magento's card data is in nothing published or
kept. Everything is real: the adapters' HTTP server, RabbitMQ, order-sync, the customer service
and MongoDB. Payloads: tests/unit/adapters/platforms/ (README there)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from adapters.settings import AdapterSettings
from adapters.signatures import Verifier, hmac_base64, hmac_hex
from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange

from ...support import eventually
from ...unit.adapters.platform_samples import sample_bytes
from ..order_sync.test_order_sync import link_of, order_db  # noqa: F401
from .test_adapters import Stack, dead_letters, drain, placed_from_tap, send, stack, upstream_tap  # noqa: F401

MAGENTO_SECRET = "magento-integration-secret"
SHOPWARE_SECRET = "shopware-integration-secret"
SHOPWARE_ORDER = "0191e3c9f8a27b4e9d5a1c2b3d4e5f60"
#: The card data of the Magento sample's payment.
CARD_DATA = (b"cc_last4", b"1111", b"cc_exp", b"cc_owner", b"cc_type", b"xxxx-1111", b"cc_number")


def configure(stack: Stack) -> None:
    settings = AdapterSettings(
        **{
            **dict(stack.adapters.settings),
            "magento_secret": MAGENTO_SECRET,
            "magento_scope": "eu-fr",
            "shopware_secret": SHOPWARE_SECRET,
            "shopware_scope": "eu-fr",
        }
    )
    stack.adapters.settings = settings
    stack.adapters.verifier = Verifier(settings)


def magento_headers(body: bytes, event: str | None = None, secret: str = MAGENTO_SECRET) -> dict[str, str]:
    headers = {"X-Magento-Hmac-Sha256": hmac_base64(secret, body)}
    return {**headers, "X-Magento-Event": event} if event else headers


def shopware_headers(body: bytes, secret: str = SHOPWARE_SECRET) -> dict[str, str]:
    return {"shopware-shop-signature": hmac_hex(secret, body), "sw-version": "6.6.4.0"}


async def applied(order_db: Any, number: str, field: str) -> list[Any]:
    async def found() -> list[Any] | None:
        async for doc in order_db["orders"].find({}, {field: 1}):
            if doc["_id"].rsplit("|", 1)[1] == number and doc.get(field):
                return list(doc[field])
        return None

    # 45 s: on a loaded two-core CI machine a payment once took longer than 20 s to show.
    return await eventually(found, timeout=45)


async def test_o8_magento_signed_orders_and_shipments_are_linked_and_card_data_never_leaves(
    client: OmsClient, stack: Stack, order_db: Any
) -> None:
    configure(stack)
    tap = await upstream_tap(client)
    everything = await upstream_tap(client)  # read at the end: all that was published
    body = sample_bytes("magento", "order-registered-rest.json")
    for headers in (
        {"X-Magento-Event": "observer.checkout_submit_all_after"},
        magento_headers(body, "observer.checkout_submit_all_after", secret="not-the-secret"),
    ):
        status, answer = await send(stack, "magento", body, headers)
        assert (status, answer) == (401, {"error": "invalid signature"})
    await asyncio.sleep(0.5)
    assert await drain(tap) == []  # nothing published for a stranger

    status, answer = await send(stack, "magento", body, magento_headers(body, "observer.checkout_submit_all_after"))
    assert status == 202 and [m["routing_key"] for m in answer["messages"]] == [
        "order.order-placed.v1",
        "order.payment-received.v1",
    ], answer
    placed = await placed_from_tap(tap, "12")
    assert (placed["display_number"], placed["source_customer_id"], placed["email"], placed["totals"]["total"]) == (
        "000000012",
        "1",
        "roni_cost@example.com",
        "183.20",
    )
    linked = await link_of(client, "magento", "12")
    assert linked.rule == "created" and linked.order.total == Decimal("183.20")
    shipment = sample_bytes("magento", "shipment-created-observer.json")
    status, answer = await send(stack, "magento", shipment, magento_headers(shipment))
    assert status == 202 and [m["routing_key"] for m in answer["messages"]] == ["order.order-shipped.v1"]
    assert [s["shipment_id"] for s in await applied(order_db, "12", "shipments")] == ["5"]
    assert [p["payment_id"] for p in await applied(order_db, "12", "payments")] == ["7f3k2m9q"]

    # The broker route: a relay publishing Commerce's observer payload (a guest).
    await client.broker.publish(
        sample_bytes("magento", "order-guest-webhook-observer.json"),
        exchange=upstream_exchange(client.settings.topology),
        routing_key="platform.magento.sales_order_save_after",
        content_type="application/json",
        persist=True,
    )
    guest = await link_of(client, "magento", "31")
    assert guest.customer_code and guest.order.currency == "EUR" and guest.order.total == Decimal("57.00")
    # An Adobe I/O subscription's event that left entity_id out: the saved order its parts name.
    listed = json.loads(sample_bytes("magento", "order-guest-webhook-observer.json"))
    order = listed["data"]["order"]
    del order["entity_id"]
    order.update(increment_id="000000032", extension_attributes=[])
    for part in (*order["items"], order["payment"], *order["addresses"]):
        part["order_id" if "order_id" in part else "parent_id"] = "32"
    await client.broker.publish(
        json.dumps(listed).encode(),
        exchange=upstream_exchange(client.settings.topology),
        routing_key="platform.magento.sales_order_save_commit_after",
        content_type="application/json",
        persist=True,
    )
    second = await link_of(client, "magento", "32")
    assert second.customer_code == guest.customer_code and second.order.total == Decimal("57.00")

    # A body of the wrong shape, and an order with a bad field: kept with the field named,
    # the order's payment without its card data.
    wrong = json.dumps({"eventName": "sales_order_save_after", "data": {"order": [1, 2]}}).encode()
    status, answer = await send(stack, "magento", wrong, magento_headers(wrong))
    assert status == 202 and answer["status"] == "dead-lettered", answer
    assert answer["errors"][0]["field"] == "data.order"
    broken = json.loads(body)
    broken["items"][1]["price"] = "lots"
    broken_body = json.dumps(broken).encode()
    status, answer = await send(stack, "magento", broken_body, magento_headers(broken_body, "sales_order_save_after"))
    assert status == 202 and answer["errors"] == [{"field": "items[1].price", "reason": "not a decimal amount: 'lots'"}]
    letters = await dead_letters(client, 2)
    assert {json.loads(letter.headers[dl.FIELD_ERRORS])[0]["field"] for letter in letters} == {
        "data.order",
        "items[1].price",
    }
    for letter in letters:
        assert not [card for card in CARD_DATA if card in letter.body], letter.body
        assert letter.headers[dl.ORIGINAL_ROUTING_KEY].startswith("platform.magento.")
    # Nothing the adapter published held card data (the tap also holds the relay's own payload).
    ours = [m.body for m in await drain(everything) if json.loads(m.body).get("producer") == "adapter:magento"]
    assert len(ours) == 7 and not [card for body in ours for card in CARD_DATA if card in body]


async def test_o8_shopware_app_webhooks_place_pay_and_ship_an_order(
    client: OmsClient, stack: Stack, order_db: Any
) -> None:
    configure(stack)
    tap = await upstream_tap(client)
    body = sample_bytes("shopware", "checkout-order-placed-registered.json")
    for headers in ({}, shopware_headers(body, secret="not-the-secret")):
        status, answer = await send(stack, "shopware", body, headers)
        assert (status, answer) == (401, {"error": "invalid signature"})
    await asyncio.sleep(0.5)
    assert await drain(tap) == []

    status, answer = await send(stack, "shopware", body, shopware_headers(body))
    assert status == 202 and answer["status"] == "accepted", answer
    placed = await placed_from_tap(tap, SHOPWARE_ORDER)
    assert (placed["display_number"], placed["account_type"], placed["preferred_language"]) == (
        "10042",
        "registered",
        "de-DE",
    )
    linked = await link_of(client, "shopware", SHOPWARE_ORDER)
    assert linked.rule == "created" and linked.order.total == Decimal("76.93")
    for name, expected in (
        ("state-enter-transaction-paid.json", ["order.order-placed.v1", "order.payment-received.v1"]),
        ("state-enter-delivery-shipped.json", ["order.order-placed.v1", "order.order-shipped.v1"]),
    ):
        event = sample_bytes("shopware", name)
        status, answer = await send(stack, "shopware", event, shopware_headers(event))
        assert status == 202 and [m["routing_key"] for m in answer["messages"]] == expected, answer
    assert [p["payment_id"] for p in await applied(order_db, SHOPWARE_ORDER, "payments")] == [
        "018e3a1btransaction0000000000t01"
    ]
    assert [s["shipment_id"] for s in await applied(order_db, SHOPWARE_ORDER, "shipments")] == [
        "018e3a1bdelivery0000000000000d01"
    ]

    # An entity event names only ids: acknowledged, nothing kept.
    written = sample_bytes("shopware", "order-written.json")
    status, answer = await send(stack, "shopware", written, shopware_headers(written))
    assert status == 200 and answer["status"] == "ignored", answer
    # A guest's order through the broker route.
    await client.broker.publish(
        sample_bytes("shopware", "checkout-order-placed-guest-net.json"),
        exchange=upstream_exchange(client.settings.topology),
        routing_key="platform.shopware.checkout.order.placed",
        content_type="application/json",
        persist=True,
    )
    guest = await link_of(client, "shopware", "0191e3ca11112222333344445555aaaa")
    assert guest.customer_code and guest.order.total == Decimal("41.65")
    # A body of the wrong shape: kept byte for byte, the field named.
    wrong = json.dumps({"data": {"payload": {"orderId": SHOPWARE_ORDER}, "event": "checkout.order.placed"}}).encode()
    status, answer = await send(stack, "shopware", wrong, shopware_headers(wrong))
    assert status == 202 and answer["errors"][0]["field"] == "data.payload.order", answer
    [letter] = await dead_letters(client, 1)
    assert letter.body == wrong
    assert letter.headers[dl.ORIGINAL_ROUTING_KEY] == "platform.shopware.event"
