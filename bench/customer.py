"""Step 2 benchmark: bulk-load customers, then search latency per kind (C11, C17).

    python -m bench.customer --customers 1000000      # the full run (loads once, reuses after        env=env, stdout=subprocess.DEVNULL, stderr=open(RESULTS / "customer-service.log", "w"),  # noqa: SIM115
    python -m bench.customer --customers 20000 --queries 50 --quick

Runs the customer service as its own process(es) against the local stack under the
namespace ``bench`` (its data is kept between runs: a second run only tops it up), and
writes ``bench/results/customer.json``:

- load: rows per second through ImportCustomers (validation, codes, one transaction per
  batch with its outbox events), beside the raw ceiling measured in the same run: the same
  documents inserted with plain PyMongo ``insert_many`` into a collection with the same indexes;
- search: p50/p95/p99 per query kind over RabbitMQ request/reply, beside the same query run
  directly against the store in this process (the ceiling); goal p95 < 20 ms over request/reply.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from contracts.customer.records import (
    CreateScope,
    CustomersImported,
    GetStateSummary,
    ImportCustomers,
    NewCustomer,
    ScopeView,
    SearchCustomers,
    SearchInput,
)
from customer.records import store
from customer.records.rules import Customer, customer_view
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import OUTBOX, outbox_document
from plumbing.unit_of_work import ensure_indexes as plumbing_indexes

from . import report
from .people import FLAGS, SCOPES, TAGS, people

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_P95_MS = 20.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.50) * 1000, 2),
        "p95_ms": round(pick(0.95) * 1000, 2),
        "p99_ms": round(pick(0.99) * 1000, 2),
        "n": len(ordered),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(settings: ServiceSettings, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "OMS_NAMESPACE": settings.namespace, "OMS_PREFETCH_COUNT": "16"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faststream",
            "run",
            "customer.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(RESULTS / "customer-service.log", "w"),
    )
    return process, port


async def wait_ready(client: OmsClient) -> None:
    for _ in range(120):
        try:
            if (await client.ping("customer", timeout=1)).ok:
                return
        except Exception:  # noqa: BLE001 - not up yet
            await asyncio.sleep(0.5)
    raise RuntimeError("the customer service did not start; see bench/results/customer-service.log")


async def ensure_scopes(client: OmsClient) -> dict[str, str]:
    for scope_id, country in SCOPES:
        await client.call(CreateScope, {"scope_id": scope_id, "name": scope_id, "country": country})
    return dict(SCOPES)


async def load(settings: ServiceSettings, target: int, batch: int, parallel: int, have: int) -> dict[str, Any]:
    """Import customers have..target through the service; rows per second."""
    todo = target - have
    if todo <= 0:
        return {"rows": 0, "note": f"{have} customers already loaded"}
    log(f"loading {todo} customers through ImportCustomers ({parallel} clients, batches of {batch})")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for start in range(have, target, batch):
        queue.put_nowait(start)
    done = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done
        async with OmsClient(settings, producer="bench") as client:
            while not queue.empty():
                start = queue.get_nowait()
                rows = list(people(min(batch, target - start), start))
                reply = await client.call(ImportCustomers, {"rows": rows}, timeout=300)
                if not reply.ok:
                    raise RuntimeError(reply.error)
                done += len(rows)
                if done % 50_000 < batch:
                    rate = done / (time.perf_counter() - started)
                    log(f"  {have + done:>9} loaded, {rate:,.0f} rows/s")

    await asyncio.gather(*(worker() for _ in range(parallel)))
    seconds = time.perf_counter() - started
    return {"rows": todo, "seconds": round(seconds, 1), "rows_per_second": round(todo / seconds)}


async def raw_ceiling(
    settings: ServiceSettings, rows: int, batch: int, parallel: int, *, transactions: bool = False
) -> dict[str, Any]:
    """The same documents with plain PyMongo insert_many into a collection with the same indexes:
    every index the customer service declares on its customers as it starts (the records'
    search and unique indexes, and those of organizations, groups, segments and attributes).

    ``transactions``: what an import must write besides (P2, C16), in plain PyMongo: each batch
    in one transaction (snapshot, majority) with an audit entry per customer and one event
    document in the outbox holding the customers' views, as ``ImportCustomers`` writes them;
    no validation, codes, inbox or reply. A diagnostic beside the ceiling, not instead of it."""
    from .dataset import production_indexes  # noqa: PLC0415 - bench.dataset imports this module

    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[f"{settings.namespace}_raw_ceiling"]
    await mongo.drop_database(db.name)
    await production_indexes(db)
    await plumbing_indexes(db)
    scopes = {
        s: ScopeView(
            scope_id=s, name=s, country=c, default_language="en", requires_approval=False, created_at=datetime.now(UTC)
        )
        for s, c in SCOPES
    }
    docs = []
    for index, row in enumerate(people(rows, 10_000_000)):
        new = NewCustomer.model_validate(row)
        docs.append(
            Customer.create(new, code=f"R{index}", scope=scopes[new.scope_id], template=None, at=datetime.now(UTC)).doc
        )
    chunks = [docs[i : i + batch] for i in range(0, len(docs), batch)]
    besides: list[tuple[list[dict], dict]] = []  # each chunk's audit entries and event, built before timing
    if transactions:
        at = datetime.now(UTC)
        for chunk in chunks:
            event = CustomersImported(producer="bench", payload={"customers": [customer_view(d) for d in chunk]})
            besides.append(([audit_entry(d["_id"], at) for d in chunk], outbox_document(event, "oms.events", None)))
    started = time.perf_counter()

    async def write(index: int, session: Any) -> None:
        await db[store.CUSTOMERS].insert_many(chunks[index], ordered=True, session=session)
        if session is not None:
            audits, event = besides[index]
            await db["audit"].insert_many(audits, session=session)
            await db[OUTBOX].insert_one(event, session=session)

    async def worker(mine: range) -> None:
        for index in mine:
            if not transactions:
                await write(index, None)
                continue
            async with mongo.start_session() as session:
                await session.with_transaction(
                    lambda s, index=index: write(index, s),
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority"),
                )

    await asyncio.gather(*(worker(range(i, len(chunks), parallel)) for i in range(parallel)))
    seconds = time.perf_counter() - started
    await mongo.drop_database(db.name)
    await mongo.close()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


def audit_entry(code: str, at: datetime) -> dict[str, Any]:
    """An import's audit entry for a customer, as ``acting.audit_each`` writes it."""
    return {
        "_id": ObjectId(),
        "customer_code": code,
        "at": at,
        "action": "created (import)",
        "actor_kind": "system",
        "actor_id": "system",
        "on_behalf_session": None,
        "on_behalf_reason": None,
        "changed": [],
    }


