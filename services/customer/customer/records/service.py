"""What several capabilities do to customer records, below every handler: create one (with
its race handling), page through a search, and change one in a transaction that checks who
acts and the expected version, publishes the change's events and audits it. Handlers of
records, accounts, relations and history call these; none of them imports another's handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from contracts.customer.records import (
    CreateCustomer,
    CustomerReply,
    CustomerView,
    NewCustomer,
    RegisterCustomer,
    SearchInput,
    SearchPage,
)
from contracts.envelope import Command, Event
from plumbing.errors import Rejected
from plumbing.runtime import ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import audit, authorize
from ..relations import store as relations_store
from ..settings import CustomerSettings
from . import bulk, store
from .rules import Customer, customer_summary, now


async def create(
    runtime: ServiceRuntime[CustomerSettings], uow: UnitOfWork, new: NewCustomer
) -> tuple[CustomerView, bool]:
    """Create a customer, or find the one an earlier request with the same idempotency key
    created; says which."""
    (outcome,) = await bulk.create_each(runtime, uow, [new])
    if outcome.error is not None:
        raise Rejected(outcome.error)
    if outcome.customer is None:  # created or found: create_each answers the customer
        raise RuntimeError(f"customer creation {outcome.status} without its customer")
    return outcome.customer, outcome.status == "created"


async def create_once(
    runtime: ServiceRuntime[CustomerSettings], message: CreateCustomer | RegisterCustomer | None, new: NewCustomer
) -> tuple[CustomerView, bool]:
    """``create`` in its own transaction; when a concurrent twin (same idempotency key) wins
    the race, the second attempt answers the twin's customer (O6: one customer, not two)."""
    for _ in range(3):
        try:
            return await apply_once(runtime, message, lambda uow: create(runtime, uow, new), tuple[CustomerView, bool])
        except store.SameKeyCommitted:
            continue
    raise Rejected.of("unavailable", "the customer is being created by a concurrent request; retry")


async def search_page(runtime: ServiceRuntime[CustomerSettings], query: SearchInput) -> SearchPage:
    """C11 search; also the member pages of organizations and groups (C5, C19)."""
    # A phone typed nationally is read as the scope's country's, or, with no scope chosen, as
    # each scope's (a CSR types "06 12 34 56 78" as the caller says it).
    if query.scope_id:
        countries: tuple[str, ...] = ((await store.require_scope(runtime.db, query.scope_id)).country,)
    elif query.phone:
        countries = tuple(sorted({scope.country for scope in await store.list_scopes(runtime.db)}))
    else:
        countries = ()
    group = await relations_store.group_filter(runtime.db, query.group) if query.group else None
    rows, cursor, total, exact, sorted_by = await store.search_customers(runtime.db, query, countries, group)
    return SearchPage(
        items=[customer_summary(r) for r in rows],
        next_cursor=cursor,
        total=total,
        total_is_exact=exact,
        sorted_by=sorted_by,
    )


Change = Callable[[Customer, UnitOfWork], Awaitable[list[Event[Any]]]]


async def change_customer(
    runtime: ServiceRuntime[CustomerSettings], cmd: Command[Any], action: str, change: Change
) -> CustomerReply:
    """Check who acts, load, check the expected version, change, save, publish and audit: one
    transaction. ``cmd``'s payload names the customer (``customer_code``) and the version its
    sender saw (``expected_version``)."""

    async def work(uow: UnitOfWork) -> CustomerView:
        at = now()
        acting = await authorize(uow, cmd.actor, cmd.payload.customer_code, at)
        customer = await store.load(uow, cmd.payload.customer_code)
        customer.expect_version(cmd.payload.expected_version)
        events = await change(customer, uow)
        if customer.version != customer.loaded_version:
            await store.save(uow, customer)
            for event in events:
                uow.publish(event, partition_key=customer.code)
            await audit(uow, acting, customer.code, action, list(customer.changed_fields), at)
        return await relations_store.customer_view_with_groups(uow, customer.doc)

    return CustomerReply.success(await apply_once(runtime, cmd, work, CustomerView))
