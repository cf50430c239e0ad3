"""MongoDB access for data requests from platforms (C18): one document per request, keyed
``platform:shop:request_id``; export and erasure read and erase through the other folders' stores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from plumbing.indexes import ensure_index
from plumbing.unit_of_work import INBOX, Reads, UnitOfWork, where

from ..accounts import store as account_store
from ..history import store as history_store
from ..merges import store as merge_store
from .rules import ERASED, HISTORY_PERSONAL_KEYS, OPEN

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

DATA_REQUESTS = "data_requests"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    await ensure_index(
        runtime.db[DATA_REQUESTS], [("state", ASCENDING), ("received_at", ASCENDING)], name="state_received"
    )


async def find(reads: Reads, key: str) -> dict[str, Any] | None:
    db, session = where(reads)
    return await db[DATA_REQUESTS].find_one({"_id": key}, session=session)


async def insert_if_new(uow: UnitOfWork, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The request as stored, and whether this call stored it. A twin delivery inserting at the
    same moment makes this a write conflict: the transaction is retried and finds the twin's."""
    existing = await find(uow, doc["_id"])
    if existing is not None:
        return existing, False
    await uow.db[DATA_REQUESTS].insert_one(doc, session=uow.session)
    return doc, True


async def complete(uow: UnitOfWork, key: str, updates: dict[str, Any]) -> None:
    await uow.db[DATA_REQUESTS].update_one({"_id": key, "state": OPEN}, {"$set": updates}, session=uow.session)


async def page(db: AsyncDatabase[dict[str, Any]], state: str, limit: int) -> list[dict[str, Any]]:
    """Open requests oldest first (the work to do, longest waiting on top); completed newest first."""
    order = ASCENDING if state == OPEN else DESCENDING
    cursor = db[DATA_REQUESTS].find({"state": state}).sort([("received_at", order), ("_id", order)]).limit(limit)
    return await cursor.to_list()


async def forget_stored_replies(uow: UnitOfWork, codes: list[str]) -> int:
    """Erasure (C18): replies kept for redelivered commands (the inbox) hold a record as it was."""
    result = await uow.db[INBOX].delete_many(
        {
            "$or": [
                {"result.code": {"$in": codes}},
                {"result.survivor.code": {"$in": codes}},
                {"result.restored.code": {"$in": codes}},
                {"result.customer_code": {"$in": codes}},
            ]
        },
        session=uow.session,
    )
    return result.deleted_count


# --- export and erasure (C18) -----------------------------------------------------------------------


async def held_about(
    db: AsyncDatabase[dict[str, Any]], code: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Besides the record, what is held about a customer: history entries, audit trail, merge journal."""
    history = await history_store.entries_of(db, code)
    audit = await account_store.audit_of(db, code)
    journal = await merge_store.journal_of(db, code)
    return history, audit, journal


async def erase_around(uow: UnitOfWork, codes: list[str]) -> dict[str, int]:
    """Erase what hangs on these records: their history entries keep their order facts, their
    tokens go, their merge journal values and stored replies are erased. How many of each."""
    return {
        "history_entries": await history_store.erase_personal(uow, codes, HISTORY_PERSONAL_KEYS),
        "tokens": await account_store.delete_tokens(uow, codes),
        "merge_journal_entries": await merge_store.erase_journals(uow, codes, ERASED),
        "stored_replies": await forget_stored_replies(uow, codes),
    }