async def query_sets(db: Any, per_kind: int) -> dict[str, list[dict[str, Any]]]:
    """Realistic queries drawn from the data: what a CSR would type."""
    rng = random.Random(42)
    # Customers as the data set made them: the few the console benchmark adds (a customer
    # without an email, an organization) would turn up in a sample now and then.
    sample = await (
        await db[store.CUSTOMERS].aggregate(
            [{"$sample": {"size": per_kind * 2}}, {"$match": {"email": {"$type": "string"}}}]
        )
    ).to_list()
    country = dict(SCOPES)
    pick = lambda: rng.choice(sample)  # noqa: E731
    kinds: dict[str, Any] = {
        "code": lambda: {"code": pick()["_id"]},
        "name (last name, 4 letters)": lambda: {"name": pick()["last_name"][:4]},
        "name (first and last)": lambda: (lambda d: {"name": f"{d['first_name']} {d['last_name'][:3]}"})(pick()),
        "email (6 letters)": lambda: {"email": pick()["email"][:6]},
        "phone": lambda: (lambda d: {"phone": d["phone"], "scope_id": d["scope_id"]})(pick()),
        "postal code": lambda: (lambda d: {"postal_code": d["addresses"][0]["postal_code"]})(pick()),
        "tag": lambda: {"tag": rng.choice(TAGS)},
        "type organization": lambda: {"kind": "organization"},
        "state inactive": lambda: {"state": "inactive"},
        "flag": lambda: {"flag": rng.choice(FLAGS)},
        "scope": lambda: {"scope_id": rng.choice(SCOPES)[0]},
        "name and postal code": lambda: (
            lambda d: {"name": d["last_name"][:3], "postal_code": d["addresses"][0]["postal_code"]}
        )(pick()),
        "no criteria, by last activity": lambda: {"sort": "last_activity", "descending": True},
        # The console's sort links: newest first, or by last activity, a criterion's matches
        # in the order of another index than the criterion's own.
        "name (last name, 4 letters), newest first": lambda: {
            "name": pick()["last_name"][:4],
            "sort": "created",
            "descending": True,
        },
        "postal code, by last activity": lambda: {
            "postal_code": pick()["addresses"][0]["postal_code"],
            "sort": "last_activity",
            "descending": True,
        },
        "tag, newest first": lambda: {"tag": rng.choice(TAGS), "sort": "created", "descending": True},
    }
    _ = country
    return {kind: [make() for _ in range(per_kind)] for kind, make in kinds.items()}


