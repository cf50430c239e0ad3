"""P5: on SIGTERM a worker stops consuming, finishes or returns its in-flight messages,
flushes its outbox and exits within its deadline; another worker takes what was returned."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pymongo import AsyncMongoClient

from plumbing.client import OmsClient
from plumbing.messaging import events_exchange, work_queue
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import OUTBOX

from ...support import PROCESS_START_SECONDS, Cleanup, eventually, running
from ..plumbing.test_platform_support import PROBE, PURPOSE, Behaviour, Ledger, free_port, probe_app, tick

TOTAL = 40
DEADLINE = 8.0


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


async def start_worker(settings: ServiceSettings, log: Path, **env: str) -> tuple[asyncio.subprocess.Process, int]:
    """A probe worker as its own process, started the way operators start services."""
    port = free_port()
    environment = {
        **os.environ,
        "OMS_NAMESPACE": settings.namespace,
        "OMS_AMQP_URL": settings.amqp_url,
        "OMS_MONGODB_URL": settings.mongodb_url,
        "OMS_RETRY_DELAYS_SECONDS": "[0.2, 0.5]",
        "OMS_MAX_ATTEMPTS": str(settings.max_attempts),
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "faststream",
        "run",
        "tests.integration.plumbing.test_platform_support:create_app",
        "--factory",
        "--port",
        str(port),
        cwd=Path(__file__).resolve().parents[3],
        env=environment,
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )
    await eventually(lambda: asyncio.to_thread(ready, port), timeout=PROCESS_START_SECONDS, interval=0.2)
    return process, port


async def queue_depth(client: OmsClient, name: str) -> int:
    channel = await client.broker._connection.channel()  # noqa: SLF001
    try:
        spec = work_queue(
            client.settings.topology,
            PROBE,
            f"{PURPOSE}-0",
            binding="probe.ticked.v1",
            max_attempts=client.settings.max_attempts,
        )
        queue = await channel.declare_queue(name, durable=True, arguments=spec.arguments)
        return queue.declaration_result.message_count
    finally:
        await channel.close()


async def test_p5_sigterm_finishes_or_returns_in_flight_messages_flushes_the_outbox_and_exits_in_time(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, tmp_path: Path
) -> None:
    cleanup.track(settings, probe_app(settings))  # the queues the process declares
    log = tmp_path / "worker.log"
    ledger = Ledger(settings)
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    outbox = mongo[settings.database_name(PROBE)][OUTBOX]
    queue = settings.topology.queue(PROBE, f"{PURPOSE}-0")
    events = [tick(f"C{n % 7}", n) for n in range(TOTAL)]
    try:
        worker, _ = await start_worker(
            settings,
            log,
            OMS_PROBE_DELAY="0.5",  # each message takes half a second
            OMS_PROBE_ECHO="1",  # and writes an event to the outbox
            OMS_PREFETCH_COUNT="8",  # eight in flight at a time
            OMS_SHUTDOWN_DEADLINE_SECONDS=str(DEADLINE),
            OMS_SHUTDOWN_HARD_EXIT="true",
        )
        for event in events:
            await client.broker.publish(
                event.model_dump_json().encode(),
                exchange=events_exchange(settings.topology),
                routing_key=event.routing_key(),
                message_id=event.message_id,
                persist=True,
            )
        await eventually(lambda: ledger.applied(3), timeout=30)  # mid-burst, eight in flight

        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(worker.wait(), timeout=DEADLINE + 30)
        took = time.monotonic() - signalled

        applied_by_worker = await ledger.effects()
        started_by_worker = await ledger.deliveries()
        returned = await queue_depth(client, queue)
        unpublished = await outbox.count_documents({"published_at": None})
        echoed = await outbox.count_documents({})

        # Another worker takes what was returned.
        async with running(probe_app(settings, Behaviour()), cleanup=cleanup):
            effects = await eventually(lambda: ledger.applied(TOTAL), timeout=30)
        left = await queue_depth(client, queue)
    finally:
        await ledger.close()
        await mongo.close()
        if worker.returncode is None:
            worker.kill()
    output = log.read_text()

    # uvicorn re-raises SIGTERM after a clean shutdown: "killed by SIGTERM" is a clean exit.
    assert code in (0, -signal.SIGTERM), output[-3000:]
    assert "FastStream app shut down gracefully" in output
    assert took < DEADLINE + 10, f"exit took {took:.1f}s"
    # Every handler it started, it finished (none abandoned halfway) ...
    assert set(started_by_worker) == set(applied_by_worker)
    assert 3 <= len(applied_by_worker) < TOTAL
    # ... what it had not started went back to the queue, unacknowledged: nothing lost ...
    assert len(applied_by_worker) + returned == TOTAL
    # ... and the events its handlers wrote were published before it exited.
    assert echoed == len(applied_by_worker) and unpublished == 0
    assert set(effects) == {event.message_id for event in events}
    assert {effect["applied"] for effect in effects.values()} == {1}
    assert left == 0
