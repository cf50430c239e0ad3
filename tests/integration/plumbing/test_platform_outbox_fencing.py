"""P2: no event is published twice without a crash, though a batch outlasts the relay's lease.

Two relays of one service share an outbox. Publishing is slowed so that one batch takes
longer than the lease: the relay that started it must renew its lease between chunks and stop
the moment it lost it, and the other may take over only what was not sent. A control relay
that never renews mid-batch (the relay before fencing) shows that the setup does catch
events published twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from plumbing.outbox import LEASES, OutboxRelay
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import OUTBOX, outbox_document

from .test_platform_support import tick

EVENTS = 600
LEASE_SECONDS = 1.0


class SlowRelay(OutboxRelay):
    """Each chunk of 100 events takes ~0.3 s to confirm: a batch of 500, 1.5 s, outlasts the lease."""

    async def _publish(self, doc: dict[str, Any]) -> None:
        await asyncio.sleep(0.3)
        await super()._publish(doc)


class UnfencedRelay(SlowRelay):
    """The relay before fencing: it checks its lease once per batch, never in between."""

    async def _keep_lease(self) -> bool:
        return self._epoch is not None


async def run_two_relays(settings: ServiceSettings, relay_class: type[OutboxRelay]) -> tuple[Counter[str], float]:
    ns = f"fence-{uuid.uuid4().hex[:8]}"
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[f"{ns}_outbox"]
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(f"{ns}.events", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        queue = await channel.declare_queue(f"{ns}.seen", exclusive=True)
        await queue.bind(exchange, "#")
        await db[OUTBOX].insert_many(
            [outbox_document(tick(f"K{n % 7}", n), exchange.name, f"K{n % 7}") for n in range(EVENTS)]
        )
        relays = [
            relay_class(db, settings.amqp_url, holder=name, lease_seconds=LEASE_SECONDS, idle_poll_seconds=0.05)
            for name in ("worker-a", "worker-b")
        ]
        started = time.monotonic()
        for relay in relays:
            await relay.start()
        try:
            while await db[OUTBOX].count_documents({"published_at": None}):
                assert time.monotonic() - started < 60, "the outbox never drained"
                await asyncio.sleep(0.1)
        finally:
            for relay in relays:
                await relay.stop(flush_seconds=2)
        seen: Counter[str] = Counter()
        await asyncio.sleep(0.5)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            seen[message.message_id or "?"] += 1
        return seen, time.monotonic() - started
    finally:
        await connection.close()
        await mongo.drop_database(f"{ns}_outbox")
        await mongo.close()


async def test_p2_a_batch_that_outlasts_the_lease_is_never_published_twice(settings: ServiceSettings) -> None:
    seen, seconds = await run_two_relays(settings, SlowRelay)
    assert len(seen) == EVENTS and seconds > 2 * LEASE_SECONDS  # every event, over more than two lease lengths
    twice = {k: n for k, n in seen.items() if n > 1}
    assert twice == {}, f"{len(twice)} events published more than once"


@pytest.mark.parametrize("relay_class", [UnfencedRelay])
async def test_p2_the_fence_is_what_prevents_it(settings: ServiceSettings, relay_class: type[OutboxRelay]) -> None:
    seen, _ = await run_two_relays(settings, relay_class)
    assert len(seen) == EVENTS
    assert sum(1 for n in seen.values() if n > 1) > 0, "without fencing, the second relay republishes a batch"
