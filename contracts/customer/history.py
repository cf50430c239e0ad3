"""Customer history and stores, version 1: commands and events of the customer service (C6, C7).

The customer service keeps each customer's history from order-sync's events: orders (with
status and shipments), open carts, saved payment methods, invoices and payments; and, from
the orders, how often the customer used each store. Commands go to ``<ns>.commands`` as
``customer.<command>.v1``; events come out on ``<ns>.events`` as ``customer.<event>.v1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.customer.records import CustomerCode, CustomerReply
from contracts.envelope import Command, Event
from contracts.replies import Reply
from contracts.types import Identifier, OptionalIdentifier, OptionalText

HistoryKind = Literal["order", "cart", "payment_method", "invoice", "payment"]

#: History entries per page, at most.
MAX_PAGE = 20


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class HistoryOrder(_In):
    """An order as its source system numbers it."""

    source_system: Identifier
    order_number: Identifier


class HistoryInput(_In):
    customer_code: CustomerCode
    kind: HistoryKind
    limit: int = Field(default=MAX_PAGE, ge=1, le=MAX_PAGE)
    cursor: OptionalText = Field(default=None, description="next_cursor of the previous page.")
    order: HistoryOrder | None = Field(
        default=None,
        description="Only the entries of this order: the order itself, its invoices or its payments, "
        "by kind (I5's order page), however far back in the customer's history.",
    )


class HistoryEntry(_Out):
    """One order, open cart, saved payment method, invoice or payment.

    ``fields`` by kind: order: source_system, order_number, scope_id, status, total, currency,
    placed_at, store_id, shipments (shipment_id, carrier, tracking_number, tracking_url,
    lines, shipped_at); cart: source_system, cart_id, scope_id, lines, total, currency,
    updated_at; payment_method: source_system, token, brand, last4, expiry_month,
    expiry_year, saved_at; invoice: source_system, order_number, invoice_number, amount,
    currency, status, issued_at, due_at; payment: source_system, order_number, payment_id,
    amount, currency, status (requested, received), payment_url, due_at, method,
    requested_at, paid_at.
    """

    kind: HistoryKind
    key: str = Field(description="The entry's identity within its kind, e.g. 'storefront:eu|EU-7'.")
    customer_code: str
    at: datetime = Field(description="What the page is sorted by: placed, updated, saved, issued, paid.")
    fields: dict[str, Any]
    updated_at: datetime


class HistoryPage(_Out):
    customer_code: str = Field(description="The customer answered: the survivor of a merge.")
    kind: HistoryKind
    items: list[HistoryEntry] = Field(description="Newest first.")
    next_cursor: str | None


class DeletePaymentMethodInput(_In):
    """C7: a CSR deletes a customer's saved payment method."""

    customer_code: CustomerCode
    source_system: Identifier
    token: Identifier
    reason: OptionalText = None


class PaymentMethodDeletedResult(_Out):
    customer_code: str
    source_system: str
    token: str
    deleted_at: datetime


class SetPreferredStoreInput(_In):
    """C6: the customer's preferred store; null clears it."""

    customer_code: CustomerCode
    expected_version: int = Field(ge=1, description="The version the caller read; a stale one is a conflict.")
    store_id: OptionalIdentifier = None


class PaymentMethodDeletedPayload(_Out):
    customer_code: str
    source_system: str
    token: str
    deleted_by: str
    reason: str | None = None
    deleted_at: datetime


HistoryReply = Reply[HistoryPage]
PaymentMethodDeletedReply = Reply[PaymentMethodDeletedResult]


class GetCustomerHistory(Command[HistoryInput]):
    """C7: a customer's orders, carts, payment methods, invoices or payments, newest first, 20 a page."""

    DOMAIN = "customer"
    REPLY = HistoryReply
    message_type: Literal["get-customer-history"] = "get-customer-history"
    schema_version: Literal[1] = 1


class DeletePaymentMethod(Command[DeletePaymentMethodInput]):
    """C7: a CSR deletes a saved payment method (audited)."""

    DOMAIN = "customer"
    REPLY = PaymentMethodDeletedReply
    message_type: Literal["delete-payment-method"] = "delete-payment-method"
    schema_version: Literal[1] = 1


class SetPreferredStore(Command[SetPreferredStoreInput]):
    """C6: set or clear the customer's preferred store."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["set-preferred-store"] = "set-preferred-store"
    schema_version: Literal[1] = 1


class PaymentMethodDeleted(Event[PaymentMethodDeletedPayload]):
    """C7: a CSR deleted a saved payment method; the payment provider should forget the token."""

    DOMAIN = "customer"
    message_type: Literal["payment-method-deleted"] = "payment-method-deleted"
    schema_version: Literal[1] = 1
