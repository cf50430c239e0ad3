"""What each kind of template sees: the data its event carries, and samples to check it with.

A template's context is plain JSON data (dicts, lists, strings, numbers, None) built here
from the message: no model objects, no settings, no database handle. Whatever a template
does, this is all it can reach (N3).

Every kind gets ``customer`` (code, first_name, last_name, email), ``scope_id`` and
``language``; on top of that:

| kind | variables |
| --- | --- |
| welcome, password-reset, email-verification | ``link``, ``expires_at`` (the link is opened from the event's ``sealed_link``; the recorded copy of the email is rendered with its token redacted) |
| password-changed | ``changed_at`` |
| shipping-confirmation | ``order``, ``shipment`` (id, carrier, tracking_number, tracking_url, lines, shipped_at) |
| payment-request, payment-confirmation | ``order``, ``payment`` (id, amount, currency, url, due_at, method, at) |
| customer-message | ``order`` (source_system, order_number) or None, ``variables`` |

``order`` of the order-sync kinds: source_system, order_number, scope_id, status, total,
currency, placed_at. Dates are ISO 8601 strings (format them with the ``datetime`` and
``date`` filters), amounts decimal strings (``money`` filter).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from contracts.customer.records import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    PasswordSetupInvited,
    Recipient,
)
from contracts.envelope import Envelope
from contracts.notification.emails import OrderReference
from contracts.order_sync.linking import (
    CustomerOrderShipped,
    CustomerPaymentReceived,
    CustomerPaymentRequested,
    OrderSummary,
)
from plumbing.sealing import redact_link

Context = dict[str, Any]


@dataclass(frozen=True)
class EmailRequest:
    """One email to compose: which template, for whom, with what data, caused by what."""

    template: str
    recipient: Recipient
    context: Context
    cause_id: str
    cause_type: str
    correlation_id: str
    order: OrderReference | None = None
    initiated_by: str = "system"
    actor_id: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    #: For an email carrying a single-use link (C14): the context its recorded copy is
    #: rendered with, the token redacted, and what staff are shown instead of the link.
    recorded_context: Context | None = None
    link_sent: Context | None = None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def customer_context(recipient: Recipient) -> Context:
    return {
        "customer": {
            "code": recipient.customer_code,
            "first_name": recipient.first_name,
            "last_name": recipient.last_name,
            "email": recipient.email,
        },
        "scope_id": recipient.scope_id,
    }


def _order(order: OrderSummary) -> Context:
    return {
        "source_system": order.source_system,
        "order_number": order.order_number,
        "scope_id": order.scope_id,
        "status": order.status,
        "total": format(order.total, "f"),
        "currency": order.currency,
        "placed_at": _iso(order.placed_at),
    }


def _order_ref(order: OrderSummary) -> OrderReference:
    return OrderReference(source_system=order.source_system, order_number=order.order_number)


def _request(template: str, event: Envelope[Any], recipient: Recipient, context: Context, **more: Any) -> EmailRequest:
    return EmailRequest(
        template=template,
        recipient=recipient,
        context={**customer_context(recipient), **context},
        cause_id=event.message_id,
        cause_type=event.routing_key(),
        correlation_id=event.correlation_id or event.message_id,
        **more,
    )


#: template: (purpose, what staff are shown instead of the link)
LINK_PURPOSES = {
    "welcome": ("password_setup", "set-password link sent"),
    "password-reset": ("password_reset", "reset link sent"),
    "email-verification": ("email_verification", "verification link sent"),
}


def _link_email(template: str, event: Envelope[Any], link: str) -> EmailRequest:
    """``link`` is the event's ``sealed_link`` opened: it goes into the email and nowhere else."""
    p = event.payload
    expires_at = _iso(p.expires_at)
    purpose, summary = LINK_PURPOSES[template]
    request = _request(template, event, p.recipient, {"link": link, "expires_at": expires_at})
    return replace(
        request,
        recorded_context={**request.context, "link": redact_link(link)},
        link_sent={"purpose": purpose, "summary": summary, "expires_at": p.expires_at},
    )


def welcome(event: PasswordSetupInvited, link: str) -> EmailRequest:
    return _link_email("welcome", event, link)


def password_reset(event: PasswordResetRequested, link: str) -> EmailRequest:
    return _link_email("password-reset", event, link)


def email_verification(event: EmailVerificationRequested, link: str) -> EmailRequest:
    return _link_email("email-verification", event, link)


def password_changed(event: PasswordChanged) -> EmailRequest:
    return _request("password-changed", event, event.payload.recipient, {"changed_at": _iso(event.occurred_at)})


def _recipient(event: CustomerOrderShipped | CustomerPaymentRequested | CustomerPaymentReceived) -> Recipient:
    """An order email's recipient; its handler sends nothing to a customer without an email."""
    if event.payload.recipient is None:
        raise ValueError(f"{event.routing_key()} {event.message_id}: the customer has no email")
    return event.payload.recipient


