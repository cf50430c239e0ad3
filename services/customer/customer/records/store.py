"""MongoDB access of the customer service: collections, indexes, reads and writes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from contracts.customer.records import AccountTemplateView, AttributeField, CustomerState, ScopeView, SearchInput
from plumbing.errors import Rejected
from plumbing.indexes import ensure_indexes as ensure_indexes_of
from plumbing.normalize import email_key
from plumbing.unit_of_work import Reads, UnitOfWork, where

from ..codes import customer_code
from . import search
from .rules import Customer

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

CUSTOMERS = "customers"
SCOPES = "scopes"
TEMPLATES = "account_templates"
COUNTERS = "counters"
FIRST_CODE_SEQUENCE = 1000
STATES: tuple[CustomerState, ...] = (
    "active",
    "inactive",
    "disabled",
    "waiting_approval",
    "rejected",
    "retired",
    "erased",
)


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    asc = ASCENDING
    # One command for all of them (plumbing.indexes.ensure_indexes): a start is quicker.
    await ensure_indexes_of(
        runtime.db[CUSTOMERS],
        [
            # C11: one index per kind of search, each giving rows in sort order where it can.
            IndexModel([("s.sn", asc), ("_id", asc)], name="name_last_first"),
            # s.sn rides along so that "first name matches, last name does not" is read from the index.
            IndexModel([("s.fl", asc), ("_id", asc), ("s.sn", asc)], name="name_first_last"),
            # A prefix key with _id gives broad prefix searches their own index order (see search).
            IndexModel([("s.e", asc), ("_id", asc)], name="email"),
            IndexModel([("s.p", asc), ("s.sn", asc), ("_id", asc)], name="phones"),
            IndexModel([("s.z", asc), ("s.sn", asc), ("_id", asc)], name="postal_codes"),
            IndexModel([("s.t", asc), ("s.sn", asc), ("_id", asc)], name="tags"),
            IndexModel([("kind", asc), ("s.sn", asc), ("_id", asc)], name="kind_name"),
            IndexModel([("state", asc), ("s.sn", asc), ("_id", asc)], name="state_name"),
            IndexModel([("scope_id", asc), ("s.sn", asc), ("_id", asc)], name="scope_name"),
            IndexModel([("scope_id", asc), ("state", asc)], name="scope_state"),
            IndexModel([("registered_at", asc), ("_id", asc)], name="created"),
            IndexModel([("last_activity_at", asc), ("_id", asc)], name="last_activity"),
            IndexModel([("flag", asc), ("s.sn", asc), ("_id", asc)], name="flag"),
            # C2: within a scope one registered account per email; guests may share one.
            IndexModel(
                [("scope_id", asc), ("registered_email", asc)],
                name="registered_email_unique",
                unique=True,
                partialFilterExpression={"registered_email": {"$exists": True}},
            ),
            # C17: an import row or a retried order creates its customer once.
            IndexModel(
                [("scope_id", asc), ("idempotency_key", asc)],
                name="idempotency_key_unique",
                unique=True,
                partialFilterExpression={"idempotency_key": {"$type": "string"}},
            ),
        ],
    )


# --- scopes and templates --------------------------------------------------------------


async def insert_scope(reads: Reads, scope: ScopeView) -> None:
    db, session = where(reads)
    try:
        await db[SCOPES].insert_one({"_id": scope.scope_id, **scope.model_dump()}, session=session)
    except DuplicateKeyError as exc:
        raise Rejected.conflict(f"scope {scope.scope_id!r} exists", field="payload.scope_id") from exc


async def get_scope(reads: Reads, scope_id: str) -> ScopeView | None:
    db, session = where(reads)
    doc = await db[SCOPES].find_one({"_id": scope_id}, session=session)
    return ScopeView.model_validate(doc) if doc else None


async def require_scope(reads: Reads, scope_id: str, field: str = "payload.scope_id") -> ScopeView:
    scope = await get_scope(reads, scope_id)
    if scope is None:
        raise Rejected.not_found("scope", scope_id, field=field)
    return scope


async def list_scopes(db: AsyncDatabase[dict[str, Any]]) -> list[ScopeView]:
    return [ScopeView.model_validate(d) async for d in db[SCOPES].find().sort("_id", ASCENDING)]


async def set_template(uow: UnitOfWork, scope_id: str, fields: list[AttributeField]) -> AccountTemplateView:
    doc = await uow.db[TEMPLATES].find_one_and_update(
        {"_id": scope_id},
        {"$set": {"fields": [f.model_dump() for f in fields]}, "$inc": {"version": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=uow.session,
    )
    if doc is None:  # an upsert returning the document after it: never, but the driver's type allows it
        raise RuntimeError(f"account template {scope_id!r} not found right after its upsert")
    return AccountTemplateView(scope_id=scope_id, version=doc["version"], fields=doc["fields"])


async def scopes_with_templates(
    reads: Reads, scope_ids: list[str]
) -> tuple[dict[str, ScopeView | None], dict[str, AccountTemplateView | None]]:
    """The scopes of a batch and their account templates: one read each, whatever the scopes;
    outside a transaction (given the database), both at once: a transaction's session runs one
    command at a time."""
    db, session = where(reads)

    async def read_scopes(ids: list[str]) -> dict[str, ScopeView]:
        return {
            d["_id"]: ScopeView.model_validate(d) async for d in db[SCOPES].find({"_id": {"$in": ids}}, session=session)
        }

    async def read_templates(ids: list[str]) -> dict[str, AccountTemplateView]:
        return {
            d["_id"]: AccountTemplateView(scope_id=d["_id"], version=d["version"], fields=d["fields"])
            async for d in db[TEMPLATES].find({"_id": {"$in": ids}}, session=session)
        }

    if session is None:
        found, kept = await asyncio.gather(read_scopes(scope_ids), read_templates(scope_ids))
    else:
        found, kept = await read_scopes(scope_ids), await read_templates(scope_ids)
    templates: dict[str, AccountTemplateView | None] = {s: kept.get(s) for s in found}
    return {s: found.get(s) for s in scope_ids}, templates


async def get_template(reads: Reads, scope_id: str) -> AccountTemplateView | None:
    db, session = where(reads)
    doc = await db[TEMPLATES].find_one({"_id": scope_id}, session=session)
    if doc is None:
        return None
    return AccountTemplateView(scope_id=scope_id, version=doc["version"], fields=doc["fields"])


# --- customers -----------------------------------------------------------------------------


async def allocate_codes(db: AsyncDatabase[dict[str, Any]], count: int = 1) -> list[str]:
    """Reserve ``count`` customer codes. Outside any transaction on purpose: a code once handed
    out is never handed out again, even if the customer it was for is never created."""
    doc = await db[COUNTERS].find_one_and_update(
        {"_id": "customer_code"},
        {"$inc": {"next": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:  # an upsert returning the document after it: never, but the driver's type allows it
        raise RuntimeError("the customer code counter not found right after its upsert")
    end = FIRST_CODE_SEQUENCE + doc["next"]
    return [customer_code(n) for n in range(end - count, end)]


class SameKeyCommitted(Exception):
    """A concurrent request with the same idempotency key created the customer first; run
    again and it will be found."""


def _duplicate(exc: DuplicateKeyError, doc: dict[str, Any], field: str) -> Exception:
    index = (exc.details or {}).get("keyPattern", {})
    if "idempotency_key" in index:
        return SameKeyCommitted()
    if "registered_email" in index:
        return Rejected.conflict(
            f"a registered account in scope {doc['scope_id']!r} already uses {doc['email']}", field=field
        )
    return Rejected.conflict(f"duplicate customer ({', '.join(index) or 'key'})")


async def insert(uow: UnitOfWork, customer: Customer) -> None:
    try:
        await uow.db[CUSTOMERS].insert_one(customer.doc, session=uow.session)
    except DuplicateKeyError as exc:
        raise _duplicate(exc, customer.doc, "payload.email") from exc


async def insert_many(uow: UnitOfWork, customers: list[Customer]) -> None:
    await uow.db[CUSTOMERS].insert_many([c.doc for c in customers], ordered=True, session=uow.session)


async def insert_each(uow: UnitOfWork, customers: list[Customer]) -> None:
    """Insert the customers; the first duplicate key raises as ``insert`` would for it."""
    if len(customers) == 1:
        return await insert(uow, customers[0])
    try:
        await insert_many(uow, customers)
    except BulkWriteError as exc:
        first = (exc.details or {}).get("writeErrors", [{}])[0]
        if first.get("code") != 11000:
            raise
        duplicate = DuplicateKeyError(first.get("errmsg", "duplicate key"), 11000, first)
        raise _duplicate(duplicate, customers[first["index"]].doc, "payload.email") from exc


async def load(reads: Reads, code: str, *, follow_merge: bool = False) -> Customer:
    db, session = where(reads)
    doc = await db[CUSTOMERS].find_one({"_id": code}, session=session)
    if doc is None:
        raise Rejected.not_found("customer", code, field="payload.customer_code")
    if follow_merge and doc.get("merged_into"):
        return await load(reads, doc["merged_into"], follow_merge=True)
    return Customer(doc)


async def load_many(uow: UnitOfWork, codes: list[str], *, follow_merge: bool = False) -> dict[str, Customer]:
    """The customers of these codes (those that exist), each code answered by its survivor if
    merged away; one record per customer, however many codes lead to it."""
    docs: dict[str, dict[str, Any]] = {}
    wanted = set(codes)
    while wanted:
        async for doc in uow.db[CUSTOMERS].find({"_id": {"$in": sorted(wanted)}}, session=uow.session):
            docs[doc["_id"]] = doc
        wanted = {d["merged_into"] for d in docs.values() if follow_merge and d.get("merged_into")} - set(docs)
    records: dict[str, Customer] = {}

    def survivor(code: str) -> Customer | None:
        doc = docs.get(code)
        while doc is not None and follow_merge and doc.get("merged_into"):
            doc = docs.get(doc["merged_into"])
        if doc is None:
            return None
        return records.setdefault(doc["_id"], Customer(doc))

    return {code: record for code in codes if (record := survivor(code)) is not None}


async def save(uow: UnitOfWork, customer: Customer) -> None:
    """Write back a changed customer; the version filter refuses a concurrent change."""
    try:
        result = await uow.db[CUSTOMERS].replace_one(
            {"_id": customer.code, "version": customer.loaded_version}, customer.doc, session=uow.session
        )
    except DuplicateKeyError as exc:
        raise _duplicate(exc, customer.doc, "payload.changes.email") from exc
    if result.matched_count != 1:
        current = await uow.db[CUSTOMERS].find_one({"_id": customer.code}, {"version": 1}, session=uow.session)
        raise Rejected.conflict(
            f"customer {customer.code} changed while this change was being made",
            current_version=current["version"] if current else None,
        )


def idempotency_keys_filter(scope_id: str, keys: list[str]) -> dict[str, Any]:
    """``$type`` repeats the partial index's filter: without it MongoDB cannot prove the
    query is inside the index and scans the whole collection."""
    return {"scope_id": scope_id, "idempotency_key": {"$in": keys, "$type": "string"}}


async def find_by_idempotency_keys(
    uow: UnitOfWork, keys: dict[str, list[str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The customers of these idempotency keys, per scope, in one read: (scope, key) -> customer."""
    if not keys:
        return {}
    query = {"$or": [idempotency_keys_filter(scope_id, wanted) for scope_id, wanted in keys.items()]}
    return {(d["scope_id"], d["idempotency_key"]): d async for d in uow.db[CUSTOMERS].find(query, session=uow.session)}