async def search_latency(settings: ServiceSettings, db: Any, per_kind: int) -> dict[str, Any]:
    queries = await query_sets(db, per_kind)
    countries = dict(SCOPES)
    results: dict[str, Any] = {}
    async with OmsClient(settings, producer="bench") as client:
        for kind, batch in queries.items():
            for q in batch[:5]:  # warm both paths
                await client.call(SearchCustomers, q)
            over_broker, direct, totals = [], [], []
            for q in batch:
                started = time.perf_counter()
                reply = await client.call(SearchCustomers, q)
                over_broker.append(time.perf_counter() - started)
                if not reply.ok:
                    raise RuntimeError(f"{kind} {q}: {reply.error}")
                totals.append(reply.result.total)
                query = SearchInput(**q)
                started = time.perf_counter()
                scope_country = countries.get(query.scope_id or "")
                await store.search_customers(db, query, (scope_country,) if scope_country else ())
                direct.append(time.perf_counter() - started)
            rr, st = percentiles(over_broker), percentiles(direct)
            results[kind] = {
                "request_reply": rr,
                "store": st,
                "ratio_p95": round(rr["p95_ms"] / st["p95_ms"], 2) if st["p95_ms"] else None,
                "median_total": statistics.median(totals),
                "goal_met": rr["p95_ms"] < GOAL_P95_MS,
                # every timing, for the distribution plot of the report
                "samples_ms": {
                    "request_reply": [round(t * 1000, 2) for t in over_broker],
                    "store": [round(t * 1000, 2) for t in direct],
                },
            }
            log(
                f"  {kind:32} p50 {rr['p50_ms']:6.2f}  p95 {rr['p95_ms']:6.2f}  p99 {rr['p99_ms']:6.2f} ms "
                f"(store p95 {st['p95_ms']:6.2f}; median total {statistics.median(totals):,.0f})"
            )
        started = time.perf_counter()
        summaries = []
        for _ in range(20):
            started = time.perf_counter()
            await client.call(GetStateSummary, {})
            summaries.append(time.perf_counter() - started)
        results["state summary"] = {"request_reply": percentiles(summaries)}
    return results


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    memory = 0
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal"):
                memory = int(line.split()[1]) // 1024
    return {
        "cores": os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "faststream": version("faststream"),
        "pymongo": version("pymongo"),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--workers", type=int, default=2, help="customer service processes")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=4, help="import batches in flight")
    parser.add_argument("--ceiling-rows", type=int, default=50_000)
    parser.add_argument("--namespace", default="bench")
    parser.add_argument("--out", type=Path, default=RESULTS / "customer.json")
    args = parser.parse_args()

    RESULTS.mkdir(exist_ok=True)
    settings = ServiceSettings(namespace=args.namespace)
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.database_name("customer")]
    process, _ = start_service(settings, args.workers)
    try:
        async with OmsClient(settings, producer="bench") as client:
            await wait_ready(client)
            await ensure_scopes(client)
        have = await db[store.CUSTOMERS].estimated_document_count()
        loaded = await load(settings, args.customers, args.batch, args.parallel, have)
        if loaded.get("rows"):
            log(f"loaded at {loaded['rows_per_second']:,} rows/s")
        count = await db[store.CUSTOMERS].estimated_document_count()
        log(f"raw ceiling: {args.ceiling_rows} documents with plain insert_many")
        ceiling = await raw_ceiling(
            settings, min(args.ceiling_rows, max(args.customers, 1000)), args.batch, args.parallel
        )
        log(f"raw ceiling {ceiling['rows_per_second']:,} rows/s")
        log(f"search latency at {count:,} customers, {args.queries} queries per kind")
        search = await search_latency(settings, db, args.queries)
    finally:
        process.terminate()
        process.wait(timeout=30)
        await mongo.close()

    result = {
        "benchmark": "customer",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "customers": count,
        "service_workers": args.workers,
        "load": {
            **loaded,
            "ceiling": ceiling,
            "ratio": round(loaded["rows_per_second"] / ceiling["rows_per_second"], 3)
            if loaded.get("rows_per_second")
            else None,
        },
        "search": search,
        "goal": f"p95 < {GOAL_P95_MS} ms for every search kind over request/reply",
        "goal_met": all(v.get("goal_met", True) for v in search.values()),
    }
    if not loaded.get("rows") and args.out.exists():  # keep the load figures of the run that loaded
        previous = json.loads(args.out.read_text())
        if previous.get("load", {}).get("rows"):
            result["load"] = {**previous["load"], "ceiling_now": ceiling}
    args.out.write_text(report.dump(result))  # the latency samples one line per kind
    log(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
