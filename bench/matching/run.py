"""Step 11 benchmark: identity resolution on a messy stream, through the real services.

    python -m bench.matching                          # 10,000 and 100,000 orders, 1 worker
    python -m bench.matching --orders 10000 --workers 2 --independent

A generated stream with ground truth (``bench.matching.stream``: households, namesakes,
email changes, provider-specific email variants, national phone formats, transliterations,
swapped names, postal variants, POS sales with few identifiers, re-deliveries, bursts of one
new person) is published to ``<ns>.upstream`` exactly as generated, at full speed, to the
customer service and N order-sync workers started fresh. When every order is stored (linked
or in review), the outcome is read from order-sync's database and scored
(``bench.matching.score``: pairwise precision and recall overall and within a scope, splits,
false merges, undecidable orders in review, unnecessary reviews). Beside it, in the same
run, the raw ceiling of the hop (``bench.order_sync.raw_ceiling``: consume, one upsert,
publish, ack, in plain aio-pika and PyMongo from a quorum queue), measured right before and
right after the services' run and averaged (on a shared machine one try moved by half within
a run), and orders per second as a share of it. Then the same for a second, independent stream (``bench.matching.independent``,
10,000 orders by default; ``--independent`` alone skips it, as ``--faker`` alone skips the
third, Faker-built one), written without reading the
matcher, to cross-check it. Writes ``bench/results/matching.json`` and the matching section of
``bench/REPORT.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient

from contracts.customer.records import CreateScope
from contracts.upstream.orders import OrderPlaced
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ..customer import log, machine
from ..order_sync import RESULTS, publish_burst, raw_ceiling, start, wait_ready
from . import faker_stream, independent
from .score import Outcome, score
from .simulate import simulate
from .stream import Stream, generate

#: The streams a run can send: this benchmark's own, and two written without reading the
#: matcher, to cross-check it: ``independent.py`` and ``faker_stream.py`` (made with Faker).
GENERATORS = {"own": generate, "independent": independent.generate, "faker": faker_stream.generate}

REPORT = Path(__file__).resolve().parents[1] / "REPORT.md"
GOALS = {
    "precision_within_scope": 0.999,
    "recall_within_scope": 0.98,
    # O5: of the undecidable orders that had a candidate when they came (someone who fits them
    # had ordered in the scope): the "goes to review when a candidate exists".
    "undecidable_with_a_candidate_in_review": 0.95,
    "unnecessary_review_share_below": 0.10,
    "ratio_to_ceiling": 0.5,
}


async def run_stream(settings: ServiceSettings, stream: Stream, workers: int) -> dict[str, Any]:
    """Publish the stream to freshly started services, wait until every order is stored,
    and return the timing and the outcome of every order and review."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    for service in ("customer", "order-sync"):
        await mongo.drop_database(settings.database_name(service))
    await _purge_queues(settings)
    customer_service, customer_port = start("customer.app", settings.namespace, 1, "bench-matching-customer.log")
    order_sync, order_port = start("order_sync.app", settings.namespace, workers, "bench-matching-order-sync.log")
    db = mongo[settings.database_name("order-sync")]
    try:
        await asyncio.gather(wait_ready(customer_port), wait_ready(order_port))
        async with OmsClient(settings, producer="bench") as client:
            for scope_id, country, language in stream.scopes:
                await client.call(
                    CreateScope,
                    {"scope_id": scope_id, "name": scope_id, "country": country, "default_language": language},
                )
        bodies = [(d.message.message_id, d.message.model_dump_json().encode()) for d in stream.deliveries]
        connection = await aio_pika.connect(settings.amqp_url)
        expected = len(stream.truth)
        started = time.perf_counter()
        await publish_burst(connection, settings.topology.upstream_exchange, OrderPlaced.routing_key(), bodies)
        published = time.perf_counter() - started
        stored = await _all_stored(db, expected, timeout=max(300.0, expected / 20))
        seconds = time.perf_counter() - started
        await connection.close()
        outcome = {
            doc["_id"]: Outcome(doc.get("customer_code"), doc.get("review_id"))
            async for doc in db["orders"].find({"placeholder": {"$ne": True}}, {"customer_code": 1, "review_id": 1})
        }
        reviews = {doc["_id"]: doc["candidates"] async for doc in db["reviews"].find({}, {"candidates": 1})}
        rejected = await db["rejected_orders"].count_documents({})
        notes = await db["orders"].count_documents({"notes.0": {"$exists": True}})
        rules: dict[str, int] = {}
        async for row in await db["orders"].aggregate([{"$group": {"_id": "$rule", "n": {"$sum": 1}}}]):
            rules[str(row["_id"])] = row["n"]
        return {
            "workers": workers,
            "orders": expected,
            "deliveries": len(bodies),
            "stored": stored,
            "seconds": round(seconds, 2),
            "publishing_seconds": round(published, 2),
            "orders_per_second": round(expected / seconds, 1),
            "rejected_orders": rejected,
            "orders_with_notes": notes,
            "rules": rules,
            "_outcome": outcome,
            "_reviews": reviews,
        }
    finally:
        for process in (order_sync, customer_service):
            process.terminate()
            process.wait(timeout=60)
        await mongo.close()


