"""The customer history's subscription in memory (issue 20): the customer service's app on
FastStream's TestRabbitBroker, its order-history batcher replaced by a recording stand-in
(plumbing.testing). Which customer each order event lands on (C6, C7): the one an
``OrderLinked`` names; for a shipment of an early v1 producer, its recipient's; and a
shipment that names nobody is dead-lettered on its field, never applied to anyone. Without
servers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts.customer.records import Recipient
from contracts.envelope import Envelope
from contracts.order_sync.linking import CustomerOrderShipped, OrderLinked, OrderSummary
from customer.app import create_app
from plumbing.messaging import events_exchange
from plumbing.settings import ServiceSettings
from plumbing.testing import RecordingBatcher, in_memory

SETTINGS = ServiceSettings(namespace="unit", max_attempts=1)
ORDER = OrderSummary(
    source_system="shopify:eu",
    order_number="1001",
    scope_id="eu-fr",
    total=Decimal("12.50"),
    currency="EUR",
    placed_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
)
AT = datetime(2026, 11, 21, 9, tzinfo=UTC)


def shipped(customer_code: str | None, recipient_code: str | None) -> CustomerOrderShipped:
    recipient = (
        Recipient(customer_code=recipient_code, scope_id="eu-fr", email="a@example.fr", first_name="A", last_name="B")
        if recipient_code
        else None
    )
    payload = {"recipient": recipient, "customer_code": customer_code, "order": ORDER, "shipment_id": "S1"}
    return CustomerOrderShipped(producer="order-sync", payload={**payload, "shipped_at": AT})


async def deliver(*events: Envelope[Any]) -> tuple[RecordingBatcher[Any, Any], Any]:
    order_news: RecordingBatcher[Any, Any] = RecordingBatcher()
    async with in_memory(create_app(SETTINGS), SETTINGS, "customer", {"order-news": order_news}) as (broker, dead):
        for event in events:
            await broker.publish(
                event.model_dump(mode="json"),
                exchange=events_exchange(SETTINGS.topology),
                routing_key=event.routing_key(),
                message_id=event.message_id,
            )
    return order_news, dead


async def test_c6_c7_order_events_land_on_the_customer_they_name() -> None:
    linked = OrderLinked(
        producer="order-sync",
        payload={"customer_code": "C1000001", "rule": "email", "customer_created": False, "order": ORDER},
    )
    order_news, dead = await deliver(linked, shipped("C1000002", None), shipped(None, "C1000003"))
    assert dead.letters == []
    assert [(n.code, n.order.order_number, n.shipment is not None) for n in order_news.items] == [
        ("C1000001", "1001", False),
        ("C1000002", "1001", True),
        ("C1000003", "1001", True),  # an early v1 producer: its recipient's customer
    ]
    assert order_news.items[1].shipment["shipment_id"] == "S1"


async def test_c7_a_shipment_that_names_no_customer_is_dead_lettered_on_its_field() -> None:
    order_news, dead = await deliver(shipped(None, None))
    assert order_news.items == []
    assert [e["field"] for e in dead.field_errors()[0]] == ["payload.customer_code"]
