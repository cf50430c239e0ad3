"""Every benchmark in one run, stage by stage, each figure beside its raw ceiling measured in
the same run (see bench/README.md). ``run`` returns the results that ``bench.report`` renders."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pymongo import AsyncMongoClient

from customer.records import store
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from . import console, customer, dataset, notification, order_sync
from .processes import PeakRss, floor_rss_mb, rss_mb, server_versions, worker_pids

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sizes:
    customers: int  # searched over
    queries_per_kind: int
    import_rows: int  # through ImportCustomers
    import_ceiling_rows: int  # plain insert_many
    orders: int
    order_customers: int  # known customers the orders match
    order_workers: tuple[int, ...]
    emails: int
    email_warmup: int
    raw_emails: int
    search_namespace: str
    customer_workers: int = 2  # customer service processes for import and search


QUICK = Sizes(
    customers=20_000,
    queries_per_kind=30,
    import_rows=2_000,
    import_ceiling_rows=5_000,
    orders=300,
    order_customers=500,
    order_workers=(1, 2, 4),
    emails=200,
    email_warmup=20,
    raw_emails=1_000,
    search_namespace="bench-quick",
)
FULL = Sizes(
    customers=1_000_000,
    queries_per_kind=200,
    import_rows=50_000,
    import_ceiling_rows=50_000,
    orders=3_000,
    order_customers=5_000,
    order_workers=(1, 2, 4),
    emails=3_000,
    email_warmup=150,
    raw_emails=5_000,
    search_namespace="bench",
)
IMPORT_NAMESPACE = "bench-import"
ORDERS_NAMESPACE = "bench-orders"


class Stages:
    """One progress line as each stage starts, with the time the run has taken so far."""

    def __init__(self, total: int) -> None:
        self.total, self.number, self.started = total, 0, time.perf_counter()

    def next(self, what: str) -> None:
        self.number += 1
        customer.log(f"[{self.number}/{self.total}, {self.elapsed():.0f} s] {what}")

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def _proc_value(path: str, key: str) -> str:
    with open(path) as lines:
        for line in lines:
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return "?"


def machine() -> dict[str, Any]:
    os_name = "?"
    if Path("/etc/os-release").exists():
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = fields.get("PRETTY_NAME", "?").strip('"')
    return {
        "cores": os.cpu_count(),
        "memory_mb": int(_proc_value("/proc/meminfo", "MemTotal").split()[0]) // 1024,
        "cpu_model": _proc_value("/proc/cpuinfo", "model name"),
        "os": os_name,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def versions(settings: ServiceSettings) -> dict[str, str]:
    packages = ("faststream", "pymongo", "aio-pika", "pydantic", "aiosmtplib", "jinja2", "matplotlib")
    return {
        "python": platform.python_version(),
        **await server_versions(settings),
        **{package: version(package) for package in packages},
    }


def ratio(value: float, ceiling: float) -> float | None:
    return round(value / ceiling, 3) if ceiling else None


# --- the stages -------------------------------------------------------------------------------


async def orders(sizes: Sizes) -> dict[str, Any]:
    settings = ServiceSettings(namespace=ORDERS_NAMESPACE)
    customer.log(f"  raw ceiling: {sizes.orders} messages through consume -> upsert -> publish -> ack")
    ceiling = await order_sync.raw_ceiling_median(settings, sizes.orders)
    customer.log(f"  raw ceiling {ceiling['per_second']:,} messages/s (median of {ceiling['samples_per_second']})")
    runs = []
    for n, workers in enumerate(sizes.order_workers):
        customer.log(
            f"  order-sync with {workers} worker(s): {sizes.orders} orders, {sizes.order_customers} known customers"
        )
        if n == 0:  # the goal's figure: paired with ceiling tries, the median pair
            run = await order_sync.paired_tries(settings, workers, sizes.orders, sizes.order_customers)
            customer.log(f"  paired tries: {run['tries']}")
        else:
            run = await order_sync.run_order_sync(settings, workers, sizes.orders, sizes.order_customers)
            run["ratio_to_ceiling"] = ratio(run["orders_per_second"], ceiling["per_second"])
        customer.log(
            f"  {run['orders_per_second']:,} orders/s ({run['ratio_to_ceiling']:.0%} of the ceiling); "
            f"RSS per worker {run['rss_mb_at_rest']} MB at rest, {run['rss_mb_under_load']} MB peak"
        )
        runs.append(run)
    customer.log("  order-sync with 1 worker, the customer service's order history paused (the hop alone)")
    alone = await order_sync.run_order_sync(settings, 1, sizes.orders, sizes.order_customers, with_history=False)
    alone["ratio_to_ceiling"] = ratio(alone["orders_per_second"], ceiling["per_second"])
    customer.log(f"  {alone['orders_per_second']:,} orders/s ({alone['ratio_to_ceiling']:.0%} of the ceiling)")
    return {"ceiling": ceiling, "runs": runs, "hop_alone": alone, "known_share": 0.9}


async def emails(sizes: Sizes) -> dict[str, Any]:
    args = SimpleNamespace(emails=sizes.emails, warmup=sizes.email_warmup, raw=sizes.raw_emails)
    measured = await notification.measure(args)
    result = {
        "service": measured["service"],
        "raw_aiosmtplib": measured["raw_aiosmtplib"],
        "ratio": measured["ratio_service_to_raw"],
        "bound": measured["bound"],
        "floor": measured["floor"],
        "ratio_to_floor": measured["ratio_service_to_floor"],
    }
    customer.log(
        f"  {result['service']['emails_per_second']} emails/s, raw aiosmtplib "
        f"{result['raw_aiosmtplib']['messages_per_second']} msg/s (ratio {result['ratio']}); "
        f"{result['service']['mongodb_commands_per_email_total']} MongoDB commands per email"
    )
    return result


async def imports(sizes: Sizes) -> dict[str, Any]:
    """ImportCustomers into an empty namespace, beside plain insert_many of the same documents."""
    settings = ServiceSettings(namespace=IMPORT_NAMESPACE)
    await dataset.drop(settings)
    process, _ = customer.start_service(settings, sizes.customer_workers)
    mongo = AsyncMongoClient(settings.mongodb_url)
    database = settings.database_name("customer")
    try:
        async with OmsClient(settings, producer="bench") as client:
            await customer.wait_ready(client)
            await customer.ensure_scopes(client)
        workers = {"customer": worker_pids(process.pid)}
        commands_before = await commands_by_kind(mongo, database)
        cpu_before = order_sync.cpu_seconds(workers)
        loaded = await customer.load(settings, sizes.import_rows, batch=1000, parallel=4, have=0)
        cpu_after = order_sync.cpu_seconds(workers)
        commands_after = await commands_by_kind(mongo, database)
        load_average = round(os.getloadavg()[0], 2)
    finally:
        process.terminate()
        process.wait(timeout=60)
        await mongo.close()
    rows = sizes.import_rows
    cpu = {
        name: round((cpu_after[name] - cpu_before[name]) / rows * 1000, 3)
        for name in ("customer", "mongod", "benchmark")
    }
    commands = {kind: round((commands_after[kind] - n) / rows * 1000, 1) for kind, n in commands_before.items()}
    customer.log(
        f"  ImportCustomers: {loaded['rows_per_second']:,} rows/s (load {load_average}); CPU ms per row: "
        f"{cpu}; MongoDB commands per 1,000 rows: {commands}"
    )
    ceiling = await customer.raw_ceiling(settings, sizes.import_ceiling_rows, batch=1000, parallel=4)
    customer.log(f"  raw ceiling (plain insert_many) {ceiling['rows_per_second']:,} rows/s")
    same_writes = await customer.raw_ceiling(
        settings, sizes.import_ceiling_rows, batch=1000, parallel=4, transactions=True
    )
    customer.log(f"  the same writes in plain PyMongo transactions {same_writes['rows_per_second']:,} rows/s")
    await dataset.drop(settings)
    result = {
        **loaded,
        "service_workers": sizes.customer_workers,
        "batch": 1000,
        "batches_in_flight": 4,
        "load_average": load_average,
        "cpu_ms_per_row": cpu,
        "mongodb_commands_per_1000_rows": commands,
        "ceiling": ceiling,
        "ratio": ratio(loaded["rows_per_second"], ceiling["rows_per_second"]),
        "same_writes_in_transactions": same_writes,
        "ratio_to_same_writes": ratio(loaded["rows_per_second"], same_writes["rows_per_second"]),
    }
    earlier = RESULTS / "customer.json"  # bench.customer's import of a full million, when it was run
    if earlier.exists():
        full = json.loads(earlier.read_text())
        if full.get("load", {}).get("rows", 0) >= 1_000_000:
            result["earlier_full_import"] = {
                "when": full["when"],
                **{k: full["load"][k] for k in ("rows", "seconds", "rows_per_second", "ratio")},
            }
    return result


async def commands_by_kind(mongo: AsyncMongoClient, database: str) -> dict[str, int]:
    """MongoDB's own count of the commands run on one database so far, by kind (``top``: an
    insert_many is one insert), so that other clients of the server do not count."""
    kinds = {"queries": "find", "insert": "insert", "update": "update", "commands": "other commands"}
    counts = dict.fromkeys(kinds.values(), 0)
    for namespace, values in (await mongo.admin.command("top"))["totals"].items():
        if namespace.startswith(f"{database}."):
            for kind, name in kinds.items():
                counts[name] += values[kind]["count"]
    return counts


async def search(sizes: Sizes, reset: bool) -> dict[str, Any]:
    settings = ServiceSettings(namespace=sizes.search_namespace)
    if reset:
        customer.log(f"  dropping {settings.database_name('customer')}")
        await dataset.drop(settings)
    loaded = await dataset.ensure_customers(settings, sizes.customers)
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.database_name("customer")]
    process, _ = customer.start_service(settings, sizes.customer_workers)
    try:
        async with OmsClient(settings, producer="bench") as client:
            await customer.wait_ready(client)
            await customer.ensure_scopes(client)
        workers = worker_pids(process.pid)
        at_rest = [rss_mb(pid) for pid in workers]
        count = await db[store.CUSTOMERS].estimated_document_count()
        customer.log(f"  search latency at {count:,} customers, {sizes.queries_per_kind} queries per kind")
        async with PeakRss(workers) as under_load:
            kinds = await customer.search_latency(settings, db, sizes.queries_per_kind)
    finally:
        process.terminate()
        process.wait(timeout=60)
        await mongo.close()
    return {
        "customers": count,
        "dataset": loaded,
        "service_workers": sizes.customer_workers,
        "goal_p95_ms": customer.GOAL_P95_MS,
        "kinds": kinds,
        "rss_mb_at_rest": at_rest,
        "rss_mb_under_load": under_load.values,
    }


def memory(results: dict[str, Any], floor: float) -> list[dict[str, Any]]:
    """RSS of every worker measured, at rest and at its peak under load, beside the floor."""
    rows = []

    def add(service: str, processes: int, at_rest: list[float], under_load: list[float]) -> None:
        for index, (rest, load) in enumerate(zip(at_rest, under_load, strict=False), start=1):
            rows.append(
                {
                    "service": service,
                    "processes": processes,
                    "worker": index,
                    "at_rest_mb": rest,
                    "under_load_mb": load,
                    "ratio_to_floor": ratio(load, floor),
                }
            )

    for run in results["orders"]["runs"]:
        add("order-sync", run["workers"], run["rss_mb_at_rest"], run["rss_mb_under_load"])
    service = results["emails"]["service"]
    add("notification", 1, [service["rss_mb_at_rest"]], [service["rss_mb_under_load"]])
    found = results["search"]
    add("customer (search)", found["service_workers"], found["rss_mb_at_rest"], found["rss_mb_under_load"])
    return rows


def figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline table: each figure, its ceiling from the same run, figure / ceiling."""
    rows = []
    ceiling = results["orders"]["ceiling"]["per_second"]
    for run in results["orders"]["runs"]:
        rows.append(
            {
                "figure": f"orders linked end to end, {run['workers']} order-sync worker(s)",
                "value": run["orders_per_second"],
                "unit": "orders/s",
                "ceiling": ceiling,
                "ceiling_is": "plain aio-pika + PyMongo hop, 1 consumer, quorum queue",
                "ratio": run["ratio_to_ceiling"],
            }
        )
    if "hop_alone" in results["orders"]:
        alone = results["orders"]["hop_alone"]
        rows.append(
            {
                "figure": "orders linked, 1 order-sync worker, the customer's order history paused",
                "value": alone["orders_per_second"],
                "unit": "orders/s",
                "ceiling": ceiling,
                "ceiling_is": "plain aio-pika + PyMongo hop, 1 consumer, quorum queue",
                "ratio": alone["ratio_to_ceiling"],
            }
        )
    mail = results["emails"]
    rows.append(
        {
            "figure": "emails rendered and delivered, 1 notification worker",
            "value": mail["service"]["emails_per_second"],
            "unit": "emails/s",
            "ceiling": mail["raw_aiosmtplib"]["messages_per_second"],
            "ceiling_is": f"plain aiosmtplib, {mail['raw_aiosmtplib']['connections']} connections",
            "ratio": mail["ratio"],
        }
    )
    load = results["import"]
    rows.append(
        {
            "figure": f"import through ImportCustomers, {load['service_workers']} customer workers",
            "value": load["rows_per_second"],
            "unit": "rows/s",
            "ceiling": load["ceiling"]["rows_per_second"],
            "ceiling_is": "plain insert_many, same documents and indexes",
            "ratio": load["ratio"],
        }
    )
    kinds = {k: v for k, v in results["search"]["kinds"].items() if "store" in v}
    slowest = max(kinds, key=lambda k: kinds[k]["request_reply"]["p95_ms"])
    for label, kind in (("slowest kind", slowest), ("code", "code")):
        if kind in kinds:
            rr, st = kinds[kind]["request_reply"], kinds[kind]["store"]
            rows.append(
                {
                    "figure": f"search p95 at {results['search']['customers']:,} customers, {label} ({kind})",
                    "value": rr["p95_ms"],
                    "unit": "ms",
                    "ceiling": st["p95_ms"],
                    "ceiling_is": "the same query on the store, in process",
                    "ratio": ratio(rr["p95_ms"], st["p95_ms"]),
                }
            )
    measured = {k: v for k, v in results.get("console", {}).get("pages", {}).items() if "call" in v}
    headline = [k for k in ("search results", "customer record") if k in measured]
    if measured:  # the rest are in the console section of the report
        headline.append(max(measured, key=lambda k: measured[k]["server"]["p95_ms"]))
    for name in dict.fromkeys(headline):
        page = measured[name]
        rows.append(
            {
                "figure": f"console {name} page p95 server-side at {results['console']['customers']:,} customers",
                "value": page["server"]["p95_ms"],
                "unit": "ms",
                "ceiling": page["call"]["p95_ms"],
                "ceiling_is": "its service call over request/reply",
                "ratio": page["ratio_p95"],
            }
        )
    worst = max(results["memory"], key=lambda row: row["under_load_mb"])
    rows.append(
        {
            "figure": f"RSS per worker under load, highest ({worst['service']}, {worst['processes']} process(es))",
            "value": worst["under_load_mb"],
            "unit": "MB",
            "ceiling": results["memory_floor_mb"],
            "ceiling_is": "bare Python + FastStream + PyMongo, connected",
            "ratio": worst["ratio_to_floor"],
        }
    )
    return rows