def shipping_confirmation(event: CustomerOrderShipped) -> EmailRequest:
    p = event.payload
    shipment = {
        "id": p.shipment_id,
        "carrier": p.carrier,
        "tracking_number": p.tracking_number,
        "tracking_url": p.tracking_url,
        "lines": [
            {"sku": line.sku, "name": line.name, "quantity": format(line.quantity.normalize(), "f")} for line in p.lines
        ],
        "shipped_at": _iso(p.shipped_at),
    }
    return _request(
        "shipping-confirmation",
        event,
        _recipient(event),
        {"order": _order(p.order), "shipment": shipment},
        order=_order_ref(p.order),
    )


def _payment(template: str, event: CustomerPaymentRequested | CustomerPaymentReceived) -> EmailRequest:
    p = event.payload
    payment = {
        "id": p.payment_id,
        "amount": format(p.amount, "f"),
        "currency": p.currency,
        "url": p.payment_url,
        "due_at": _iso(p.due_at),
        "method": p.method,
        "at": _iso(p.at),
    }
    return _request(
        template, event, _recipient(event), {"order": _order(p.order), "payment": payment}, order=_order_ref(p.order)
    )


def payment_request(event: CustomerPaymentRequested) -> EmailRequest:
    return _payment("payment-request", event)


def payment_confirmation(event: CustomerPaymentReceived) -> EmailRequest:
    return _payment("payment-confirmation", event)


def customer_message_context(recipient: Recipient, order: OrderReference | None, variables: dict[str, str]) -> Context:
    return {
        **customer_context(recipient),
        "order": order.model_dump() if order is not None else None,
        "variables": dict(variables),
    }


# --- samples: every template is rendered against these before it is accepted (N3) ---------------

SAMPLE_RECIPIENT = Recipient(
    customer_code="C0001234",
    scope_id="sample",
    email="camille.martin@example.com",
    first_name="Camille",
    last_name="Martin",
    preferred_language="en",
    scope_language="en",
)
_SAMPLE_ORDER = {
    "source_system": "storefront:eu",
    "order_number": "EU-100234",
    "scope_id": "sample",
    "status": "shipped",
    "total": "59.70",
    "currency": "EUR",
    "placed_at": "2026-11-20T09:14:01+00:00",
}
_LINK = {
    "link": "https://shop.example.com/account/password?token=sample-token",
    "expires_at": "2026-11-23T09:14:00+00:00",
}


def samples(kind: str, variables: dict[str, str] | None = None) -> list[tuple[str, Context]]:
    """(label, context) pairs: every field filled, then every optional field empty.

    A template must render with both, so that one written against a full sample does not
    break on the first shipment without a carrier.
    """
    base = customer_context(SAMPLE_RECIPIENT)
    if kind in ("welcome", "password-reset", "email-verification"):
        return [("full", {**base, **_LINK})]
    if kind == "password-changed":
        return [("full", {**base, "changed_at": "2026-11-20T09:14:01+00:00"})]
    if kind == "shipping-confirmation":
        full = {
            "id": "SHP-1",
            "carrier": "DHL",
            "tracking_number": "JD0123456789",
            "tracking_url": "https://track.example.com/JD0123456789",
            "lines": [{"sku": "SKU-1", "name": "Wool scarf", "quantity": "2"}],
            "shipped_at": "2026-11-21T15:00:00+00:00",
        }
        empty = {**full, "carrier": None, "tracking_number": None, "tracking_url": None, "lines": []}
        minimal_order = {**_SAMPLE_ORDER, "status": None}
        return [
            ("full", {**base, "order": _SAMPLE_ORDER, "shipment": full}),
            ("minimal", {**base, "order": minimal_order, "shipment": empty}),
        ]
    if kind in ("payment-request", "payment-confirmation"):
        full = {
            "id": "PAY-1",
            "amount": "59.70",
            "currency": "EUR",
            "url": "https://pay.example.com/PAY-1",
            "due_at": "2026-11-27T00:00:00+00:00",
            "method": "visa",
            "at": "2026-11-20T09:20:00+00:00",
        }
        empty = {**full, "url": None, "due_at": None, "method": None}
        return [
            ("full", {**base, "order": _SAMPLE_ORDER, "payment": full}),
            ("minimal", {**base, "order": {**_SAMPLE_ORDER, "status": None}, "payment": empty}),
        ]
    if kind == "customer-message":
        order = OrderReference(source_system="storefront:eu", order_number="EU-100234")
        return [
            ("with an order", customer_message_context(SAMPLE_RECIPIENT, order, variables or {})),
            ("without an order", customer_message_context(SAMPLE_RECIPIENT, None, variables or {})),
        ]
    raise ValueError(f"unknown template kind {kind!r}")


def preview_context(kind: str, variables: dict[str, str], recipient: Recipient | None) -> Context:
    """N3: what a preview renders with: the kind's first sample, and the recipient's own
    details instead of the sample customer's when one is given."""
    _, context = samples(kind, variables)[0]
    if recipient is not None:
        context = {**context, **customer_context(recipient)}
    return context
