"""MongoDB access of the order-sync service: orders and their links, known source links,
the customers it matches against and the identity index over them, the claims of customers
being created, the review queue, parked events and rejected orders."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, ReplaceOne, ReturnDocument, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from plumbing.indexes import drop_index_if_present, ensure_index
from plumbing.indexes import ensure_indexes as ensure_indexes_of
from plumbing.unit_of_work import Reads, UnitOfWork, where

from .domain import number_key

if TYPE_CHECKING:
    from contracts.upstream.orders import Order
    from plumbing.runtime import ServiceRuntime

#: order-sync's database: documents are plain dicts.
Database = AsyncDatabase[dict[str, Any]]

ORDERS = "orders"
SOURCE_LINKS = "source_links"
CUSTOMERS = "customers"
REVIEWS = "reviews"
PARKED = "parked_events"
REJECTED = "rejected_orders"
IDENTIFIERS = "identifiers"
CLAIMS = "creation_claims"
#: One document per kind of bookkeeping of the service itself (the identity index's keys).
META = "meta"
#: The merges this service applied (C13): what an unmerge that overtakes its merge waits for.
MERGES = "merges"

#: Customers one identifier may point to before it counts as common (a shop's own phone on
#: every POS sale, a placeholder email) and stops bringing candidates or evidence.
IDENTIFIER_CAP = 25
#: A mailbox whose holders are others, shown on orders under this many other surnames (each
#: such order waits for a CSR: matching.stranger_at_the_mailbox), is shared by strangers: a
#: shop's own typed for walk-in buyers, an office's. It is common from then on. (A family's
#: shared mailbox shows one or two surnames besides its holder's.)
STRANGERS_AT_A_MAILBOX = 3


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    db = runtime.db
    await ensure_indexes_of(
        db[ORDERS],
        [
            IndexModel([("customer_code", ASCENDING), ("placed_at", DESCENDING)], name="by_customer"),
            IndexModel([("number_keys", ASCENDING), ("placed_at", DESCENDING)], name="by_number"),
        ],
    )
    await backfill_number_keys(db)
    for replaced in ("match_email", "match_phone"):  # step 6's rule lookups, before the identity index
        await drop_index_if_present(db[CUSTOMERS], replaced)
    # One collection each: declared side by side (a start is mostly these round trips).
    await asyncio.gather(
        ensure_index(
            db[CUSTOMERS],
            [("merged_into", ASCENDING)],
            name="merged_into",
            partialFilterExpression={"merged_into": {"$type": "string"}},
        ),
        # Erasure (C18) takes a customer out of every identifier that names it.
        ensure_index(db[IDENTIFIERS], [("codes", ASCENDING)], name="by_customer"),
        # A merge (C13) moves a customer's source links, its undo moves them back, an erasure
        # (C18) deletes them: each by customer, not by a scan of every link.
        ensure_indexes_of(
            db[SOURCE_LINKS],
            [
                IndexModel([("customer_code", ASCENDING)], name="by_customer"),
                IndexModel([("merged_from.merge_id", ASCENDING)], name="by_merge", sparse=True),
            ],
        ),
        ensure_indexes_of(
            db[CLAIMS],
            [
                IndexModel([("code", ASCENDING)], name="by_customer"),
                IndexModel([("creation_key", ASCENDING)], name="by_creation_key"),
            ],
        ),
        ensure_index(db[REVIEWS], [("status", ASCENDING), ("opened_at", ASCENDING), ("_id", ASCENDING)], name="queue"),
        ensure_index(db[PARKED], [("order_key", ASCENDING), ("parked_at", ASCENDING)], name="by_order"),
        ensure_index(db[REJECTED], [("rejected_at", DESCENDING)], name="newest"),
    )


async def backfill_number_keys(db: Database, batch: int = 1000) -> int:
    """Orders stored before FindOrders carry no number keys: give them theirs (their number;
    the display number was not kept then), so an order is found whenever it arrived. Runs
    at every start, finds nothing after the first; two workers doing it at once agree."""
    done = 0
    while (
        docs := await db[ORDERS]
        .find({"number_keys": {"$exists": False}, "order_number": {"$type": "string"}}, {"order_number": 1})
        .limit(batch)
        .to_list()
    ):
        await db[ORDERS].bulk_write(
            [UpdateOne({"_id": d["_id"]}, {"$set": {"number_keys": [number_key(d["order_number"])]}}) for d in docs]
        )
        done += len(docs)
    return done


# --- orders ------------------------------------------------------------------------------------


async def find_order(reads: Reads, key: str) -> dict[str, Any] | None:
    db, session = where(reads)
    return await db[ORDERS].find_one({"_id": key}, session=session)


async def orders_numbered(db: Database, key: str, scope_id: str | None, limit: int) -> list[dict[str, Any]]:
    """FindOrders: the orders whose number or display number is ``key`` (domain.number_key),
    newest first (index by_number)."""
    query: dict[str, Any] = {"number_keys": key, "placeholder": {"$ne": True}}
    if scope_id:
        query["scope_id"] = scope_id
    return await db[ORDERS].find(query).sort("placed_at", DESCENDING).limit(limit).to_list()


async def find_orders(reads: Reads, keys: list[str]) -> dict[str, dict[str, Any]]:
    db, session = where(reads)
    return {doc["_id"]: doc async for doc in db[ORDERS].find({"_id": {"$in": keys}}, session=session)}


async def put_orders(uow: UnitOfWork, docs: list[dict[str, Any]], placeholders: set[str]) -> None:
    """Insert the orders, or fill in the placeholders their early events left (``placeholders``:
    their keys). An insert costs MongoDB less than an upsert; a concurrent twin's insert makes
    it fail with a duplicate key, which aborts the transaction like the write conflict the
    upsert would meet."""
    if docs:
        await uow.db[ORDERS].bulk_write(
            [
                ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) if doc["_id"] in placeholders else InsertOne(doc)
                for doc in docs
            ],
            session=uow.session,
        )


async def change_content(uow: UnitOfWork, key: str, digest: str, changed_at: datetime, update: dict[str, Any]) -> bool:
    """O8: a new version of the order's content, unless this content was seen before (a
    redelivery, or an older version coming back) or a later one is already stored; says
    whether it changed."""
    result = await uow.db[ORDERS].update_one(
        {
            "_id": key,
            "content_hashes": {"$ne": digest},
            "$or": [{"content_at": None}, {"content_at": {"$lte": changed_at}}],
        },
        {
            "$set": {**update, "content_hash": digest, "content_at": changed_at},
            "$push": {"content_hashes": {"$each": [digest], "$slice": -CONTENT_HASHES_KEPT}},
            "$inc": {"content_version": 1},
        },
        session=uow.session,
    )
    return result.matched_count == 1


#: The versions of an order's content remembered, so that an old one coming back is known.
CONTENT_HASHES_KEPT = 50


async def set_order_link(uow: UnitOfWork, key: str, update: dict[str, Any]) -> None:
    await uow.db[ORDERS].update_one({"_id": key}, {"$set": update}, session=uow.session)


async def record_order_event(uow: UnitOfWork, key: str, code: str, push: dict[str, Any]) -> bool:
    """Add a shipment or payment to the order linked to ``code``; False if the transaction
    does not see it so (order_events.OrderNotSettled)."""
    result = await uow.db[ORDERS].update_one({"_id": key, "customer_code": code}, {"$push": push}, session=uow.session)
    return result.matched_count == 1


async def order_linked_to(uow: UnitOfWork, key: str, code: str) -> bool:
    """Whether the transaction sees the order linked to ``code``."""
    return (
        await uow.db[ORDERS].find_one({"_id": key, "customer_code": code}, {"_id": 1}, session=uow.session) is not None
    )


async def change_status(
    uow: UnitOfWork, key: str, code: str, status: str, changed_at: datetime
) -> dict[str, Any] | None:
    """O7: the status of the order linked to ``code``, unless a later change is already
    recorded; the order's summary as it is now, or None when it did not change (an order's
    events are handled side by side and may arrive in any order; or the transaction does
    not see the order so: ``order_linked_to`` tells). Only the summary's status is written:
    a new version of the order's content (O8) stored meanwhile is kept."""
    doc: dict[str, Any] | None = await uow.db[ORDERS].find_one_and_update(
        {
            "_id": key,
            "customer_code": code,
            "$or": [{"status_changed_at": None}, {"status_changed_at": {"$lte": changed_at}}],
        },
        {"$set": {"status": status, "status_changed_at": changed_at, "summary.status": status}},
        projection={"summary": True},
        return_document=ReturnDocument.AFTER,
        session=uow.session,
    )
    return None if doc is None else doc["summary"]


