"""P3: the events of one customer are applied in order while several workers of the
consuming service compete for the work (ordered subscriptions, docs/platform.md)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from plumbing.client import OmsClient
from plumbing.messaging import PARTITION_SLOTS, partition_slot, slots_of
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from .test_platform_support import Behaviour, Ledger, emit, probe_app, producer_app, tick

PARTITIONS = 6
STEPS = 40  # events per customer


def one_customer_per_partition(partitions: int) -> list[str]:
    """Six customers whose codes land in six different partitions: every worker gets some."""
    chosen: dict[int, str] = {}
    for n in range(1, 10_000):
        code = f"C{n:05d}"
        chosen.setdefault(partition_slot(code) % partitions, code)
        if len(chosen) == partitions:
            return sorted(chosen.values())
    raise AssertionError("no spread of codes")


KEYS = one_customer_per_partition(PARTITIONS)


def test_p3_a_key_always_maps_to_one_partition_and_slots_cover_every_partition() -> None:
    assert partition_slot("C00001") == partition_slot("C00001")
    for partitions in (1, 3, 8, 64):
        owners = Counter(index for index in range(partitions) for _ in slots_of(index, partitions))
        assert sum(owners.values()) == PARTITION_SLOTS and len(owners) == partitions


async def test_p3_burst_for_a_few_customers_is_applied_in_order_by_competing_workers(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    settings = settings.model_copy(update={"partitions": PARTITIONS, "partition_lease_seconds": 1.5})
    workers = [probe_app(settings, Behaviour(ordered=True, delay=0.004, jitter=True)) for _ in range(3)]
    producer = producer_app(settings)
    ledger = Ledger(settings)
    # Interleaved, as a busy system writes them: step 1 of every customer, then step 2, ...
    events = [tick(key, step) for step in range(1, STEPS + 1) for key in KEYS]
    try:
        async with running(producer, workers[0], cleanup=cleanup):
            # The first worker holds every partition; the others join and take their share.
            async with running(*workers[1:], cleanup=cleanup):
                balancers = [w.context.get("runtime").ordered[0].balancer for w in workers]

                async def balanced() -> bool:
                    return all(len(b.consuming) == 2 for b in balancers)

                await eventually(balanced, timeout=20)
                # A burst in transactions of 12 events (two per customer), sent while the
                # workers handle them one by one per partition, with random delays.
                emitting = asyncio.create_task(emit(producer, events, per_transaction=12))
                effects = await eventually(lambda: ledger.applied(len(events)), timeout=60)
                await emitting
                sequences = await ledger.sequences()
    finally:
        await ledger.close()

    assert all(effect["applied"] == 1 for effect in effects.values())
    assert set(sequences) == set(KEYS)
    for key in KEYS:
        assert sequences[key] == list(range(1, STEPS + 1)), f"{key} applied out of order"
    by_worker = Counter(effect["worker"] for effect in effects.values())
    assert len(by_worker) == 3, f"every worker took part: {by_worker}"


async def test_p3_a_partition_let_go_mid_message_is_not_overtaken_by_its_next_owner(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """A worker that loses a partition while it applies a message (its lease ran out during
    a stall) finishes that message before another worker may take the next one."""
    settings = settings.model_copy(update={"partitions": 1, "partition_lease_seconds": 30})
    slow = probe_app(settings, Behaviour(ordered=True, delay=1.5))
    other = probe_app(settings, Behaviour(ordered=True))
    producer = producer_app(settings)
    ledger = Ledger(settings)
    key = KEYS[0]
    try:
        async with running(producer, slow, cleanup=cleanup):
            holder = slow.context.get("runtime").ordered[0].balancer
            await eventually(lambda: _async(holder.consuming == {0}), timeout=20)
            async with running(other, cleanup=cleanup):
                # The next owner, as if it had claimed the expired lease: its consumer waits
                # behind the holder's (single active consumer).
                successor = other.context.get("runtime").ordered[0].balancer
                await _pause(successor)  # its own rounds would let go of a lease it does not hold
                successor.owned = {0}
                await successor._consume(0)  # noqa: SLF001
                await emit(producer, [tick(key, 1), tick(key, 2)], per_transaction=2)
                await eventually(ledger.deliveries, timeout=20)  # the holder is applying step 1
                await holder._release_consumer(0)  # noqa: SLF001 - lets go while applying step 1
                effects = await eventually(lambda: ledger.applied(2), timeout=30)
                sequences = await ledger.sequences()
    finally:
        await ledger.close()
    assert sequences[key] == [1, 2], "the next owner took step 2 before step 1 was applied"
    assert {effect["seq"]: effect["worker"] for effect in effects.values()} == {
        1: slow.context.get("runtime").instance,
        2: other.context.get("runtime").instance,
    }


async def _async(value: bool) -> bool:
    return value


async def _pause(balancer: Any) -> None:
    """No more rebalancing rounds (stopping the app still releases what it consumes)."""
    balancer._stopping = True  # noqa: SLF001
    balancer._wake.set()  # noqa: SLF001
    if balancer._task is not None:  # noqa: SLF001
        await balancer._task  # noqa: SLF001
        balancer._task = None  # noqa: SLF001
