"""MongoDB access of the order-sync service: orders and their links, known source links,
the customers it matches against, the review queue, parked events and rejected orders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from plumbing.indexes import ensure_index

if TYPE_CHECKING:
    from plumbing.service import ServiceRuntime

ORDERS = "orders"
SOURCE_LINKS = "source_links"
CUSTOMERS = "customers"
REVIEWS = "reviews"
PARKED = "parked_events"
REJECTED = "rejected_orders"

Session = AsyncClientSession | None


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    db = runtime.db
    await ensure_index(db[ORDERS], [("customer_code", ASCENDING), ("placed_at", DESCENDING)], name="by_customer")
    await ensure_index(db[CUSTOMERS], [("scope_id", ASCENDING), ("email_key", ASCENDING)], name="match_email")
    await ensure_index(db[CUSTOMERS], [("scope_id", ASCENDING), ("phones", ASCENDING)], name="match_phone")
    await ensure_index(db[REVIEWS], [("status", ASCENDING), ("opened_at", ASCENDING), ("_id", ASCENDING)], name="queue")
    await ensure_index(db[PARKED], [("order_key", ASCENDING), ("parked_at", ASCENDING)], name="by_order")
    await ensure_index(db[REJECTED], [("rejected_at", DESCENDING)], name="newest")


# --- orders ------------------------------------------------------------------------------------


async def find_order(db: AsyncDatabase, key: str, session: Session = None) -> dict[str, Any] | None:
    return await db[ORDERS].find_one({"_id": key}, session=session)


async def find_orders(db: AsyncDatabase, keys: list[str], session: Session = None) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc async for doc in db[ORDERS].find({"_id": {"$in": keys}}, session=session)}


async def put_orders(db: AsyncDatabase, docs: list[dict[str, Any]], placeholders: set[str], session: Session) -> None:
    """Insert the orders, or fill in the placeholders their early events left (``placeholders``:
    their keys). An insert costs MongoDB less than an upsert; a concurrent twin's insert makes
    it fail with a duplicate key, which aborts the transaction like the write conflict the
    upsert would meet."""
    if docs:
        await db[ORDERS].bulk_write([ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) if doc["_id"] in placeholders
                                     else InsertOne(doc) for doc in docs], session=session)


async def set_order_link(db: AsyncDatabase, key: str, update: dict[str, Any], session: Session) -> None:
    await db[ORDERS].update_one({"_id": key}, {"$set": update}, session=session)


async def record_order_event(db: AsyncDatabase, key: str, update: dict[str, Any], push: dict[str, Any] | None,
                             session: Session) -> None:
    change: dict[str, Any] = {"$set": update}
    if push:
        change["$push"] = push
    await db[ORDERS].update_one({"_id": key}, change, session=session)


async def change_status(db: AsyncDatabase, key: str, status: str, changed_at: datetime, summary: dict[str, Any],
                        session: Session) -> bool:
    """O7: the order's status, unless a later change is already recorded; says whether it
    changed (an order's events are handled side by side and may arrive in any order)."""
    result = await db[ORDERS].update_one(
        {"_id": key, "$or": [{"status_changed_at": None}, {"status_changed_at": {"$lte": changed_at}}]},
        {"$set": {"status": status, "status_changed_at": changed_at, "summary": summary}},
        session=session,
    )
    return result.matched_count == 1


# --- known links from a source system's customer id (O2's first rule) --------------------------


async def linked_customer(db: AsyncDatabase, source_system: str, source_customer_id: str) -> str | None:
    link = f"{source_system}|{source_customer_id}"
    return (await linked_customers(db, [link])).get(link)


async def linked_customers(db: AsyncDatabase, links: list[str]) -> dict[str, str]:
    """Customer codes by source link (``source_system|source_customer_id``), for those known."""
    if not links:
        return {}
    return {doc["_id"]: doc["customer_code"] async for doc in db[SOURCE_LINKS].find({"_id": {"$in": links}})}


async def remember_source_link(db: AsyncDatabase, source_system: str, source_customer_id: str, code: str,
                               at: datetime, session: Session) -> None:
    await remember_source_links(db, [(f"{source_system}|{source_customer_id}", code)], at, session)


async def remember_source_links(db: AsyncDatabase, links: list[tuple[str, str]], at: datetime,
                                session: Session) -> None:
    """The first customer a source link was linked to stays its customer."""
    if links:
        await db[SOURCE_LINKS].bulk_write(
            [UpdateOne({"_id": link}, {"$setOnInsert": {"customer_code": code, "created_at": at}}, upsert=True)
             for link, code in links],
            session=session,
        )


# --- the customers orders are matched against -----------------------------------------------------


async def customer_entry(db: AsyncDatabase, code: str) -> dict[str, Any] | None:
    return await db[CUSTOMERS].find_one({"_id": code})


async def save_customer_entry(db: AsyncDatabase, doc: dict[str, Any], session: Session = None) -> None:
    """Keep the newest version only: customer events may arrive twice or late."""
    await db[CUSTOMERS].update_one(*_newest_entry(doc), upsert=True, session=session)


async def save_customer_entries(db: AsyncDatabase, docs: list[dict[str, Any]], session: Session = None) -> None:
    """``save_customer_entry`` for several customers, in one round trip."""
    if docs:
        await db[CUSTOMERS].bulk_write([UpdateOne(*_newest_entry(doc), upsert=True) for doc in docs],
                                       ordered=False, session=session)


def _newest_entry(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filter and pipeline update that replace the entry unless it is as new already."""
    newer = {"$lt": [{"$ifNull": ["$version", 0]}, doc["version"]]}
    return {"_id": doc["_id"]}, [{"$replaceWith": {"$cond": [newer, {"$literal": doc}, "$$ROOT"]}}]


#: Customers an order may match: live ones, and merged ones, which answer their survivor (C13).
MATCHABLE = {"$or": [{"state": {"$nin": ["retired", "rejected", "erased"]}}, {"merged_into": {"$type": "string"}}]}


#: Candidates kept per email: more than one already sends the order to review (O5).
EMAIL_CANDIDATES = 20


async def codes_by_emails(db: AsyncDatabase, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The customers each (scope, email key) may match, survivors for merged ones; one query."""
    if not keys:
        return {}
    by_scope: dict[str, set[str]] = {}
    for scope_id, key in keys:
        by_scope.setdefault(scope_id, set()).add(key)
    query = {"$and": [{"$or": [{"scope_id": scope_id, "email_key": {"$in": sorted(scope_keys)}}
                                for scope_id, scope_keys in by_scope.items()]}, MATCHABLE]}
    found: dict[tuple[str, str], list[str]] = {}
    async for doc in db[CUSTOMERS].find(query, {"scope_id": 1, "email_key": 1, "merged_into": 1}):
        codes = found.setdefault((doc["scope_id"], doc["email_key"]), [])
        if len(codes) < EMAIL_CANDIDATES:
            codes.append(doc.get("merged_into") or doc["_id"])
    return found


async def entries_by_phone(db: AsyncDatabase, scope_id: str, phone: str) -> list[dict[str, Any]]:
    cursor = db[CUSTOMERS].find({"scope_id": scope_id, "phones": phone, **MATCHABLE}).limit(50)
    return [{**d, "_id": d.get("merged_into") or d["_id"]} for d in await cursor.to_list()]


async def entries(db: AsyncDatabase, codes: list[str]) -> list[dict[str, Any]]:
    return await db[CUSTOMERS].find({"_id": {"$in": codes}}).to_list()


# --- review queue (O5) ------------------------------------------------------------------------------


async def insert_review(db: AsyncDatabase, doc: dict[str, Any], session: Session) -> None:
    await db[REVIEWS].insert_one(doc, session=session)


async def find_review(db: AsyncDatabase, review_id: str, session: Session = None) -> dict[str, Any] | None:
    return await db[REVIEWS].find_one({"_id": review_id}, session=session)


async def resolve_review(db: AsyncDatabase, review_id: str, update: dict[str, Any], session: Session) -> bool:
    result = await db[REVIEWS].update_one({"_id": review_id, "status": "open"}, {"$set": update}, session=session)
    return result.modified_count == 1


async def reviews_page(db: AsyncDatabase, status: str, limit: int, after: tuple[datetime, str] | None) -> list[dict]:
    query: dict[str, Any] = {"status": status}
    if after is not None:
        query["$or"] = [{"opened_at": {"$gt": after[0]}}, {"opened_at": after[0], "_id": {"$gt": after[1]}}]
    cursor = db[REVIEWS].find(query).sort([("opened_at", ASCENDING), ("_id", ASCENDING)]).limit(limit + 1)
    return await cursor.to_list()


# --- events that came before their order was linked (O7) ---------------------------------------------


async def park(db: AsyncDatabase, doc: dict[str, Any]) -> None:
    """Keep an event for later, and leave a placeholder order that says events wait for it,
    so that the order's arrival finds them without a query of its own."""
    await db[PARKED].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
    await db[ORDERS].update_one(
        {"_id": doc["order_key"]}, {"$setOnInsert": {"placeholder": True, "customer_code": None}}, upsert=True
    )


async def parked_for(db: AsyncDatabase, key: str) -> list[dict[str, Any]]:
    return await db[PARKED].find({"order_key": key}).sort("parked_at", ASCENDING).to_list()


async def unpark(db: AsyncDatabase, message_id: str) -> None:
    await db[PARKED].delete_one({"_id": message_id})


# --- rejected orders (O1) ---------------------------------------------------------------------------


async def record_rejected(db: AsyncDatabase, doc: dict[str, Any]) -> None:
    await db[REJECTED].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)


async def rejected_page(db: AsyncDatabase, limit: int, before: datetime | None) -> list[dict[str, Any]]:
    query = {"rejected_at": {"$lt": before}} if before else {}
    return await db[REJECTED].find(query).sort("rejected_at", DESCENDING).limit(limit).to_list()
