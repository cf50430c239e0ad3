"""Helpers for the notification tests: events as the other services publish them, the
service wired to an in-process SMTP server, and readers for what arrived."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

from faststream.rabbit import RabbitQueue
from pymongo import AsyncMongoClient

from contracts.customer.records import (
    EmailVerificationRequested,
    LinkPayload,
    PasswordChanged,
    PasswordResetRequested,
    PasswordSetupInvited,
    Recipient,
    RecipientPayload,
)
from contracts.envelope import Actor, Envelope
from contracts.notification.emails import ActivityPageReply, GetActivities, OrderReference
from contracts.order_sync.linking import (
    CustomerOrderShipped,
    CustomerPaymentReceived,
    CustomerPaymentRequested,
    OrderSummary,
    PaymentEmailPayload,
    ShipmentEmailPayload,
)
from contracts.upstream.orders import ShippedLine
from notification.app import create_app
from notification.settings import NotificationSettings
from plumbing.client import OmsClient
from plumbing.messaging import events_exchange
from plumbing.sealing import Sealer, redact_link, sealer
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail

from ..support import eventually

CSR = Actor(kind="csr", id="csr-ada")

#: Retries in tenths of a second instead of minutes, so that tests see them.
FAST = NotificationSettings(
    retry_base_seconds=0.05, retry_max_seconds=0.2, poll_seconds=0.05, sweep_seconds=0.1, max_delivery_attempts=4
)


def notification_app(settings: ServiceSettings, smtp_port: int, *, smtp_timeout: float = 5.0, **options: Any):
    """The service, sending to ``smtp_port``, with FAST retries changed by ``options``."""
    return create_app(
        settings.model_copy(update={"smtp_port": smtp_port, "smtp_timeout_seconds": smtp_timeout}),
        FAST.model_copy(update=options),
    )


def recipient(**changes: Any) -> Recipient:
    fields = {
        "customer_code": f"C{uuid.uuid4().hex[:8].upper()}",
        "scope_id": "eu",
        "email": "camille.martin@example.com",
        "first_name": "Camille",
        "last_name": "Martin",
        "preferred_language": "en",
        "scope_language": "en",
    }
    return Recipient(**{**fields, **changes})


def link_sealer() -> Sealer:
    """The key the services under test share (OMS_LINK_KEY, set for the run by tests/conftest.py)."""
    return sealer(ServiceSettings())


def _link_payload(to: Recipient, kind: str) -> LinkPayload:
    """As the customer service publishes it: the link sealed, and redacted for everyone else (C14)."""
    link = f"https://shop.example.com/account/{kind}?token={uuid.uuid4().hex}"
    return LinkPayload(
        recipient=to,
        link=redact_link(link),
        sealed_link=link_sealer().seal(link),
        expires_at=datetime.now(UTC) + timedelta(days=2),
    )


def link_of(event: Envelope) -> str:
    """The usable link a link event carries sealed: what the customer's email must contain."""
    return link_sealer().open(event.payload.sealed_link)


def invited(to: Recipient, **envelope: Any) -> Envelope:
    return PasswordSetupInvited(producer="customer", payload=_link_payload(to, "set-password"), **envelope)


def reset(to: Recipient, **envelope: Any) -> Envelope:
    return PasswordResetRequested(producer="customer", payload=_link_payload(to, "reset"), **envelope)


def verification(to: Recipient, **envelope: Any) -> Envelope:
    return EmailVerificationRequested(producer="customer", payload=_link_payload(to, "verify"), **envelope)


def changed(to: Recipient, **envelope: Any) -> Envelope:
    return PasswordChanged(producer="customer", payload=RecipientPayload(recipient=to), **envelope)


def order(number: str = "EU-100234", scope: str = "eu") -> OrderSummary:
    return OrderSummary(
        source_system="storefront:eu",
        order_number=number,
        scope_id=scope,
        status="shipped",
        total=Decimal("59.70"),
        currency="EUR",
        placed_at=datetime(2026, 11, 20, 9, 14, tzinfo=UTC),
    )


def shipped(to: Recipient, number: str = "EU-100234", **envelope: Any) -> Envelope:
    payload = ShipmentEmailPayload(
        recipient=to,
        order=order(number, to.scope_id),
        shipment_id="SHP-1",
        carrier="DHL",
        tracking_number="JD0123456789",
        tracking_url="https://track.example.com/JD0123456789",
        lines=[ShippedLine(sku="SKU-1", name="Wool scarf", quantity=Decimal(2))],
        shipped_at=datetime(2026, 11, 21, 15, tzinfo=UTC),
    )
    return CustomerOrderShipped(producer="order-sync", payload=payload, **envelope)


