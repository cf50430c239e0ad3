"""Messages in and out of the order-sync service.

Upstream orders: each ``OrderPlaced`` is matched (domain.decide) against the customers this
service knows from customer events, linked, sent to review, or given a new customer created
through the customer service. Status, shipment and payment events of a linked order update
it and trigger the customer's email; those of an order not linked yet are parked and applied
when it is.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faststream.rabbit import RabbitRouter

from contracts.customer import (
    CreateCustomer,
    CustomerAddressChanged,
    CustomerCreated,
    CustomerStateChanged,
    CustomerUpdated,
    Recipient,
    ScopeView,
)
from contracts.commerce import InvoiceIssued, mask_card_numbers
from contracts.envelope import Envelope
from contracts.order_sync import (
    Candidate,
    CustomerOrderShipped,
    CustomerPaymentReceived,
    CustomerPaymentRequested,
    GetOrderLink,
    ListRejectedOrders,
    ListReviews,
    OrderLinked,
    OrderLinkReply,
    OrderLinkView,
    OrderReviewOpened,
    OrderStatusUpdated,
    OrderSummary,
    RejectedOrder,
    RejectedOrdersReply,
    ResolveReview,
    ReviewItem,
    ReviewPage,
    ReviewPageReply,
    ReviewReply,
)
from contracts.orders import Order, OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived, PaymentRequested
from plumbing import dead_letters
from plumbing.client import OmsClientPool
from plumbing.errors import Rejected
from plumbing.messaging import events_exchange, routed_as, upstream_exchange, work_queue
from plumbing.service import Runtime, ServiceRuntime, on_command
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import commerce, merging, privacy, store
from .domain import CustomerEntry, Decision, decide, identity_of, new_customer, order_key, phone_candidates_filter, summary
from .scopes import ScopeDirectory

UPSTREAM_QUEUE = "upstream-orders"
COMMERCE_QUEUE = "upstream-commerce"
CUSTOMER_EVENTS_QUEUE = "customer-events"


@dataclass
class Resources:
    customers: OmsClientPool
    scopes: ScopeDirectory


def resources(runtime: ServiceRuntime) -> Resources:
    return runtime.resources["order-sync"]


def now() -> datetime:
    at = datetime.now(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


# --- orders arriving (O1-O6) ----------------------------------------------------------------------


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


# --- what happens to an order afterwards (O7) ---------------------------------------------------


async def order_event(message: OrderStatusChanged | OrderShipped | PaymentRequested | PaymentReceived | InvoiceIssued,
                      runtime: Runtime) -> None:
    ref, db = message.payload, runtime.db
    key = order_key(ref.source_system, ref.order_number)
    doc = await store.find_order(db, key)
    if doc is None or doc.get("customer_code") is None:
        # The order has not arrived, or waits in review: keep the event until it is linked.
        await store.park(db, {"_id": message.message_id, "order_key": key, "routing_key": message.routing_key(),
                              "body": message.model_dump_json(), "parked_at": now()})
        # Raced with the order's link? Then nobody else will replay it: do it now.
        linked = await store.find_order(db, key)
        if linked is not None and linked.get("customer_code") is not None:
            await replay_parked(runtime, key)
        return
    await apply_order_event(runtime, message, doc)


async def apply_order_event(runtime: ServiceRuntime, message: Envelope[Any], doc: dict[str, Any]) -> None:
    if isinstance(message, InvoiceIssued):
        await commerce.apply_invoice(runtime, message, doc)
        return
    db, code, at = runtime.db, doc["customer_code"], now()
    ref = message.payload
    order_summary = OrderSummary.model_validate(doc["summary"])
    entry = await store.customer_entry(db, code)
    scope = await resources(runtime).scopes.get(doc["scope_id"])

    async def work(uow: UnitOfWork) -> None:
        nonlocal order_summary
        if isinstance(message, OrderStatusChanged):
            order_summary = order_summary.model_copy(update={"status": ref.status})
            if not await store.change_status(db, doc["_id"], ref.status, ref.changed_at,
                                             order_summary.model_dump(mode="json"), uow.session):
                return  # an older change, arriving late or handled beside a newer one: not news
            uow.publish(OrderStatusUpdated(**uow.envelope(), payload={"customer_code": code, "order": order_summary}),
                        partition_key=code)
            return
        recipient = _recipient(entry, scope)
        # Published with or without a recipient: the customer's history records every shipment
        # and payment; only the email needs an address.
        if isinstance(message, OrderShipped):
            await store.record_order_event(db, doc["_id"], {}, {"shipments": ref.model_dump(mode="json")}, uow.session)
            uow.publish(CustomerOrderShipped(**uow.envelope(), payload={
                "recipient": recipient, "customer_code": code, "order": order_summary, "shipment_id": ref.shipment_id,
                "carrier": ref.carrier, "tracking_number": ref.tracking_number, "tracking_url": ref.tracking_url,
                "lines": ref.lines, "shipped_at": ref.shipped_at}), partition_key=code)
            return
        await store.record_order_event(db, doc["_id"], {}, {"payments": {
            "kind": message.type_name(), **ref.model_dump(mode="json")}}, uow.session)
        payment = {"recipient": recipient, "customer_code": code, "order": order_summary,
                   "payment_id": ref.payment_id, "amount": ref.amount, "currency": ref.currency}
        if isinstance(message, PaymentRequested):
            uow.publish(CustomerPaymentRequested(**uow.envelope(), payload={
                **payment, "payment_url": ref.payment_url, "due_at": ref.due_at, "at": ref.requested_at}),
                partition_key=code)
        else:
            uow.publish(CustomerPaymentReceived(**uow.envelope(), payload={
                **payment, "method": ref.method, "at": ref.paid_at}), partition_key=code)

    await apply_once(runtime, message, work)


def _recipient(entry: dict[str, Any] | None, scope: ScopeView | None) -> Recipient | None:
    """Whom the email goes to; None for a customer without an email (nothing can be sent)."""
    if entry is None or not entry.get("email"):
        return None
    return Recipient(customer_code=entry["_id"], scope_id=entry["scope_id"], email=entry["email"],
                     first_name=entry["first_name"], last_name=entry["last_name"],
                     preferred_language=entry.get("preferred_language"),
                     scope_language=scope.default_language if scope else None)


EVENT_TYPES = {cls.routing_key(): cls for cls in (OrderStatusChanged, OrderShipped, PaymentRequested, PaymentReceived,
                                                  InvoiceIssued)}


async def replay_parked(runtime: ServiceRuntime, key: str) -> None:
    """Apply, in arrival order, the events that waited for this order to be linked.

    Runs after the delivery that linked the order and after every later delivery of it: a
    replay cut short (the broker or the customer service away mid-way) fails the delivery,
    and the redelivery, which finds the order already linked, finishes the replay."""
    waiting = await store.parked_for(runtime.db, key)
    if not waiting:
        return
    doc = await store.find_order(runtime.db, key)
    if doc is None or doc.get("customer_code") is None:
        return  # not linked yet (or in review): the link replays them
    for parked in waiting:
        message = EVENT_TYPES[parked["routing_key"]].model_validate_json(parked["body"])
        await apply_order_event(runtime, message, doc)
        doc = await store.find_order(runtime.db, key)
        await store.unpark(runtime.db, parked["_id"])


# --- the customers orders are matched against (a projection of customer events) ------------------


async def customer_created(message: CustomerCreated, runtime: Runtime) -> None:
    entry = CustomerEntry.from_view(message.payload.customer.model_dump(mode="json"))
    await store.save_customer_entry(runtime.db, entry.doc)


async def customer_updated(message: CustomerUpdated, runtime: Runtime) -> None:
    await _change_entry(runtime, message.payload.customer_code,
                        lambda e: e.apply_changes(message.payload.version, message.payload.changed))


async def customer_address_changed(message: CustomerAddressChanged, runtime: Runtime) -> None:
    p = message.payload
    address = p.address.model_dump(mode="json") if p.address else None
    await _change_entry(runtime, p.customer_code, lambda e: e.apply_address(p.version, p.change, p.address_id, address))


async def customer_state_changed(message: CustomerStateChanged, runtime: Runtime) -> None:
    p = message.payload
    await _change_entry(runtime, p.customer_code, lambda e: e.apply_state(p.version, p.state))


async def _change_entry(runtime: ServiceRuntime, code: str, change) -> None:  # noqa: ANN001
    doc = await store.customer_entry(runtime.db, code)
    if doc is None:
        return  # its CustomerCreated has not arrived yet; it carries the whole record
    entry = CustomerEntry(doc)
    if change(entry):
        await store.save_customer_entry(runtime.db, entry.doc)


# --- the review queue and the operator's views (O1, O5) ---------------------------------------------


def _review_item(doc: dict[str, Any], entries: dict[str, dict[str, Any]]) -> ReviewItem:
    candidates = [
        Candidate(customer_code=c, first_name=e.get("first_name") or "", last_name=e.get("last_name") or "",
                  email=e.get("email"), phone=e.get("phone"),
                  postal_codes=[a["postal_code"] for a in e.get("addresses", []) if a.get("postal_code")],
                  account_type=e.get("account_type") or "guest")
        for c in doc["candidates"] if (e := entries.get(c)) is not None
    ]
    return ReviewItem(review_id=doc["_id"], order=OrderSummary.model_validate(doc["summary"]), candidates=candidates,
                      **{k: doc.get(k) for k in ReviewItem.model_fields
                         if k not in ("review_id", "order", "candidates") and k in doc})


async def list_reviews(cmd: ListReviews, runtime: Runtime) -> ReviewPageReply:
    p = cmd.payload
    after = None
    if p.cursor:
        try:
            at, review_id = json.loads(base64.urlsafe_b64decode(p.cursor + "=" * (-len(p.cursor) % 4)))
            after = (datetime.fromisoformat(at), review_id)
        except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
            raise Rejected.invalid("payload.cursor", "not a cursor of this review queue") from exc
    rows = await store.reviews_page(runtime.db, p.status, p.limit, after)
    entries = {e["_id"]: e for e in await store.entries(runtime.db, [c for r in rows for c in r["candidates"]])} if rows else {}
    cursor = None
    if len(rows) > p.limit:
        last = rows[p.limit - 1]
        cursor = base64.urlsafe_b64encode(json.dumps([last["opened_at"].isoformat(), last["_id"]]).encode()).decode()
    return ReviewPageReply.success(ReviewPage(items=[_review_item(r, entries) for r in rows[: p.limit]],
                                              next_cursor=cursor))


async def resolve_review(cmd: ResolveReview, runtime: Runtime) -> ReviewReply:
    """O5: the CSR picks a candidate, or a new customer is created for the order."""
    p, db, at = cmd.payload, runtime.db, now()
    review = await store.find_review(db, p.review_id)
    if review is None:
        raise Rejected.not_found("review", p.review_id, field="payload.review_id")
    if review["status"] != "open":
        raise Rejected.invalid_state(f"review {p.review_id} was resolved already")
    order = Order.model_validate(review["order"])
    if p.action == "link":
        if p.customer_code not in review["candidates"]:
            raise Rejected.invalid("payload.customer_code", "pick one of the review's candidates")
        code = p.customer_code
    else:
        scope = await resources(runtime).scopes.get(order.scope)
        identity = identity_of(order, scope.country if scope else None)
        payload = {**new_customer(order, identity), "idempotency_key": f"review:{p.review_id}"}
        code = await create_customer(runtime, cmd, payload)
    by = cmd.actor.id if cmd.actor else "system"

    async def work(uow: UnitOfWork) -> None:
        if not await store.resolve_review(db, p.review_id, {"status": "resolved", "resolved_at": at,
                                                             "resolved_by": by, "customer_code": code}, uow.session):
            raise Rejected.invalid_state(f"review {p.review_id} was resolved already")
        await store.set_order_link(db, review["order_key"], {"customer_code": code, "linked_at": at,
                                                             "rule": "review"}, uow.session)
        if order.source_customer_id:
            await store.remember_source_link(db, order.source_system, order.source_customer_id, code, at, uow.session)
        uow.publish(OrderLinked(**uow.envelope(), payload={
            "customer_code": code, "rule": "review", "customer_created": p.action == "create",
            "order": summary(order)}), partition_key=code)

    await apply_once(runtime, cmd, work)
    await replay_parked(runtime, review["order_key"])
    resolved = await store.find_review(db, p.review_id)
    entries = {e["_id"]: e for e in await store.entries(db, resolved["candidates"])}
    return ReviewReply.success(_review_item(resolved, entries))


async def list_rejected_orders(cmd: ListRejectedOrders, runtime: Runtime) -> RejectedOrdersReply:
    rows = await store.rejected_page(runtime.db, cmd.payload.limit, cmd.payload.before)
    return RejectedOrdersReply.success([RejectedOrder(**{k: r.get(k) for k in RejectedOrder.model_fields})
                                        for r in rows])


async def get_order_link(cmd: GetOrderLink, runtime: Runtime) -> OrderLinkReply:
    doc = await store.find_order(runtime.db, order_key(cmd.payload.source_system, cmd.payload.order_number))
    if doc is None or doc.get("placeholder"):
        raise Rejected.not_found("order", f"{cmd.payload.source_system} {cmd.payload.order_number}")
    return OrderLinkReply.success(OrderLinkView(order=OrderSummary.model_validate(doc["summary"]),
                                                customer_code=doc.get("customer_code"), rule=doc.get("rule"),
                                                review_id=doc.get("review_id"), linked_at=doc.get("linked_at")))


def remember_rejected(runtime: ServiceRuntime):  # noqa: ANN201
    """O1: every order (and upstream commerce message) this service dead-letters is kept as a
    rejected order an operator can list (card numbers masked already, C7)."""

    async def record(headers: dict[str, Any], body: bytes) -> None:
        if not str(headers.get(dead_letters.ORIGINAL_ROUTING_KEY, "")).startswith(("order.", "commerce.")):
            return
        try:
            message_id = json.loads(body).get("message_id")
        except (ValueError, AttributeError):
            message_id = None
        await store.record_rejected(runtime.db, {
            "_id": f"{headers.get(dead_letters.ORIGINAL_ROUTING_KEY)}|{message_id or uuid.uuid4().hex}",
            "message_id": message_id,
            "routing_key": headers.get(dead_letters.ORIGINAL_ROUTING_KEY),
            "reason": headers.get(dead_letters.ERROR, ""),
            "fields": json.loads(headers.get(dead_letters.FIELD_ERRORS) or "[]"),
            "body_excerpt": body[:2000].decode("utf-8", "replace"),
            "rejected_at": now(),
        })

    return record


def mask_card_numbers_in_body(routing_key: str, body: bytes) -> bytes:
    """C7: a refused commerce message's card number is masked in the dead letter and
    everything made from it: replaying it cannot bring the number back, and an operator
    never sees it. Orders are kept byte for byte: a platform's long numeric order id can
    pass the card checksum, and masking it would make the replay a different order."""
    if not routing_key.startswith("commerce."):
        return body
    return mask_card_numbers(body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


COMMANDS = {
    ListReviews: list_reviews,
    ResolveReview: resolve_review,
    ListRejectedOrders: list_rejected_orders,
    GetOrderLink: get_order_link,
}


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    topology, attempts = runtime.settings.topology, runtime.settings.max_attempts
    # One router per subscriber: a router keeps its subscribers in a set, and the AsyncAPI
    # document lists them in that set's order, which varies from process to process.
    orders_router, commerce_router, customers_router = RabbitRouter(), RabbitRouter(), RabbitRouter()
    upstream = orders_router.subscriber(
        work_queue(topology, runtime.name, UPSTREAM_QUEUE, binding="order.#", max_attempts=attempts),
        upstream_exchange(topology),
        title=f"{runtime.name}.upstream-orders",
        description="Orders and order events published by upstream commerce systems.",
    )
    upstream(filter=routed_as(OrderPlaced.routing_key()))(order_placed)
    for event in (OrderStatusChanged, OrderShipped, PaymentRequested, PaymentReceived):
        upstream(filter=routed_as(event.routing_key()))(_typed(order_event, event))

    # C7: carts, payment methods and invoices; a queue of their own, so that a burst of cart
    # updates never holds up orders.
    upstream_commerce = commerce_router.subscriber(
        work_queue(topology, runtime.name, COMMERCE_QUEUE, binding="commerce.#", max_attempts=attempts),
        upstream_exchange(topology),
        title=f"{runtime.name}.{COMMERCE_QUEUE}",
        description="Carts, saved payment methods and invoices published by upstream commerce systems.",
    )
    for event, handler in commerce.BY_SOURCE_CUSTOMER:
        upstream_commerce(filter=routed_as(event.routing_key()))(handler)
    upstream_commerce(filter=routed_as(InvoiceIssued.routing_key()))(_typed(order_event, InvoiceIssued))

    customers = customers_router.subscriber(
        work_queue(topology, runtime.name, CUSTOMER_EVENTS_QUEUE, binding="customer.#", max_attempts=attempts),
        events_exchange(topology),
        title=f"{runtime.name}.customer-events",
        description="Customer events: the customers orders are matched against.",
    )
    for event, handler in ((CustomerCreated, customer_created), (CustomerUpdated, customer_updated),
                           (CustomerAddressChanged, customer_address_changed),
                           (CustomerStateChanged, customer_state_changed)):
        customers(filter=routed_as(event.routing_key()))(handler)
    merging.subscribe(customers)
    customers(filter=_anything)(_ignore)  # other customer events say nothing order-sync needs

    for command, handler in {**COMMANDS, **privacy.COMMANDS}.items():
        on_command(runtime, command, handler)
    runtime.dead_letters.redactors.append(mask_card_numbers_in_body)
    runtime.dead_letters.listeners.append(remember_rejected(runtime))
    return [orders_router, commerce_router, customers_router]


def _typed(handler, event: type[Envelope[Any]]):  # noqa: ANN001, ANN202
    """The same handler for several event types, each with its own contract in the signature
    (FastStream validates against the annotation)."""

    async def typed(message, runtime):  # noqa: ANN001, ANN202 - annotated just below
        await handler(message, runtime)

    typed.__annotations__ = {"message": event, "runtime": Runtime, "return": None}
    typed.__name__ = f"on_{event.type_name().replace('-', '_')}"
    typed.__doc__ = event.__doc__
    return typed


async def _anything(message: Any) -> bool:
    return True


async def _ignore(message: Any) -> None:
    return None
