"""O8 over the real servers: a hostile or sloppy body on any platform's webhook is kept as a
dead letter with its reason and answered 202 or 400, never 500; the same bytes under two
topics are two dead letters; on the queue it is dead-lettered at once, not retried."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

from contracts.order_sync.linking import GetOrderLink
from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import dead_letter_queue, upstream_exchange

from ...support import eventually
from .test_adapters import (  # noqa: F401
    Stack,
    body_of,
    dead_letters,
    drain,
    medusa_headers,
    send,
    shopify_headers,
    stack,
    upstream_tap,
)
from .test_adapters_woo_bigcommerce import BC_AUTHORIZATION, configure, wc_headers


def signed(stack: Stack, platform: str, body: bytes, topic: str) -> dict[str, str]:
    if platform == "shopify":
        return shopify_headers(body, topic)
    if platform == "commercetools":
        return {"Authorization": "Bearer ct-secret"}
    if platform == "saleor":
        signature = jwt.api_jws.encode(
            body, stack.saleor_key, algorithm="RS256", headers={"kid": "saleor-1"}, is_payload_detached=True
        )
        return {"Saleor-Event": topic, "Saleor-Signature": signature}
    if platform == "medusa":
        return {**medusa_headers(body), "X-Medusa-Event": topic}
    if platform == "woocommerce":
        return wc_headers(body, topic)
    return {"Authorization": BC_AUTHORIZATION}


def with_field(platform: str, name: str, path: list[Any], value: Any) -> bytes:
    data = json.loads(body_of(platform, name))
    holder = data
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return json.dumps(data).encode()


async def test_o8_hostile_webhooks_of_every_platform_are_kept_with_a_reason_and_never_a_500(
    client: OmsClient, stack: Stack
) -> None:
    configure(stack)  # WooCommerce and BigCommerce (its V2 API the recorded one)
    topics = {
        "shopify": "orders/create",
        "commercetools": "",
        "saleor": "order_created",
        "medusa": "order.placed",
        "woocommerce": "order.created",
        "bigcommerce": "",
    }
    sloppy = {
        "shopify": with_field("shopify", "orders-create.json", ["line_items", 0], "a line"),
        "commercetools": with_field("commercetools", "order.json", ["lineItems", 0], 5),
        "saleor": with_field("saleor", "order-created.json", ["order", "lines"], {"id": 5}),
        "medusa": with_field("medusa", "order-placed-guest.json", ["items"], True),
        "woocommerce": with_field("woocommerce", "order-created.json", ["shipping_total"], "1" + "0" * 40),
        "bigcommerce": json.dumps(
            {"scope": "store/order/created", "data": {"type": "order", "id": "../customers"}}
        ).encode(),
    }
    sent: dict[bytes, int] = {}
    for platform, topic in topics.items():
        for body, status in (
            (sloppy[platform], 202),  # signed and JSON: ours to map, kept, answered 202
            (b"[1, 2, 3]", 202),
            (b'{"id": "\\ud800"}', 400),  # JSON, but no text: unreadable
            (b"\xff\xfe not utf-8", 400),
        ):
            answer_status, answer = await send(stack, platform, body, signed(stack, platform, body, topic))
            assert answer_status == status, (platform, body[:60], answer_status, answer)
            assert answer["status"] == "dead-lettered" and answer["errors"][0]["reason"], (platform, answer)
            sent[body] = sent.get(body, 0) + 1
    # The same bytes under two Shopify topics: two dead letters, two ids.
    body = sloppy["shopify"]
    _, updated = await send(stack, "shopify", body, shopify_headers(body, "orders/updated"))
    sent[body] += 1
    letters = await dead_letters(client, sum(sent.values()))
    assert len(letters) == sum(sent.values())
    kept: dict[bytes, int] = {}
    for letter in letters:
        kept[letter.body] = kept.get(letter.body, 0) + 1  # byte for byte, nothing lost
        assert letter.headers[dl.ERROR]
    assert kept == sent
    shopify_ids = {
        letter.message_id
        for letter in letters
        if letter.body == body and letter.headers[dl.ORIGINAL_ROUTING_KEY].startswith("platform.shopify.")
    }
    assert len(shopify_ids) == 2 and updated["dead_letter_id"] in shopify_ids
    by_platform = {letter.headers[dl.ORIGINAL_ROUTING_KEY].split(".")[1] for letter in letters}
    assert by_platform == set(topics)


async def test_o8_a_hostile_message_on_the_queue_is_dead_lettered_at_once_not_retried(
    client: OmsClient, stack: Stack
) -> None:
    started = time.monotonic()
    body = with_field("commercetools", "order-created-guest-jpy.json", ["order", "lineItems", 0], [1, 2])
    await client.broker.publish(
        body,
        exchange=upstream_exchange(client.settings.topology),
        routing_key="platform.commercetools.OrderCreated",
        message_id="hostile-ct-1",
        persist=True,
    )
    (letter,) = await dead_letters(client, 1)
    assert time.monotonic() - started < 10  # not two minutes of retries
    assert letter.body == body and int(letter.headers[dl.ATTEMPTS]) == 1
    assert letter.headers[dl.REASON] == dl.REJECTED and "unexpected type" in letter.headers[dl.ERROR]


async def test_o8_every_platform_and_topic_of_the_fixtures_over_the_real_broker_gives_what_is_expected(
    client: OmsClient, stack: Stack
) -> None:
    """Each case of tests/unit/adapters/test_adapters_platform_shapes (six platforms, every
    topic, the step-14 findings among them: Shopify's cancelled order on orders/create, its
    pending fulfillment, test orders and compliance topics; commercetools without `type`,
    plain Money, JPY without fractionDigits, no lines; Saleor's envelopes, legacy list and
    NOTIFY_USER; Medusa v1 minor units) posted, signed, to its webhook: every message read
    back off RabbitMQ equals platform-shapes.expected.json field by field, and what is not a
    message is answered as expected (ignored, a privacy request, a dead letter's fields)."""
    from ...unit.adapters.test_adapters_platform_shapes import CASES, expected, flatten

    configure(stack)
    base = stack.adapters.settings.model_copy(
        update={
            **{f"{name}_source_system": f"{name}:acme" for name in topics_of_cases(CASES)},
            **{f"{name}_scope": "eu-fr" for name in topics_of_cases(CASES)},
            "saleor_scopes": {},
            "medusa_scopes": {"sc_01JPWEB": "jp"},
            "bigcommerce_scopes": {"1": "eu-fr"},
        }
    )
    tap = await upstream_tap(client)
    published: dict[str, Any] = {}
    want = expected()
    checked = 0
    for case in CASES:
        if case.platform == "commercetools" and case.topic:
            continue  # commercetools names the event in the body: no header to send "Order" in
        stack.adapters.settings = base.model_copy(
            update={"shopify_test_orders": case.options.get("test_orders", "ignore")}
        )
        body = body_of(case.platform, case.fixture)
        headers = {k: v for k, v in signed(stack, case.platform, body, case.topic).items() if v}
        status, answer = await send(stack, case.platform, body, headers)
        outcome = want[case.key]
        if "ignored" in outcome:
            assert (status, answer) == (200, {"status": "ignored", "reason": outcome["ignored"]}), case.key
        elif "privacy_request" in outcome:
            assert status == 200 and answer["privacy_request"] == outcome["privacy_request"]["kind"], case.key
        elif "dead_letter" in outcome:
            assert status == 202 and answer["status"] == "dead-lettered", (case.key, answer)
            assert [f"{e['field']}: {e['reason']}" for e in answer["errors"]] == outcome["dead_letter"]
        else:
            assert status == 202 and answer["status"] == "accepted", (case.key, answer)
            ids = [m["message_id"] for m in answer["messages"]]

            async def arrived(ids: list[str] = ids) -> bool | None:
                for message in await drain(tap):
                    published[message.message_id] = message
                return all(i in published for i in ids) or None

            await eventually(arrived, timeout=10)
            got = [
                {"routing_key": published[i].routing_key, **flatten(json.loads(published[i].body)["payload"])}
                for i in ids
            ]
            assert len(got) == len(outcome["messages"]), case.key
            for have, fields in zip(got, outcome["messages"], strict=True):
                wrong = {k: (have.get(k, "<missing>"), v) for k, v in fields.items() if have.get(k, "<missing>") != v}
                assert not wrong, (case.key, wrong)
        checked += 1
    assert checked == len(CASES) - 1


def topics_of_cases(cases: list[Any]) -> set[str]:
    return {case.platform for case in cases}


async def test_o8_o7_an_update_to_an_order_already_received_is_applied_not_dropped(
    client: OmsClient, stack: Stack
) -> None:
    """Shopify sends the same order id again with a changed body (orders/updated, then
    orders/cancelled): new message ids, and order-sync records the newest status; the same
    update delivered twice publishes the same ids again (nothing duplicated)."""
    from ..order_sync.test_order_sync import link_of

    placed = body_of("shopify", "orders-create.json")
    status, first = await send(stack, "shopify", placed, shopify_headers(placed, "orders/create"))
    assert status == 202, first
    linked = await link_of(client, "shopify:acme", "450789469")
    assert (linked.order.display_number, linked.order.status) == ("#1001", "authorized")

    async def status_becomes(wanted: str) -> bool | None:
        reply = await client.call(GetOrderLink, {"source_system": "shopify:acme", "order_number": "450789469"})
        return (reply.ok and reply.result.order.status == wanted) or None

    updated = json.dumps(
        {**json.loads(placed), "financial_status": "paid", "updated_at": "2008-01-10T12:00:00-05:00"}
    ).encode()
    status, second = await send(stack, "shopify", updated, shopify_headers(updated, "orders/updated"))
    assert status == 202 and {m["message_id"] for m in second["messages"]}.isdisjoint(
        m["message_id"] for m in first["messages"]
    )
    await eventually(lambda: status_becomes("paid"), timeout=30)
    cancelled = json.dumps(
        {
            **json.loads(updated),
            "cancelled_at": "2008-01-11T09:00:00-05:00",
            "cancel_reason": "customer",
            "updated_at": "2008-01-11T09:00:00-05:00",
        }
    ).encode()
    status, third = await send(stack, "shopify", cancelled, shopify_headers(cancelled, "orders/cancelled"))
    assert status == 202, third
    await eventually(lambda: status_becomes("cancelled"), timeout=30)
    status, again = await send(stack, "shopify", cancelled, shopify_headers(cancelled, "orders/cancelled"))
    assert status == 202 and again["messages"] == third["messages"]


async def test_o8_a_body_over_the_size_limit_is_refused_with_413_unread_and_nothing_is_published(
    client: OmsClient, stack: Stack
) -> None:
    """A body larger than OMS_ADAPTERS_MAX_BODY_BYTES is not read past the limit, so not kept:
    413 tells the platform it was refused (it keeps the webhook and may send it again once the
    limit is raised), and nothing reaches the broker, a dead letter included."""
    from adapters.settings import AdapterSettings

    stack.adapters.settings = AdapterSettings(**{**dict(stack.adapters.settings), "max_body_bytes": 8_000})
    tap = await upstream_tap(client)
    order = json.loads(body_of("shopify", "orders-create.json"))
    large = json.dumps({**order, "note": "x" * 9_000}).encode()
    status, answer = await send(stack, "shopify", large, shopify_headers(large, "orders/create"))
    assert status == 413 and answer == {"error": "body too large"}
    # A body within the limit is taken: the limit refused the other one, not the webhook.
    within = json.dumps({**order, "note": "small"}).encode()
    assert len(within) < 8_000
    status, _ = await send(stack, "shopify", within, shopify_headers(within, "orders/create"))
    assert status == 202, status

    async def published() -> list[Any] | None:
        messages = await drain(tap)
        return messages or None

    messages = await eventually(published)
    assert any(m.routing_key.startswith("order.") for m in messages), [m.routing_key for m in messages]
    assert not any(b"x" * 100 in m.body for m in messages)
    letters = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, "adapters"))
    assert letters.declaration_result.message_count == 0