def payment_requested(to: Recipient, number: str = "EU-100234", **envelope: Any) -> Envelope:
    payload = PaymentEmailPayload(
        recipient=to,
        order=order(number, to.scope_id),
        payment_id="PAY-1",
        amount=Decimal("59.70"),
        currency="EUR",
        payment_url="https://pay.example.com/PAY-1",
        due_at=datetime(2026, 11, 27, tzinfo=UTC),
        at=datetime(2026, 11, 20, 9, 20, tzinfo=UTC),
    )
    return CustomerPaymentRequested(producer="order-sync", payload=payload, **envelope)


def payment_received(to: Recipient, number: str = "EU-100234", **envelope: Any) -> Envelope:
    payload = PaymentEmailPayload(
        recipient=to,
        order=order(number, to.scope_id),
        payment_id="PAY-1",
        amount=Decimal("59.70"),
        currency="EUR",
        method="visa",
        at=datetime(2026, 11, 22, 10, tzinfo=UTC),
    )
    return CustomerPaymentReceived(producer="order-sync", payload=payload, **envelope)


async def publish_event(client: OmsClient, event: Envelope) -> None:
    """Publish as the customer and order-sync services' outbox relays do."""
    await client.broker.publish(
        event.model_dump_json().encode(),
        exchange=events_exchange(client.settings.topology),
        routing_key=event.routing_key(),
        message_id=event.message_id,
        correlation_id=event.correlation_id or event.message_id,
        content_type="application/json",
        persist=True,
    )


async def arrived(handler: CapturedMail, count: int, *, timeout: float = 15.0) -> list[EmailMessage]:
    """The messages the SMTP server accepted, once there are ``count`` (without blocking the loop)."""

    async def enough() -> list[EmailMessage] | None:
        return list(handler.messages) if len(handler.messages) >= count else None

    return await eventually(enough, timeout=timeout)


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a multipart/alternative email, with the wire's CRLF as newlines."""
    return tuple(message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


async def activity_docs(settings: ServiceSettings, **query: Any) -> list[dict[str, Any]]:
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        return await mongo[settings.database_name("notification")]["activities"].find(query).to_list()
    finally:
        await mongo.close()


async def settled(settings: ServiceSettings, count: int, *, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Once ``count`` activities exist and none is still queued or being sent."""

    async def done() -> list[dict[str, Any]] | None:
        docs = await activity_docs(settings)
        if len(docs) >= count and all(d["status"] in ("sent", "failed") for d in docs):
            return docs
        return None

    return await eventually(done, timeout=timeout)


async def history(
    client: OmsClient,
    *,
    customer_code: str | None = None,
    order: OrderReference | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> ActivityPageReply:
    cmd = GetActivities(
        producer="tests",
        actor=CSR,
        payload={
            "customer_code": customer_code,
            "order": order,
            "limit": limit,
            "cursor": cursor,
        },
    )
    return await client.request(cmd, ActivityPageReply)


class EventTap:
    """A queue of this test's own on the events exchange: what the service published."""

    def __init__(self, client: OmsClient, routing_key: str) -> None:
        self.client = client
        self.routing_key = routing_key
        self.queue = None
        self.seen: list[dict[str, Any]] = []

    async def __aenter__(self) -> EventTap:
        broker = self.client.broker
        exchange = await broker.declare_exchange(events_exchange(self.client.settings.topology))
        self.queue = await broker.declare_queue(
            RabbitQueue(
                f"{self.client.settings.namespace}.tap.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True
            )
        )
        await self.queue.bind(exchange, routing_key=self.routing_key)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.queue.delete(if_unused=False, if_empty=False)

    async def events(self, count: int, *, timeout: float = 15.0) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
                self.seen.append(json.loads(message.body))
            return list(self.seen) if len(self.seen) >= count else None

        return await eventually(enough, timeout=timeout)


def processed(app, event_type: str) -> float:
    """Messages of ``event_type`` a running app has finished handling (FastStream's Prometheus
    counter, labelled ``<exchange>.<routing key>``): to know duplicates were seen, not just sent."""
    registry = app.context.get("runtime").registry
    total = 0.0
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name.endswith("received_processed_messages_total") and f".{event_type}." in str(
                sample.labels.get("handler", "")
            ):
                total += sample.value
    return total
