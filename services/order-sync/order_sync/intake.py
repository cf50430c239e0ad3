"""Orders arriving (O1-O6): each ``OrderPlaced`` is matched (domain.decide) against the
customers this service knows from customer events, linked, sent to review, or given a new
customer created through the customer service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from contracts.customer import CreateCustomer
from contracts.envelope import Envelope
from contracts.order_sync import OrderLinked, OrderReviewOpened
from contracts.orders import Order, OrderPlaced
from plumbing.errors import Rejected
from plumbing.service import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store
from .domain import (
    CustomerEntry,
    Decision,
    decide,
    identity_of,
    new_customer,
    order_key,
    phone_candidates_filter,
    summary,
)
from .order_events import replay_parked
from .resources import now, resources


async def order_placed(message: OrderPlaced, runtime: Runtime) -> None:
    order, db = message.payload, runtime.db
    scope = await resources(runtime).scopes.get(order.scope)
    if scope is None:
        raise Rejected.invalid("payload.scope", f"no scope {order.scope!r} in the customer service")
    identity = identity_of(order, scope.country)
    # Each rule is looked up only when the ones before it did not decide (O2's order).
    linked = (
        await store.linked_customer(db, order.source_system, order.source_customer_id)
        if order.source_customer_id else None
    )
    by_email = (
        await store.codes_by_email(db, order.scope, identity.email_key) if identity.email_key and not linked else []
    )
    by_phone = (
        phone_candidates_filter(identity, await store.entries_by_phone(db, order.scope, identity.phone))
        if identity.can_match_by_phone and not linked and not identity.email_key else []
    )
    decision = decide(identity, linked, by_email, by_phone)
    if decision.kind == "create":
        code = await create_customer(runtime, message, new_customer(order, identity))
        decision = Decision("link", "created", code)
    await record_order(runtime, message, order, decision, identity.notes)


async def create_customer(runtime: ServiceRuntime, cause: Envelope[Any], payload: dict[str, Any]) -> str:
    """O3 through the customer service's own command; its idempotency key makes a retry, or a
    twin order on another worker, answer the same customer."""
    reply = await resources(runtime).customers.call(
        CreateCustomer, payload, correlation_id=cause.correlation_id or cause.message_id
    )
    if not reply.ok:
        raise Rejected(reply.error)
    await store.save_customer_entry(runtime.db, CustomerEntry.from_view(reply.result.model_dump(mode="json")).doc)
    return reply.result.code


async def record_order(runtime: ServiceRuntime, message: OrderPlaced, order: Order, decision: Decision,
                       notes: tuple[str, ...]) -> None:
    db, key, at = runtime.db, order_key(order.source_system, order.order_number), now()
    order_summary = summary(order)

    async def work(uow: UnitOfWork) -> bool:
        """Store the order with its link; True when events may wait for it. Once per order
        (O6): the order's key, not the message id, makes a second delivery a no-op."""
        existing = await store.find_order(db, key, uow.session)
        if existing is not None and not existing.get("placeholder"):
            return True  # a redelivery: finish a replay that may have been cut short
        doc = {
            "_id": key, "source_system": order.source_system, "order_number": order.order_number,
            "scope_id": order.scope, "summary": order_summary.model_dump(mode="json"),
            "placed_at": order.placed_at, "status": order.status, "received_at": at,
            "message_id": message.message_id, "notes": list(notes), "customer_code": None, "rule": decision.rule,
            "review_id": None, "shipments": [], "payments": [],
            # C13: which source customer the order came under, for an unmerge to follow.
            "source_link": f"{order.source_system}|{order.source_customer_id}" if order.source_customer_id else None,
        }
        if decision.kind == "link":
            doc.update(customer_code=decision.customer_code, linked_at=at)
            if order.source_customer_id:
                await store.remember_source_link(db, order.source_system, order.source_customer_id,
                                                 decision.customer_code, at, uow.session)
            uow.publish(OrderLinked(**uow.envelope(), payload={
                "customer_code": decision.customer_code, "rule": decision.rule,
                "customer_created": decision.rule == "created", "order": order_summary}),
                partition_key=decision.customer_code)
        elif decision.kind == "review":
            doc["review_id"] = await open_review(runtime, uow, order, decision, at)
        await store.put_order(db, doc, uow.session)
        # A placeholder says events came first. (An event parked while this transaction
        # runs writes the placeholder too: a write conflict, and the retry sees it.)
        return existing is not None

    if await apply_once(runtime, message, work, bool, inbox=False):
        await replay_parked(runtime, key)


async def open_review(runtime: ServiceRuntime, uow: UnitOfWork, order: Order, decision: Decision,
                      at: datetime) -> str:
    review_id = uuid.uuid4().hex[:16]
    identity = identity_of(order, None)
    await store.insert_review(runtime.db, {
        "_id": review_id, "status": "open", "rule": decision.rule, "order_key": order_key(order.source_system,
                                                                                        order.order_number),
        "order": order.model_dump(mode="json"), "summary": summary(order).model_dump(mode="json"),
        "candidates": list(decision.candidates), "opened_at": at, "email": identity.email, "phone": identity.phone,
        "first_name": identity.first_name, "last_name": identity.last_name,
        "postal_code": next((a.postal_code for a in (order.billing_address, order.shipping_address)
                             if a and a.postal_code), None),
    }, uow.session)
    uow.publish(OrderReviewOpened(**uow.envelope(), payload={
        "review_id": review_id, "order": summary(order), "rule": decision.rule,
        "candidates": list(decision.candidates)}))
    return review_id
