"""O8 over the real servers: eBay's and Amazon's Order objects, which a poller publishes (these
marketplaces push no order bodies), become linked orders; their relay mailboxes are kept
on the order and tie nobody to anybody; eBay's account deletion asks the services to erase;
a broken Order is a dead letter naming the field. No webhook route exists for them. Payloads:
tests/unit/adapters/platforms/ (README there)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from adapters.settings import AdapterSettings
from adapters.signatures import Verifier
from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange

from ...unit.adapters.platform_samples import sample_bytes
from ..order_sync.test_order_sync import link_of, order_db  # noqa: F401
from .test_adapters import Stack, dead_letters, placed_from_tap, stack, upstream_tap  # noqa: F401
from .test_adapters_customer_topics import open_data_requests


def configure(stack: Stack) -> None:
    settings = AdapterSettings(
        **{**dict(stack.adapters.settings), "ebay_scopes": {"EBAY_DE": "eu-fr"}, "amazon_scope": "eu-fr"}
    )
    stack.adapters.settings = settings
    stack.adapters.verifier = Verifier(settings)


async def publish(client: OmsClient, routing_key: str, body: bytes) -> None:
    await client.broker.publish(
        body,
        exchange=upstream_exchange(client.settings.topology),
        routing_key=routing_key,
        content_type="application/json",
        persist=True,
    )


def status_of_post(url: str) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


async def test_o8_polled_ebay_and_amazon_orders_are_linked_and_a_broken_one_names_its_field(
    client: OmsClient, stack: Stack, order_db: Any
) -> None:
    configure(stack)
    tap = await upstream_tap(client)
    await publish(client, "platform.ebay.order", sample_bytes("ebay", "order-de-paid.json"))
    placed = await placed_from_tap(tap, "07-11234-56789")
    assert (placed["source_customer_id"], placed["last_name"], placed["totals"]["total"]) == (
        "juergen.weiss_1978",
        "Weiß",
        "66.24",
    )
    ebay = await link_of(client, "ebay", "07-11234-56789")
    assert ebay.customer_code and ebay.order.total == Decimal("66.24")

    await publish(client, "platform.amazon.order", sample_bytes("amazon", "getorder-de-unshipped.json"))
    amazon = await link_of(client, "amazon", "302-6938471-5520317")
    assert amazon.customer_code and amazon.customer_code != ebay.customer_code
    assert amazon.order.total == Decimal("102.96")
    # The same poller on the Orders API 2026-01-01 (getOrder's {"order": ...}): read alike.
    await publish(client, "platform.amazon.order", sample_bytes("amazon", "orders-2026-getorder-de-unshipped.json"))
    newer = await link_of(client, "amazon", "305-4419827-6630118")
    assert newer.customer_code and newer.customer_code not in (amazon.customer_code, ebay.customer_code)
    assert (newer.order.total, newer.order.currency, newer.order.status) == (Decimal("61.87"), "EUR", "Unshipped")

    # A broken Order: a dead letter naming the platform's field, replayable once fixed.
    broken = json.loads(sample_bytes("ebay", "order-de-paid.json"))
    order = broken.get("order", broken)
    order["pricingSummary"]["total"]["value"] = "lots"
    await publish(client, "platform.ebay.order", json.dumps(broken).encode())
    (letter,) = await dead_letters(client, 1)
    assert letter.headers[dl.ORIGINAL_ROUTING_KEY] == "platform.ebay.order"
    assert "pricingSummary.total" in json.loads(letter.headers[dl.FIELD_ERRORS])[0]["field"]

    # eBay's Marketplace Account Deletion: the buyer's username goes out as a deletion request.
    deletion = {
        "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION"},
        "notification": {"notificationId": "n-1", "data": {"username": "juergen.weiss_1978", "userId": "u1"}},
    }
    await publish(client, "platform.ebay.MARKETPLACE_ACCOUNT_DELETION", json.dumps(deletion).encode())
    (request,) = await open_data_requests(client, 1)
    assert (request.kind, request.source_customer_id, request.customer_codes) == (
        "deletion",
        "juergen.weiss_1978",
        [ebay.customer_code],
    )
    # No webhook for a polled marketplace: nothing to sign, nothing to answer.
    assert await asyncio.to_thread(status_of_post, f"{stack.url}/webhooks/ebay") == 404