# --- known links from a source system's customer id (O2's first rule) --------------------------


async def linked_customer(db: Database, source_system: str, source_customer_id: str) -> str | None:
    link = f"{source_system}|{source_customer_id}"
    return (await linked_customers(db, [link])).get(link)


async def linked_customers(db: Database, links: list[str]) -> dict[str, str]:
    """Customer codes by source link (``source_system|source_customer_id``), for those known."""
    if not links:
        return {}
    return {doc["_id"]: doc["customer_code"] async for doc in db[SOURCE_LINKS].find({"_id": {"$in": links}})}


async def remember_source_link(
    uow: UnitOfWork, source_system: str, source_customer_id: str, code: str, at: datetime
) -> None:
    await remember_source_links(uow, [(f"{source_system}|{source_customer_id}", code)], at)


async def remember_source_links(uow: UnitOfWork, links: list[tuple[str, str]], at: datetime) -> None:
    """The first customer a source link was linked to stays its customer."""
    if links:
        await uow.db[SOURCE_LINKS].bulk_write(
            [
                UpdateOne({"_id": link}, {"$setOnInsert": {"customer_code": code, "created_at": at}}, upsert=True)
                for link, code in links
            ],
            session=uow.session,
        )


# --- the customers orders are matched against -----------------------------------------------------