async def _purge_queues(settings: ServiceSettings) -> None:
    """Empty the two services' queues: an earlier run stopped once its orders were stored, with
    order events still on their way to the customer's history. Left there, the next run's
    customer service spends its time on them (their customers went with the dropped database:
    1,922 dead letters in one 10,000-order run) and the run measures that too."""
    from customer.app import create_app as customer_app
    from order_sync.app import create_app as order_sync_app

    names = {
        subscriber.queue.name
        for app in (customer_app(settings), order_sync_app(settings))
        for broker in app.brokers
        for subscriber in broker.subscribers
    }
    names |= {settings.topology.dead_letter_queue(s) for s in ("customer", "order-sync")}
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        for name in sorted(names):
            channel = await connection.channel()
            try:
                await (await channel.declare_queue(name, passive=True)).purge()
            except aio_pika.exceptions.ChannelClosed:
                pass  # not declared yet: nothing to purge
            finally:
                if not channel.is_closed:
                    await channel.close()
    finally:
        await connection.close()


async def _all_stored(db: Any, expected: int, timeout: float) -> int:
    """Orders stored with a link or a review; returns the count once it is ``expected`` (or
    stops changing for 30 s: an order lost or refused shows in the score, not as a hang)."""
    deadline, last, still_since = time.monotonic() + timeout, -1, time.monotonic()

    async def stored() -> int:
        return int(
            await db["orders"].count_documents(
                {"$or": [{"customer_code": {"$ne": None}}, {"review_id": {"$ne": None}}]}
            )
        )

    while True:
        # The exact count reads every order (129 scans of the collection in a 10,000-order
        # run, beside the services it measures); the collection's own count (an order is
        # inserted when it is stored) says when to ask it.
        n = await db["orders"].estimated_document_count()
        if n >= expected and (n := await stored()) >= expected:
            return n
        now = time.monotonic()
        if n != last:
            last, still_since = n, now
        elif now - still_since > 30 or now > deadline:
            return await stored()
        await asyncio.sleep(0.25)


async def measure(
    settings: ServiceSettings, orders: int, workers: int, seed: int, generator: str = "own"
) -> dict[str, Any]:
    log(f"{generator} stream of {orders:,} orders (seed {seed})")
    stream = GENERATORS[generator](orders, seed=seed)
    log(f"  {len(stream.people):,} people, {len(stream.deliveries):,} deliveries; ceiling first")
    messages = min(len(stream.deliveries), 5000)
    before = await raw_ceiling(settings, messages)
    log(f"  raw ceiling {before['per_second']:,} messages/s; the services, {workers} order-sync worker(s)")
    run = await run_stream(settings, stream, workers)
    after = await raw_ceiling(settings, messages)
    ceiling = {
        **after,
        "per_second": round((before["per_second"] + after["per_second"]) / 2, 1),
        "tries_per_second": [before["per_second"], after["per_second"]],
    }
    log(f"  raw ceiling after the services {after['per_second']:,} messages/s")
    figures = score(stream, run.pop("_outcome"), run.pop("_reviews"))
    run["ratio_to_ceiling"] = round(run["orders_per_second"] / ceiling["per_second"], 3)
    # The same rules one order at a time, in process: what full speed and batching cost.
    one_at_a_time = score(stream, *simulate(stream))
    log(
        f"  {run['orders_per_second']:,} orders/s ({run['ratio_to_ceiling']:.0%} of the ceiling); "
        f"precision {_get(figures, 'precision_within_scope')}, recall {_get(figures, 'recall_within_scope')}"
    )
    return {
        "orders": orders,
        "seed": seed,
        "generator": generator,
        "stream": stream.summary(),
        "ceiling": ceiling,
        "run": run,
        "score": figures,
        "one_at_a_time": one_at_a_time,
    }


def _get(figures: dict[str, Any], name: str) -> Any:
    """A figure of the scorer's, wherever it nests it."""
    if name in figures:
        return figures[name]
    for value in figures.values():
        if isinstance(value, dict) and (found := _get(value, name)) is not None:
            return found
    return None


