"""Messages in and out of the customer service: one handler per command (I1).

A handler reads its command, runs the domain rules inside one transaction (``apply_once``:
the change, its events and the inbox record commit together) and answers a typed reply.
A rule it breaks raises ``Rejected``, which becomes the typed error reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from contracts.customer.records import (
    AccountTemplateReply,
    AccountTemplateView,
    AddAddress,
    ChangeAddress,
    ChangeCustomerState,
    CreateCustomer,
    CreateCustomers,
    CreateScope,
    CreationsReply,
    CreationsResult,
    CustomerCreation,
    CustomerReply,
    EmailLookup,
    EmailLookupReply,
    FindAccountsByEmail,
    GetAccountTemplate,
    GetCustomer,
    GetStateSummary,
    ImportCustomers,
    ImportReply,
    ImportResult,
    ListScopes,
    NewCustomer,
    RemoveAddress,
    ScopeListReply,
    ScopeReply,
    ScopeView,
    SearchCustomers,
    SearchReply,
    SetAccountTemplate,
    StateSummary,
    StateSummaryReply,
    UpdateCustomer,
)
from contracts.envelope import Command, Event
from plumbing.errors import Rejected
from plumbing.runtime import CommandTable, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once, was_applied

from ..accounts.links import send_link
from ..relations import store as relations_store
from ..settings import CustomerRuntime, CustomerSettings
from . import bulk, store, summary
from .rules import Customer, check_template_fields, creation_attempts, customer_summary, import_parts, now
from .service import change_customer, create_once, search_page

R = TypeVar("R")

# --- scopes and account templates ---------------------------------------------------------


async def create_scope(cmd: CreateScope, runtime: CustomerRuntime) -> ScopeReply:
    scope = ScopeView(**cmd.payload.model_dump(), created_at=now())

    async def work(uow: UnitOfWork) -> ScopeView:
        await store.insert_scope(uow, scope)
        return scope

    return ScopeReply.success(await apply_once(runtime, cmd, work, ScopeView))


async def list_scopes(cmd: ListScopes, runtime: CustomerRuntime) -> ScopeListReply:
    return ScopeListReply.success(await store.list_scopes(runtime.db))


async def set_account_template(cmd: SetAccountTemplate, runtime: CustomerRuntime) -> AccountTemplateReply:
    check_template_fields(cmd.payload.fields)

    async def work(uow: UnitOfWork) -> AccountTemplateView:
        await store.require_scope(uow, cmd.payload.scope_id)
        return await store.set_template(uow, cmd.payload.scope_id, cmd.payload.fields)

    return AccountTemplateReply.success(await apply_once(runtime, cmd, work, AccountTemplateView))


async def get_account_template(cmd: GetAccountTemplate, runtime: CustomerRuntime) -> AccountTemplateReply:
    await store.require_scope(runtime.db, cmd.payload.scope_id)
    template = await store.get_template(runtime.db, cmd.payload.scope_id)
    return AccountTemplateReply.success(
        template or AccountTemplateView(scope_id=cmd.payload.scope_id, version=0, fields=[])
    )


# --- creating customers (C1, C17, O3): bulk.create_each, for one or for many ------------------


async def create_customer(cmd: CreateCustomer, runtime: CustomerRuntime) -> CustomerReply:
    view, _ = await create_once(runtime, cmd, cmd.payload)
    return CustomerReply.success(view)


async def create_customers(cmd: CreateCustomers, runtime: CustomerRuntime) -> CreationsReply:
    """O3: the new customers of a batch of orders."""
    result = await create_several(runtime, cmd, cmd.payload.customers, "payload.customers", _creations, CreationsResult)
    return CreationsReply.success(result)


#: Rows of an import applied in one transaction; a batch of more goes in parts, in order, each
#: row with its idempotency key, so a part is safe to apply again. MongoDB takes a long
#: transaction at a higher cost per row (its uncommitted entries crowd the index pages the
#: other batches' transactions write to), and each transaction is three inserts and a commit
#: one after the other (the reads and codes are the batch's, ``bulk.prepare``). Through the
#: service (two workers, batches of 1,000, four in flight), parts of 500 imported 18% more
#: rows a second than one transaction of 1,000 over five pairs of runs at load 4 to 9 (and
#: as many as parts of 200 when the machine was quiet, more when it was not).
IMPORT_PART_ROWS = 500


async def import_customers(cmd: ImportCustomers, runtime: CustomerRuntime) -> ImportReply:
    """C17: a batch of rows of a file. The answer kept for a redelivery is the rows' codes,
    not whole customers (a thousand customer views a batch, for nothing); a batch applied
    before that kept its customers, and a redelivery of it answers their codes.

    A batch of more than ``IMPORT_PART_ROWS`` rows is applied in parts (``rules.import_parts``).
    Each transaction's new customers go out in one ``CustomersImported`` event.

    The scopes and templates of the rows, and codes for all of them, are read once for the
    batch, beside the check of the inbox (``bulk.prepare``): a transaction then costs its
    inserts and its commit, no read before them (a template changed meanwhile applies from
    the next batch on, as if the batch had been sent a moment earlier)."""
    rows = cmd.payload.rows
    before, prepared = await asyncio.gather(applied_before(runtime, cmd), bulk.prepare(runtime.db, rows))
    *parts, (last, _) = import_parts(len(rows), None if before else IMPORT_PART_ROWS)
    done: list[CustomerCreation] = []
    for start, stop in parts:
        done += await _import_part(runtime, cmd, rows[start:stop], start, prepared)
    answer = _import_rows if not done else lambda creations: _import_rows([*done, *creations])
    kept: Any = ImportResult | CreationsResult
    result = await create_several(
        runtime, cmd, rows[last:], "payload.rows", answer, kept, offset=last, one_event=True, prepared=prepared
    )
    if isinstance(result, CreationsResult):  # kept by a batch applied before the answer was the rows' codes
        result = _import_rows(result.customers)
    return ImportReply.success(result)


async def _import_part(
    runtime: CustomerRuntime, cmd: ImportCustomers, part: list[NewCustomer], offset: int, prepared: bulk.Prepared
) -> list[CustomerCreation]:
    """A part of a long import before its last: its own transaction, with no inbox record and
    no answer kept (the last part's transaction keeps both)."""
    return await create_several(
        runtime, cmd, part, "payload.rows", list, None, offset=offset, inbox=False, one_event=True, prepared=prepared
    )


async def applied_before(runtime: ServiceRuntime[CustomerSettings], cmd: Command[Any]) -> bool:
    """The command's inbox record is there (``apply_once`` answers what it kept)."""
    return await was_applied(runtime.db, f"{runtime.name}:{cmd.message_id}")


def _creations(creations: list[CustomerCreation]) -> CreationsResult:
    return CreationsResult(customers=creations)


def _import_rows(creations: list[CustomerCreation]) -> ImportResult:
    return ImportResult(rows=[bulk.import_row(creation) for creation in creations])


async def create_several(
    runtime: ServiceRuntime[CustomerSettings],
    cmd: Command[Any],
    news: list[NewCustomer],
    fields: str,
    answer: Callable[[list[CustomerCreation]], R],
    result_type: Any,
    *,
    offset: int = 0,
    inbox: bool = True,
    one_event: bool = False,
    prepared: bulk.Prepared | None = None,
) -> R:
    """All in one transaction. A concurrent writer that took one's key or email between the
    reads and the insert aborts it: the batch runs once more, its reads now seeing that commit
    (each such row answers as it would have); only if that too conflicts, each customer in its
    own transaction (each idempotency key makes that safe to repeat). ``offset``: where
    ``news`` start among the command's customers; ``inbox=False``: a part of the command
    (no inbox record, no answer kept); ``one_event``: see ``bulk.create_each``, and an import's
    first attempt inserts without reading the keys and emails first (``look_first``:
    ``rules.creation_attempts``); ``prepared``: see ``bulk.create_each``."""

    creating = partial(bulk.create_each, fields=fields, offset=offset, one_event=one_event, prepared=prepared)

    async def create_all(uow: UnitOfWork, look_first: bool) -> R:
        return answer(await creating(runtime, uow, news, look_first=look_first))

    for look_first in creation_attempts(one_event):
        try:
            return await apply_once(runtime, cmd, partial(create_all, look_first=look_first), result_type, inbox=inbox)
        except (store.SameKeyCommitted, Rejected):
            continue
    return answer([await _create_alone(runtime, offset + index, new, fields) for index, new in enumerate(news)])


async def _create_alone(
    runtime: ServiceRuntime[CustomerSettings], index: int, new: NewCustomer, fields: str
) -> CustomerCreation:
    if not new.idempotency_key:
        return bulk.refused(
            index,
            Rejected.invalid(
                f"{fields}.{index}.idempotency_key", "required when several customers are created at once"
            ),
        )
    try:
        view, created = await create_once(runtime, None, new)
    except Rejected as exc:
        return bulk.refused(index, exc)
    return CustomerCreation(index=index, status="created" if created else "unchanged", customer=view)


# --- reading (C2, C10, C11) -----------------------------------------------------------------


async def get_customer(cmd: GetCustomer, runtime: CustomerRuntime) -> CustomerReply:
    customer = await store.load(runtime.db, cmd.payload.customer_code, follow_merge=True)
    return CustomerReply.success(await relations_store.customer_view_with_groups(runtime.db, customer.doc))


async def find_accounts_by_email(cmd: FindAccountsByEmail, runtime: CustomerRuntime) -> EmailLookupReply:
    docs = await store.accounts_by_email(runtime.db, cmd.payload.email)
    return EmailLookupReply.success(EmailLookup(email=cmd.payload.email, accounts=[customer_summary(d) for d in docs]))


async def search_customers(cmd: SearchCustomers, runtime: CustomerRuntime) -> SearchReply:
    return SearchReply.success(await search_page(runtime, cmd.payload))


async def get_state_summary(cmd: GetStateSummary, runtime: CustomerRuntime) -> StateSummaryReply:
    if cmd.payload.scope_id:
        await store.require_scope(runtime.db, cmd.payload.scope_id)
    counts, counted_at = await summary.state_summary(runtime.db, cmd.payload.scope_id, now())
    return StateSummaryReply.success(StateSummary(scope_id=cmd.payload.scope_id, counts=counts, counted_at=counted_at))


# --- changing customers (C4, C10, C12) ------------------------------------------------------


async def update_customer(cmd: UpdateCustomer, runtime: CustomerRuntime) -> CustomerReply:
    async def change(customer: Customer, uow: UnitOfWork) -> list[Event[Any]]:
        scope = await store.require_scope(uow, customer.scope_id)
        template = await store.get_template(uow, customer.scope_id)
        at = now()
        customer.change(cmd.payload.changes, scope=scope, template=template, at=at)
        if customer.needs_email_verification:  # C20: the new address is used once proved
            await send_link(runtime, uow, customer, scope, "email_verification", at, to=customer.pending_email)
        return uow.collect(customer)  # CustomerUpdated

    return await change_customer(runtime, cmd, "updated", change)


# Each change below: the rule, and the events it recorded (CustomerAddressChanged,
# CustomerStateChanged), collected as messages caused by the command.


async def add_address(cmd: AddAddress, runtime: CustomerRuntime) -> CustomerReply:
    async def change(customer: Customer, uow: UnitOfWork) -> list[Event[Any]]:
        customer.add_address(cmd.payload.address, now())
        return uow.collect(customer)

    return await change_customer(runtime, cmd, "address added", change)


async def change_address(cmd: ChangeAddress, runtime: CustomerRuntime) -> CustomerReply:
    async def change(customer: Customer, uow: UnitOfWork) -> list[Event[Any]]:
        customer.change_address(cmd.payload.address_id, cmd.payload.address, now())
        return uow.collect(customer)

    return await change_customer(runtime, cmd, "address changed", change)


async def remove_address(cmd: RemoveAddress, runtime: CustomerRuntime) -> CustomerReply:
    async def change(customer: Customer, uow: UnitOfWork) -> list[Event[Any]]:
        customer.remove_address(cmd.payload.address_id, now())
        return uow.collect(customer)

    return await change_customer(runtime, cmd, "address removed", change)


async def change_customer_state(cmd: ChangeCustomerState, runtime: CustomerRuntime) -> CustomerReply:
    async def change(customer: Customer, uow: UnitOfWork) -> list[Event[Any]]:
        customer.apply_action(cmd.payload.action, cmd.payload.reason, now())
        return uow.collect(customer)

    return await change_customer(runtime, cmd, f"state: {cmd.payload.action}", change)


HANDLERS: CommandTable = {
    CreateScope: create_scope,
    ListScopes: list_scopes,
    SetAccountTemplate: set_account_template,
    GetAccountTemplate: get_account_template,
    CreateCustomer: create_customer,
    CreateCustomers: create_customers,
    ImportCustomers: import_customers,
    GetCustomer: get_customer,
    FindAccountsByEmail: find_accounts_by_email,
    SearchCustomers: search_customers,
    GetStateSummary: get_state_summary,
    UpdateCustomer: update_customer,
    AddAddress: add_address,
    ChangeAddress: change_address,
    RemoveAddress: remove_address,
    ChangeCustomerState: change_customer_state,
}
