"""Upstream commerce contract, version 1: carts, saved payment methods and invoices (C7, I3).

Storefronts and payment or billing systems publish these to the ``<ns>.upstream`` topic
exchange, like orders, with routing keys ``commerce.<message>.v1``. They know the customer
by their own id (``source_system`` with ``source_customer_id``) and orders by number;
order-sync resolves each to a customer code and publishes the customer-scoped events at the
end of this module (``order-sync.customer-*.v1`` on ``<ns>.events``).

**Never a card number.** A saved payment method is a token, a brand, the last four digits
and the expiry. A full card number (13 to 19 digits, spaces or dashes allowed, passing the
Luhn check) in any text field but the id fields (``contracts.upstream.cards.NOT_CARD_NUMBERS``), or in
a field the contract does not know, is refused with a field-level error: the message is
dead-lettered (the number masked) and nothing of it is stored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.envelope import Event
from contracts.types import CurrencyCode, Identifier, Money, OptionalIdentifier, Text
from contracts.upstream.cards import (  # noqa: F401 - the card rules, re-exported where they first lived
    CARD_NUMBER_REASON,
    CardSafe,
    card_numbers_in,
    luhn_valid,
    mask_card_numbers,
)
from contracts.upstream.orders import OrderRef
from contracts.upstream.readings import UpstreamId, UpstreamMomentRead, UpstreamScope

# --- card numbers (PCI: never accepted, never stored; contracts/upstream/cards.py) ---------------------


class _CardSafe(CardSafe):
    """Tolerant of unknown fields, like the order contract, but refuses a card number in any
    field, known (error on that field) or not (error naming it), but the id fields."""

    UNKNOWN_FIELDS_WITH_CARD_NUMBERS: ClassVar[Literal["refuse", "ignore"]] = "refuse"


# --- upstream messages -------------------------------------------------------------------------


class _CustomerRef(_CardSafe):
    source_system: Identifier = Field(description="Which system and shop, e.g. 'shopify:acme-eu'.")
    source_customer_id: UpstreamId = Field(description="The customer's id in that system.")
    scope: UpstreamScope


class CartLine(_CardSafe):
    sku: OptionalIdentifier = None
    name: Text
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    unit_price: Money
    total: Money


class Cart(_CustomerRef):
    """A customer's cart as it is now. No lines, or ``converted_order_number``, closes it."""

    cart_id: Identifier
    lines: list[CartLine] = Field(default_factory=list, max_length=2000)
    total: Money
    currency: CurrencyCode
    converted_order_number: OptionalIdentifier = Field(
        default=None, description="The order the cart became: the cart is closed."
    )
    updated_at: UpstreamMomentRead


Last4 = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]


class SavedPaymentMethod(_CustomerRef):
    """A payment method the customer saved: a token and what can be shown of the card."""

    token: Identifier = Field(description="The payment provider's token; never the card number.")
    brand: Identifier = Field(description="e.g. 'visa', 'mastercard', 'paypal'.")
    last4: Last4 | None = Field(default=None, description="The last four digits, for cards.")
    expiry_month: int | None = Field(default=None, ge=1, le=12)
    expiry_year: int | None = Field(default=None, ge=2000, le=2100)
    saved_at: UpstreamMomentRead


class RemovedPaymentMethod(_CustomerRef):
    token: Identifier
    removed_at: UpstreamMomentRead


class Invoice(OrderRef, _CardSafe):
    """An invoice for an order; the order tells order-sync whose it is."""

    UNKNOWN_FIELDS_WITH_CARD_NUMBERS: ClassVar[Literal["refuse", "ignore"]] = (
        "refuse"  # (OrderRef's orders contract ignores them)
    )

    invoice_number: Identifier
    amount: Money
    currency: CurrencyCode
    status: Identifier = Field(default="open", description="e.g. open, paid, void.")
    issued_at: UpstreamMomentRead
    due_at: UpstreamMomentRead | None = None


class CartUpdated(Event[Cart]):
    """C7: a customer's cart changed; empty or converted closes it."""

    DOMAIN = "commerce"
    message_type: Literal["cart-updated"] = "cart-updated"
    schema_version: Literal[1] = 1


class PaymentMethodSaved(Event[SavedPaymentMethod]):
    """C7: a customer saved a payment method."""

    DOMAIN = "commerce"
    message_type: Literal["payment-method-saved"] = "payment-method-saved"
    schema_version: Literal[1] = 1


class PaymentMethodRemoved(Event[RemovedPaymentMethod]):
    """C7: a saved payment method was removed."""

    DOMAIN = "commerce"
    message_type: Literal["payment-method-removed"] = "payment-method-removed"
    schema_version: Literal[1] = 1


class InvoiceIssued(Event[Invoice]):
    """C7: an invoice was issued (or changed) for an order."""

    DOMAIN = "commerce"
    message_type: Literal["invoice-issued"] = "invoice-issued"
    schema_version: Literal[1] = 1


UPSTREAM_COMMERCE_MESSAGES = (CartUpdated, PaymentMethodSaved, PaymentMethodRemoved, InvoiceIssued)


# --- what order-sync publishes once it knows the customer (on <ns>.events) ---------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CartView(_Out):
    source_system: str
    cart_id: str
    scope_id: str
    lines: list[CartLine] = Field(default_factory=list)
    total: Money
    currency: str
    converted_order_number: str | None = None
    open: bool = Field(description="False once the cart is empty or became an order.")
    updated_at: datetime


class PaymentMethodView(_Out):
    source_system: str
    token: str
    brand: str
    last4: str | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None
    saved_at: datetime


class InvoiceView(_Out):
    source_system: str
    order_number: str
    scope_id: str
    invoice_number: str
    amount: Money
    currency: str
    status: str
    issued_at: datetime
    due_at: datetime | None = None


class CustomerCartPayload(_Out):
    customer_code: str
    cart: CartView


class CustomerPaymentMethodPayload(_Out):
    customer_code: str
    payment_method: PaymentMethodView


class CustomerPaymentMethodRemovedPayload(_Out):
    customer_code: str
    source_system: str
    token: str
    removed_at: datetime


class CustomerInvoicePayload(_Out):
    customer_code: str
    invoice: InvoiceView


class CustomerCartUpdated(Event[CustomerCartPayload]):
    """C7: a customer's cart changed."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-cart-updated"] = "customer-cart-updated"
    schema_version: Literal[1] = 1


class CustomerPaymentMethodSaved(Event[CustomerPaymentMethodPayload]):
    """C7: a customer saved a payment method."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-payment-method-saved"] = "customer-payment-method-saved"
    schema_version: Literal[1] = 1


class CustomerPaymentMethodRemoved(Event[CustomerPaymentMethodRemovedPayload]):
    """C7: a customer's saved payment method was removed upstream."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-payment-method-removed"] = "customer-payment-method-removed"
    schema_version: Literal[1] = 1


class CustomerInvoiceIssued(Event[CustomerInvoicePayload]):
    """C7: an invoice for a customer's order."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-invoice-issued"] = "customer-invoice-issued"
    schema_version: Literal[1] = 1
