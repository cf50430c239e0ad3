"""MongoDB access of merges (C13): the merge journal, and history entries that move with a merge.

History entries (C7) are documents of the ``history`` collection with a ``customer_code``;
each one a merge moves carries the merge in ``merged_from`` (a list: a customer merged twice
keeps both origins), so that the unmerge moves exactly those back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from plumbing.errors import Rejected
from plumbing.indexes import drop_index_if_present, ensure_index
from plumbing.unit_of_work import Reads, UnitOfWork, where

from ..records import store as records
from ..records.rules import Customer
from ..records.store import CUSTOMERS

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

JOURNAL = "merge_journal"
HISTORY = "history"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    db = runtime.db
    await ensure_index(db[JOURNAL], [("survivor_code", ASCENDING), ("merged_at", DESCENDING)], name="by_survivor")
    await ensure_index(db[JOURNAL], [("merged_code", ASCENDING), ("merged_at", DESCENDING)], name="by_merged")
    # A customer's entries are found through history_store's by_customer_kind, whose prefix is
    # customer_code: a second index on it alone only cost every history write (dropped here
    # where an earlier version made it).
    await drop_index_if_present(db[HISTORY], "by_customer_code")
    await ensure_index(
        db[HISTORY],
        [("merged_from.merge_id", ASCENDING)],
        name="by_merge",
        partialFilterExpression={"merged_from": {"$exists": True}},
    )


async def load_pair(uow: UnitOfWork, survivor_code: str, merged_code: str) -> tuple[Customer, Customer]:
    """The survivor and the merged customer (not followed through a merge), the survivor first."""
    return await records.load(uow, survivor_code), await records.load(uow, merged_code)


async def record_merge(uow: UnitOfWork, survivor: Customer, merged: Customer, entry: dict[str, Any]) -> None:
    """A merge's writes, in its transaction: both customers, B's history entries re-pointed to
    the survivor (their ids kept in ``entry``), and the journal entry."""
    await records.save(uow, survivor)
    await records.save(uow, merged)
    entry["history_ids"] = await move_history(uow, merged.code, survivor.code, entry["merge_id"])
    await insert_journal(uow, entry)


async def record_unmerge(
    uow: UnitOfWork,
    survivor: Customer,
    merged: Customer,
    merge_id: str,
    undone: dict[str, Any],
) -> None:
    """An unmerge's writes, in its transaction: both customers, the history entries that
    moved with the merge back to B, and the journal entry closed (``undone``)."""
    await records.save(uow, survivor)
    await records.save(uow, merged)
    await move_history_back(uow, merge_id, merged.code)
    await close_journal(uow, merge_id, undone)


async def email_holder(uow: UnitOfWork, merged: Customer) -> dict[str, Any] | None:
    """The registered account of B's scope that has B's registered email now, if B has one."""
    key = merged.doc.get("registered_email")
    return await records.find_registered(uow, merged.scope_id, key) if key else None


async def insert_journal(uow: UnitOfWork, entry: dict[str, Any]) -> None:
    try:
        await uow.db[JOURNAL].insert_one(entry, session=uow.session)
    except DuplicateKeyError as exc:
        raise Rejected.conflict(f"merge {entry['_id']} was recorded already", field="message_id") from exc


async def journal_entry(reads: Reads, merge_id: str) -> dict[str, Any] | None:
    db, session = where(reads)
    return await db[JOURNAL].find_one({"_id": merge_id}, session=session)


async def journal_of(reads: Reads, code: str) -> list[dict[str, Any]]:
    db, session = where(reads)
    query = {"$or": [{"survivor_code": code}, {"merged_code": code}]}
    return await db[JOURNAL].find(query, session=session).sort("merged_at", DESCENDING).to_list()


async def close_journal(uow: UnitOfWork, merge_id: str, update: dict[str, Any]) -> bool:
    result = await uow.db[JOURNAL].update_one(
        {"_id": merge_id, "state": "merged"}, {"$set": update}, session=uow.session
    )
    return result.modified_count == 1


async def move_history(uow: UnitOfWork, merged_code: str, survivor_code: str, merge_id: str) -> list[Any]:
    """Re-point B's history entries to the survivor; returns their ids (for the journal)."""
    ids = [
        d["_id"] async for d in uow.db[HISTORY].find({"customer_code": merged_code}, {"_id": 1}, session=uow.session)
    ]
    if ids:
        await uow.db[HISTORY].update_many(
            {"_id": {"$in": ids}},
            {
                "$set": {"customer_code": survivor_code},
                "$push": {"merged_from": {"merge_id": merge_id, "customer_code": merged_code}},
            },
            session=uow.session,
        )
    return ids


async def move_history_back(uow: UnitOfWork, merge_id: str, merged_code: str) -> int:
    result = await uow.db[HISTORY].update_many(
        {"merged_from.merge_id": merge_id},
        {"$set": {"customer_code": merged_code}, "$pull": {"merged_from": {"merge_id": merge_id}}},
        session=uow.session,
    )
    return result.modified_count


async def merged_into(reads: Reads, code: str) -> list[str]:
    """Every customer retired into ``code``, directly or through a chain of merges."""
    db, session = where(reads)
    found, todo = [], [code]
    while todo:
        codes = [
            d["_id"] async for d in db[CUSTOMERS].find({"merged_into": {"$in": todo}}, {"_id": 1}, session=session)
        ]
        found += codes
        todo = codes
    return found


async def erase_journals(uow: UnitOfWork, codes: list[str], erased: str) -> int:
    """Erasure (C18): the merges these customers took part in lose the values they kept (B's
    email, attributes, addresses) and their reason, and can no longer be undone; what moved
    stays countable. How many entries changed."""
    result = await uow.db[JOURNAL].update_many(
        {"$or": [{"survivor_code": {"$in": codes}}, {"merged_code": {"$in": codes}}], "erased": {"$ne": True}},
        {
            "$set": {
                "erased": True,
                "moves.$[].kept_from_merged": None,
                "moves.$[].survivor_before": None,
                "moves.$[].merged_before": None,
                "reason": erased,
            }
        },
        session=uow.session,
    )
    return result.modified_count
