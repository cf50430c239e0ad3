"""Upstream order contract, version 1: what storefronts, marketplaces and POS publish (O1, I3).

Publish to the ``<ns>.upstream`` topic exchange with the message's routing key
(``order.order-placed.v1`` and so on), persistent, with publisher confirms.
Examples: ``contracts/examples/``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .envelope import Event
from .types import (
    CurrencyCode,
    Identifier,
    LanguageTag,
    Money,
    OptionalCountryCode,
    OptionalIdentifier,
    OptionalText,
    Text,
)

AccountType = Literal["guest", "registered"]


class _Payload(BaseModel):
    # Tolerant reader: platforms add fields all the time; unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PostalAddress(_Payload):
    first_name: OptionalText = None
    last_name: OptionalText = None
    company: OptionalText = None
    line1: OptionalText = None
    line2: OptionalText = None
    city: OptionalText = None
    region: OptionalText = Field(default=None, description="State, province or county.")
    postal_code: OptionalText = None
    country: OptionalCountryCode = Field(default=None, description="ISO 3166-1 alpha-2.")
    phone: OptionalText = None


class OrderLine(_Payload):
    sku: OptionalIdentifier = None
    name: Text
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    unit_price: Money
    total: Money


class OrderTotals(_Payload):
    subtotal: Money
    shipping: Money = Decimal(0)
    tax: Money = Decimal(0)
    discount: Money = Decimal(0)
    total: Money


class Order(_Payload):
    """An order as the source system placed it."""

    order_number: Identifier = Field(description="The order number in the source system.")
    source_system: Identifier = Field(
        description="Which system and shop the order comes from, e.g. 'shopify:acme-eu'. "
        "With order_number it identifies the order; with source_customer_id, the customer."
    )
    source_customer_id: OptionalIdentifier = Field(
        default=None, description="The customer's id in the source system; absent for guests."
    )
    scope: Identifier = Field(description="The site, brand or country store the order belongs to.")
    account_type: AccountType = "guest"
    email: OptionalText = None
    phone: OptionalText = Field(
        default=None, description="Any format; the scope's country is assumed when it has none."
    )
    first_name: OptionalText = None
    last_name: OptionalText = None
    preferred_language: LanguageTag | None = None
    billing_address: PostalAddress | None = None
    shipping_address: PostalAddress | None = None
    lines: list[OrderLine] = Field(min_length=1, max_length=2000)
    totals: OrderTotals
    currency: CurrencyCode
    placed_at: AwareDatetime
    store_id: OptionalIdentifier = Field(default=None, description="The store, for POS or click-and-collect.")
    status: OptionalText = Field(default=None, description="The order's status at publication.")


class OrderRef(_Payload):
    source_system: Identifier
    order_number: Identifier
    scope: Identifier


class StatusChange(OrderRef):
    status: Identifier
    changed_at: AwareDatetime


class ShippedLine(_Payload):
    sku: OptionalIdentifier = None
    name: OptionalText = None
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)


class Shipment(OrderRef):
    shipment_id: Identifier
    carrier: OptionalText = None
    tracking_number: OptionalText = None
    tracking_url: OptionalText = None
    lines: list[ShippedLine] = Field(default_factory=list, max_length=2000)
    shipped_at: AwareDatetime


class PaymentRequest(OrderRef):
    payment_id: Identifier
    amount: Money
    currency: CurrencyCode
    payment_url: OptionalText = None
    due_at: AwareDatetime | None = None
    requested_at: AwareDatetime


class Payment(OrderRef):
    payment_id: Identifier
    amount: Money
    currency: CurrencyCode
    method: OptionalText = Field(default=None, description="e.g. 'visa', 'paypal'; never a card number.")
    paid_at: AwareDatetime


class OrderPlaced(Event[Order]):
    DOMAIN = "order"
    message_type: Literal["order-placed"] = "order-placed"
    schema_version: Literal[1] = 1


class OrderStatusChanged(Event[StatusChange]):
    DOMAIN = "order"
    message_type: Literal["order-status-changed"] = "order-status-changed"
    schema_version: Literal[1] = 1


class OrderShipped(Event[Shipment]):
    DOMAIN = "order"
    message_type: Literal["order-shipped"] = "order-shipped"
    schema_version: Literal[1] = 1


class PaymentRequested(Event[PaymentRequest]):
    DOMAIN = "order"
    message_type: Literal["payment-requested"] = "payment-requested"
    schema_version: Literal[1] = 1


class PaymentReceived(Event[Payment]):
    DOMAIN = "order"
    message_type: Literal["payment-received"] = "payment-received"
    schema_version: Literal[1] = 1


UPSTREAM_ORDER_MESSAGES = (OrderPlaced, OrderStatusChanged, OrderShipped, PaymentRequested, PaymentReceived)