async def registered_emails_in_use(uow: UnitOfWork, emails: dict[str, list[str]]) -> set[tuple[str, str]]:
    """Which of these email keys a registered account of its scope uses, in one read: (scope, key)."""
    if not emails:
        return set()
    query = {"$or": [{"scope_id": s, "registered_email": {"$in": wanted}} for s, wanted in emails.items()]}
    cursor = uow.db[CUSTOMERS].find(query, {"scope_id": 1, "registered_email": 1}, session=uow.session)
    return {(d["scope_id"], d["registered_email"]) async for d in cursor}


async def find_registered(reads: Reads, scope_id: str, key: str) -> dict[str, Any] | None:
    """The registered account of a scope that an email key belongs to (C2: at most one)."""
    db, session = where(reads)
    return await db[CUSTOMERS].find_one({"scope_id": scope_id, "registered_email": key}, session=session)


async def oldest_guest(uow: UnitOfWork, scope_id: str, key: str) -> dict[str, Any] | None:
    return await uow.db[CUSTOMERS].find_one(
        {"s.e": key, "scope_id": scope_id, "account_type": "guest"},
        sort=[("registered_at", ASCENDING)],
        session=uow.session,
    )


async def registered_without_password(
    uow: UnitOfWork, scope_id: str | None, after_code: str | None, limit: int
) -> list[dict[str, Any]]:
    """C14 'set empty passwords': registered customers never invited and without a password,
    in code order, so that a run can resume after the last code it reached."""
    # Only accounts that can sign in and be written to: not an erased, disabled, retired or
    # rejected record (an erased one has no email left to invite).
    query: dict[str, Any] = {
        "account_type": "registered",
        "password_hash": None,
        "invited_at": None,
        "state": {"$in": ["active", "inactive"]},
        "email": {"$ne": None},
    }
    if scope_id:
        query["scope_id"] = scope_id
    if after_code:
        query["_id"] = {"$gt": after_code}
    return await uow.db[CUSTOMERS].find(query, session=uow.session).sort("_id", ASCENDING).limit(limit).to_list()


