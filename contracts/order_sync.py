"""Order-sync contract, version 1: events about orders once they are tied to a customer (O2-O7).

Published on ``<ns>.events`` as ``order-sync.<event>.v1``. The notification service sends
the shipping confirmation and payment emails from the last three (N4, O7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .customer import Recipient
from .envelope import Event, define_message
from .orders import ShippedLine
from .types import Money

MatchRule = Literal["source_customer_id", "email", "phone_name_postal", "created", "review"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class OrderSummary(_Out):
    source_system: str
    order_number: str
    scope_id: str
    status: str | None = None
    total: Money
    currency: str
    placed_at: datetime


class OrderLinkedPayload(_Out):
    customer_code: str
    rule: MatchRule = Field(description="Which matching rule tied the order to the customer.")
    customer_created: bool
    order: OrderSummary


class ReviewOpenedPayload(_Out):
    review_id: str
    order: OrderSummary
    rule: MatchRule
    candidates: list[str] = Field(description="Codes of the customers that matched equally.")


class ShipmentEmailPayload(_Out):
    recipient: Recipient
    order: OrderSummary
    shipment_id: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    lines: list[ShippedLine] = Field(default_factory=list)
    shipped_at: datetime


class PaymentEmailPayload(_Out):
    recipient: Recipient
    order: OrderSummary
    payment_id: str
    amount: Money
    currency: str
    payment_url: str | None = Field(default=None, description="For a payment request.")
    due_at: datetime | None = None
    method: str | None = Field(default=None, description="For a payment received, e.g. 'visa'.")
    at: datetime


def _event(name: str, payload: type[BaseModel], doc: str) -> type[Event]:
    return define_message(Event, "order-sync", name, payload, doc)


OrderLinked = _event("OrderLinked", OrderLinkedPayload, "O2-O4: an order was tied to a customer.")
OrderReviewOpened = _event("OrderReviewOpened", ReviewOpenedPayload, "O5: an ambiguous order waits for a CSR.")
CustomerOrderShipped = _event("CustomerOrderShipped", ShipmentEmailPayload, "O7: send the shipping confirmation.")
CustomerPaymentRequested = _event("CustomerPaymentRequested", PaymentEmailPayload, "O7: send the payment request.")
CustomerPaymentReceived = _event("CustomerPaymentReceived", PaymentEmailPayload, "O7: send the payment confirmation.")