#: ``python -m bench --only STAGE``: one stage alone, for a quick figure while working on it.
async def search_alone(sizes: Sizes) -> dict[str, Any]:
    """The search stage on the kept dataset (loaded first if there is none)."""
    return await search(sizes, reset=False)


ONLY = {
    "import": imports,
    "emails": emails,
    "search": search_alone,
}


async def run_only(stage: str, quick: bool) -> dict[str, Any]:
    """One stage on its own (``ONLY``), its result as the full run would record it."""
    sizes = QUICK if quick else FULL
    started = time.perf_counter()
    customer.log(f"{stage} only ({'quick' if quick else 'full'} sizes)")
    result: dict[str, Any] = {"stage": stage, "mode": "quick" if quick else "full", "result": await ONLY[stage](sizes)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


async def run(quick: bool, reset_dataset: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    stages = Stages(6)
    started = datetime.now(UTC)
    settings = ServiceSettings()
    stages.next("machine, versions and the memory floor of a worker")
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "command": "python -m bench" + (" --quick" if quick else ""),
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": await versions(settings),
        "sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(sizes).items()},
        "memory_floor_mb": await floor_rss_mb(settings),
    }
    stages.next(f"order ingest end to end with {', '.join(map(str, sizes.order_workers))} workers")
    results["orders"] = await orders(sizes)
    stages.next(f"emails: {sizes.emails} through one notification worker, {sizes.raw_emails} raw")
    results["emails"] = await emails(sizes)
    stages.next(f"import rate: {sizes.import_rows:,} rows through ImportCustomers")
    results["import"] = await imports(sizes)
    stages.next(f"search at {sizes.customers:,} customers")
    results["search"] = await search(sizes, reset_dataset)
    stages.next(f"CSR console pages at {sizes.customers:,} customers")
    results["console"] = await console.run(
        ServiceSettings(namespace=sizes.search_namespace), min(sizes.queries_per_kind, 60), sizes.customers
    )
    results["memory"] = memory(results, results["memory_floor_mb"])
    results["figures"] = figures(results)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(stages.elapsed(), 1)
    return results