async def customer_entry(reads: Reads, code: str) -> dict[str, Any] | None:
    db, session = where(reads)
    return await db[CUSTOMERS].find_one({"_id": code}, session=session)


async def save_customer_entry(reads: Reads, doc: dict[str, Any]) -> dict[str, Any]:
    """Keep the newest version only: customer events may arrive twice or late. Returns the
    entry as saved (with what order-sync keeps of its own: learn_record needs no second read)."""
    db, session = where(reads)
    saved = await db[CUSTOMERS].find_one_and_update(
        *_newest_entry(doc), upsert=True, session=session, return_document=ReturnDocument.AFTER
    )
    assert saved is not None  # an upsert returning the document after it always has one
    return saved


async def save_customer_entries(reads: Reads, docs: list[dict[str, Any]]) -> None:
    """``save_customer_entry`` for several customers, in one round trip."""
    db, session = where(reads)
    if docs:
        await db[CUSTOMERS].bulk_write(
            [UpdateOne(*_newest_entry(doc), upsert=True) for doc in docs], ordered=False, session=session
        )


def _newest_entry(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The filter and pipeline update that replace the entry unless it is as new already.
    What order-sync added itself (the profile learned from orders, its index keys, the
    merge it answers to) is kept: a customer event carries none of it."""
    newer = {"$lt": [{"$ifNull": ["$version", 0]}, doc["version"]]}
    kept = {name: f"${name}" for name in KEPT_ON_REPLACE if name not in doc}
    replacement = {"$mergeObjects": [{"$literal": doc}, kept]} if kept else {"$literal": doc}
    return {"_id": doc["_id"]}, [{"$replaceWith": {"$cond": [newer, replacement, "$$ROOT"]}}]


#: Fields of a customer entry that are order-sync's own, not the customer service's.
KEPT_ON_REPLACE = ("learned", "index_keys", "merged_into", "merged_from", "orders_linked", "created_for_order")


async def note_creating_orders(db: Database, claimants: dict[str, str]) -> None:
    """Which order each new customer was created for: its retry (the first try was not
    stored) says "created", as the first would have, not the identifier that finds it now."""
    if claimants:
        await db[CUSTOMERS].bulk_write(
            [
                UpdateOne({"_id": code, "created_for_order": {"$exists": False}}, {"$set": {"created_for_order": key}})
                for code, key in claimants.items()
            ],
            ordered=False,
        )


async def link_targets(uow: UnitOfWork, codes: Counter[str]) -> dict[str, dict[str, Any]]:
    """The customers a batch's orders are being linked to (with how many orders each), as
    they are now: what their profiles hold (a customer event may have taught them since the
    orders were decided) and whom they answer to if merged meanwhile (C13). Each first counts
    its orders (``orders_linked``, a write every time, never a no-op): a merge of one
    committing meanwhile writes the same document, so one of the two transactions retries and
    sees the other (the merge then moves these orders too)."""
    if not codes:
        return {}
    await uow.db[CUSTOMERS].bulk_write(
        [UpdateOne({"_id": code}, {"$inc": {"orders_linked": n}}) for code, n in sorted(codes.items())],
        ordered=False,
        session=uow.session,
    )
    docs = {
        doc["_id"]: doc
        async for doc in uow.db[CUSTOMERS].find({"_id": {"$in": sorted(codes)}}, CANDIDATE_FIELDS, session=uow.session)
    }
    survivors = {doc["merged_into"] for doc in docs.values() if doc.get("merged_into")} - docs.keys()
    if survivors:
        docs.update(
            {
                doc["_id"]: doc
                async for doc in uow.db[CUSTOMERS].find(
                    {"_id": {"$in": sorted(survivors)}}, CANDIDATE_FIELDS, session=uow.session
                )
            }
        )
    return docs


async def entries(db: Database, codes: list[str]) -> list[dict[str, Any]]:
    return await db[CUSTOMERS].find({"_id": {"$in": codes}}).to_list()


# --- the identity index (O2): every identifier a customer has shown, and who showed it -----------


def scoped(scope_id: str, key: str) -> str:
    return f"{scope_id}|{key}"


async def identifier_codes(db: Database, keys: list[str]) -> tuple[dict[str, list[str]], set[str]]:
    """The customers behind each scoped identifier, and which identifiers are common (shown by
    IDENTIFIER_CAP customers or more): those find no candidates and count as no evidence."""
    if not keys:
        return {}, set()
    found, common = {}, set()
    async for doc in db[IDENTIFIERS].find({"_id": {"$in": keys}}, {"codes": 1, "shared": 1}):
        if len(doc.get("codes", ())) >= IDENTIFIER_CAP or doc.get("shared"):
            common.add(doc["_id"])
        elif "codes" in doc:
            found[doc["_id"]] = doc["codes"]
    return found, common


def surname_mark(last_key: str) -> str:
    """A surname as ``note_strangers`` keeps it: one of 4,096 buckets of its digest, enough
    to tell three surnames apart (two share one bucket once in about 1,400 such mailboxes,
    which then wait for one more), too few to tell whose (a dictionary of surnames puts
    hundreds in each): no one's name is kept beside a mailbox."""
    return hashlib.sha256(last_key.encode()).hexdigest()[:3]


async def note_strangers(uow: UnitOfWork, strangers: dict[str, set[str]]) -> None:
    """The surnames (``surname_mark``) of orders that showed a mailbox held by others, by
    scoped identifier; one shown under STRANGERS_AT_A_MAILBOX of them is ``shared``: common."""
    if not strangers:
        return
    known = {"$ifNull": ["$strangers", []]}
    await uow.db[IDENTIFIERS].bulk_write(
        [
            UpdateOne(
                {"_id": key},
                [
                    {
                        "$set": {
                            "strangers": {"$slice": [{"$setUnion": [known, sorted(marks)]}, STRANGERS_AT_A_MAILBOX]}
                        }
                    },
                    {"$set": {"shared": {"$gte": [{"$size": "$strangers"}, STRANGERS_AT_A_MAILBOX]}}},
                ],
                upsert=True,
            )
            for key, marks in strangers.items()
        ],
        ordered=False,
        session=uow.session,
    )


#: What a candidate's match needs of its customer document.
CANDIDATE_FIELDS = {
    "scope_id": 1,
    "state": 1,
    "merged_into": 1,
    "record": 1,
    "learned": 1,
    "index_keys": 1,
    "created_for_order": 1,
    "version": 1,
}


def with_merged(codes: Iterable[str]) -> dict[str, Any]:
    """The customers ``codes`` and those merged into them. The ``$type`` is the partial
    ``merged_into`` index's filter: without it the planner may not use that index, and every
    such query read the whole collection (689 collection scans for 10,000 orders, one per
    batch, growing with the customers)."""
    ordered = sorted(codes)
    return {"$or": [{"_id": {"$in": ordered}}, {"merged_into": {"$in": ordered, "$type": "string"}}]}


async def candidates(db: Database, codes: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The matchable customers among ``codes``, by survivor (C13: a merged customer answers
    its survivor, whose profile is the survivor's record with all it absorbed)."""
    if not codes:
        return {}
    docs = {d["_id"]: d async for d in db[CUSTOMERS].find(with_merged(codes), CANDIDATE_FIELDS)}
    missing = {d["merged_into"] for d in docs.values() if d.get("merged_into")} - docs.keys()
    if missing:
        docs.update({d["_id"]: d async for d in db[CUSTOMERS].find(with_merged(missing), CANDIDATE_FIELDS)})
    by_survivor: dict[str, list[dict[str, Any]]] = {}
    for doc in docs.values():
        by_survivor.setdefault(doc.get("merged_into") or doc["_id"], []).append(doc)
    return {
        code: group
        for code, group in by_survivor.items()
        if (survivor := docs.get(code)) is not None and survivor.get("state") not in UNMATCHABLE
    }


#: States whose customer no order may be linked to (a merged one answers its survivor).
UNMATCHABLE = ("retired", "rejected", "erased")


def learning(
    code: str, scope_id: str, learned: dict[str, list[Any]], index_keys: list[str]
) -> tuple[UpdateOne | None, list[UpdateOne]]:
    """The writes that teach one customer's profile what is new in ``learned`` and index its
    new keys (both computed by the caller against what the profile held)."""
    additions = {f"learned.{kind}": {"$each": values} for kind, values in learned.items() if values}
    if index_keys:
        additions["index_keys"] = {"$each": index_keys}
    profile = UpdateOne({"_id": code}, {"$addToSet": additions}, upsert=True) if additions else None
    return profile, [index_entry(scoped(scope_id, key), code) for key in index_keys]


def index_entry(identifier: str, code: str) -> UpdateOne:
    """Add ``code`` to an identifier, up to IDENTIFIER_CAP customers (then it is common)."""
    codes = {"$ifNull": ["$codes", []]}
    return UpdateOne(
        {"_id": identifier},
        [
            {
                "$set": {
                    "codes": {
                        "$cond": [{"$gte": [{"$size": codes}, IDENTIFIER_CAP]}, codes, {"$setUnion": [codes, [code]]}]
                    }
                }
            }
        ],
        upsert=True,
    )


async def customers_after(reads: Reads, last: str, limit: int) -> list[dict[str, Any]]:
    """The next ``limit`` customer documents after ``last`` (by code), with what a profile is
    built of: a walk of every customer in batches (``reindexing``)."""
    db, session = where(reads)
    query = {"_id": {"$gt": last}}
    cursor = db[CUSTOMERS].find(query, CANDIDATE_FIELDS, session=session).sort("_id", ASCENDING).limit(limit)
    return await cursor.to_list()


async def index_fingerprint(db: Database) -> str | None:
    """What the identity index was last brought up to (``reindexing.fingerprint``)."""
    doc = await db[META].find_one({"_id": "identity_index"})
    return doc.get("fingerprint") if doc else None


async def set_index_fingerprint(db: Database, fingerprint: str, at: datetime, customers: int) -> None:
    await db[META].update_one(
        {"_id": "identity_index"},
        {"$set": {"fingerprint": fingerprint, "at": at, "customers_reindexed": customers}},
        upsert=True,
    )


async def teach(reads: Reads, writes: list[tuple[UpdateOne | None, list[UpdateOne]]]) -> None:
    db, session = where(reads)
    profiles = [profile for profile, _ in writes if profile is not None]
    identifiers = [entry for _, entries in writes for entry in entries]
    if profiles:
        await db[CUSTOMERS].bulk_write(profiles, ordered=False, session=session)
    if identifiers:
        await db[IDENTIFIERS].bulk_write(identifiers, ordered=False, session=session)


# --- privacy requests (C18) ----------------------------------------------------------------------------

#: Newer than any version a customer will reach: a tombstone no customer event replaces.
TOMBSTONE_VERSION = 2**62
#: What a review item resolved to an erased customer keeps of its order: nothing personal.
REVIEW_PERSONAL: dict[str, Any] = {
    "email": None,
    "phone": None,
    "first_name": None,
    "last_name": None,
    "postal_code": None,
    "notes": [],
    "order.email": None,
    "order.phone": None,
    "order.first_name": None,
    "order.last_name": None,
    "order.billing_address": None,
    "order.shipping_address": None,
    "erased": True,
}


async def customer_data(
    db: Database, code: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any] | None]:
    """C18 export: the customer's source links, linked orders (oldest first), the review items
    that name it (resolved to it, or offering it) and its match entry."""
    links, orders, reviews, entry = await asyncio.gather(
        db[SOURCE_LINKS].find({"customer_code": code}).to_list(),
        db[ORDERS].find({"customer_code": code}).sort("placed_at", 1).to_list(),
        db[REVIEWS].find({"$or": [{"customer_code": code}, {"candidates": code}]}).to_list(),
        customer_entry(db, code),
    )
    return links, orders, reviews, entry


async def erase_customer(uow: UnitOfWork, code: str, at: datetime) -> dict[str, int]:
    """C18 erasure, each part counted: the match entry becomes a tombstone, no identifier names
    the customer and no claim creates it again, its source links go, its orders lose their
    notes, and review items lose the order's personal fields or stop offering the customer."""
    entry = await uow.db[CUSTOMERS].find_one({"_id": code}, session=uow.session)
    erased_entry = 0
    if entry is None or entry.get("state") != "erased":
        tombstone: dict[str, Any] = {
            "_id": code,
            "version": TOMBSTONE_VERSION,
            "state": "erased",
            "scope_id": entry.get("scope_id") if entry else None,
            "addresses": [],
            "record": {},
            "erased_at": at,
        }
        await uow.db[CUSTOMERS].replace_one({"_id": code}, tombstone, upsert=True, session=uow.session)
        erased_entry = 1 if entry is not None else 0
    identifiers = await uow.db[IDENTIFIERS].update_many(
        {"codes": code}, {"$pull": {"codes": code}}, session=uow.session
    )
    claims = await uow.db[CLAIMS].delete_many({"code": code}, session=uow.session)
    links = await uow.db[SOURCE_LINKS].delete_many({"customer_code": code}, session=uow.session)
    orders = await uow.db[ORDERS].update_many(
        {"customer_code": code, "erased": {"$ne": True}}, {"$set": {"notes": [], "erased": True}}, session=uow.session
    )
    resolved = await uow.db[REVIEWS].update_many(
        {"customer_code": code, "erased": {"$ne": True}}, {"$set": REVIEW_PERSONAL}, session=uow.session
    )
    offered = await uow.db[REVIEWS].update_many(
        {"status": "open", "candidates": code}, {"$pull": {"candidates": code}}, session=uow.session
    )
    return {
        "match_entries": erased_entry,
        "identifiers": identifiers.modified_count,
        "creation_claims": claims.deleted_count,
        "source_links": links.deleted_count,
        "orders": orders.modified_count,
        "reviews": resolved.modified_count + offered.modified_count,
    }


# --- claims of customers being created (O6) ------------------------------------------------------------


async def find_claims(uow: UnitOfWork, keys: list[str]) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc async for doc in uow.db[CLAIMS].find({"_id": {"$in": keys}}, session=uow.session)}


async def insert_claims(uow: UnitOfWork, docs: list[dict[str, Any]]) -> None:
    if docs:
        await uow.db[CLAIMS].insert_many(docs, ordered=False, session=uow.session)


async def claimed_person_ids(db: Database, codes: list[str]) -> dict[str, set[str]]:
    """The mailboxes and accounts (Identity.person_ids) of the orders each customer was created
    for, by customer: settled on their claims as soon as it exists, before those orders are
    stored and teach its profile."""
    found: dict[str, set[str]] = {}
    if codes:
        async for doc in db[CLAIMS].find({"code": {"$in": codes}}, {"code": 1, "person_ids": 1}):
            found.setdefault(doc["code"], set()).update(doc.get("person_ids") or ())
    return found


async def settle_claims(db: Database, settled: dict[str, str]) -> None:
    """Each creation key's customer, once created, on every claim of it: erasure finds them by
    it, and a later cluster does not follow one to a customer its matching found to be
    someone else (``intake._claim``). (One per key, as it was, left the cluster's other
    claims unsettled, and a namesake's first order in the household followed its street
    claim to the customer it had been scored against and told apart from.)"""
    if settled:
        await db[CLAIMS].bulk_write(
            [
                UpdateMany({"creation_key": key, "code": None}, {"$set": {"code": code}})
                for key, code in settled.items()
            ],
            ordered=False,
        )


# --- review queue (O5) ------------------------------------------------------------------------------


async def insert_review(uow: UnitOfWork, doc: dict[str, Any]) -> None:
    await uow.db[REVIEWS].insert_one(doc, session=uow.session)


async def find_review(reads: Reads, review_id: str) -> dict[str, Any] | None:
    db, session = where(reads)
    return await db[REVIEWS].find_one({"_id": review_id}, session=session)


async def resolve_review(uow: UnitOfWork, review_id: str, update: dict[str, Any]) -> bool:
    result = await uow.db[REVIEWS].update_one(
        {"_id": review_id, "status": "open"}, {"$set": update}, session=uow.session
    )
    return result.modified_count == 1


async def record_resolution(
    uow: UnitOfWork, review: dict[str, Any], order: Order, code: str, by: str, at: datetime
) -> bool:
    """O5: the review resolved to ``code``, its order linked by the CSR's decision and, for an
    order with an account, the account remembered as that customer's. False if another CSR
    resolved it first."""
    resolution = {"status": "resolved", "resolved_at": at, "resolved_by": by, "customer_code": code}
    if not await resolve_review(uow, review["_id"], resolution):
        return False
    await set_order_link(uow, review["order_key"], {"customer_code": code, "linked_at": at, "rule": "review"})
    if order.source_customer_id:
        await remember_source_link(uow, order.source_system, order.source_customer_id, code, at)
    return True


async def reviews_page(
    db: Database, status: str, limit: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"status": status}
    if after is not None:
        query["$or"] = [{"opened_at": {"$gt": after[0]}}, {"opened_at": after[0], "_id": {"$gt": after[1]}}]
    cursor = db[REVIEWS].find(query).sort([("opened_at", ASCENDING), ("_id", ASCENDING)]).limit(limit + 1)
    return await cursor.to_list()


# --- events that came before their order was linked (O7) ---------------------------------------------


async def park(db: Database, doc: dict[str, Any]) -> None:
    """Keep an event for later, and leave a placeholder order that says events wait for it,
    so that the order's arrival finds them without a query of its own."""
    await db[PARKED].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
    await db[ORDERS].update_one(
        {"_id": doc["order_key"]}, {"$setOnInsert": {"placeholder": True, "customer_code": None}}, upsert=True
    )


async def parked_before(db: Database, moment: datetime, limit: int = 500) -> list[dict[str, Any]]:
    return await db[PARKED].find({"parked_at": {"$lt": moment}}).sort("parked_at", ASCENDING).limit(limit).to_list()


async def parked_for(db: Database, key: str) -> list[dict[str, Any]]:
    return await db[PARKED].find({"order_key": key}).sort("parked_at", ASCENDING).to_list()


async def unpark(db: Database, message_id: str) -> None:
    await db[PARKED].delete_one({"_id": message_id})


# --- rejected orders (O1) ---------------------------------------------------------------------------


async def record_rejected(db: Database, doc: dict[str, Any]) -> None:
    await db[REJECTED].update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)


