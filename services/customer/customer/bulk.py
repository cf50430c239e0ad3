"""C17 bulk import: a batch of rows checked together and inserted in one transaction.

Every row carries an idempotency key, so a row seen before answers "unchanged" with the
code it got the first time: importing the same file twice changes nothing.
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer import CustomerCreated, ImportResult, ImportRowResult, NewCustomer
from plumbing.errors import Rejected
from plumbing.service import ServiceRuntime
from plumbing.unit_of_work import UnitOfWork

from . import store
from .domain import Customer, now

Key = tuple[str, str]


async def import_batch(runtime: ServiceRuntime, uow: UnitOfWork, rows: list[NewCustomer]) -> ImportResult:
    db, session, at = runtime.db, uow.session, now()
    scope_ids = {row.scope_id for row in rows}
    scopes = {s: await store.get_scope(db, s, session) for s in scope_ids}
    templates = {s: await store.get_template(db, s, session) for s in scope_ids}
    earlier: dict[Key, str] = {}
    for scope_id in scope_ids:
        keys = [r.idempotency_key for r in rows if r.scope_id == scope_id and r.idempotency_key]
        for key, doc in (await store.find_by_idempotency_keys(db, scope_id, keys, session)).items():
            earlier[(scope_id, key)] = doc["_id"]

    results: dict[int, ImportRowResult] = {}
    first_row_of: dict[Key, int] = {}
    repeats: dict[int, int] = {}
    accepted: list[tuple[int, Customer]] = []
    for index, row in enumerate(rows):
        key = (row.scope_id, row.idempotency_key or "")
        if row.idempotency_key is None:
            results[index] = rejected(index, Rejected.invalid(f"payload.rows.{index}.idempotency_key", "required for an import"))
        elif key in earlier:
            results[index] = ImportRowResult(index=index, status="unchanged", code=earlier[key])
        elif key in first_row_of:
            repeats[index] = first_row_of[key]
        elif scopes[row.scope_id] is None:
            results[index] = rejected(index, Rejected.not_found("scope", row.scope_id, field=f"payload.rows.{index}.scope_id"))
        else:
            try:
                customer = Customer.create(row, code="", scope=scopes[row.scope_id], template=templates[row.scope_id], at=at)
            except Rejected as exc:
                results[index] = rejected(index, exc)
                continue
            first_row_of[key] = index
            accepted.append((index, customer))

    # Every read of the batch in the transaction's snapshot: a row another import commits
    # meanwhile shows up as a conflict at insert, and the batch is settled row by row.
    accepted = await drop_taken_emails(db, session, accepted, results)
    codes = await store.allocate_codes(db, len(accepted)) if accepted else []
    for (index, customer), code in zip(accepted, codes, strict=True):
        customer.doc["_id"] = code
        results[index] = ImportRowResult(index=index, status="created", code=code)
        uow.publish(CustomerCreated(**uow.envelope(), payload={"customer": customer.view()}), partition_key=code)
    if accepted:
        await store.insert_many(db, [customer for _, customer in accepted], session)
    for index, first in repeats.items():  # a row repeated in the file answers as its first copy
        results[index] = ImportRowResult(index=index, status="unchanged", code=results[first].code)
    return ImportResult(rows=[results[i] for i in range(len(rows))])


async def drop_taken_emails(
    db: AsyncDatabase,
    session: AsyncClientSession,
    accepted: list[tuple[int, Customer]],
    results: dict[int, ImportRowResult],
) -> list[tuple[int, Customer]]:
    """C2: a registered row whose email a registered account of its scope already uses, in the
    database or earlier in the batch, is rejected."""
    by_scope: dict[str, list[str]] = {}
    for _, customer in accepted:
        if "registered_email" in customer.doc:
            by_scope.setdefault(customer.doc["scope_id"], []).append(customer.doc["registered_email"])
    taken = {
        (scope_id, email)
        for scope_id, emails in by_scope.items()
        for email in await store.registered_emails_in_use(db, scope_id, emails, session)
    }
    kept = []
    for index, customer in accepted:
        email = customer.doc.get("registered_email")
        claim = (customer.doc["scope_id"], email)
        if email is not None and claim in taken:
            message = f"a registered account in scope {claim[0]!r} already uses {customer.doc['email']}"
            results[index] = rejected(index, Rejected.conflict(message, field=f"payload.rows.{index}.email"))
            continue
        if email is not None:
            taken.add(claim)
        kept.append((index, customer))
    return kept


def rejected(index: int, exc: Rejected) -> ImportRowResult:
    return ImportRowResult(index=index, status="rejected", error=exc.error)
