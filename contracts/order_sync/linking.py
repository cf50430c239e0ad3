"""Order-sync contract, version 1: events about orders once they are tied to a customer (O2-O7).

Published on ``<ns>.events`` as ``order-sync.<event>.v1``. The notification service sends
the shipping confirmation and payment emails from the last three (N4, O7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from contracts.customer.records import CustomerCode, Recipient, ScopeId
from contracts.envelope import Command, Event
from contracts.replies import Reply
from contracts.types import Identifier, Money, OptionalText
from contracts.upstream.orders import ShippedLine

MatchRule = Literal[
    "source_customer_id", "email", "phone_name_postal", "name_address", "name_postal", "score", "created", "review"
]
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
    display_number: str | None = Field(
        default=None, description="The number the customer sees (Shopify '#1001', Medusa display_id), since v1.1."
    )


class OrderLinkedPayload(_Out):
    customer_code: str
    rule: MatchRule = Field(description="Which matching rule tied the order to the customer.")
    score: FiniteFloat | None = Field(
        default=None, description="The match weight (bits) of a scored link (since v1.1)."
    )
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
    notes: list[str] = Field(default_factory=list, description="What the order said that was set aside, and why.")
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


class SourceCustomerRef(_In):
    source_system: Identifier
    source_customer_id: Identifier = Field(description="The customer's id in that system (Shopify's customer.id).")


class SourceCustomerLink(_Out):
    """O2, C18: the customer a source system's customer id is linked to (by an order of theirs)."""

    source_system: str
    source_customer_id: str
    customer_code: str


class FindOrdersInput(_In):
    """O2, O8: the orders a caller names by number, as the customer reads it ('#1001', '1001')
    or as the platform keeps it, in any source system."""

    number: Identifier = Field(max_length=100)
    scope_id: ScopeId | None = None
    limit: int = Field(default=20, ge=1, le=50)


ReviewPageReply = Reply[ReviewPage]
ReviewReply = Reply[ReviewItem]
RejectedOrdersReply = Reply[list[RejectedOrder]]
OrderLinkReply = Reply[OrderLinkView]
OrderSearchReply = Reply[list[OrderLinkView]]
SourceCustomerLinkReply = Reply[SourceCustomerLink]


class OrderLinked(Event[OrderLinkedPayload]):
    """O2-O4: an order was tied to a customer."""

    DOMAIN = "order-sync"
    message_type: Literal["order-linked"] = "order-linked"
    schema_version: Literal[1] = 1


class OrderReviewOpened(Event[ReviewOpenedPayload]):
    """O5: an ambiguous order waits for a CSR."""

    DOMAIN = "order-sync"
    message_type: Literal["order-review-opened"] = "order-review-opened"
    schema_version: Literal[1] = 1


class CustomerOrderShipped(Event[ShipmentEmailPayload]):
    """O7: send the shipping confirmation."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-order-shipped"] = "customer-order-shipped"
    schema_version: Literal[1] = 1


class CustomerPaymentRequested(Event[PaymentEmailPayload]):
    """O7: send the payment request."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-payment-requested"] = "customer-payment-requested"
    schema_version: Literal[1] = 1


class CustomerPaymentReceived(Event[PaymentEmailPayload]):
    """O7: send the payment confirmation."""

    DOMAIN = "order-sync"
    message_type: Literal["customer-payment-received"] = "customer-payment-received"
    schema_version: Literal[1] = 1


class OrderStatusUpdated(Event[OrderStatusPayload]):
    """O7: a linked order's status changed."""

    DOMAIN = "order-sync"
    message_type: Literal["order-status-updated"] = "order-status-updated"
    schema_version: Literal[1] = 1


class OrderChangedPayload(_Out):
    customer_code: str
    order: OrderSummary = Field(description="The order as it is now (its status is the one status events set).")
    content_version: int = Field(
        ge=1,
        description="How many times the source system changed the order since it was placed: 1 for the first change.",
    )


class OrderChanged(Event[OrderChangedPayload]):
    """O7, O8: a linked order's content (totals, lines, addresses, the number its customer
    sees) changed in the source system, which sent the order again (Shopify orders/updated,
    WooCommerce order.updated, BigCommerce store/order/updated, ...). Published once per
    content: the same changed body again, or an older one arriving after it, publishes nothing."""

    DOMAIN = "order-sync"
    message_type: Literal["order-changed"] = "order-changed"
    schema_version: Literal[1] = 1


class ListReviews(Command[ListReviewsInput]):
    """O5: the review queue, oldest first."""

    DOMAIN = "order-sync"
    REPLY = ReviewPageReply
    message_type: Literal["list-reviews"] = "list-reviews"
    schema_version: Literal[1] = 1


class ResolveReview(Command[ResolveReviewInput]):
    """O5: link the order to a candidate, or to a new customer."""

    DOMAIN = "order-sync"
    REPLY = ReviewReply
    message_type: Literal["resolve-review"] = "resolve-review"
    schema_version: Literal[1] = 1


class ListRejectedOrders(Command[ListRejectedInput]):
    """O1: orders refused, newest first."""

    DOMAIN = "order-sync"
    REPLY = RejectedOrdersReply
    message_type: Literal["list-rejected-orders"] = "list-rejected-orders"
    schema_version: Literal[1] = 1


class GetOrderLink(Command[OrderRefInput]):
    """O2: which customer an order is tied to, and by which rule."""

    DOMAIN = "order-sync"
    REPLY = OrderLinkReply
    message_type: Literal["get-order-link"] = "get-order-link"
    schema_version: Literal[1] = 1


class GetSourceCustomerLink(Command[SourceCustomerRef]):
    """O2, C18: which customer a source system's customer id is linked to; ``not_found`` when
    none of their orders was linked yet (a platform's privacy request names the person so)."""

    DOMAIN = "order-sync"
    REPLY = SourceCustomerLinkReply
    message_type: Literal["get-source-customer-link"] = "get-source-customer-link"
    schema_version: Literal[1] = 1


class FindOrders(Command[FindOrdersInput]):
    """O2, O8: orders by the number the customer reads or the platform's, newest first, each
    with its customer (or its review) and the rule that tied them."""

    DOMAIN = "order-sync"
    REPLY = OrderSearchReply
    message_type: Literal["find-orders"] = "find-orders"
    schema_version: Literal[1] = 1
