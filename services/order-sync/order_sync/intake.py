"""Orders arriving (O1-O6): each ``OrderPlaced`` is matched (domain.decide) against the
customers this service knows from customer events, linked, sent to review, or given a new
customer created through the customer service.

Orders are taken in batches (plumbing.batching): the handlers of the orders that arrive
together submit them, and one batch looks up the known links and emails of all of them in
one query each and stores the orders of known customers, their links and events in one
transaction. The orders that need a new customer go on to a second batch step, which asks
the customer service for all their customers in one ``CreateCustomers`` and then stores
them alike. Every order keeps its own outcome: one that fails (an unknown scope, a customer
the customer service refuses) fails alone, and if a batch's transaction cannot commit, each
of its orders is stored on its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.customer import CreateCustomer, CreateCustomers, NewCustomer
from contracts.envelope import Envelope
from contracts.order_sync import OrderLinked, OrderReviewOpened
from contracts.orders import Order, OrderPlaced
from contracts.replies import field_errors_from_pydantic
from plumbing.batching import Batcher, Pending
from plumbing.errors import Rejected
from plumbing.service import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store
from .domain import (
    CustomerEntry,
    Decision,
    Identity,
    decide,
    identity_of,
    new_customer,
    order_key,
    phone_candidates_filter,
    summary,
)
from .order_events import replay_parked
from .resources import now, resources


log = logging.getLogger("oms.order-sync.intake")

#: Orders stored in one transaction at most (a batch is what arrived together, at most the
#: prefetch count of the subscriber), and batches under way at once.
MAX_BATCH = 64
BATCHES_IN_FLIGHT = 2


async def order_placed(message: OrderPlaced, runtime: Runtime) -> None:
    intake = resources(runtime).intake
    arrival = await intake.matching.submit(message)
    if arrival.decision.kind == "create":
        # A round trip to the customer service: the orders of known customers that arrived
        # with this one are stored, and acknowledged, meanwhile.
        await intake.creating.submit(arrival)


@dataclass
class Intake:
    """The two batch steps of an order: matched (and stored, for a known customer); stored
    once its new customer is created."""

    matching: Batcher[OrderPlaced, Arrival]
    creating: Batcher[Arrival, Arrival]


def create_intake(runtime: ServiceRuntime) -> Intake:
    return Intake(
        matching=runtime.batcher("orders-matched", lambda batch: _match_and_store(runtime, batch),
                                 max_size=MAX_BATCH, max_in_flight=BATCHES_IN_FLIGHT),
        creating=runtime.batcher("orders-new-customers", lambda batch: _create_and_store(runtime, batch),
                                 max_size=MAX_BATCH, max_in_flight=BATCHES_IN_FLIGHT),
    )


@dataclass
class Arrival:
    """One order of a batch on its way: what it says, what was decided, how it ended."""

    message: OrderPlaced
    identity: Identity | None = None
    decision: Decision | None = None
    failure: BaseException | None = None  # raised by this order's handler
    replay: bool = False  # events may be parked for it

    @property
    def order(self) -> Order:
        return self.message.payload

    @property
    def key(self) -> str:
        return order_key(self.order.source_system, self.order.order_number)

    @property
    def source_link(self) -> str | None:
        """C13: which source customer the order came under (also O2's first rule)."""
        order = self.order
        return f"{order.source_system}|{order.source_customer_id}" if order.source_customer_id else None


async def _match_and_store(runtime: ServiceRuntime, batch: list[Pending[OrderPlaced, Arrival]]) -> None:
    arrivals = [Arrival(pending.item) for pending in batch]
    await _identify(runtime, arrivals)
    await _decide(runtime, [a for a in arrivals if a.failure is None])
    known: list[tuple[Pending[Any, Arrival], Arrival]] = []
    for pending, arrival in zip(batch, arrivals, strict=True):
        if arrival.failure is not None:
            pending.fail(arrival.failure)
        elif arrival.decision.kind == "create":
            pending.resolve(arrival)  # its handler creates the customer, then stores it
        else:
            known.append((pending, arrival))
    await _store_settling(runtime, known)


async def _create_and_store(runtime: ServiceRuntime, batch: list[Pending[Arrival, Arrival]]) -> None:
    arrivals = [pending.item for pending in batch]
    await _create_customers(runtime, arrivals)
    for pending, arrival in zip(batch, arrivals, strict=True):
        if arrival.failure is not None:
            pending.fail(arrival.failure)
    await _store_settling(runtime, [(p, a) for p, a in zip(batch, arrivals, strict=True) if a.failure is None])


async def _create_customers(runtime: ServiceRuntime, arrivals: list[Arrival]) -> None:
    """O3 through the customer service's own command, for all the orders at once; the
    idempotency key of each new customer makes a retry, a twin order in the batch or on
    another worker answer the same customer. A customer it refuses fails its order alone."""
    asking: list[tuple[Arrival, NewCustomer]] = []
    for arrival in arrivals:
        # Checked here against the contract, so that one order's unusable customer (a name
        # too long, say) fails that order alone instead of the whole command.
        try:
            asking.append((arrival, NewCustomer.model_validate(new_customer(arrival.order, arrival.identity))))
        except ValidationError as error:
            arrival.failure = Rejected.invalid_fields(field_errors_from_pydantic(error.errors()))
    if not asking:
        return
    cause = asking[0][0].message
    customers = [customer.model_dump(mode="json", exclude_unset=True) for _, customer in asking]
    reply = await resources(runtime).customers.call(
        CreateCustomers, {"customers": customers}, correlation_id=cause.correlation_id or cause.message_id
    )
    if not reply.ok:
        raise Rejected(reply.error)
    created = []
    for (arrival, _), creation in zip(asking, reply.result.customers, strict=True):
        if creation.customer is None:
            arrival.failure = Rejected(creation.error)
            continue
        arrival.decision = Decision("link", "created", creation.customer.code)
        created.append(CustomerEntry.from_view(creation.customer.model_dump(mode="json")).doc)
    await store.save_customer_entries(runtime.db, created)


async def _store_settling(runtime: ServiceRuntime, items: list[tuple[Pending[Any, Arrival], Arrival]]) -> None:
    """Record the orders together (each alone if that fails), replay the events that waited
    for them, and let their handlers go on."""
    arrivals = [arrival for _, arrival in items]
    if arrivals:
        try:
            await _record(runtime, arrivals)
        except Exception:  # noqa: BLE001 - one order may be the cause: each on its own
            log.warning("a batch of %d orders could not be stored together; storing each alone", len(arrivals),
                        exc_info=True)
            for arrival in arrivals:
                await _failing_alone(arrival, _record(runtime, [arrival]))
    for pending, arrival in items:
        if arrival.failure is None and arrival.replay:
            await _failing_alone(arrival, replay_parked(runtime, arrival.key))
        if arrival.failure is None:
            pending.resolve(arrival)
        else:
            pending.fail(arrival.failure)


async def _failing_alone(arrival: Arrival, step: Awaitable[Any]) -> None:
    try:
        await step
    except Exception as error:  # noqa: BLE001 - this order's handler raises it
        arrival.failure = error


async def _identify(runtime: ServiceRuntime, arrivals: list[Arrival]) -> None:
    for arrival in arrivals:
        scope = await resources(runtime).scopes.get(arrival.order.scope)
        if scope is None:
            arrival.failure = Rejected.invalid("payload.scope", f"no scope {arrival.order.scope!r} in the customer service")
            continue
        try:
            arrival.identity = identity_of(arrival.order, scope.country)
        except Exception as error:  # noqa: BLE001
            arrival.failure = error


async def _decide(runtime: ServiceRuntime, arrivals: list[Arrival]) -> None:
    """O2's rules in order, each looked up only for the orders the ones before did not decide,
    and for all of them in one query."""
    db = runtime.db
    links = await store.linked_customers(db, [a.source_link for a in arrivals if a.source_link])
    unlinked = [a for a in arrivals if links.get(a.source_link) is None]
    by_email = await store.codes_by_emails(
        db, [(a.order.scope, a.identity.email_key) for a in unlinked if a.identity.email_key])
    for arrival in arrivals:
        identity, linked = arrival.identity, links.get(arrival.source_link)
        by_phone = (
            phone_candidates_filter(identity, await store.entries_by_phone(db, arrival.order.scope, identity.phone))
            if identity.can_match_by_phone and not linked and not identity.email_key else []
        )
        arrival.decision = decide(identity, linked, by_email.get((arrival.order.scope, identity.email_key), []),
                                  by_phone)


async def create_customer(runtime: ServiceRuntime, cause: Envelope[Any], payload: dict[str, Any]) -> str:
    """One customer through the customer service's own command (a CSR's review decision)."""
    reply = await resources(runtime).customers.call(
        CreateCustomer, payload, correlation_id=cause.correlation_id or cause.message_id
    )
    if not reply.ok:
        raise Rejected(reply.error)
    await store.save_customer_entry(runtime.db, CustomerEntry.from_view(reply.result.model_dump(mode="json")).doc)
    return reply.result.code


async def _record(runtime: ServiceRuntime, arrivals: list[Arrival]) -> None:
    """Store the orders with their links and events, in one transaction. Once per order
    (O6): the order's key, not the message id, makes a second delivery, or a twin in the
    same batch, a no-op that only finishes the replay of its parked events."""
    db, at = runtime.db, now()

    async def work(uow: UnitOfWork) -> None:
        existing = await store.find_orders(db, [a.key for a in arrivals], uow.session)
        docs: dict[str, dict[str, Any]] = {}
        links: list[tuple[str, str]] = []
        for arrival in arrivals:
            before = existing.get(arrival.key)
            # A placeholder says events came first. (An event parked while this transaction
            # runs writes the placeholder too: a write conflict, and the retry sees it.)
            arrival.replay = before is not None or arrival.key in docs
            if arrival.replay and (arrival.key in docs or not before.get("placeholder")):
                continue  # stored before: a redelivery, or a twin earlier in this batch
            docs[arrival.key] = await _order_document(runtime, uow, arrival, at)
            if arrival.decision.kind == "link" and arrival.source_link:
                links.append((arrival.source_link, arrival.decision.customer_code))
        await store.remember_source_links(db, links, at, uow.session)
        await store.put_orders(db, list(docs.values()), set(existing), uow.session)

    await apply_once(runtime, None, work, inbox=False)


async def _order_document(runtime: ServiceRuntime, uow: UnitOfWork, arrival: Arrival, at: datetime) -> dict[str, Any]:
    """The order as stored, with its link or review; records the event that says so."""
    order, decision, message = arrival.order, arrival.decision, arrival.message
    order_summary = summary(order)
    doc = {
        "_id": arrival.key, "source_system": order.source_system, "order_number": order.order_number,
        "scope_id": order.scope, "summary": order_summary.model_dump(mode="json"),
        "placed_at": order.placed_at, "status": order.status, "received_at": at,
        "message_id": message.message_id, "notes": list(arrival.identity.notes), "customer_code": None,
        "rule": decision.rule, "review_id": None, "shipments": [], "payments": [], "source_link": arrival.source_link,
    }
    if decision.kind == "link":
        doc.update(customer_code=decision.customer_code, linked_at=at)
        uow.publish(OrderLinked(**message.caused(producer=uow.producer), payload={
            "customer_code": decision.customer_code, "rule": decision.rule,
            "customer_created": decision.rule == "created", "order": order_summary}),
            partition_key=decision.customer_code)
    elif decision.kind == "review":
        doc["review_id"] = await open_review(runtime, uow, message, decision, at)
    return doc


async def open_review(runtime: ServiceRuntime, uow: UnitOfWork, message: OrderPlaced, decision: Decision,
                      at: datetime) -> str:
    order = message.payload
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
    uow.publish(OrderReviewOpened(**message.caused(producer=uow.producer), payload={
        "review_id": review_id, "order": summary(order), "rule": decision.rule,
        "candidates": list(decision.candidates)}))
    return review_id
