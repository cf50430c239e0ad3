"""Messages in and out of the order-sync service: the subscriptions, the projection of the
customers orders are matched against, and the review queue and operator commands.

Orders arriving are matched and linked in ``intake``; what happens to an order afterwards
(status, shipments, payments, events parked until the order is linked) in ``order_events``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from faststream.rabbit import RabbitRouter
from pydantic import AwareDatetime, StringConstraints, TypeAdapter

from contracts.customer.records import (
    CustomerAddressChanged,
    CustomerCreated,
    CustomersImported,
    CustomerStateChanged,
    CustomerUpdated,
    GetCustomer,
)
from contracts.envelope import Command, Envelope
from contracts.order_sync.linking import (
    Candidate,
    FindOrders,
    GetOrderLink,
    GetSourceCustomerLink,
    ListRejectedOrders,
    ListReviews,
    OrderLinked,
    OrderLinkedPayload,
    OrderLinkReply,
    OrderLinkView,
    OrderSearchReply,
    OrderSummary,
    RejectedOrder,
    RejectedOrdersReply,
    ResolveReview,
    ReviewItem,
    ReviewPage,
    ReviewPageReply,
    ReviewReply,
    SourceCustomerLink,
    SourceCustomerLinkReply,
)
from contracts.upstream.cards import redact_card_numbers_in_json
from contracts.upstream.commerce import InvoiceIssued
from contracts.upstream.orders import (
    Order,
    OrderPlaced,
    OrderShipped,
    OrderStatusChanged,
    PaymentReceived,
    PaymentRequested,
)
from plumbing import cursors, dead_letters
from plumbing.batching import Batcher, Pending
from plumbing.bodies import UnreadableBody, check_body
from plumbing.errors import Rejected
from plumbing.messaging import events_exchange, routed_as, upstream_exchange, work_queue
from plumbing.runtime import Injected, Runtime, ServiceRuntime, on_command
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import commerce, merging, privacy, store
from .domain import CustomerEntry, check_resolution, new_customer, number_key, order_key, summary
from .identity import identity_of
from .intake import create_customer, order_placed
from .learning import learn_decision, learn_record, learn_records
from .order_events import order_event, replay_parked
from .resources import Customers, CustomerService, now
from .settling import NotSettled, once_settled

UPSTREAM_QUEUE = "upstream-orders"
COMMERCE_QUEUE = "upstream-commerce"
CUSTOMER_EVENTS_QUEUE = "customer-events"

log = logging.getLogger(__name__)


# --- the customers orders are matched against (a projection of customer events) ------------------


async def customer_created(message: CustomerCreated, new_records: NewRecords) -> None:
    entry = CustomerEntry.from_view(message.payload.customer.model_dump(mode="json"))
    await new_records.submit(entry.doc)


async def customers_imported(message: CustomersImported, runtime: Runtime) -> None:
    """C17: an import's customers, one event per transaction: saved and indexed together, as
    a batch of ``CustomerCreated`` is (a redelivery saves the same versions again)."""
    entries = [CustomerEntry.from_view(view.model_dump(mode="json")).doc for view in message.payload.customers]
    if entries:
        await learn_records(runtime, entries)


def new_records_batcher(runtime: ServiceRuntime) -> Batcher[dict[str, Any], None]:
    """The worker's one batcher of new customers' records (built by ``app.py``). New
    customers come in bursts (a new buyer for many orders of a burst): their records are
    saved and indexed together, four round trips for the batch instead of three each."""
    return runtime.batcher("customer-records", lambda batch: _save_new_records(runtime, batch), max_size=64)


#: ``CustomerCreated``'s handler declares ``new_records: NewRecords``.
NewRecords = Annotated[Batcher[dict[str, Any], None], Injected("new-records")]


async def _save_new_records(runtime: ServiceRuntime, batch: list[Pending[dict[str, Any], None]]) -> None:
    try:
        await learn_records(runtime, [pending.item for pending in batch])
    except Exception:  # noqa: BLE001 - one record may be the cause: each on its own, with its own outcome
        log.warning("%d customer records could not be saved together; saving each alone", len(batch), exc_info=True)
        for pending in batch:
            try:
                await learn_records(runtime, [pending.item])
            except Exception as error:  # noqa: BLE001 - this event's handler raises it
                pending.fail(error)
            else:
                pending.resolve(None)
        return
    for pending in batch:
        pending.resolve(None)


async def customer_updated(message: CustomerUpdated, runtime: Runtime, customers: Customers) -> None:
    await _change_entry(
        runtime,
        customers,
        message.payload.customer_code,
        lambda e: e.apply_changes(message.payload.version, message.payload.changed),
    )


async def customer_address_changed(message: CustomerAddressChanged, runtime: Runtime, customers: Customers) -> None:
    p = message.payload
    address = p.address.model_dump(mode="json") if p.address else None
    await _change_entry(
        runtime, customers, p.customer_code, lambda e: e.apply_address(p.version, p.change, p.address_id, address)
    )


async def customer_state_changed(message: CustomerStateChanged, runtime: Runtime, customers: Customers) -> None:
    p = message.payload
    await _change_entry(runtime, customers, p.customer_code, lambda e: e.apply_state(p.version, p.state))


async def _change_entry(
    runtime: ServiceRuntime, customers: CustomerService, code: str, change: Callable[[CustomerEntry], Any]
) -> None:
    doc = await store.customer_entry(runtime.db, code)
    if doc is None:
        # A customer this projection never saw: its CustomerCreated is still on its way (it
        # waits in a batch beside this event), or came before order-sync's queue existed (an
        # import before order-sync was deployed). Either way the record as it is now, read
        # from the customer service, holds this change; the late CustomerCreated is older and
        # changes nothing. Dropping the change instead left orders with the new email
        # creating a second customer.
        await _save_current_record(runtime, customers, code)
        return
    entry = CustomerEntry(doc)
    if change(entry):
        await learn_record(runtime.db, code, saved=await store.save_customer_entry(runtime.db, entry.doc))


async def _save_current_record(runtime: ServiceRuntime, customers: CustomerService, code: str) -> None:
    reply = await customers.clients.call(GetCustomer, {"customer_code": code})
    if not reply.ok:
        if reply.error.code == "not_found":
            return  # erased since: nothing to match orders against
        # Not this event's fault: raised as a failure, so that it is retried with back-off.
        raise RuntimeError(f"GetCustomer {code}: {reply.error.code}: {reply.error.message}")
    await learn_records(runtime, [CustomerEntry.from_view(reply.result.model_dump(mode="json")).doc])


# --- the review queue and the operator's views (O1, O5) ---------------------------------------------


def _review_item(doc: dict[str, Any], entries: dict[str, dict[str, Any]]) -> ReviewItem:
    scores = doc.get("scores") or {}
    candidates = [
        Candidate(
            customer_code=c,
            **scores.get(c, {}),
            first_name=e.get("first_name") or "",
            last_name=e.get("last_name") or "",
            email=e.get("email"),
            phone=e.get("phone"),
            postal_codes=[a["postal_code"] for a in e.get("addresses", []) if a.get("postal_code")],
            account_type=e.get("account_type") or "guest",
        )
        for c in doc["candidates"]
        if (e := entries.get(c)) is not None
    ]
    return ReviewItem(
        review_id=doc["_id"],
        order=OrderSummary.model_validate(doc["summary"]),
        candidates=candidates,
        **{
            k: doc.get(k) for k in ReviewItem.model_fields if k not in ("review_id", "order", "candidates") and k in doc
        },
    )


#: A review-queue cursor, read back strictly (plumbing.cursors): the last item's opening time
#: and id, plain text, never a value a query could take as an operator.
_REVIEW_CURSOR = TypeAdapter(tuple[AwareDatetime, Annotated[str, StringConstraints(min_length=1, max_length=300)]])


async def list_reviews(cmd: ListReviews, runtime: Runtime) -> ReviewPageReply:
    p = cmd.payload
    after = cursors.decode_cursor(p.cursor, _REVIEW_CURSOR, what="a cursor of this review queue") if p.cursor else None
    rows = await store.reviews_page(runtime.db, p.status, p.limit, after)
    entries = (
        {e["_id"]: e for e in await store.entries(runtime.db, [c for r in rows for c in r["candidates"]])}
        if rows
        else {}
    )
    cursor = None
    if len(rows) > p.limit:
        last = rows[p.limit - 1]
        cursor = cursors.encode_cursor([last["opened_at"], last["_id"]])
    return ReviewPageReply.success(
        ReviewPage(items=[_review_item(r, entries) for r in rows[: p.limit]], next_cursor=cursor)
    )


async def resolve_review(cmd: ResolveReview, runtime: Runtime, customers: Customers) -> ReviewReply:
    """O5: the CSR picks a candidate, or a new customer is created for the order."""
    p = cmd.payload
    review = check_resolution(await store.find_review(runtime.db, p.review_id), p.review_id, p.action, p.customer_code)
    await apply_resolution(runtime, customers, cmd, review)
    return ReviewReply.success(await _resolved_item(runtime.db, p.review_id))


async def apply_resolution(
    runtime: ServiceRuntime, customers: CustomerService, cmd: ResolveReview, review: dict[str, Any]
) -> None:
    """The CSR's decision on ``review`` (as read before, open), applied once. A review opened
    a moment before may not be in the transaction's snapshot yet: it waits for it (settling),
    and only a review another decision resolved is "resolved already"."""
    p, at = cmd.payload, now()
    order = Order.model_validate(review["order"])
    scope = await customers.scopes.get(order.scope)
    identity = identity_of(order, scope.country if scope else None)
    code = p.customer_code if p.action == "link" else None
    if code is None:
        code = await create_customer(runtime, customers, cmd, new_customer(order, identity, f"review:{p.review_id}"))
    by = cmd.actor.id if cmd.actor else "system"

    async def work(uow: UnitOfWork) -> None:
        if not await store.record_resolution(uow, review, order, code, by, at):
            if await store.find_review(uow, p.review_id) is None:
                raise ReviewNotSettled(p.review_id)
            raise Rejected.invalid_state(f"review {p.review_id} was resolved already")
        # The decision teaches the index: the customer's profile learns the order, and the
        # same details on a later order are this customer's (O5).
        await learn_decision(uow, code, identity)
        created = p.action == "create"
        linked = OrderLinkedPayload(customer_code=code, rule="review", customer_created=created, order=summary(order))
        uow.publish(OrderLinked(**uow.envelope(), payload=linked), partition_key=code)

    await once_settled(lambda: apply_once(runtime, cmd, work))
    await replay_parked(runtime, customers, review["order_key"])


class ReviewNotSettled(NotSettled):
    def __init__(self, review_id: str) -> None:
        super().__init__(f"review {review_id} is not in the transaction's snapshot yet")


async def _resolved_item(db: store.Database, review_id: str) -> ReviewItem:
    resolved = await store.find_review(db, review_id)
    assert resolved is not None  # resolved just now; reviews are never deleted
    entries = {e["_id"]: e for e in await store.entries(db, resolved["candidates"])}
    return _review_item(resolved, entries)


async def list_rejected_orders(cmd: ListRejectedOrders, runtime: Runtime) -> RejectedOrdersReply:
    rows = await store.rejected_page(runtime.db, cmd.payload.limit, cmd.payload.before)
    return RejectedOrdersReply.success(
        [RejectedOrder(**{k: r.get(k) for k in RejectedOrder.model_fields}) for r in rows]
    )


async def get_order_link(cmd: GetOrderLink, runtime: Runtime) -> OrderLinkReply:
    doc = await store.find_order(runtime.db, order_key(cmd.payload.source_system, cmd.payload.order_number))
    if doc is None or doc.get("placeholder"):
        raise Rejected.not_found("order", f"{cmd.payload.source_system} {cmd.payload.order_number}")
    return OrderLinkReply.success(_link_view(doc))


async def get_source_customer_link(cmd: GetSourceCustomerLink, runtime: Runtime) -> SourceCustomerLinkReply:
    p = cmd.payload
    code = await store.linked_customer(runtime.db, p.source_system, p.source_customer_id)
    if code is None:
        raise Rejected.not_found("customer linked to", f"{p.source_system} {p.source_customer_id}")
    return SourceCustomerLinkReply.success(
        SourceCustomerLink(source_system=p.source_system, source_customer_id=p.source_customer_id, customer_code=code)
    )


async def find_orders(cmd: FindOrders, runtime: Runtime) -> OrderSearchReply:
    p = cmd.payload
    key = number_key(p.number)
    if not key:
        raise Rejected.invalid("payload.number", "required: an order number")
    docs = await store.orders_numbered(runtime.db, key, p.scope_id, p.limit)
    return OrderSearchReply.success([_link_view(doc) for doc in docs])


def _link_view(doc: dict[str, Any]) -> OrderLinkView:
    return OrderLinkView(
        order=OrderSummary.model_validate(doc["summary"]),
        customer_code=doc.get("customer_code"),
        rule=doc.get("rule"),
        score=doc.get("score"),
        evidence=doc.get("evidence") or [],
        notes=doc.get("notes") or [],
        review_id=doc.get("review_id"),
        linked_at=doc.get("linked_at"),
    )


def remember_rejected(runtime: ServiceRuntime) -> Callable[[dict[str, Any], bytes], Awaitable[None]]:
    """O1: every order (and upstream commerce message) this service dead-letters is kept as a
    rejected order an operator can list (card numbers masked already, C7)."""

    async def record(headers: dict[str, Any], body: bytes) -> None:
        if not str(headers.get(dead_letters.ORIGINAL_ROUTING_KEY, "")).startswith(("order.", "commerce.")):
            return
        message_id = _message_id_of(body)
        await store.record_rejected(
            runtime.db,
            {
                "_id": f"{headers.get(dead_letters.ORIGINAL_ROUTING_KEY)}|{message_id or uuid.uuid4().hex}",
                "message_id": message_id,
                "routing_key": headers.get(dead_letters.ORIGINAL_ROUTING_KEY),
                "reason": headers.get(dead_letters.ERROR, ""),
                "fields": json.loads(headers.get(dead_letters.FIELD_ERRORS) or "[]"),
                "body_excerpt": body[:2000].decode("utf-8", "replace"),
                "rejected_at": now(),
            },
        )

    return record


#: An envelope's message id, found without parsing a body too large or too deep to read.
_MESSAGE_ID = re.compile(rb'"message_id"\s*:\s*"([^"\\]{1,200})"')


def _message_id_of(body: bytes) -> str | None:
    try:
        check_body(body)
        message_id = json.loads(body).get("message_id")
        return message_id if isinstance(message_id, str) else None
    except (UnreadableBody, ValueError, AttributeError, RecursionError):
        found = _MESSAGE_ID.search(body)
        return found.group(1).decode("utf-8", "replace") if found else None


def mask_card_numbers_in_body(routing_key: str, body: bytes) -> bytes:
    """C7, O1: a refused order's or commerce message's card number is masked (last four digits
    kept) in the dead letter and everything made from it: replaying it cannot bring the
    number back, and an operator never sees it. The id fields (order number, customer id,
    SKU, phone, ...: contracts.upstream.cards.NOT_CARD_NUMBERS) are kept as they are: a platform's
    long numeric id can pass the card checksum, and masking it would make the replay another
    order. A body without a card number is kept byte for byte."""
    if not routing_key.startswith(("order.", "commerce.")):
        return body
    return redact_card_numbers_in_json(body)


COMMANDS: dict[type[Command[Any]], Callable[..., Awaitable[Any]]] = {
    ListReviews: list_reviews,
    ResolveReview: resolve_review,
    ListRejectedOrders: list_rejected_orders,
    GetOrderLink: get_order_link,
    GetSourceCustomerLink: get_source_customer_link,
    FindOrders: find_orders,
}


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    topology, attempts = runtime.settings.topology, runtime.settings.max_attempts
    # One router per subscriber: a router keeps its subscribers in a set, and the AsyncAPI
    # document lists them in that set's order, which varies from process to process.
    orders_router, commerce_router, customers_router = RabbitRouter(), RabbitRouter(), RabbitRouter()
    upstream = orders_router.subscriber(
        work_queue(topology, runtime.name, UPSTREAM_QUEUE, binding="order.#", max_attempts=attempts),
        upstream_exchange(topology),
        channel=runtime.batching_channel(),  # orders are taken in batches (intake)
        title=f"{runtime.name}.upstream-orders",
        description="Orders and order events published by upstream commerce systems.",
    )
    upstream(filter=routed_as(OrderPlaced.routing_key()))(order_placed)
    order_events: tuple[type[Envelope[Any]], ...] = (
        OrderStatusChanged,
        OrderShipped,
        PaymentRequested,
        PaymentReceived,
    )
    for order_event_type in order_events:
        upstream(filter=routed_as(order_event_type.routing_key()))(_typed(order_event, order_event_type))

    # C7: carts, payment methods and invoices; a queue of their own, so that a burst of cart
    # updates never holds up orders.
    upstream_commerce = commerce_router.subscriber(
        work_queue(topology, runtime.name, COMMERCE_QUEUE, binding="commerce.#", max_attempts=attempts),
        upstream_exchange(topology),
        title=f"{runtime.name}.{COMMERCE_QUEUE}",
        description="Carts, saved payment methods and invoices published by upstream commerce systems.",
    )
    for commerce_event, on_commerce in commerce.BY_SOURCE_CUSTOMER:
        upstream_commerce(filter=routed_as(commerce_event.routing_key()))(on_commerce)
    upstream_commerce(filter=routed_as(InvoiceIssued.routing_key()))(_typed(order_event, InvoiceIssued))

    customers = customers_router.subscriber(
        work_queue(topology, runtime.name, CUSTOMER_EVENTS_QUEUE, binding="customer.#", max_attempts=attempts),
        events_exchange(topology),
        title=f"{runtime.name}.customer-events",
        description="Customer events: the customers orders are matched against.",
    )
    customer_events: tuple[tuple[type[Envelope[Any]], Callable[..., Awaitable[None]]], ...] = (
        (CustomerCreated, customer_created),
        (CustomersImported, customers_imported),
        (CustomerUpdated, customer_updated),
        (CustomerAddressChanged, customer_address_changed),
        (CustomerStateChanged, customer_state_changed),
    )
    for customer_event, on_event in customer_events:
        customers(filter=routed_as(customer_event.routing_key()))(on_event)
    merging.subscribe(customers)
    customers(filter=_anything)(_ignore)  # other customer events say nothing order-sync needs

    for command, handler in {**COMMANDS, **privacy.COMMANDS}.items():
        on_command(runtime, command, handler)
    runtime.dead_letters.redactors.append(mask_card_numbers_in_body)
    runtime.dead_letters.listeners.append(remember_rejected(runtime))
    return [orders_router, commerce_router, customers_router]


def _typed(
    handler: Callable[[Any, ServiceRuntime, CustomerService], Awaitable[None]], event: type[Envelope[Any]]
) -> Callable[[Any, ServiceRuntime, CustomerService], Awaitable[None]]:
    """The same handler for several event types, each with its own contract in the signature
    (FastStream validates against the annotation)."""

    async def typed(message: Any, runtime: ServiceRuntime, customers: CustomerService) -> None:  # annotated below
        await handler(message, runtime, customers)

    typed.__annotations__ = {"message": event, "runtime": Runtime, "customers": Customers, "return": None}
    typed.__name__ = f"on_{event.type_name().replace('-', '_')}"
    typed.__doc__ = event.__doc__
    return typed


async def _anything(message: Any) -> bool:
    return True


async def _ignore(message: Any) -> None:
    return None
