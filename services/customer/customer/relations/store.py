"""MongoDB access for organizations (C5) and groups (C19): indexes, groups, memberships.

Organizations are documents of the ``customers`` collection (kind ``organization``);
groups have a collection of their own. Static membership is the customer's own
``groups`` list; a segment's members are found by its compiled filter, never stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.customer.records import CustomerView
from contracts.customer.relations import GroupView
from plumbing.errors import Rejected
from plumbing.indexes import ensure_index
from plumbing.indexes import ensure_indexes as ensure_indexes_of
from plumbing.unit_of_work import Reads, UnitOfWork, where

from ..records.rules import Customer, customer_view
from ..records.store import CUSTOMERS
from .rules import compile_segment, customer_groups

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

GROUPS = "groups"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    asc = ASCENDING
    await ensure_indexes_of(
        runtime.db[CUSTOMERS],
        [
            # C5: an organization's business number is unique in its scope.
            IndexModel(
                [("scope_id", asc), ("organization.number_key", asc)],
                name="organization_number_unique",
                unique=True,
                partialFilterExpression={"organization.number_key": {"$type": "string"}},
            ),
            # Members of an organization and of a static group, by name (search and member pages).
            IndexModel([("organizations", asc), ("s.sn", asc), ("_id", asc)], name="organizations_name"),
            IndexModel([("groups", asc), ("s.sn", asc), ("_id", asc)], name="groups_name"),
            # C19: segment rules. Tags and state have their indexes (tags, state_name) already.
            IndexModel([("attributes.$**", asc)], name="attributes_wildcard"),
            IndexModel([("scope_id", asc), ("order_count", asc)], name="segment_order_count"),
            IndexModel([("scope_id", asc), ("last_order_at", asc)], name="segment_last_order_at"),
        ],
    )
    await ensure_index(runtime.db[GROUPS], [("scope_id", asc), ("kind", asc), ("_id", asc)], name="scope_kind")


# --- records: customers and organizations --------------------------------------------------


async def load(reads: Reads, code: str, *, field: str, what: str = "customer") -> Customer:
    """A customer record by code; a missing one is named at ``field`` (e.g. payload.customer_codes.2)."""
    db, session = where(reads)
    doc = await db[CUSTOMERS].find_one({"_id": code}, session=session)
    if doc is None:
        raise Rejected.not_found(what, code, field=field)
    return Customer(doc)


def number_taken_filter(scope_id: str, number_key: str, code: str | None) -> dict[str, Any]:
    """``$type`` repeats the partial index's filter, or MongoDB would not use that index."""
    return {
        "scope_id": scope_id,
        "organization.number_key": {"$eq": number_key, "$type": "string"},
        "_id": {"$ne": code},
    }


async def require_number_free(uow: UnitOfWork, scope_id: str, number_key: str, code: str | None, *, field: str) -> None:
    """C5: no other organization of the scope has this number (the unique index is the backstop)."""
    other = await uow.db[CUSTOMERS].find_one(
        number_taken_filter(scope_id, number_key, code), {"_id": 1}, session=uow.session
    )
    if other is not None:
        raise Rejected.conflict(f"organization {other['_id']} of scope {scope_id!r} has this number", field=field)


async def insert_organization(uow: UnitOfWork, organization: Customer) -> None:
    try:
        await uow.db[CUSTOMERS].insert_one(organization.doc, session=uow.session)
    except DuplicateKeyError as exc:  # a concurrent create with the same number won
        raise Rejected.conflict("another organization of the scope has this number", field="payload.number") from exc


async def count_members(reads: Reads, organization_code: str) -> int:
    db, session = where(reads)
    return await db[CUSTOMERS].count_documents({"organizations": organization_code}, session=session)


# --- groups ---------------------------------------------------------------------------------


async def insert_group(uow: UnitOfWork, group: dict[str, Any]) -> None:
    try:
        await uow.db[GROUPS].insert_one(group, session=uow.session)
    except DuplicateKeyError as exc:
        raise Rejected.conflict(f"group {group['_id']!r} exists", field="payload.group_id") from exc


async def load_group(reads: Reads, group_id: str, *, field: str = "payload.group_id") -> dict[str, Any]:
    db, session = where(reads)
    group = await db[GROUPS].find_one({"_id": group_id}, session=session)
    if group is None:
        raise Rejected.not_found("group", group_id, field=field)
    return group


async def save_group(uow: UnitOfWork, group: dict[str, Any], loaded_version: int) -> None:
    result = await uow.db[GROUPS].replace_one(
        {"_id": group["_id"], "version": loaded_version}, group, session=uow.session
    )
    if result.matched_count != 1:
        raise Rejected.conflict(f"group {group['_id']} changed while this change was being made")


async def list_groups(db: AsyncDatabase[dict[str, Any]], scope_id: str | None) -> list[dict[str, Any]]:
    query = {"scope_id": scope_id} if scope_id else {}
    return await db[GROUPS].find(query).sort([("scope_id", ASCENDING), ("_id", ASCENDING)]).to_list()


async def segments_of_scope(reads: Reads, scope_id: str) -> list[dict[str, Any]]:
    db, session = where(reads)
    return await db[GROUPS].find({"scope_id": scope_id, "kind": "segment"}, session=session).to_list()


def group_view(group: dict[str, Any]) -> GroupView:
    return GroupView(group_id=group["_id"], **{k: v for k, v in group.items() if k != "_id"})


async def group_filter(db: AsyncDatabase[dict[str, Any]], group_id: str) -> dict[str, Any]:
    """C19: the members of a group as a filter: the groups index for a static group, the
    compiled rules for a segment."""
    group = await load_group(db, group_id.strip().lower(), field="payload.group")
    if group["kind"] == "static":
        return {"groups": group["_id"]}
    return compile_segment(group["scope_id"], group["rules"])


async def customer_view_with_groups(reads: Reads, doc: dict[str, Any]) -> CustomerView:
    """The customer record as answered: its static groups and the segments of its scope it
    matches, decided on the document (relations_rules.segment_matches)."""
    segments = await segments_of_scope(reads, doc["scope_id"])
    return customer_view(doc).model_copy(update={"groups": customer_groups(doc, segments)})
