"""P4: a failing message is retried with back-off without holding up its queue, then
dead-lettered with the reason, exception, attempts and original routing."""

from __future__ import annotations

import json
import time

from plumbing import dead_letters
from plumbing.client import OmsClient
from plumbing.messaging import dead_letter_queue, events_exchange
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from .test_platform_support import PROBE, PURPOSE, Behaviour, Ledger, probe_app, tick


async def publish(client: OmsClient, event) -> None:  # noqa: ANN001
    await client.broker.publish(
        event.model_dump_json().encode(),
        exchange=events_exchange(client.settings.topology),
        routing_key=event.routing_key(),
        message_id=event.message_id,
        persist=True,
        content_type="application/json",
    )


async def dead_letters_of(client: OmsClient, service: str) -> list:
    queue = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, service))
    letters = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        letters.append(message)
    return letters


async def test_p4_failed_message_waits_in_a_retry_tier_while_the_queue_goes_on(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    settings = settings.model_copy(update={"max_attempts": 4, "retry_delays_seconds": (0.6, 1.2), "retry_jitter": 0.0})
    ledger = Ledger(settings)
    flaky = tick("k", 1, fail_times=2)  # fails twice, then works
    behind = [tick("k", n) for n in range(2, 6)]
    try:
        async with running(probe_app(settings), cleanup=cleanup):
            started = time.monotonic()
            await publish(client, flaky)
            for event in behind:
                await publish(client, event)
            effects = await eventually(lambda: ledger.applied(5), timeout=20)
            elapsed = time.monotonic() - started
            deliveries = await ledger.deliveries()
            sequences = await ledger.sequences()
        letters = await dead_letters_of(client, PROBE)
    finally:
        await ledger.close()

    assert all(effect["applied"] == 1 for effect in effects.values())
    assert deliveries[flaky.message_id] == 3
    # The four behind it did not wait for its back-off: they were applied first (a plain
    # work queue handles them concurrently, in any order).
    assert sorted(sequences["k"][:4]) == [2, 3, 4, 5] and sequences["k"][4] == 1
    assert elapsed >= 0.6 + 1.2, "waited the first and second back-off delays"
    assert letters == []


async def test_p4_handler_failing_every_attempt_is_dead_lettered_with_reason_exception_attempts_and_routing(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    settings = settings.model_copy(update={"max_attempts": 3, "retry_delays_seconds": (0.2, 0.4)})
    ledger = Ledger(settings)
    poison = tick("k", 1, fail_times=99)
    try:
        async with running(probe_app(settings), cleanup=cleanup):
            await publish(client, poison)
            letters = await eventually(lambda: dead_letters_of(client, PROBE), timeout=20)
            deliveries = await ledger.deliveries()
    finally:
        await ledger.close()

    (letter,) = letters
    headers = letter.headers
    assert deliveries[poison.message_id] == 3
    assert letter.message_id == poison.message_id
    assert json.loads(letter.body) == json.loads(poison.model_dump_json())
    assert headers[dead_letters.REASON] == dead_letters.FAILED
    assert headers[dead_letters.ATTEMPTS] == 3
    assert "RuntimeError: probe told to fail delivery 3" in headers[dead_letters.EXCEPTION]
    assert headers[dead_letters.ORIGINAL_EXCHANGE] == settings.topology.events_exchange
    assert headers[dead_letters.ORIGINAL_ROUTING_KEY] == "probe.ticked.v1"
    assert headers[dead_letters.ORIGINAL_QUEUE] == settings.topology.queue(PROBE, f"{PURPOSE}-0")
    assert "oms-retry-tier" not in headers


async def test_p4_ordered_subscription_retries_in_place_and_keeps_order(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    settings = settings.model_copy(
        update={"max_attempts": 4, "retry_delays_seconds": (0.3,), "partitions": 2, "partition_lease_seconds": 1.5}
    )
    ledger = Ledger(settings)
    from .test_platform_support import emit, producer_app

    producer = producer_app(settings)
    events = [tick("same-customer", 1, fail_times=2), *(tick("same-customer", n) for n in range(2, 5))]
    try:
        async with running(probe_app(settings, Behaviour(ordered=True)), producer, cleanup=cleanup):
            await emit(producer, events, per_transaction=4)
            await eventually(lambda: ledger.applied(4), timeout=20)
            sequences = await ledger.sequences()
            deliveries = await ledger.deliveries()
    finally:
        await ledger.close()

    assert sequences["same-customer"] == [1, 2, 3, 4], "the next event waited for the retried one"
    assert deliveries[events[0].message_id] == 3