def section(results: dict[str, Any]) -> str:
    """The matching section of bench/REPORT.md."""
    rows = []
    for r in results["runs"]:
        f = r["score"]
        rows.append(
            [
                _stream_name(r),
                f"{r['orders']:,}",
                r["run"]["workers"],
                _get(f, "precision_within_scope"),
                _get(f, "recall_within_scope"),
                _get(f, "precision"),
                _get(f, "recall"),
                _get(f, "people_split"),
                _get(f, "false_merges"),
                _get(f, "household_false_merges"),
                _get(f, "undecidable_in_review_share"),
                _get(f, "undecidable_with_candidate_in_review_share"),
                _get(f, "reviews"),
                _get(f, "unnecessary_reviews"),
                r["run"]["rejected_orders"],
                r["run"]["orders_per_second"],
                r["ceiling"]["per_second"],
                r["run"]["ratio_to_ceiling"],
            ]
        )
    lines = [
        "## Identity resolution (step 11)\n",
        f"Measured by `python -m bench.matching` on {results['when']}. A generated stream with ground truth "
        "(`bench/matching/stream.py`, *own*) sent through the customer service and order-sync as it came, at "
        "full speed; scored by `bench/matching/score.py`. The *independent* stream "
        "(`bench/matching/independent.py`) was written without reading the matcher, to cross-check it: its "
        "own model of shoppers, tills, households and typing; the *faker* stream (`bench/matching/faker_stream.py`), "
        "also written without reading it, is made of Faker's names, numbers, addresses and free-mail domains, as "
        "evaluation streams often are. Pairwise figures count pairs of orders of one person "
        "(within a scope: one person in one scope) on one customer; an order in review counts as on a "
        "customer of its own. The ceiling (the raw hop, `bench.order_sync.raw_ceiling`) is the mean of a try "
        "right before and one right after the services' run. Goals: "
        + ", ".join(f"{k} {v}" for k, v in GOALS.items())
        + ".\n",
        "| stream | orders | workers | precision in scope | recall in scope | precision | recall | people split | "
        "false merges | of household members | undecidable in review | of them with a candidate | reviews | "
        "unnecessary | refused | orders/s | ceiling msg/s | ratio |",
        "|" + " --- |" * 18,
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    lines.append("")
    lines.append(
        "The same rules applied one order at a time in process (`bench/matching/simulate.py`), on the "
        "same streams: what full speed, batches and workers cost.\n"
    )
    lines.append(
        "| stream | orders | precision in scope | recall in scope | people split | false merges | "
        "undecidable in review | of them with a candidate | reviews | unnecessary |"
    )
    lines.append("|" + " --- |" * 10)
    for r in results["runs"]:
        f = r["one_at_a_time"]
        lines.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    _stream_name(r),
                    f"{r['orders']:,}",
                    f["precision_within_scope"],
                    f["recall_within_scope"],
                    f["people_split"],
                    f["false_merges"],
                    f["undecidable_in_review_share"],
                    f.get("undecidable_with_candidate_in_review_share"),
                    f["reviews"],
                    f["unnecessary_reviews"],
                )
            )
            + " |"
        )
    lines.append("")
    for r in results["runs"]:
        lines.append(
            f"{_stream_name(r).capitalize()} stream of {r['orders']:,} orders: "
            + ", ".join(
                f"{k.replace('_', ' ')} {_cell(v)}" for k, v in r["stream"].items() if not isinstance(v, dict | list)
            )
            + "."
        )
        lines.append(
            "Rules on the orders: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(r["run"]["rules"].items()))
            + f"; orders with a note of what was set aside: {r['run']['orders_with_notes']:,}.\n"
        )
    return "\n".join(lines) + "\n"


def _stream_name(run: dict[str, Any]) -> str:
    return f"{run.get('generator', 'own')} (seed {run['seed']})"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


START, END = "<!-- matching:start -->", "<!-- matching:end -->"


def write_section(report: Path, text: str) -> None:
    """Replace the matching section of the report (or append it): ``python -m bench`` renders
    the rest, and keeps this section as it finds it (bench.report)."""
    current = report.read_text(encoding="utf-8") if report.exists() else ""
    block = f"{START}\n{text}{END}\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        current = before + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + block
    report.write_text(current, encoding="utf-8")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--independent", type=int, nargs="*", default=[10_000], help="orders of the independent stream (none: skip)"
    )
    parser.add_argument("--independent-seed", type=int, default=7)
    parser.add_argument(
        "--faker", type=int, nargs="*", default=[10_000], help="orders of the Faker-built stream (none: skip)"
    )
    parser.add_argument("--faker-seed", type=int, default=1)
    parser.add_argument("--namespace", default="bench-matching")
    parser.add_argument("--out", type=Path, default=RESULTS / "matching.json")
    parser.add_argument("--no-report", action="store_true", help="do not touch bench/REPORT.md")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    settings = ServiceSettings(namespace=args.namespace)
    runs = [await measure(settings, orders, args.workers, args.seed) for orders in args.orders]
    runs += [
        await measure(settings, orders, args.workers, args.independent_seed, "independent")
        for orders in args.independent
    ]
    runs += [await measure(settings, orders, args.workers, args.faker_seed, "faker") for orders in args.faker]
    results = {
        "benchmark": "matching",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "goals": GOALS,
        "runs": runs,
    }
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {args.out}")
    if not args.no_report:
        write_section(REPORT, section(results))
        log(f"updated the matching section of {REPORT}")
