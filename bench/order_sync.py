"""Step 6 benchmark: orders matched and linked per second, end to end (O2-O6).

    python -m bench.order_sync                      # 1, 2 and 4 order-sync workers
    python -m bench.order_sync --orders 1000 --customers 2000 --workers 1

End to end means: an OrderPlaced published to ``<ns>.upstream``, matched, its link stored
and its OrderLinked event out on ``<ns>.events`` (a tap queue counts them). 90% of the
orders are for existing customers (matched by email), 10% for new ones (created through
the customer service). Beside it, in the same run, the raw ceiling: the same hop in plain
aio-pika and PyMongo async (consume, one upsert with majority write concern, publish with
confirms, ack) at the intake's prefetch, timed the same way (publishing included). Also the
resident memory (RSS) of each worker, at rest, at its peak during the burst and after it,
the CPU time per order of each process, the mean batch sizes and MongoDB's commands per
order. Writes ``bench/results/order_sync.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient, WriteConcern

from contracts.customer.records import CreateScope, ImportCustomers
from contracts.upstream.orders import OrderPlaced
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from .customer import free_port, log, machine
from .processes import PeakRss, cpu_seconds_by_name, rss_mb, worker_pids

RESULTS = Path(__file__).resolve().parent / "results"
EXAMPLE = Path(__file__).resolve().parent.parent / "contracts" / "examples" / "order-placed.v1.json"


def start(module: str, namespace: str, workers: int, log_name: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "OMS_NAMESPACE": namespace}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faststream",
            "run",
            f"{module}:create_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(RESULTS / log_name, "w"),  # noqa: SIM115
    )
    return process, port


async def wait_ready(port: int) -> None:
    import urllib.request

    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1).status == 200:
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"service on port {port} did not become ready")


def make_order(number: str, email: str, first: str, last: str) -> OrderPlaced:
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"].update(order_number=number, email=email, first_name=first, last_name=last, source_customer_id=None)
    return OrderPlaced.model_validate(raw)


async def drain(channel: aio_pika.abc.AbstractChannel, queues: list[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    for name in queues:
        while (await channel.declare_queue(name, passive=True)).declaration_result.message_count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} still holds messages after {timeout} s")
            await asyncio.sleep(0.5)


#: The processes whose CPU time is counted per order during the burst.
PROCESSES = {"mongod": "bin/mongod", "rabbitmq": "beam.smp", "order-sync": "order_sync.app", "customer": "customer.app"}


def cpu_seconds(known_pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU time used so far by each of PROCESSES (all its processes), and by this benchmark's
    own process. ``known_pids`` names the processes a pattern cannot find: the workers
    ``faststream run --workers N`` spawns run under multiprocessing's command line."""
    return cpu_seconds_by_name(PROCESSES, known_pids)


