"""MongoDB access for data requests from platforms (C18): one document per request, keyed
``platform:shop:request_id``; export and erasure use the other folders' stores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from plumbing.indexes import ensure_index
from plumbing.unit_of_work import INBOX

from ..records.store import Session
from .rules import OPEN

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

DATA_REQUESTS = "data_requests"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    await ensure_index(
        runtime.db[DATA_REQUESTS], [("state", ASCENDING), ("received_at", ASCENDING)], name="state_received"
    )


async def find(db: AsyncDatabase[dict[str, Any]], key: str, session: Session = None) -> dict[str, Any] | None:
    return await db[DATA_REQUESTS].find_one({"_id": key}, session=session)


async def insert_if_new(
    db: AsyncDatabase[dict[str, Any]], doc: dict[str, Any], session: Session
) -> tuple[dict[str, Any], bool]:
    """The request as stored, and whether this call stored it. A twin delivery inserting at the
    same moment makes this a write conflict: the transaction is retried and finds the twin's."""
    existing = await find(db, doc["_id"], session)
    if existing is not None:
        return existing, False
    await db[DATA_REQUESTS].insert_one(doc, session=session)
    return doc, True


async def complete(db: AsyncDatabase[dict[str, Any]], key: str, updates: dict[str, Any], session: Session) -> None:
    await db[DATA_REQUESTS].update_one({"_id": key, "state": OPEN}, {"$set": updates}, session=session)


async def page(db: AsyncDatabase[dict[str, Any]], state: str, limit: int) -> list[dict[str, Any]]:
    """Open requests oldest first (the work to do, longest waiting on top); completed newest first."""
    order = ASCENDING if state == OPEN else DESCENDING
    cursor = db[DATA_REQUESTS].find({"state": state}).sort([("received_at", order), ("_id", order)]).limit(limit)
    return await cursor.to_list()


async def forget_stored_replies(db: AsyncDatabase[dict[str, Any]], codes: list[str], session: Session) -> int:
    """Erasure (C18): replies kept for redelivered commands (the inbox) hold a record as it was."""
    result = await db[INBOX].delete_many(
        {
            "$or": [
                {"result.code": {"$in": codes}},
                {"result.survivor.code": {"$in": codes}},
                {"result.restored.code": {"$in": codes}},
                {"result.customer_code": {"$in": codes}},
            ]
        },
        session=session,
    )
    return result.deleted_count
