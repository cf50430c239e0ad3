"""The customers that search is measured on, loaded fast and kept between runs.

Importing 1,000,000 customers through ImportCustomers takes about half an hour (its rate is
measured on its own, see ``bench.customer.load``). For search only the stored documents
matter, so here they are built by the customer service's own domain code
(``Customer.create``: normalized emails and phones, addresses, search keys), with codes
reserved by ``store.allocate_codes`` in bulk, in a process pool, and written with unordered
``insert_many`` into the service's collection with every index the customer service makes
as it starts (``production_indexes``), created before the first insert: the load pays for
them as production writes do, and no index is built afterwards. What this skips: the outbox
events and the inbox records of an import. Customers registered over about five years (15 s
apart, in code order), each last active some time after.

The data stays in ``<namespace>_customer`` (``bench_customer`` for the full run); a later run
tops it up to the size asked and otherwise reuses it; a marker (collection ``bench_dataset``)
records what a finished load wrote, so a rerun at that size does not count ten million
documents. ``python -m bench --reset-dataset`` drops it first.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cache
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.errors import BulkWriteError

from contracts.customer.records import NewCustomer, ScopeInput, ScopeView
from customer.accounts import store as account_store
from customer.history import store as history_store
from customer.merges import store as merge_store
from customer.records import store
from customer.records.rules import Customer
from customer.relations import store as relations_store
from plumbing.errors import Rejected
from plumbing.settings import ServiceSettings

from .customer import log
from .people import SCOPES, people

DUPLICATE_KEY = 11000
MARKER = "bench_dataset"
#: Customer number 0 registered then, each next one 15 s later (ten million: about 4.8 years).
FIRST_REGISTERED = datetime(2021, 1, 1, tzinfo=UTC)
REGISTERED_EVERY = timedelta(seconds=15)
#: The customer service's index declarations, as customer.app runs them on startup.
INDEX_DECLARATIONS = (
    store.ensure_indexes,
    account_store.ensure_indexes,
    history_store.ensure_indexes,
    relations_store.ensure_indexes,
    merge_store.ensure_indexes,
)


async def production_indexes(db: Any) -> None:
    """Every index the customer service declares, as it declares them when it starts."""
    runtime = SimpleNamespace(db=db)
    for declare in INDEX_DECLARATIONS:
        await declare(runtime)


@cache
def scopes() -> dict[str, ScopeView]:
    """The benchmark's scopes, as CreateScope makes them."""
    return {
        scope_id: ScopeView(
            **ScopeInput(scope_id=scope_id, name=scope_id, country=country).model_dump(), created_at=datetime.now(UTC)
        )
        for scope_id, country in SCOPES
    }


def build(start: int, codes: list[str]) -> list[dict[str, Any]]:
    """Customers number start, start+1, ... as an import creates them (runs in a pool process)."""
    now = datetime.now(UTC)
    docs = []
    for index, (code, row) in enumerate(zip(codes, people(len(codes), start), strict=True), start=start):
        new = NewCustomer.model_validate(row)
        at = min(FIRST_REGISTERED + index * REGISTERED_EVERY, now)
        doc = Customer.create(new, code=code, scope=scopes()[new.scope_id], template=None, at=at).doc
        doc["last_activity_at"] = at + (now - at) * random.Random(index).random()
        docs.append(doc)
    return docs


_CLIENTS: dict[str, MongoClient] = {}  # one per pool process and server


def build_and_insert(url: str, database: str, start: int, codes: list[str]) -> int:
    """Build a batch and insert it, unordered, from the pool process itself: the documents
    never travel back to the parent to be pickled and encoded again. Rows already there (same
    idempotency key, from an interrupted earlier load) are skipped. Returns how many were new."""
    client = _CLIENTS.get(url) or _CLIENTS.setdefault(url, MongoClient(url, tz_aware=True))
    docs = build(start, codes)
    try:
        return len(client[database][store.CUSTOMERS].insert_many(docs, ordered=False).inserted_ids)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return int(exc.details.get("nInserted", 0))


