"""O7, O8 over real RabbitMQ and MongoDB: a platform sends an order it sent before with a
changed body (Shopify orders/updated, WooCommerce order.updated, ...): the adapters publish it
again as an OrderPlaced with a new message id, and order-sync stores it as a new version of
the order, keeps its customer, and tells the customer's history once (OrderChanged)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.order_sync.linking import GetOrderLink
from contracts.upstream.orders import PLACED_AT_PUBLISHED, OrderPlaced
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange

from ...support import EventTap, eventually
from ..customer.test_customer_history import history
from .test_order_sync import link_of, order, order_db, services  # noqa: F401

SOURCE = "storefront:eu"
NEW_LINE = {"sku": "SOCKS-GRN", "name": "Chaussettes vertes", "quantity": 2, "unit_price": "6.00", "total": "12.00"}


def changed(placed: OrderPlaced, **payload: Any) -> OrderPlaced:
    """The same order sent again, as an adapter publishes an update: a new message id."""
    raw = placed.model_dump(mode="json", exclude={"message_id", "occurred_at"})
    raw["payload"].update(payload)
    return OrderPlaced.model_validate(raw)


async def test_o7_o8_a_changed_order_updates_order_sync_and_the_history_once_and_an_older_version_is_not_applied(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    placed = order("CH-1", source_customer_id="shop-ch-1")
    await client.publish_upstream(placed)
    link = await link_of(client, SOURCE, "CH-1")
    code = link.customer_code
    assert code and str(link.order.total) == "59.70"
    first = await history(client, code, "order", count=1)
    assert first.items[0].fields["total"] == "59.70"

    body = placed.payload.model_dump(mode="json")
    updated = changed(
        placed,
        lines=[*body["lines"], NEW_LINE],
        totals={**body["totals"], "subtotal": "66.80", "total": "71.70"},
        display_number="#W-1001",
        # A new email in the update: the order stays with the customer it was matched to.
        email="someone.else@example.org",
    )
    await client.publish_upstream(updated)

    async def order_sync_shows(total: str) -> Any:
        reply = await client.call(GetOrderLink, {"source_system": SOURCE, "order_number": "CH-1"})
        return reply.result if reply.ok and str(reply.result.order.total) == total else None

    now = await eventually(lambda: order_sync_shows("71.70"), timeout=15)
    assert now.customer_code == code, "an update keeps the order's customer"
    assert now.order.display_number == "#W-1001"

    async def history_shows(total: str) -> Any:
        page = await history(client, code, "order")
        return page if page.items[0].fields["total"] == total else None

    page = await eventually(lambda: history_shows("71.70"), timeout=15)
    assert len(page.items) == 1 and page.items[0].customer_code == code

    # The update again (the platform retried it), then the first version coming back late.
    await client.publish_upstream(changed(updated))
    await client.publish_upstream(changed(placed))
    late = order("CH-2", source_customer_id="shop-ch-1")  # a marker: handled after those two
    await client.publish_upstream(late)
    await link_of(client, SOURCE, "CH-2")
    await asyncio.sleep(0.5)  # batches run two at a time: the late ones are done by now

    stored = await order_db["orders"].find_one({"_id": f"{SOURCE}|CH-1"})
    assert stored is not None
    assert (stored["summary"]["total"], stored["content_version"], len(stored["content_hashes"])) == ("71.70", 1, 2)
    assert stored["customer_code"] == code and stored["number_keys"] == ["ch-1", "w-1001"]
    events = await services.drain()
    order_changed = [m for m in events if m["routing_key"].startswith("order-sync.order-changed")]
    assert len(order_changed) == 1, order_changed
    assert order_changed[0]["payload"]["order"]["total"] == "71.70"
    assert order_changed[0]["payload"]["content_version"] == 1
    page = await history(client, code, "order", count=2)
    assert {item.fields["order_number"]: item.fields["total"] for item in page.items} == {
        "CH-1": "71.70",
        "CH-2": "59.70",
    }


async def test_o1_o8_an_order_without_its_time_published_twice_is_one_version(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """An order sent without placed_at takes its publication's time; the same order published
    again later (a new message, a new time) says nothing new: no second version, no change
    told to the history."""
    placed = order("CH-3", source_customer_id="shop-ch-3")
    for _ in range(2):  # each time another message id and publication time
        raw = json.loads(
            OrderPlaced.model_validate(placed.model_dump(exclude={"message_id", "occurred_at"})).model_dump_json()
        )
        del raw["payload"]["placed_at"]
        await client.broker.publish(
            json.dumps(raw).encode(),
            exchange=upstream_exchange(client.settings.topology),
            routing_key=OrderPlaced.routing_key(),
            persist=True,
        )
        await link_of(client, SOURCE, "CH-3")
    await client.publish_upstream(order("CH-4", source_customer_id="shop-ch-3"))  # a marker: after it
    await link_of(client, SOURCE, "CH-4")
    await asyncio.sleep(0.5)

    stored = await order_db["orders"].find_one({"_id": f"{SOURCE}|CH-3"})
    assert stored is not None and stored["content_version"] == 0, stored
    assert PLACED_AT_PUBLISHED in stored["notes"], stored["notes"]
    events = await services.drain()
    assert not [m for m in events if m["routing_key"].startswith("order-sync.order-changed")], events