async def rejected_page(db: Database, limit: int, before: datetime | None) -> list[dict[str, Any]]:
    query = {"rejected_at": {"$lt": before}} if before else {}
    return await db[REJECTED].find(query).sort("rejected_at", DESCENDING).limit(limit).to_list()


# --- merges (C13) --------------------------------------------------------------------------------


async def move_to_survivor(uow: UnitOfWork, merge_id: str, merged_code: str, survivor_code: str) -> None:
    """B's source links and orders point at A, and so does whatever had been merged into B;
    each keeps where it came from in ``merged_from``, for the unmerge."""
    origin = {"merge_id": merge_id, "customer_code": merged_code}
    moved = {"$set": {"customer_code": survivor_code}, "$push": {"merged_from": origin}}
    await uow.db[SOURCE_LINKS].update_many({"customer_code": merged_code}, moved, session=uow.session)
    await uow.db[ORDERS].update_many({"customer_code": merged_code}, moved, session=uow.session)
    await uow.db[CUSTOMERS].update_many(
        with_merged([merged_code]),
        {"$set": {"merged_into": survivor_code}, "$push": {"merged_from": origin}},
        session=uow.session,
    )


async def record_merge(uow: UnitOfWork, merge: dict[str, Any]) -> None:
    await uow.db[MERGES].insert_one({**merge, "state": "merged"}, session=uow.session)


