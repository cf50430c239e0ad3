"""The customers that search is measured on, loaded fast and kept between runs.

Importing 1,000,000 customers through ImportCustomers takes about half an hour (its rate is
measured on its own, see ``bench.customer.load``). For search only the stored documents
matter, so here they are built by the customer service's own domain code
(``Customer.create``: normalized emails and phones, addresses, search keys), with codes
reserved by ``store.allocate_codes`` in bulk, in a process pool, and written with unordered
``insert_many`` into the service's collection with the service's own indexes. What this skips:
the outbox events and the inbox records of an import.

The data stays in ``<namespace>_customer`` (``bench_customer`` for the full run); a later run
tops it up to the size asked and otherwise reuses it. ``python -m bench --reset-dataset``
drops it first.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from functools import cache
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import BulkWriteError

from contracts.customer import NewCustomer, ScopeInput, ScopeView
from customer.records import store
from customer.records.rules import Customer
from plumbing.errors import Rejected
from plumbing.settings import ServiceSettings

from .customer import log
from .people import SCOPES, people

DUPLICATE_KEY = 11000


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
    at = datetime.now(UTC)
    docs = []
    for code, row in zip(codes, people(len(codes), start), strict=True):
        new = NewCustomer.model_validate(row)
        docs.append(Customer.create(new, code=code, scope=scopes()[new.scope_id], template=None, at=at).doc)
    return docs


async def _insert(collection: Any, docs: list[dict[str, Any]]) -> int:
    """Insert, unordered; rows already there (same idempotency key, from an interrupted
    earlier load) are skipped. Returns how many were new."""
    try:
        return len((await collection.insert_many(docs, ordered=False)).inserted_ids)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return exc.details.get("nInserted", 0)


async def drop(settings: ServiceSettings) -> None:
    mongo = AsyncMongoClient(settings.mongodb_url)
    try:
        await mongo.drop_database(settings.database_name("customer"))
    finally:
        await mongo.close()


async def ensure_customers(settings: ServiceSettings, target: int, batch: int = 5000) -> dict[str, Any]:
    """At least ``target`` customers in the namespace's customer database."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.database_name("customer")]
    try:
        await store.ensure_indexes(SimpleNamespace(db=db))
        for scope in scopes().values():
            try:
                await store.insert_scope(db, scope, None)
            except Rejected:
                pass  # there from an earlier run
        collection = db[store.CUSTOMERS]
        have = await collection.count_documents({})
        if have >= target:
            log(f"  reusing {have:,} customers in {db.name}")
            return {"customers": have, "reused": True, "database": db.name}

        todo = target - have
        workers = os.cpu_count() or 1
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
                    docs = await loop.run_in_executor(pool, build, start, codes)
                    new = await _insert(collection, docs)
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
        count = await collection.count_documents({})
        return {
            "customers": count,
            "reused": False,
            "database": db.name,
            "inserted": inserted,
            "seconds": round(seconds, 1),
            "per_second": round(inserted / seconds),
        }
    finally:
        await mongo.close()