async def marker(settings: ServiceSettings) -> dict[str, Any] | None:
    """What the last finished load of this namespace wrote, if one finished."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        return await mongo[settings.database_name("customer")][MARKER].find_one({"_id": "customers"})
    finally:
        await mongo.close()


async def drop(settings: ServiceSettings) -> None:
    mongo = AsyncMongoClient(settings.mongodb_url)
    try:
        await mongo.drop_database(settings.database_name("customer"))
    finally:
        await mongo.close()


async def ensure_customers(
    settings: ServiceSettings, target: int, batch: int = 5000, *, indexes_after: bool = False
) -> dict[str, Any]:
    """At least ``target`` customers in the namespace's customer database.

    ``indexes_after``: a first load inserts into a collection with only its ``_id`` index and
    then builds every index the service declares, in one pass over the collection (ten
    million: inserting with 22 indexes slowed to a crawl near 2.3 million customers, once the
    indexes outgrew the cache and every insert read index pages from disk). Without a unique
    index to tell them, the rows of an interrupted first load are unknown: it starts over."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.database_name("customer")]
    try:
        loaded = await db[MARKER].find_one({"_id": "customers"})
        if loaded and loaded["customers"] >= target:
            log(f"  reusing {loaded['customers']:,} customers in {db.name} (loaded {loaded['loaded_at']:%Y-%m-%d})")
            return {"customers": loaded["customers"], "reused": True, "database": db.name, "load": loaded["load"]}
        indexes_after = indexes_after and loaded is None
        if indexes_after:
            if await db[store.CUSTOMERS].estimated_document_count():
                log(f"  an unfinished load in {db.name}: starting over")
                await mongo.drop_database(db.name)
        else:
            await production_indexes(db)
        for scope in scopes().values():
            try:
                await store.insert_scope(db, scope)
            except Rejected:
                pass  # there from an earlier run
        collection = db[store.CUSTOMERS]
        have = await collection.estimated_document_count()
        if have >= target:
            log(f"  reusing {have:,} customers in {db.name}")
            return {"customers": have, "reused": True, "database": db.name}

        todo = target - have
        workers = (os.cpu_count() or 1) + 1  # one more than the cores: a process waits while it inserts
        log(
            f"  building and inserting {todo:,} customers into {db.name} ({workers} builder processes, "
            f"batches of {batch:,})"
        )
        in_flight = asyncio.Semaphore(workers + 1)
        loop = asyncio.get_running_loop()
        inserted = 0
        started = time.perf_counter()
        next_report = 50_000

        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:

            async def one(start: int) -> None:
                nonlocal inserted, next_report
                async with in_flight:
                    codes = await store.allocate_codes(db, min(batch, target - start))
                    new = await loop.run_in_executor(
                        pool, build_and_insert, settings.mongodb_url, db.name, start, codes
                    )
                    inserted += new  # not `inserted += await ...`: that reads `inserted` before awaiting
                    if inserted >= next_report:
                        next_report += 50_000
                        rate = inserted / (time.perf_counter() - started)
                        log(
                            f"  {have + inserted:>9,} of {target:,} customers, {rate:,.0f}/s, "
                            f"about {(todo - inserted) / rate / 60:.1f} min left"
                        )

            await asyncio.gather(*(one(start) for start in range(have, target, batch)))
        seconds = time.perf_counter() - started
        index_seconds = None
        if indexes_after:
            log(f"  {inserted:,} inserted in {seconds / 60:.1f} min; building every index the service declares")
            index_started = time.perf_counter()
            await production_indexes(db)
            index_seconds = round(time.perf_counter() - index_started, 1)
            log(f"  indexes built in {index_seconds / 60:.1f} min")
        count = await collection.count_documents({})
        load = {
            "inserted": inserted,
            "seconds": round(seconds, 1),
            "per_second": round(inserted / seconds),
            "builder_processes": workers,
            "batch": batch,
            "indexes": len(await collection.index_information()),
            "indexes_built_after_seconds": index_seconds,
        }
        await db[MARKER].replace_one(
            {"_id": "customers"}, {"customers": count, "loaded_at": datetime.now(UTC), "load": load}, upsert=True
        )
        return {"customers": count, "reused": False, "database": db.name, **load}
    finally:
        await mongo.close()
