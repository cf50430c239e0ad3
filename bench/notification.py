"""Emails rendered and delivered per second by one notification worker, beside the raw rate
of aiosmtplib sending one prebuilt message to the same SMTP server in the same run.

    .venv/bin/python bench/notification.py [--emails 3000] [--raw 5000]

Needs the local stack's RabbitMQ and MongoDB (``deploy/local/stack.sh up``). It starts:

- an aiosmtpd server in its own process, accepting every message and counting it (no
  parsing, no disk), so that the server costs both measurements the same;
- the notification service as one worker process (``faststream run``, its default
  settings), in a namespace of its own that is removed at the end.

Then it publishes system-email events (welcome, shipping confirmation, payment request,
in English, French and German) as the other services' outboxes would, and times from the
first publish until every email is marked sent in MongoDB: each one was consumed, rendered,
recorded, claimed, sent over SMTP and recorded again. The raw rate sends one fixed message
of the same size over as many connections as the service uses. Figures go to
``bench/results/notification.json``; read them as a ratio, the machines are shared.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and the file's name would
# shadow the notification package it measures; the project root goes there instead (bench.*).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402 - after the path fix above
import asyncio
import json
import multiprocessing
import os
import platform
import signal
import socket
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from typing import Any

import aio_pika
from aiosmtplib import SMTP
from pymongo import AsyncMongoClient

from bench import email_floor
from bench.processes import PeakRss, cpu_seconds_by_name, rss_mb, worker_pids
from contracts.customer.records import LinkPayload, PasswordSetupInvited, Recipient
from contracts.order_sync.linking import (
    CustomerOrderShipped,
    CustomerPaymentRequested,
    OrderSummary,
    PaymentEmailPayload,
    ShipmentEmailPayload,
)
from contracts.upstream.orders import ShippedLine
from notification import mail
from notification.settings import NotificationSettings
from plumbing.sealing import Sealer, redact_link
from plumbing.settings import ServiceSettings

RESULTS = Path(__file__).resolve().parent / "results" / "notification.json"
ROOT = Path(__file__).resolve().parent.parent


# --- the SMTP server, in its own process --------------------------------------------------------------


def serve_smtp(port: int, accepted: multiprocessing.Value, ready: multiprocessing.Event) -> None:
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server, session, envelope) -> str:
            with accepted.get_lock():
                accepted.value += 1
            return "250 OK"

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # wait for it below, in every thread
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    signal.sigwait({signal.SIGTERM})
    controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- events as the customer and order-sync services publish them ----------------------------------------


def recipient(i: int) -> Recipient:
    language = ("en", "fr", "de")[i % 3]
    return Recipient(
        customer_code=f"B{i:07d}",
        scope_id="bench",
        email=f"customer{i}@example.com",
        first_name="Camille",
        last_name="Martin",
        preferred_language=language,
        scope_language="en",
    )


def link_sealer() -> Sealer:
    """The key the service under test opens links with: the environment's, or a new one it inherits."""
    # bench/__init__.py set one for the run if the environment had none
    return Sealer(os.environ["OMS_LINK_KEY"])


def event(i: int, sealer: Sealer):
    to = recipient(i)
    order = OrderSummary(
        source_system="storefront:bench",
        order_number=f"B-{i}",
        scope_id="bench",
        status="shipped",
        total=Decimal("59.70"),
        currency="EUR",
        placed_at=datetime(2026, 11, 20, 9, 14, tzinfo=UTC),
    )
    kind = i % 3
    if kind == 0:
        link = f"https://shop.example.com/account/password?token={uuid.uuid4().hex}"
        payload = LinkPayload(
            recipient=to,
            link=redact_link(link),
            sealed_link=sealer.seal(link),
            expires_at=datetime.now(UTC) + timedelta(days=2),
        )
        return PasswordSetupInvited(producer="customer", payload=payload)
    if kind == 1:
        payload = ShipmentEmailPayload(
            recipient=to,
            order=order,
            shipment_id=f"S-{i}",
            carrier="DHL",
            tracking_number="JD0123456789",
            tracking_url="https://track.example.com/JD0123456789",
            lines=[ShippedLine(sku="SKU-1", name="Wool scarf", quantity=Decimal(2))],
            shipped_at=datetime(2026, 11, 21, 15, tzinfo=UTC),
        )
        return CustomerOrderShipped(producer="order-sync", payload=payload)
    payload = PaymentEmailPayload(
        recipient=to,
        order=order,
        payment_id=f"P-{i}",
        amount=Decimal("59.70"),
        currency="EUR",
        payment_url="https://pay.example.com/P",
        due_at=datetime(2026, 11, 27, tzinfo=UTC),
        at=datetime.now(UTC),
    )
    return CustomerPaymentRequested(producer="order-sync", payload=payload)