def batch_sizes(port: int) -> dict[str, float]:
    """Mean size of the batches of each batch step of a service so far, from its /metrics
    (one worker's: with several, whichever answers)."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    sums: dict[str, list[float]] = {}
    for line in text.splitlines():
        if line.startswith(("oms_batch_size_sum{", "oms_batch_size_count{")):
            batch = line.split('batch="', 1)[1].split('"', 1)[0]
            sums.setdefault(batch, [0.0, 0.0])[0 if "_sum{" in line else 1] += float(line.rsplit(" ", 1)[1])
    return {batch: round(total / count, 1) for batch, (total, count) in sums.items() if count}


async def mongo_commands(mongo: AsyncMongoClient) -> dict[str, int]:
    """How many of each command MongoDB has run so far (all clients), from serverStatus."""
    status = await mongo.admin.command("serverStatus")
    counts = {name: int(c.get("total", 0)) for name, c in status["metrics"]["commands"].items() if isinstance(c, dict)}
    counts["transactions committed"] = int(status["transactions"]["totalCommitted"])
    return counts


async def run_order_sync(
    settings: ServiceSettings, workers: int, orders: int, customers: int, *, with_history: bool = True
) -> dict[str, Any]:
    """One measured burst against freshly started services; returns the figures.

    ``with_history=False`` unbinds the customer service's order-history queue for the burst:
    the order-sync hop alone, as the ceiling has no downstream consumer (diagnostic only; the
    history of that run is not kept)."""
    mongo = AsyncMongoClient(settings.mongodb_url)
    for service in ("customer", "order-sync"):
        await mongo.drop_database(settings.database_name(service))
    customer_service, customer_port = start("customer.app", settings.namespace, 1, "bench-customer.log")
    order_sync, order_port = start("order_sync.app", settings.namespace, workers, "bench-order-sync.log")
    try:
        await asyncio.gather(wait_ready(customer_port), wait_ready(order_port))
        async with OmsClient(settings, producer="bench") as client:
            await client.call(CreateScope, {"scope_id": "eu-fr", "name": "FR", "country": "FR"})
            rows = [
                {
                    "scope_id": "eu-fr",
                    "first_name": f"F{i}",
                    "last_name": f"Bench{i}",
                    "email": f"known{i}@example.fr",
                    "channel": "import",
                    "idempotency_key": f"k{i}",
                }
                for i in range(customers)
            ]
            for start_at in range(0, customers, 1000):
                await client.call(ImportCustomers, {"rows": rows[start_at : start_at + 1000]}, timeout=300)
            # Wait until order-sync knows them all (it learns customers from their events).
            db = mongo[settings.database_name("order-sync")]
            while await db["customers"].count_documents({}) < customers:
                await asyncio.sleep(0.5)
            workers_now = worker_pids(order_sync.pid)
            at_rest = [rss_mb(pid) for pid in workers_now]

            connection = await aio_pika.connect(settings.amqp_url)
            channel = await connection.channel()
            tap = await channel.declare_queue(exclusive=True, auto_delete=True)
            # Every event of the services (not only the links counted to time the burst): an
            # event published twice by the outbox relays, with 2 or 4 workers, is counted.
            await tap.bind(settings.topology.events_exchange, routing_key="#")
            rng = random.Random(9)
            burst = []
            for n in range(orders):
                if rng.random() < float(os.environ.get("BENCH_KNOWN_SHARE", "0.9")):
                    i = rng.randrange(customers)
                    burst.append(make_order(f"B-{n}", f"known{i}@example.fr", f"F{i}", f"Bench{i}"))
                else:
                    burst.append(make_order(f"B-{n}", f"new{n}@example.fr", f"N{n}", f"New{n}"))
            bodies = [(o.message_id, o.model_dump_json().encode()) for o in burst]
            done, published = await counting(tap, orders, "order-sync.order-linked.v1")
            history = await channel.declare_queue(settings.topology.queue("customer", "order-history"), passive=True)
            if not with_history:
                await history.unbind(settings.topology.events_exchange, "order-sync.#")
            service_pids = {"order-sync": sorted({order_sync.pid, *workers_now})}
            commands_before = await mongo_commands(mongo)
            cpu_before = cpu_seconds(service_pids)
            started = time.perf_counter()
            async with PeakRss(workers_now) as under_load:
                await publish_burst(connection, settings.topology.upstream_exchange, OrderPlaced.routing_key(), bodies)
                await asyncio.wait_for(done.wait(), timeout=600)
            seconds = time.perf_counter() - started
            cpu_after = cpu_seconds(service_pids)
            commands_after = await mongo_commands(mongo)
            batches = {**batch_sizes(order_port), **batch_sizes(customer_port)}
            if not with_history:
                await history.bind(settings.topology.events_exchange, "order-sync.#")
            after_burst = [rss_mb(pid) for pid in workers_now]
            # The customer service is still applying the burst's order history: let it finish,
            # or the next run's fresh databases would get this run's leftovers.
            await drain(
                channel,
                [
                    settings.topology.queue("customer", "order-history"),
                    settings.topology.queue("order-sync", "customer-events"),
                ],
            )
            await asyncio.sleep(2)  # a relay's late second publication would land now
            await connection.close()
        links = await mongo[settings.database_name("order-sync")]["orders"].count_documents(
            {"customer_code": {"$ne": None}}
        )
        cpu_ms = {name: round(1000 * (cpu_after[name] - cpu_before[name]) / orders, 2) for name in cpu_before}
        commands = {
            name: round((commands_after[name] - commands_before.get(name, 0)) / orders, 2) for name in commands_after
        }
        return {
            "workers": workers,
            "orders": orders,
            "seconds": round(seconds, 2),
            "with_history": with_history,
            "cpu_ms_per_order": cpu_ms,
            "mean_batch_size": batches,
            "mongodb_commands_per_order": {
                k: v for k, v in sorted(commands.items(), key=lambda kv: -kv[1]) if v >= 0.01
            },
            "orders_per_second": round(orders / seconds, 1),
            "links_stored": links,
            "outbox": published_twice(published),
            "rss_mb_at_rest": at_rest,
            "rss_mb_under_load": under_load.values,
            "rss_mb_after_burst": after_burst,
        }
    finally:
        for process in (order_sync, customer_service):
            process.terminate()
            process.wait(timeout=60)
        await mongo.close()


async def counting(
    tap: aio_pika.abc.AbstractQueue, expected: int, routing_key: str | None = None
) -> tuple[asyncio.Event, Counter[str]]:
    """Consume ``tap`` (no acknowledgements); the event is set once ``expected`` distinct
    messages (of ``routing_key``, when given) came. The counter holds how many times each
    message id was published: an outbox relay that publishes a batch again (P2) shows there."""
    done = asyncio.Event()
    published: Counter[str] = Counter()
    distinct: set[str] = set()

    async def count(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        key = message.message_id or str(message.delivery_tag)
        published[key] += 1
        if routing_key is None or message.routing_key == routing_key:
            distinct.add(key)
            if len(distinct) >= expected:
                done.set()

    await tap.consume(count, no_ack=True)
    return done, published


def published_twice(published: Counter[str]) -> dict[str, int]:
    """Events the relays published more than once: how many, and the extra publications."""
    return {
        "events": len(published),
        "published_twice": sum(1 for n in published.values() if n > 1),
        "extra_publications": sum(n - 1 for n in published.values() if n > 1),
    }


async def publish_burst(
    connection: aio_pika.abc.AbstractConnection, exchange: str, routing_key: str, bodies: list[tuple[str, bytes]]
) -> None:
    """The benchmark's load, the same for the runs and the ceiling: serialized messages
    published as a storefront does (persistent, mandatory, confirmed), 200 at a time."""
    channel = await connection.channel(publisher_confirms=True)
    target = await channel.get_exchange(exchange, ensure=False)
    for chunk in range(0, len(bodies), 200):
        await asyncio.gather(
            *(
                target.publish(
                    aio_pika.Message(
                        body,
                        message_id=message_id,
                        correlation_id=message_id,
                        content_type="application/json",
                        delivery_mode=2,
                    ),
                    routing_key=routing_key,
                    mandatory=True,
                )
                for message_id, body in bodies[chunk : chunk + 200]
            )
        )
    await channel.close()


async def raw_ceiling(settings: ServiceSettings, messages: int, *, quorum: bool = True) -> dict[str, Any]:
    """consume -> one upsert (w=majority) -> publish with confirms -> ack, in plain aio-pika + PyMongo.

    Timed as the order-sync runs are, end to end: from the first publish, the messages
    published during the run in the same chunks (persistent, mandatory, confirmed, from the
    benchmark's own connection), to the last event counted on a tap queue. Consumed from a
    durable quorum queue, as order-sync consumes its orders (``quorum=False``: an exclusive
    classic queue, which costs RabbitMQ about half the CPU; for comparison)."""
    mongo = AsyncMongoClient(settings.mongodb_url)
    collection = mongo[f"{settings.namespace}_raw"].get_collection("links", write_concern=WriteConcern("majority"))
    connection = await aio_pika.connect(settings.amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    # At the prefetch of order-sync's order intake (the services run with their default settings).
    await channel.set_qos(prefetch_count=settings.batch_prefetch_count)
    name = f"{settings.namespace}.raw"
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=True)
    if quorum:
        queue = await channel.declare_queue(
            f"{name}-in-{uuid.uuid4().hex[:8]}", durable=True, arguments={"x-queue-type": "quorum"}
        )
    else:
        queue = await channel.declare_queue(f"{name}-in", exclusive=True)  # goes with the connection
    await queue.bind(exchange, "in")
    body = make_order("RAW", "raw@example.fr", "R", "Raw").model_dump_json().encode()

    async def hop(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        order = json.loads(message.body)
        await collection.update_one(
            {"_id": message.message_id},
            {"$set": {"order": order["payload"]["order_number"], "at": datetime.now(UTC)}},
            upsert=True,
        )
        await exchange.publish(aio_pika.Message(b'{"linked": true}', delivery_mode=2), routing_key="out")
        await message.ack()

    await queue.consume(hop)
    # The benchmark's side, as in run_order_sync: its own connection publishing, and a tap.
    bench = await aio_pika.connect(settings.amqp_url)
    tap = await (await bench.channel()).declare_queue(exclusive=True, auto_delete=True)
    await tap.bind(name, "out")
    done, _ = await counting(tap, messages)
    bodies = [(uuid.uuid4().hex, body) for _ in range(messages)]
    started = time.perf_counter()
    await publish_burst(bench, name, "in", bodies)
    await asyncio.wait_for(done.wait(), timeout=600)
    seconds = time.perf_counter() - started
    await connection.close()
    if quorum:
        await (await bench.channel()).queue_delete(queue.name)
    await bench.close()
    await mongo.drop_database(f"{settings.namespace}_raw")
    await mongo.close()
    return {"messages": messages, "seconds": round(seconds, 2), "per_second": round(messages / seconds, 1)}


async def raw_ceiling_median(settings: ServiceSettings, messages: int, times: int = 3) -> dict[str, Any]:
    """``raw_ceiling`` ``times`` times, its median: on a shared machine one burst of a few
    seconds moves by a third from one try to the next. With the median of the same hop from
    a classic queue beside it (``classic_per_second``), for comparison."""

    async def median(quorum: bool) -> tuple[dict[str, Any], list[float]]:
        samples = [await raw_ceiling(settings, messages, quorum=quorum) for _ in range(times)]
        return sorted(samples, key=lambda sample: sample["per_second"])[times // 2], [s["per_second"] for s in samples]

    ceiling, samples = await median(quorum=True)
    classic, classic_samples = await median(quorum=False)
    return {
        **ceiling,
        "samples_per_second": samples,
        "queue": "quorum",
        "classic_per_second": classic["per_second"],
        "classic_samples_per_second": classic_samples,
    }


async def paired_tries(
    settings: ServiceSettings, workers: int, orders: int, customers: int, tries: int = 3
) -> dict[str, Any]:
    """``tries`` bursts of the services, each right after a try of the raw ceiling: on a shared
    machine both move by a third from one minute to the next, and a pair sees the same
    machine. The run returned is the pair with the median ratio; ``tries`` lists them all."""
    pairs = []
    for _ in range(tries):
        ceiling = await raw_ceiling(settings, orders, quorum=True)
        run = await run_order_sync(settings, workers, orders, customers)
        run["paired_ceiling_per_second"] = ceiling["per_second"]
        run["ratio_to_ceiling"] = round(run["orders_per_second"] / ceiling["per_second"], 3)
        pairs.append(run)
    median = sorted(pairs, key=lambda run: run["ratio_to_ceiling"])[tries // 2]
    median["tries"] = [
        {k: run[k] for k in ("orders_per_second", "paired_ceiling_per_second", "ratio_to_ceiling")} for run in pairs
    ]
    return median


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--namespace", default="bench-orders")
    parser.add_argument("--out", type=Path, default=RESULTS / "order_sync.json")
    parser.add_argument(
        "--tries", type=int, default=3, help="paired ceiling and service bursts for the first worker count"
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    settings = ServiceSettings(namespace=args.namespace)
    log(f"raw ceiling: {args.orders} messages through consume -> upsert -> publish -> ack")
    ceiling = await raw_ceiling_median(settings, args.orders)
    log(f"  raw ceiling {ceiling['per_second']:,} messages/s (median of {ceiling['samples_per_second']})")
    runs = []
    for n, workers in enumerate(args.workers):
        log(f"order-sync with {workers} worker(s): {args.orders} orders, {args.customers} known customers")
        if n == 0 and args.tries > 1:
            result = await paired_tries(settings, workers, args.orders, args.customers, args.tries)
            log(f"  paired tries: {result['tries']}")
        else:
            result = await run_order_sync(settings, workers, args.orders, args.customers)
            result["ratio_to_ceiling"] = round(result["orders_per_second"] / ceiling["per_second"], 3)
        runs.append(result)
        log(
            f"  {result['orders_per_second']:,} orders/s ({result['ratio_to_ceiling']:.0%} of the ceiling), "
            f"RSS per worker {result['rss_mb_at_rest']} MB at rest, {result['rss_mb_under_load']} MB at the peak of the burst, "
            f"{result['outbox']['published_twice']} of {result['outbox']['events']:,} events published twice"
        )
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "order_sync",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "ceiling": ceiling,
                "runs": runs,
                "goal": "one worker at least half the ceiling; under 150 MB RSS per worker",
                "goal_met": bool(runs)
                and runs[0]["ratio_to_ceiling"] >= 0.5
                and all(max(r["rss_mb_under_load"] or [0]) < 150 for r in runs),
            },
            indent=2,
        )
        + "\n"
    )
    log(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
