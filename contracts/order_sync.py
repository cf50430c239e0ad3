"""Order-sync contract, version 1: events about orders once they are tied to a customer (O2-O7).

Published on ``<ns>.events`` as ``order-sync.<event>.v1``. The notification service sends
the shipping confirmation and payment emails from the last three (N4, O7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from .customer import CustomerCode, Recipient
from .envelope import Command, Event, define_message
from .orders import ShippedLine
from .replies import Reply
from .types import Identifier, Money, OptionalText

MatchRule = Literal["source_customer_id", "email", "phone_name_postal", "name_address", "name_postal", "score",
                    "created", "review"]
"""Why an order is its customer's: a known source customer id; else the strongest identifier
that agreed when the order was scored (email; phone with the names; house and street with
the names; names and postal code; only a score); a new customer made for it; a CSR."""
ReviewStatus = Literal["open", "resolved"]


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
    store_id: str | None = Field(default=None, description="The store, for POS or click-and-collect (C6).")


class OrderLinkedPayload(_Out):
    customer_code: str
    rule: MatchRule = Field(description="Which matching rule tied the order to the customer.")
    score: FiniteFloat | None = Field(default=None, description="The match weight (bits) of a scored link (since v1.1).")
    customer_created: bool
    order: OrderSummary


class ReviewOpenedPayload(_Out):
    review_id: str
    order: OrderSummary
    rule: MatchRule
    candidates: list[str] = Field(description="Codes of the customers that matched equally.")


_NO_EMAIL = "None when the customer has no email: no email is sent, the history still records it."


class ShipmentEmailPayload(_Out):
    recipient: Recipient | None = Field(description=_NO_EMAIL)
    customer_code: str | None = Field(default=None, description="The customer (set by every producer since v1.1).")
    order: OrderSummary
    shipment_id: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    lines: list[ShippedLine] = Field(default_factory=list)
    shipped_at: datetime


class PaymentEmailPayload(_Out):
    recipient: Recipient | None = Field(description=_NO_EMAIL)
    customer_code: str | None = Field(default=None, description="The customer (set by every producer since v1.1).")
    order: OrderSummary
    payment_id: str
    amount: Money
    currency: str
    payment_url: str | None = Field(default=None, description="For a payment request.")
    due_at: datetime | None = None
    method: str | None = Field(default=None, description="For a payment received, e.g. 'visa'.")
    at: datetime


class OrderStatusPayload(_Out):
    customer_code: str
    order: OrderSummary


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchEvidence(_Out):
    """One comparison of the order with a candidate: its level and match weight in bits (log2
    of how much likelier that level is for the same person than for two people)."""

    comparison: str = Field(description="email, source, household, first_name, last_name or csr.")
    level: str = Field(description="e.g. exact, close, different, phone_and_address.")
    weight: FiniteFloat = Field(description="Positive: evidence for; negative: against.")
    detail: str = ""


class Candidate(_Out):
    customer_code: str
    score: FiniteFloat | None = Field(default=None, description="Sum of the evidence's weights.")
    evidence: list[MatchEvidence] = Field(default_factory=list)
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    postal_codes: list[str] = Field(default_factory=list)
    account_type: str


class ReviewItem(_Out):
    review_id: str
    status: ReviewStatus
    rule: MatchRule
    order: OrderSummary
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    postal_code: str | None = None
    candidates: list[Candidate]
    opened_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    customer_code: str | None = Field(default=None, description="The customer the CSR chose or created.")


class ListReviewsInput(_In):
    status: ReviewStatus = "open"
    limit: int = Field(default=20, ge=1, le=100)
    cursor: OptionalText = None


class ReviewPage(_Out):
    items: list[ReviewItem]
    next_cursor: str | None


class ResolveReviewInput(_In):
    """O5: pick one of the candidates, or create a new customer for the order."""

    review_id: Identifier
    action: Literal["link", "create"]
    customer_code: CustomerCode | None = Field(default=None, description="For action 'link': the chosen candidate.")


class RejectedOrder(_Out):
    message_id: str | None
    routing_key: str
    reason: str
    fields: list[dict[str, str]] = Field(default_factory=list)
    body_excerpt: str
    rejected_at: datetime


class ListRejectedInput(_In):
    limit: int = Field(default=20, ge=1, le=100)
    before: datetime | None = Field(default=None, description="Page back: rejected_at of the last row seen.")


class OrderLinkView(_Out):
    order: OrderSummary
    customer_code: str | None
    rule: MatchRule | None
    score: FiniteFloat | None = None
    evidence: list[MatchEvidence] = Field(default_factory=list, description="Why the order is this customer's.")
    notes: list[str] = Field(default_factory=list, description="What the order said that was set aside, and why.")
    review_id: str | None = None
    linked_at: datetime | None = None


class OrderRefInput(_In):
    source_system: Identifier
    order_number: Identifier


ReviewPageReply = Reply[ReviewPage]
ReviewReply = Reply[ReviewItem]
RejectedOrdersReply = Reply[list[RejectedOrder]]
OrderLinkReply = Reply[OrderLinkView]


def _event(name: str, payload: type[BaseModel], doc: str) -> type[Event]:
    return define_message(Event, "order-sync", name, payload, doc)


def _command(name: str, payload: type[BaseModel], reply: type[BaseModel], doc: str) -> type[Command]:
    return define_message(Command, "order-sync", name, payload, doc, reply=reply)


OrderLinked = _event("OrderLinked", OrderLinkedPayload, "O2-O4: an order was tied to a customer.")
OrderReviewOpened = _event("OrderReviewOpened", ReviewOpenedPayload, "O5: an ambiguous order waits for a CSR.")
CustomerOrderShipped = _event("CustomerOrderShipped", ShipmentEmailPayload, "O7: send the shipping confirmation.")
CustomerPaymentRequested = _event("CustomerPaymentRequested", PaymentEmailPayload, "O7: send the payment request.")
CustomerPaymentReceived = _event("CustomerPaymentReceived", PaymentEmailPayload, "O7: send the payment confirmation.")
OrderStatusUpdated = _event("OrderStatusUpdated", OrderStatusPayload, "O7: a linked order's status changed.")

ListReviews = _command("ListReviews", ListReviewsInput, ReviewPageReply, "O5: the review queue, oldest first.")
ResolveReview = _command("ResolveReview", ResolveReviewInput, ReviewReply, "O5: link the order to a candidate, or to a new customer.")
ListRejectedOrders = _command("ListRejectedOrders", ListRejectedInput, RejectedOrdersReply, "O1: orders refused, newest first.")
GetOrderLink = _command("GetOrderLink", OrderRefInput, OrderLinkReply, "O2: which customer an order is tied to, and by which rule.")