async def publish(exchange: aio_pika.abc.AbstractExchange, events: list) -> None:
    async def one(e) -> None:
        await exchange.publish(
            aio_pika.Message(
                e.model_dump_json().encode(),
                message_id=e.message_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=e.routing_key(),
        )

    for start in range(0, len(events), 200):
        await asyncio.gather(*(one(e) for e in events[start : start + 200]))


#: Commands the benchmark itself ran on the service's database (its polls), to take out of the count.
polls = [0]


async def sent_count(db) -> int:
    polls[0] += 1
    return await db["activities"].count_documents({"status": "sent"})


#: ``top``'s counters, named as the commands they count.
TOP_KINDS = {"queries": "find", "getmore": "getMore", "insert": "insert", "update": "update", "remove": "delete"}


async def database_commands(mongo: AsyncMongoClient, database: str) -> dict[str, int]:
    """Commands run so far on one database's collections, by kind (``top``: per namespace, so
    other clients of the shared server do not count), and the server's transactions committed
    (``serverStatus``: server-wide, there is no per-database count)."""
    totals = (await mongo.admin.command("top"))["totals"]
    counts = dict.fromkeys([*TOP_KINDS.values(), "other (findAndModify, count, aggregate...)"], 0)
    for namespace, values in totals.items():
        if namespace.startswith(f"{database}."):
            for kind, name in TOP_KINDS.items():
                counts[name] += values[kind]["count"]
            counts["other (findAndModify, count, aggregate...)"] += values["commands"]["count"]
    counts["other (findAndModify, count, aggregate...)"] -= polls[0]
    status = await mongo.admin.command("serverStatus")
    counts["commitTransaction (server-wide)"] = int(status["transactions"]["totalCommitted"])
    return counts


async def wait_sent(db, count: int, timeout: float, accepted: Any) -> None:
    """Until ``count`` emails are marked sent. The SMTP server's counter (shared memory) is
    watched first: counting ``sent`` in MongoDB scans the activities, and polling it all
    through the run loaded the very database and cores being measured (about a tenth of
    mongod's CPU per email at 4,000 emails). MongoDB is asked only once the server has had
    them all, for the last batch's ``sent`` write."""
    deadline = time.monotonic() + timeout
    while accepted.value < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    while await sent_count(db) < count:
        if time.monotonic() > deadline:
            failed = await db["activities"].count_documents({"status": "failed"})
            raise TimeoutError(f"{await sent_count(db)} of {count} sent ({failed} failed) after {timeout}s")
        await asyncio.sleep(0.05)


# --- the raw ceiling ---------------------------------------------------------------------------------------


def fixed_message(sender: str) -> bytes:
    """One email as the service renders it (a shipping confirmation), flattened once."""
    from notification import catalog, kinds

    template = catalog.predefined().get("shipping-confirmation", "en")
    _, context = kinds.samples("shipping-confirmation")[0]
    rendered = template.compiled().render({**context, "language": "en"})
    activity = {
        "_id": "bench",
        "sender": sender,
        "to": "customer@example.com",
        "to_name": "Camille Martin",
        "subject": rendered.subject,
        "created_at": datetime.now(UTC),
        "language": "en",
        "initiated_by": "system",
        "message_id": mail.message_id("bench", sender),
        "text": rendered.text,
        "html": rendered.html,
    }
    return mail.build(activity)


async def raw_rate(port: int, message: bytes, count: int, connections: int) -> float:
    """Messages per second of plain aiosmtplib: ``connections`` clients, each sending in turn."""
    remaining = count

    async def client() -> None:
        nonlocal remaining
        smtp = SMTP(hostname="127.0.0.1", port=port, start_tls=False, local_hostname="bench")
        await smtp.connect()
        while remaining > 0:
            remaining -= 1
            await smtp.sendmail("no-reply@oms.local", ["customer@example.com"], message)
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return count / (time.perf_counter() - started)


# --- the floor: the durable work alone, in plain code (bench/email_floor.py) -------------------------------


async def floor_rate(
    settings: ServiceSettings, smtp: tuple[int, Any], message: bytes, events: list, connections: int
) -> dict[str, Any]:
    """Emails per second of ``email_floor`` for ``events``, and the CPU each process spent per email."""
    port, sink_pid = smtp
    name = f"{settings.namespace}.email-floor"
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        floor = email_floor.Floor(
            amqp_url=settings.amqp_url,
            mongodb_url=settings.mongodb_url,
            queue=name,
            database=f"{settings.namespace}_email_floor",
            smtp_port=port,
            message=message,
            connections=connections,
            prefetch=settings.batch_prefetch_count,
        )
        process, done = email_floor.start(floor)
        try:

            async def burst(batch: list) -> float:
                goal = done.value + len(batch)
                started = time.perf_counter()
                for start in range(0, len(batch), 200):
                    await asyncio.gather(
                        *(
                            channel.default_exchange.publish(
                                aio_pika.Message(e.model_dump_json().encode(), message_id=e.message_id),
                                routing_key=name,
                            )
                            for e in batch[start : start + 200]
                        )
                    )
                deadline = time.monotonic() + 300
                while done.value < goal:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the email floor sent {done.value} of {goal}")
                    await asyncio.sleep(0.02)
                return time.perf_counter() - started

            await burst(events[:150])  # connections open, caches warm
            measured = events[150:]
            processes = {"floor": [process.pid], "smtp server": [sink_pid]}
            before = process_cpu(processes)
            seconds = await burst(measured)
            cpu = cpu_ms_per_message(before, process_cpu(processes), len(measured))
        finally:
            process.terminate()
            process.join(30)
            await queue.delete(if_unused=False, if_empty=False)
    return {
        "emails": len(measured),
        "seconds": round(seconds, 3),
        "emails_per_second": round(len(measured) / seconds, 1),
        "connections": connections,
        "cpu_ms_per_email": cpu,
    }


# --- the run ----------------------------------------------------------------------------------------------


async def cleanup(settings: ServiceSettings) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for purpose in ("commands", "emails", "dead-letter"):
            await channel.queue_delete(settings.topology.queue("notification", purpose))
        for suffix in ("commands", "events", "upstream", "dead-letter"):
            await channel.exchange_delete(f"{settings.namespace}.{suffix}")
    mongo = AsyncMongoClient(settings.mongodb_url)
    await mongo.drop_database(settings.database_name("notification"))
    await mongo.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def process_cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by the processes named in ``pids``, by MongoDB and RabbitMQ, and
    by this benchmark's own process."""
    return cpu_seconds_by_name({"mongod": "bin/mongod", "rabbitmq": "beam.smp"}, pids)


def cpu_ms_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> dict[str, float]:
    return {name: round((after[name] - before[name]) / messages * 1000, 3) for name in after}


def best_ratio(
    service_cpu: dict[str, float], raw_cpu: dict[str, float], raw_rate: float, cores: int | None = None
) -> dict[str, float]:
    """What the CPU accounts allow at most, on this machine's cores, whatever the worker did.

    Every process shares the same cores. Per email, the service's run spends ``service_cpu``
    (ms, by process), the raw run ``raw_cpu``. If the notification worker cost nothing at all,
    the other processes of the service's run (the SMTP server receiving the email, RabbitMQ
    delivering the event, MongoDB recording the email, the benchmark publishing it as the
    other services' outboxes would) would still need ``companions`` ms of CPU per email: on
    ``cores`` cores they pass at most cores / companions emails a second, and the SMTP server,
    one process, at most one core's worth. Divided by the raw rate, that is the highest ratio
    any worker could reach here."""
    cores = cores or os.cpu_count() or 1
    companions = sum(ms for name, ms in service_cpu.items() if name != "worker")
    at_most = min(cores / companions, 1 / service_cpu["smtp server"]) * 1000 if companions else float("inf")
    return {
        "cores": cores,
        "companions_cpu_ms_per_email": round(companions, 3),
        "raw_cpu_ms_per_message": round(sum(raw_cpu.values()), 3),
        "emails_per_second_with_a_free_worker": round(at_most, 1),
        "ratio_with_a_free_worker": round(at_most / raw_rate, 3),
    }


def worker_pid(parent: int) -> int:
    """`faststream run` serves from a child process; that child is the worker (not the
    multiprocessing resource tracker it also starts, which the first child may be)."""
    return worker_pids(parent)[0]


def wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the notification service did not become ready")


async def measure(args: argparse.Namespace) -> dict:
    settings = ServiceSettings(namespace=f"bench{uuid.uuid4().hex[:8]}")
    options = NotificationSettings()
    sealer = link_sealer()
    smtp_port, http_port = free_port(), free_port()
    context = multiprocessing.get_context("spawn")
    accepted, ready = context.Value("q", 0), context.Event()
    sink = context.Process(target=serve_smtp, args=(smtp_port, accepted, ready), daemon=True)
    sink.start()
    ready.wait(30)

    env = {**os.environ, "OMS_NAMESPACE": settings.namespace, "OMS_SMTP_PORT": str(smtp_port)}
    log = (RESULTS.parent / "notification-service.log.tmp").open("wb")
    service = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "faststream",
        "run",
        "notification.app:create_app",
        "--factory",
        "--port",
        str(http_port),
        "--workers",
        "1",
        env=env,
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.database_name("notification")]
    try:
        await asyncio.to_thread(wait_ready, http_port)
        worker = worker_pid(service.pid)
        rss_at_rest = rss_mb(worker)
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(settings.topology.events_exchange)

            warmup = [event(i, sealer) for i in range(args.warmup)]
            await publish(exchange, warmup)
            await wait_sent(db, len(warmup), 120, accepted)

            events = [event(args.warmup + i, sealer) for i in range(args.emails)]
            commands_before = await database_commands(mongo, db.name)
            cpu_before = cpu_seconds(worker)
            processes = {"worker": [worker], "smtp server": [sink.pid]}
            accounts_before = process_cpu(processes)
            started = time.perf_counter()
            async with PeakRss([worker]) as rss_under_load:
                await publish(exchange, events)
                published = time.perf_counter() - started
                await wait_sent(db, len(warmup) + len(events), 300, accepted)
            elapsed = time.perf_counter() - started
            worker_cpu = cpu_seconds(worker) - cpu_before
            service_cpu = cpu_ms_per_message(accounts_before, process_cpu(processes), args.emails)
            commands_after = await database_commands(mongo, db.name)

        delivered = accepted.value
        message = fixed_message(settings.smtp_from)
        raw_before = process_cpu({"smtp server": [sink.pid]})
        raw = await raw_rate(smtp_port, message, args.raw, options.send_concurrency)
        raw_cpu = cpu_ms_per_message(raw_before, process_cpu({"smtp server": [sink.pid]}), args.raw)
        raw_single = await raw_rate(smtp_port, message, args.raw // 5, 1)
        floor_events = [event(args.warmup + args.emails + i, sealer) for i in range(150 + args.emails)]
        floor = await floor_rate(settings, (smtp_port, sink.pid), message, floor_events, options.send_concurrency)
    finally:
        service.send_signal(signal.SIGTERM)
        await asyncio.wait_for(service.wait(), 60)
        log.close()
        await mongo.close()
        os.kill(sink.pid, signal.SIGTERM)
        sink.join(10)
        await cleanup(settings)

    service_rate = args.emails / elapsed
    commands = {
        name: round((count - commands_before.get(name, 0)) / args.emails, 2) for name, count in commands_after.items()
    }
    return {
        "benchmark": "notification: emails rendered and delivered per second, one worker",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python bench/notification.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "versions": {p: version(p) for p in ("faststream", "aio-pika", "pymongo", "aiosmtplib", "aiosmtpd", "jinja2")},
        "service": {
            "emails": args.emails,
            "seconds": round(elapsed, 3),
            "emails_per_second": round(service_rate, 1),
            "publishing_seconds": round(published, 3),
            "worker_cpu_seconds": round(worker_cpu, 2),
            "worker_cpu_ms_per_email": round(worker_cpu / args.emails * 1000, 2),
            # Under 1: the worker waited (for MongoDB, SMTP, RabbitMQ or, on a loaded
            # machine, for a core); read it beside the load average.
            "worker_cpu_share_of_one_core": round(worker_cpu / elapsed, 2),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "workers": 1,
            "send_concurrency": options.send_concurrency,
            "prefetch_count": settings.prefetch_count,
            "accepted_by_smtp_server": delivered,
            "rss_mb_at_rest": rss_at_rest,
            "rss_mb_under_load": rss_under_load.values[0],
            # The commands of every process on the service's database during the burst, per
            # email (the worker's and its outbox relay's; not the benchmark's polls), by kind.
            "mongodb_commands_per_email": {name: value for name, value in commands.items() if value},
            "mongodb_commands_per_email_total": round(sum(commands.values()), 2),
            # Where the CPU went, per email, by process (the servers are shared with whatever
            # else runs on the machine: read them on a quiet one).
            "cpu_ms_per_email": service_cpu,
        },
        "raw_aiosmtplib": {
            "messages": args.raw,
            "connections": options.send_concurrency,
            "messages_per_second": round(raw, 1),
            "single_connection_messages_per_second": round(raw_single, 1),
            "message_bytes": len(message),
            "cpu_ms_per_message": raw_cpu,
        },
        "bound": best_ratio(service_cpu, raw_cpu, raw),
        # The durable work alone, in plain code (bench/email_floor.py): a diagnostic.
        "floor": {**floor, "ratio_to_raw": round(floor["emails_per_second"] / raw, 3)},
        "ratio_service_to_floor": round(service_rate / floor["emails_per_second"], 3),
        "ratio_service_to_raw": round(service_rate / raw, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=3000, help="emails through the service (default 3000)")
    parser.add_argument("--warmup", type=int, default=150, help="emails sent before timing (default 150)")
    parser.add_argument("--raw", type=int, default=5000, help="messages for the raw aiosmtplib rate (default 5000)")
    args = parser.parse_args()
    result = asyncio.run(measure(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    s, r = result["service"], result["raw_aiosmtplib"]
    print(
        f"service: {s['emails']} emails in {s['seconds']} s = {s['emails_per_second']} emails/s (one worker, "
        f"{s['worker_cpu_ms_per_email']} ms of its CPU per email, {s['worker_cpu_share_of_one_core']} of a core busy; "
        f"load average {s['load_average_1min_at_end']} on {result['machine']['cpus']} CPUs)"
    )
    print(
        f"raw aiosmtplib: {r['messages_per_second']} msg/s over {r['connections']} connections, "
        f"{r['single_connection_messages_per_second']} msg/s over one"
    )
    print(f"MongoDB commands per email: {s['mongodb_commands_per_email_total']} {s['mongodb_commands_per_email']}")
    print(f"CPU ms per email, service's run: {s['cpu_ms_per_email']}; raw run: {r['cpu_ms_per_message']}")
    b = result["bound"]
    print(
        f"with a worker that cost nothing, the other processes' {b['companions_cpu_ms_per_email']} ms per email on "
        f"{b['cores']} cores allow {b['emails_per_second_with_a_free_worker']} emails/s: ratio "
        f"{b['ratio_with_a_free_worker']} at most"
    )
    f = result["floor"]
    print(
        f"the durable work alone in plain code: {f['emails_per_second']} emails/s (ratio to raw {f['ratio_to_raw']}; "
        f"CPU ms per email {f['cpu_ms_per_email']}); the service at {result['ratio_service_to_floor']} of it"
    )
    print(f"ratio service/raw: {result['ratio_service_to_raw']}   -> {RESULTS}")


if __name__ == "__main__":
    main()
