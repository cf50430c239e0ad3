"""Creating customers, one or many in one transaction (C1, C17, O3).

``create_each`` is the one way a customer is created: ``CreateCustomer`` runs it for one,
``CreateCustomers`` for the new customers of a batch of orders, ``ImportCustomers`` for a
batch of file rows. Each customer is created, found (its idempotency key was seen before, in
the database or earlier in the batch: importing the same file twice changes nothing) or
refused on its own; the batch costs four reads (scopes, templates, idempotency keys, registered
emails: each one query for every scope of the batch), one code reservation, one insert of the
customers, one of their audit entries and one of their events (the unit of work's outbox).
An import's batch publishes one ``CustomersImported`` event for all its new customers (one
outbox document, one message) and first tries without the reads of keys and emails, which a
new file's rows do not need (``look_first``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import (
    AccountTemplateView,
    CustomerCreated,
    CustomerCreatedPayload,
    CustomerCreation,
    CustomersImported,
    CustomersImportedPayload,
    ImportRowResult,
    NewCustomer,
    ScopeView,
)
from contracts.envelope import Command
from plumbing.errors import Rejected
from plumbing.runtime import ServiceRuntime
from plumbing.unit_of_work import UnitOfWork

from ..accounts.links import invite_if_new_registered
from ..acting import SYSTEM, Acting, audit_each
from ..settings import CustomerSettings
from . import store
from .rules import Customer, customer_view, now

Key = tuple[str, str]


@dataclass
class Prepared:
    """What the transactions of one import batch share, read before the first of them, at
    once: the scopes of its rows with their account templates, and codes reserved for every
    row. Each transaction takes the next codes it needs (``take``); a code taken by one that
    aborts, or reserved for a row refused or answered unchanged, is never used, as a code
    reserved for an aborted transaction never was. The reads then cost one round trip for
    the batch instead of three for each transaction of it, one after the other."""

    scopes: dict[str, ScopeView | None]
    templates: dict[str, AccountTemplateView | None]
    codes: list[str]

    async def take(self, db: AsyncDatabase[dict[str, Any]], count: int) -> list[str]:
        taken, self.codes = self.codes[:count], self.codes[count:]
        if len(taken) < count:  # a batch run again after a conflict: more than its rows
            taken += await store.allocate_codes(db, count - len(taken))
        return taken


async def prepare(db: AsyncDatabase[dict[str, Any]], news: list[NewCustomer]) -> Prepared:
    """``Prepared`` for these rows: the scopes, the templates and the codes side by side."""
    scope_ids = sorted({new.scope_id for new in news})
    (scopes, templates), codes = await asyncio.gather(
        store.scopes_with_templates(db, scope_ids), store.allocate_codes(db, len(news))
    )
    return Prepared(scopes, templates, codes)


async def create_each(
    runtime: ServiceRuntime[CustomerSettings],
    uow: UnitOfWork,
    news: list[NewCustomer],
    *,
    fields: str | None = None,
    offset: int = 0,
    one_event: bool = False,
    look_first: bool = True,
    prepared: Prepared | None = None,
) -> list[CustomerCreation]:
    """Create each customer, or find the one an earlier request with its idempotency key (or
    an earlier one of ``news``) created; a customer the rules refuse is refused alone.

    ``fields``: where the customers stand in the command (``payload.rows``): several at once
    then need an idempotency key each (a retry, or a batch settled one by one, must not
    create twice), and an error names the customer's index. None: one customer, the payload.
    ``offset``: where ``news`` start among the command's customers (a part of a long import).
    ``one_event``: the customers created go out in one ``CustomersImported`` event (C17's
    imports) instead of one ``CustomerCreated`` each: one outbox document and one message for
    the transaction, not two hundred.
    ``look_first=False``: no read of the idempotency keys and registered emails already in
    the database (a new file's rows have none): a row that has one then fails the insert on
    the unique index the read would have consulted, the transaction aborts with nothing
    written, and the caller runs the batch again with the reads (``handlers.create_several``).
    ``prepared``: the scopes, templates and codes read for the whole batch (``prepare``)."""
    db, at = runtime.db, now()

    def field(index: int, name: str) -> str:
        return f"{fields}.{offset + index}.{name}" if fields else f"payload.{name}"

    if prepared is None:
        scope_ids = sorted({new.scope_id for new in news})
        scopes, templates = await store.scopes_with_templates(uow, scope_ids)
    else:
        scopes, templates = prepared.scopes, prepared.templates
    keys: dict[str, list[str]] = {}
    for new in news:
        if new.idempotency_key:
            keys.setdefault(new.scope_id, []).append(new.idempotency_key)
    earlier = await store.find_by_idempotency_keys(uow, keys) if look_first else {}
    outcomes: dict[int, CustomerCreation] = {}
    first_of: dict[Key, int] = {}
    repeats: dict[int, int] = {}
    accepted: list[tuple[int, Customer]] = []
    for index, new in enumerate(news):
        key = (new.scope_id, new.idempotency_key or "")
        scope = scopes[new.scope_id]
        if fields and not new.idempotency_key:
            outcomes[index] = refused(
                index,
                Rejected.invalid(
                    field(index, "idempotency_key"), "required when several customers are created at once"
                ),
            )
        elif new.idempotency_key and key in earlier:
            outcomes[index] = CustomerCreation(index=index, status="unchanged", customer=customer_view(earlier[key]))
        elif new.idempotency_key and key in first_of:
            repeats[index] = first_of[key]
        elif scope is None:
            outcomes[index] = refused(index, Rejected.not_found("scope", new.scope_id, field=field(index, "scope_id")))
        else:
            try:
                customer = Customer.create(new, code="", scope=scope, template=templates[new.scope_id], at=at)
            except Rejected as exc:
                outcomes[index] = refused(index, exc)
                continue
            if new.idempotency_key:
                first_of[key] = index
            accepted.append((index, customer))

    # Every read in the transaction's snapshot: a customer another writer commits meanwhile
    # shows up as a conflict at insert, and the caller runs the batch again (handlers.create_several).
    accepted = await drop_taken_emails(uow, accepted, outcomes, field, look_first=look_first)
    if not accepted:
        codes = []
    elif prepared is None:
        codes = await store.allocate_codes(db, len(accepted))
    else:
        codes = await prepared.take(db, len(accepted))
    envelope = uow.envelope()  # the same cause for every event; each gets its own message id
    found = {scope_id: scope for scope_id, scope in scopes.items() if scope is not None}  # those of accepted ones
    for (_, customer), code in zip(accepted, codes, strict=True):
        customer.numbered(code)
    views = [customer.view() for _, customer in accepted]  # the events' and the answer's: built once
    if one_event and views:
        uow.publish(CustomersImported(**envelope, payload=CustomersImportedPayload(customers=views)))
    for (index, customer), view in zip(accepted, views, strict=True):
        if not one_event:
            uow.publish(
                CustomerCreated(**envelope, payload=CustomerCreatedPayload(customer=view)), partition_key=view.code
            )
        await invite_if_new_registered(runtime, uow, customer, found[customer.scope_id], at)
        outcomes[index] = CustomerCreation(index=index, status="created", customer=view)
    if accepted:
        await store.insert_each(uow, [customer for _, customer in accepted])
        actor = uow.cause.actor if isinstance(uow.cause, Command) else None
        await audit_each(
            uow, Acting(actor or SYSTEM), [(c.code, f"created ({news[i].channel})") for i, c in accepted], [], at
        )
    for index, first in repeats.items():  # a customer repeated in the batch answers as its first copy
        outcomes[index] = CustomerCreation(index=index, status="unchanged", customer=outcomes[first].customer)
    answers = [outcomes[index] for index in range(len(news))]
    if offset:
        answers = [answer.model_copy(update={"index": answer.index + offset}) for answer in answers]
    return answers


async def drop_taken_emails(
    uow: UnitOfWork,
    accepted: list[tuple[int, Customer]],
    outcomes: dict[int, CustomerCreation],
    field: Callable[[int, str], str],
    *,
    look_first: bool = True,
) -> list[tuple[int, Customer]]:
    """C2: a registered customer whose email a registered account of its scope already uses,
    in the database (unless ``look_first`` is False: see ``create_each``) or earlier in the
    batch, is refused."""
    by_scope: dict[str, list[str]] = {}
    for _, customer in accepted:
        if customer.registered_email is not None:
            by_scope.setdefault(customer.scope_id, []).append(customer.registered_email)
    taken = await store.registered_emails_in_use(uow, by_scope) if look_first else set()
    kept = []
    for index, customer in accepted:
        email = customer.registered_email
        if email is not None:
            claim: Key = (customer.scope_id, email)
            if claim in taken:
                message = f"a registered account in scope {claim[0]!r} already uses {customer.email}"
                outcomes[index] = refused(index, Rejected.conflict(message, field=field(index, "email")))
                continue
            taken.add(claim)
        kept.append((index, customer))
    return kept


def refused(index: int, exc: Rejected) -> CustomerCreation:
    return CustomerCreation(index=index, status="rejected", error=exc.error)


def import_row(creation: CustomerCreation) -> ImportRowResult:
    """C17's answer for a row: its code, not the whole customer."""
    return ImportRowResult(
        index=creation.index,
        status=creation.status,
        code=creation.customer.code if creation.customer else None,
        error=creation.error,
    )
