"""MongoDB access for a customer's history and stores (C6, C7): the ``history`` collection,
one document per entry (see history_rules), and the order counters on the customer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import DESCENDING, ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from plumbing.indexes import ensure_index
from plumbing.unit_of_work import Reads, UnitOfWork, where

from ..records.store import CUSTOMERS

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

HISTORY = "history"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    # One customer's entries of one kind, newest first, in pages after a (time, id) key.
    await ensure_index(
        runtime.db[HISTORY],
        [("customer_code", 1), ("kind", 1), ("active", 1), ("at", DESCENDING), ("_id", DESCENDING)],
        name="by_customer_kind",
    )


async def find_entry(uow: UnitOfWork, entry_id: str) -> dict[str, Any] | None:
    return await uow.db[HISTORY].find_one({"_id": entry_id}, session=uow.session)


async def put_entry(uow: UnitOfWork, entry: dict[str, Any]) -> None:
    await uow.db[HISTORY].replace_one({"_id": entry["_id"]}, entry, upsert=True, session=uow.session)


async def find_entries(uow: UnitOfWork, entry_ids: list[str]) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc async for doc in uow.db[HISTORY].find({"_id": {"$in": entry_ids}}, session=uow.session)}


async def put_entries(reads: Reads, entries: list[dict[str, Any]]) -> None:
    db, session = where(reads)
    if entries:
        await db[HISTORY].bulk_write([ReplaceOne({"_id": e["_id"]}, e, upsert=True) for e in entries], session=session)


async def page(
    db: AsyncDatabase[dict[str, Any]],
    customer_code: str,
    kind: str,
    limit: int,
    after: tuple[datetime, str] | None,
    order: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Active entries, newest first; one more than ``limit`` says there is a next page.
    ``order``: only those of this (source system, order number), read through the same index
    (one customer's entries of one kind), their fields compared on the documents."""
    query: dict[str, Any] = {"customer_code": customer_code, "kind": kind, "active": True}
    if order is not None:
        query["fields.source_system"], query["fields.order_number"] = order
    if after is not None:
        at, entry_id = after
        query["$or"] = [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": entry_id}}]
    cursor = db[HISTORY].find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1)
    return await cursor.to_list()


async def set_order_counters(reads: Reads, code: str, counters: dict[str, Any]) -> None:
    """Order count, last order and stores: bookkeeping, not an edit of the record, so no new
    version (a CSR's change in flight never conflicts with an order); a concurrent save of
    the record is a write conflict in the transaction, retried, never a lost update."""
    db, session = where(reads)
    await db[CUSTOMERS].update_one({"_id": code}, {"$set": counters}, session=session)


async def set_many_order_counters(uow: UnitOfWork, counters: dict[str, dict[str, Any]]) -> None:
    """``set_order_counters`` for several customers at once."""
    if counters:
        await uow.db[CUSTOMERS].bulk_write(
            [UpdateOne({"_id": code}, {"$set": c}) for code, c in counters.items()], session=uow.session
        )


async def reassign_orders(uow: UnitOfWork, orders: list[tuple[str, str]], from_code: str, to_code: str) -> None:
    """Give orders (source system, order number) of ``from_code``, and their payments, to
    ``to_code``."""
    if not orders:
        return
    await uow.db[HISTORY].update_many(
        {
            "customer_code": from_code,
            "$or": [
                {"kind": "order", "key": {"$in": [f"{source}|{number}" for source, number in orders]}},
                *(
                    {"kind": "payment", "fields.source_system": source, "fields.order_number": number}
                    for source, number in orders
                ),
            ],
        },
        {"$set": {"customer_code": to_code}},
        session=uow.session,
    )


async def entries_of(db: AsyncDatabase[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    """Every history entry of a customer, of every kind, active or not: a privacy export (C18)."""
    return await db[HISTORY].find({"customer_code": code}).to_list()


async def orders_of(uow: UnitOfWork, code: str) -> list[dict[str, Any]]:
    return await uow.db[HISTORY].find({"customer_code": code, "kind": "order"}, session=uow.session).to_list()


async def erase_personal(uow: UnitOfWork, codes: list[str], keys: tuple[str, ...]) -> int:
    """Erasure (C18): the entries of these customers lose ``keys`` (what names or locates the
    person) and keep their order facts. How many entries changed."""
    result = await uow.db[HISTORY].update_many(
        {"customer_code": {"$in": codes}, "$or": [{k: {"$exists": True}} for k in keys]},
        {"$unset": dict.fromkeys(keys, "")},
        session=uow.session,
    )
    return result.modified_count
