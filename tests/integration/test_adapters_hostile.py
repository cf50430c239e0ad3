"""O8 over the real servers: a hostile or sloppy body on any platform's webhook is kept as a
dead letter with its reason and answered 202 or 400, never 500; the same bytes under two
topics are two dead letters; on the queue it is dead-lettered at once, not retried."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange

from .test_adapters import Stack, body_of, dead_letters, medusa_headers, send, shopify_headers, stack  # noqa: F401
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
