"""O8 over the real servers: platform webhooks and broker messages become linked orders."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from faststream.rabbit import RabbitQueue
from jwt.algorithms import RSAAlgorithm

from adapters.app import create_app as adapters_app
from adapters.settings import AdapterSettings
from adapters.signatures import hmac_base64
from contracts.customer.records import GetCustomer
from customer.app import create_app as customer_app
from order_sync.app import create_app as order_sync_app
from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import dead_letter_queue, upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from ..conftest import create_scope, ok
from ..customer.test_customer_import import omsctl
from ..order_sync.test_order_sync import link_of
from ..system.test_service_process import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"
SHOPIFY_SECRET = "shpss_integration"


def body_of(platform: str, name: str, **changes: Any) -> bytes:
    raw = (FIXTURES / platform / name).read_bytes()
    if not changes:
        return raw
    data = json.loads(raw)
    data.update(changes)
    return json.dumps(data).encode()


@dataclass
class Stack:
    url: str
    settings: ServiceSettings
    adapters: Any  # the adapters' runtime resources (settings can be fixed at run time)
    saleor_key: Any


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"content-type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


async def send(stack: Stack, platform: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    return await asyncio.to_thread(post, f"{stack.url}/webhooks/{platform}", body, headers)


def shopify_headers(body: bytes, topic: str, secret: str = SHOPIFY_SECRET) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_base64(secret, body),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


@pytest.fixture
async def stack(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> AsyncIterator[Stack]:
    saleor_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(saleor_key.public_key())), "kid": "saleor-1"}
    adapter_settings = AdapterSettings(
        shopify_secret=SHOPIFY_SECRET,
        shopify_source_system="shopify:acme",
        shopify_scope="eu-fr",
        saleor_jwks=json.dumps({"keys": [jwk]}),
        saleor_source_system="saleor:acme",  # no scope yet
        commercetools_authorization="Bearer ct-secret",
        commercetools_scope="eu-fr",
        medusa_secret="medusa-secret",
        medusa_scope="eu-fr",
    )
    app = adapters_app(settings, adapter_settings)
    cleanup.queues.add(settings.topology.dead_letter_queue("adapters"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    async with running(customer_app(settings), order_sync_app(settings), app, cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR", default_language="fr")
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            yield Stack(f"http://127.0.0.1:{port}", settings, app.context.get("adapters"), saleor_key)
        finally:
            server.should_exit = True
            await serving


async def upstream_tap(client: OmsClient) -> Any:
    """A private queue on the upstream exchange: every message anyone publishes there."""
    exchange = await client.broker.declare_exchange(upstream_exchange(client.settings.topology))
    queue = await client.broker.declare_queue(
        RabbitQueue(f"{client.settings.namespace}.tap.{uuid.uuid4().hex[:8]}", auto_delete=True, exclusive=True)
    )
    await queue.bind(exchange, routing_key="#")
    return queue


async def drain(queue: Any) -> list[Any]:
    messages = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        messages.append(message)
    return messages


async def dead_letters(client: OmsClient, expected: int) -> list[Any]:
    queue = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, "adapters"))

    async def enough() -> list[Any] | None:
        letters = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            letters.append(message)
        for message in letters:
            await message.nack(requeue=True)
        return letters if len(letters) >= expected else None

    return await eventually(enough, timeout=10)


async def test_o8_signed_shopify_webhooks_become_orders_linked_by_the_shopify_customer_id(
    client: OmsClient, stack: Stack
) -> None:
    first = body_of("shopify", "orders-create-jpy-several-shipping-lines.json")
    status, answer = await send(stack, "shopify", first, shopify_headers(first, "orders/create"))
    assert status == 202 and answer["status"] == "accepted", answer
    created = await link_of(client, "shopify:acme", "450789472")
    assert created.rule == "created"
    customer = await ok(await client.call(GetCustomer, {"customer_code": created.customer_code}))
    assert (customer.account_type, customer.email, customer.last_name) == (
        "registered",
        "bob.norman@hostmail.com",
        "Norman",
    )

    # The same Shopify customer (207119551) with another email: linked by the platform's id.
    second = body_of("shopify", "orders-create.json", email="bob@elsewhere.example")
    status, _ = await send(stack, "shopify", second, shopify_headers(second, "orders/create"))
    assert status == 202
    linked = await link_of(client, "shopify:acme", "450789469")
    assert (linked.rule, linked.customer_code) == ("source_customer_id", created.customer_code)

    # Shopify retries a webhook with the same body: the same message ids go out again.
    status, again = await send(stack, "shopify", first, shopify_headers(first, "orders/create"))
    assert status == 202 and again["messages"] == answer["messages"]

    # Shopify's own fulfillment sample is pending: acknowledged, nothing published (no email).
    pending = body_of("shopify", "fulfillments-create.json")
    status, ignored = await send(stack, "shopify", pending, shopify_headers(pending, "fulfillments/create"))
    assert status == 200 and ignored["status"] == "ignored", ignored
    shipment = body_of("shopify", "fulfillments-update-success.json")
    status, shipped = await send(stack, "shopify", shipment, shopify_headers(shipment, "fulfillments/update"))
    assert status == 202 and shipped["messages"][0]["routing_key"] == "order.order-shipped.v1"


async def test_o8_a_bad_signature_is_401_and_nothing_is_published_or_stored(client: OmsClient, stack: Stack) -> None:
    tap = await upstream_tap(client)
    body = body_of("shopify", "orders-create.json")
    for headers in (
        shopify_headers(body, "orders/create", secret="not-the-secret"),
        {"X-Shopify-Topic": "orders/create"},
        {**shopify_headers(body, "orders/create"), "X-Shopify-Hmac-Sha256": "AAAA"},
    ):
        status, answer = await send(stack, "shopify", body, headers)
        assert (status, answer) == (401, {"error": "invalid signature"})
    # Not JSON and unsigned: refused before anything looks at it (not dead-lettered either).
    status, _ = await send(stack, "medusa", b"{broken", {"X-Medusa-Hmac-Sha256": "nope"})
    assert status == 401
    status, _ = await send(
        stack, "commercetools", body_of("commercetools", "order.json"), {"Authorization": "Bearer guess"}
    )
    assert status == 401
    forged = jwt.api_jws.encode(
        body,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "saleor-1"},
        is_payload_detached=True,
    )
    status, _ = await send(
        stack,
        "saleor",
        body_of("saleor", "order-created.json"),
        {"Saleor-Event": "order_created", "Saleor-Signature": forged},
    )
    assert status == 401
    await asyncio.sleep(0.5)
    assert await drain(tap) == []
    depth = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, "adapters"))
    assert depth.declaration_result.message_count == 0


async def test_o8_the_broker_route_takes_platform_payloads_published_to_rabbitmq(
    client: OmsClient, stack: Stack
) -> None:
    exchange = upstream_exchange(client.settings.topology)
    await client.broker.publish(
        body_of("commercetools", "order-created-registered-several-shipping.json"),
        exchange=exchange,
        routing_key="platform.commercetools.OrderCreated",
        content_type="application/json",
        persist=True,
    )
    from_ct = await link_of(client, "commercetools", "5b1e2f3a-7c4d-4e9f-8a10-2b3c4d5e6f70")
    customer = await ok(await client.call(GetCustomer, {"customer_code": from_ct.customer_code}))
    assert (from_ct.rule, customer.email, customer.account_type) == ("created", "chloe.dubois@example.fr", "registered")
    await client.broker.publish(
        body_of("medusa", "order-placed.json"),
        exchange=exchange,
        routing_key="platform.medusa.order.placed",
        content_type="application/json",
        persist=True,
    )
    from_medusa = await link_of(client, "medusa", "order_01JD2X8Y9Z0A1B2C3D4E5F6G7H")
    assert (from_medusa.rule, from_medusa.customer_code) == ("email", from_ct.customer_code)  # same email, same scope

    # commercetools over HTTP with its destination's Authorization header works too.
    status, answer = await send(
        stack,
        "commercetools",
        body_of("commercetools", "order-state-changed.json"),
        {"Authorization": "Bearer ct-secret"},
    )
    assert status == 202 and answer["messages"][0]["routing_key"] == "order.order-status-changed.v1"


async def test_o8_unmappable_payloads_are_dead_lettered_with_the_field_and_replayed_after_a_fix(
    client: OmsClient, stack: Stack
) -> None:
    # Over HTTP: a Saleor order of a channel with no scope configured (signed as Saleor signs).
    saleor_body = body_of("saleor", "order-created.json")
    signature = jwt.api_jws.encode(
        saleor_body, stack.saleor_key, algorithm="RS256", headers={"kid": "saleor-1"}, is_payload_detached=True
    )
    status, answer = await send(
        stack, "saleor", saleor_body, {"Saleor-Event": "order_created", "Saleor-Signature": signature}
    )
    assert status == 202 and answer["status"] == "dead-lettered"
    assert [e["field"] for e in answer["errors"]] == ["order.channel.slug"]
    # Over the broker: a Shopify order whose line price is not an amount.
    broken = json.loads(body_of("shopify", "orders-create.json"))
    broken["line_items"][0]["price"] = "cheap"
    shopify_body = json.dumps(broken).encode()
    await client.broker.publish(
        shopify_body,
        exchange=upstream_exchange(client.settings.topology),
        routing_key="platform.shopify.orders.create",
        content_type="application/json",
        persist=True,
    )

    letters = {m.headers[dl.ORIGINAL_ROUTING_KEY]: m for m in await dead_letters(client, 2)}
    assert set(letters) == {"platform.saleor.order_created", "platform.shopify.orders.create"}
    from_http, from_broker = letters["platform.saleor.order_created"], letters["platform.shopify.orders.create"]
    assert from_http.body == saleor_body and from_broker.body == shopify_body  # the raw payload, byte for byte
    assert json.loads(from_http.headers[dl.FIELD_ERRORS])[0]["field"] == "order.channel.slug"
    assert json.loads(from_broker.headers[dl.FIELD_ERRORS]) == [
        {"field": "line_items[0].price", "reason": "not a decimal amount: 'cheap'"}
    ]
    assert from_http.headers[dl.REASON] == from_broker.headers[dl.REASON] == "rejected"

    # The fix (the channel gets its scope), then the replay goes through the broker route.
    stack.adapters.settings = stack.adapters.settings.model_copy(update={"saleor_scopes": {"default-channel": "eu-fr"}})
    code, out = await omsctl(
        stack.settings, "dlq", "replay", "--service", "adapters", "--routing-key", "platform.saleor.*"
    )
    assert code == 0, out
    replayed = await link_of(client, "saleor:acme", "1042")
    assert replayed.rule == "created"
    remaining = await dead_letters(client, 1)
    assert [m.headers[dl.ORIGINAL_ROUTING_KEY] for m in remaining] == ["platform.shopify.orders.create"]


def medusa_headers(body: bytes) -> dict[str, str]:
    return {"X-Medusa-Hmac-Sha256": hmac_base64("medusa-secret", body)}


async def placed_from_tap(tap: Any, order_number: str) -> dict[str, Any]:
    """The OrderPlaced the adapters published for ``order_number`` (read off the tap)."""

    async def found() -> dict[str, Any] | None:
        for message in await drain(tap):
            body = json.loads(message.body)
            if body.get("message_type") == "order-placed" and body["payload"]["order_number"] == order_number:
                return body["payload"]
            seen.append(body)
        return None

    seen: list[Any] = []
    return await eventually(found, timeout=10)


async def test_o8_a_fixture_of_each_platform_posted_to_its_webhook_gives_the_order_placed_expected(
    client: OmsClient, stack: Stack
) -> None:
    """Step 14: the platforms' own shapes over HTTP, to the OrderPlaced on the real broker,
    compared field by field with tests/fixtures/platforms/platform-shapes.expected.json."""
    from ...unit.adapters.test_adapters_platform_shapes import expected, flatten

    want = expected()
    stack.adapters.settings = stack.adapters.settings.model_copy(
        update={"saleor_scopes": {"default-channel": "eu-fr", "main": "eu-fr"}}
    )
    tap = await upstream_tap(client)
    posts = [
        (
            "shopify",
            "orders-create-taxes-included-eur.json",
            "orders/create",
            "450789475",
            lambda body: shopify_headers(body, "orders/create"),
        ),
        (
            "commercetools",
            "order-without-type.json",
            "",
            "92f5a867-bf19-47ab-982c-6720a03a3921",
            lambda body: {"Authorization": "Bearer ct-secret"},
        ),
        (
            "saleor",
            "order-created-legacy.json",
            "order_created",
            "293",
            lambda body: {
                "Saleor-Event": "order_created",
                "Saleor-Signature": jwt.api_jws.encode(
                    body, stack.saleor_key, algorithm="RS256", headers={"kid": "saleor-1"}, is_payload_detached=True
                ),
            },
        ),
        ("medusa", "order-placed-v1.json", "", "order_01GV3XD4F6H8J0K2M4N6P8Q0RS", medusa_headers),
    ]
    for platform, name, topic, number, headers in posts:
        body = body_of(platform, name)
        status, answer = await send(stack, platform, body, headers(body))
        assert status == 202 and answer["status"] == "accepted", (platform, answer)
        payload = flatten(await placed_from_tap(tap, number))
        key = f"{platform}/{name} @ {topic or '(body)'}"
        expected_fields = {
            k: v for k, v in want[key]["messages"][0].items() if k not in ("routing_key", "source_system")
        }  # source_system: from the settings
        wrong = {k: (payload.get(k), v) for k, v in expected_fields.items() if payload.get(k) != v}
        assert not wrong, (platform, wrong)
    # ...and order-sync takes them: the Medusa v1 order is linked, at its real amount.
    linked = await link_of(client, "medusa", "order_01GV3XD4F6H8J0K2M4N6P8Q0RS")
    assert linked.customer_code and linked.order.total == Decimal("256.21")


async def test_o8_a_shopify_order_with_blank_address_fields_carries_none_of_them_to_the_customer(
    client: OmsClient, stack: Stack
) -> None:
    """Every platform's address reads through ``mapping.address``: a storefront's empty strings
    (a digital order's shipping block, a company not filled in) are missing, over HTTP to the
    broker and on to the customer created, never an address of blanks to match on."""
    data = json.loads(body_of("shopify", "orders-create.json"))
    data.update(id=450789901, email="blank.fields@example.fr", customer={**data["customer"], "id": 9901})
    data["shipping_address"] = {key: "" for key in data["shipping_address"]}
    data["billing_address"] = {**data["billing_address"], "company": " ", "address2": ""}
    body = json.dumps(data).encode()
    tap = await upstream_tap(client)
    status, answer = await send(stack, "shopify", body, shopify_headers(body, "orders/create"))
    assert status == 202 and answer["status"] == "accepted", answer
    placed = await placed_from_tap(tap, "450789901")
    assert placed["shipping_address"] is None
    assert (placed["billing_address"]["company"], placed["billing_address"]["line2"]) == (None, None)
    assert placed["billing_address"]["line1"] == "Chestnut Street 92"
    linked = await link_of(client, "shopify:acme", "450789901")
    customer = await ok(await client.call(GetCustomer, {"customer_code": linked.customer_code}))
    assert [(a.line1, a.company, a.line2) for a in customer.addresses] == [("Chestnut Street 92", None, None)]


async def test_o8_shopify_test_orders_and_compliance_webhooks_are_acknowledged_without_dead_letters(
    client: OmsClient, stack: Stack
) -> None:
    tap = await upstream_tap(client)
    sample = body_of("shopify", "orders-create-2025-sample.json")  # Shopify's sample: test: true
    status, answer = await send(stack, "shopify", sample, shopify_headers(sample, "orders/create"))
    assert status == 200 and answer["status"] == "ignored" and "test order" in answer["reason"]
    for topic, name in (
        ("customers/redact", "customers-redact.json"),
        ("customers/data_request", "customers-data-request.json"),
        ("shop/redact", "shop-redact.json"),
    ):
        body = body_of("shopify", name)
        status, answer = await send(stack, "shopify", body, shopify_headers(body, topic))
        assert status == 200 and answer["status"] == "accepted", (topic, answer)
    # What went on the broker holds ids only, never the customer's email or phone.
    await asyncio.sleep(1.0)
    published = await drain(tap)
    assert len(published) == 3
    assert all(b"john@example.com" not in m.body and b"555-625-1199" not in m.body for m in published)
    assert not any(json.loads(m.body).get("message_type") == "order-placed" for m in published)
    depth = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, "adapters"))
    assert depth.declaration_result.message_count == 0