async def mark_invited(uow: UnitOfWork, codes: list[str], at: Any) -> None:
    await uow.db[CUSTOMERS].update_many({"_id": {"$in": codes}}, {"$set": {"invited_at": at}}, session=uow.session)


async def record_sign_in(db: AsyncDatabase[dict[str, Any]], code: str, at: Any, new_hash: str | None) -> None:
    """Sign-in bookkeeping: no version bump, so that it never conflicts with a CSR's edit."""
    update: dict[str, Any] = {"last_login_at": at, "last_activity_at": at, "failed_signins": 0}
    if new_hash:
        update["password_hash"] = new_hash
    await db[CUSTOMERS].update_one({"_id": code}, {"$set": update})


async def accounts_by_email(db: AsyncDatabase[dict[str, Any]], email: str) -> list[dict[str, Any]]:
    """C2: every account using ``email``, in every scope."""
    cursor = db[CUSTOMERS].find({"s.e": email_key(email)}, search.SUMMARY_PROJECTION).sort("scope_id", ASCENDING)
    return await cursor.to_list(length=200)


async def search_customers(
    db: AsyncDatabase[dict[str, Any]],
    query: SearchInput,
    countries: tuple[str, ...],
    extra: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None, int, bool, str]:
    """One page, the cursor to the next, the total (exact up to TOTAL_CAP) and how the rows
    are sorted (see ``search``); ``extra`` is ANDed with the criteria (a group's filter)."""
    position = search.decode_cursor(query)

    async def count(plan: list[search.Run]) -> list[int]:
        """Matches of each run, exact up to TOTAL_CAP."""
        if len(plan) == 1 and not plan[0].filter:
            return [await db[CUSTOMERS].estimated_document_count()]
        return list(
            await asyncio.gather(
                *(db[CUSTOMERS].count_documents(run.filter, limit=search.TOTAL_CAP + 1) for run in plan)
            )
        )

    plan = search.runs(query, countries, extra=extra)
    counts = await count(plan)
    total = sum(counts)
    broad = total > search.TOTAL_CAP
    wide = search.runs(query, countries, broad=True, extra=extra)
    reordered = broad
    if position is not None:  # later pages keep the order the first page chose
        reordered = position.field in {run.sort_field for run in wide} - {run.sort_field for run in plan}
    # A run the count found empty is not read: a first and last name ("chloe du") is most
    # often in one run only, and each read is one more round trip of the page.
    empty = set() if reordered else {index for index, n in enumerate(counts) if n == 0}
    if reordered:
        plan = wide

    rows: list[tuple[int, dict[str, Any]]] = []
    for index in range(position.run_index if position else 0, len(plan)):
        if index in empty:
            continue
        run, run_filter = plan[index], plan[index].filter
        if position and index == position.run_index:
            run_filter = {"$and": [run_filter, search.after(run, query, position.value, position.code)]}
        found = await (
            db[CUSTOMERS]
            .find(run_filter, search.SUMMARY_PROJECTION)
            .sort(search.sort_spec(run, query))
            .limit(query.limit + 1 - len(rows))
            .to_list()
        )
        rows += [(index, doc) for doc in found]
        if len(rows) > query.limit:
            break
    next_cursor = None
    if len(rows) > query.limit:
        index, doc = rows[query.limit - 1]
        next_cursor = search.encode_cursor(doc, index, plan[index], query)
    page = [doc for _, doc in rows[: query.limit]]
    return page, next_cursor, min(total, search.TOTAL_CAP), not broad, search.SORTED_BY[plan[0].sort_field]


async def state_counts(db: AsyncDatabase[dict[str, Any]], scope_id: str | None) -> dict[str, int]:
    """C10: one index count per state (scope_state or state_name index), never a collection scan."""
    counts: dict[str, int] = {}
    for state in STATES:
        query = {"state": state} if scope_id is None else {"scope_id": scope_id, "state": state}
        counts[state] = await db[CUSTOMERS].count_documents(query)
    return counts