async def merge_applied(reads: Reads, merge_id: str) -> bool:
    """Whether this merge was applied here (asked in the unmerge's transaction: a plain read
    sees a merge its snapshot may not hold yet, and the unmerge would move nothing back)."""
    db, session = where(reads)
    return await db[MERGES].find_one({"_id": merge_id}, {"_id": 1}, session=session) is not None


async def move_back(
    uow: UnitOfWork, merge_id: str, merged_code: str, survivor_code: str, merged_at: datetime
) -> list[dict[str, Any]]:
    """Undo ``move_to_survivor``: what the merge moved goes back to B, and so do the orders
    linked to A since the merge under one of B's source links (they were B's). Returns those
    orders (their ``summary``), which other services must hear about."""
    back = {"$set": {"customer_code": merged_code}, "$pull": {"merged_from": {"merge_id": merge_id}}}
    moved = {"merged_from.merge_id": merge_id}
    links = [d["_id"] async for d in uow.db[SOURCE_LINKS].find(moved, {"_id": 1}, session=uow.session)]
    await uow.db[SOURCE_LINKS].update_many({"_id": {"$in": links}}, back, session=uow.session)
    await uow.db[ORDERS].update_many(moved, back, session=uow.session)
    since = {"customer_code": survivor_code, "source_link": {"$in": links}, "linked_at": {"$gte": merged_at}}
    arrived: list[dict[str, Any]] = await uow.db[ORDERS].find(since, {"summary": 1}, session=uow.session).to_list()
    if arrived:
        await uow.db[ORDERS].update_many(
            {"_id": {"$in": [o["_id"] for o in arrived]}}, {"$set": {"customer_code": merged_code}}, session=uow.session
        )
    await uow.db[CUSTOMERS].update_many(
        moved,
        {"$set": {"merged_into": merged_code}, "$pull": {"merged_from": {"merge_id": merge_id}}},
        session=uow.session,
    )
    await uow.db[CUSTOMERS].update_one({"_id": merged_code}, {"$unset": {"merged_into": ""}}, session=uow.session)
    await uow.db[MERGES].update_one({"_id": merge_id}, {"$set": {"state": "unmerged"}}, session=uow.session)
    return arrived
