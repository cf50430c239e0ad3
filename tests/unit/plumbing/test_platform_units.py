"""Platform rules without servers: back-off (P4), partitions and outbox headers (P3, P5),
dead-letter bookkeeping that a replay removes (P4), outbox order (P2, P3)."""

from __future__ import annotations

import random
from types import SimpleNamespace

from plumbing import dead_letters
from plumbing.dlq import DeadLetter, selector
from plumbing.messaging import (
    ORIGINAL_EXCHANGE,
    ORIGINAL_ROUTING_KEY,
    PARTITION_KEY,
    PARTITION_SLOT,
    PARTITION_SLOTS,
    RETRY_TIERS,
    original_route,
    partition_slot,
    retry_tier,
    slots_of,
)
from plumbing.outbox import event_headers
from plumbing.retries import Backoff, attempts_so_far
from plumbing.unit_of_work import next_sequence


def test_p4_back_off_grows_per_attempt_repeats_the_last_delay_and_jitter_only_shortens() -> None:
    backoff = Backoff((1.0, 5.0, 30.0), jitter=0.2, rng=random.Random(7))
    assert [backoff.base_delay(n) for n in (1, 2, 3, 4, 9)] == [1.0, 5.0, 30.0, 30.0, 30.0]
    delays = [backoff.delay(2) for _ in range(500)]
    assert all(4.0 <= d <= 5.0 for d in delays) and len(set(delays)) > 400, "spread, never longer"
    assert backoff.in_place_delay(3) <= 10.0, "an ordered partition never waits long in place"
    assert [retry_tier(n) for n in (1, 2, 3, 4, 5, 12)] == [1, 2, 3, 4, RETRY_TIERS, RETRY_TIERS]


def test_p4_attempts_count_earlier_copies_and_broker_redeliveries() -> None:
    assert attempts_so_far(SimpleNamespace(headers={})) == 0
    assert attempts_so_far(SimpleNamespace(headers={"x-delivery-count": 2})) == 2
    assert attempts_so_far(SimpleNamespace(headers={"x-oms-attempts": 3, "x-delivery-count": 1})) == 4


def test_p4_a_message_back_from_a_retry_tier_keeps_its_original_route() -> None:
    fresh = SimpleNamespace(exchange="oms.events", routing_key="customer.customer-created.v1", headers={})
    assert original_route(fresh) == ("oms.events", "customer.customer-created.v1")
    returned = SimpleNamespace(
        exchange="",
        routing_key="oms.notification.emails",
        headers={ORIGINAL_EXCHANGE: "oms.events", ORIGINAL_ROUTING_KEY: "customer.customer-created.v1"},
    )
    assert original_route(returned) == ("oms.events", "customer.customer-created.v1")


def test_p3_slots_are_stable_and_spread_over_partitions() -> None:
    assert partition_slot("C000123") == partition_slot("C000123")
    assert partition_slot("C000123") == __import__("zlib").crc32(b"C000123") % PARTITION_SLOTS, (
        "any language can compute it"
    )
    slots = [partition_slot(f"C{n:06d}") for n in range(6400)]
    counts = [slots.count(s) for s in range(PARTITION_SLOTS)]
    assert min(counts) > 50, "no slot starves"
    assert sorted(s for i in range(8) for s in slots_of(i, 8)) == list(range(PARTITION_SLOTS))


def test_p3_p5_relay_headers_carry_partition_key_slot_and_trace_context() -> None:
    doc = {"_id": "m1", "partition_key": "C42", "trace": {"traceparent": "00-abc-def-01", "other": "x"}}
    assert event_headers(doc) == {
        "traceparent": "00-abc-def-01",
        PARTITION_KEY: "C42",
        PARTITION_SLOT: str(partition_slot("C42")),
    }
    unkeyed = event_headers({"_id": "m2"})
    assert unkeyed == {PARTITION_SLOT: str(partition_slot("m2"))}


def test_p2_p3_outbox_sequence_strictly_increases_within_a_millisecond() -> None:
    sequence = [next_sequence() for _ in range(10_000)]
    assert all(b > a for a, b in zip(sequence, sequence[1:], strict=False))


def letter(**headers: object) -> DeadLetter:
    message = SimpleNamespace(
        headers=headers, message_id="m1", body=b'{"a": 1}', content_type="application/json", correlation_id="c1"
    )
    return DeadLetter.read("customer", message)  # type: ignore[arg-type]


def test_p4_replay_strips_bookkeeping_keeps_id_and_trace_and_reads_broker_dead_letters() -> None:
    ours = letter(
        **{
            dead_letters.REASON: "failed",
            dead_letters.ERROR: "boom",
            dead_letters.ORIGINAL_EXCHANGE: "oms.events",
            dead_letters.ORIGINAL_ROUTING_KEY: "customer.customer-created.v1",
            dead_letters.ORIGINAL_QUEUE: "oms.x.q",
            dead_letters.ATTEMPTS: 5,
            "x-death": [{"count": 1}],
            "x-delivery-count": 3,
            "traceparent": "00-t-s-01",
            PARTITION_KEY: "C1",
            PARTITION_SLOT: "7",
        }
    )
    assert (ours.reason, ours.exchange, ours.routing_key, ours.attempts) == (
        "failed",
        "oms.events",
        "customer.customer-created.v1",
        5,
    )
    assert ours.replay_headers() == {"traceparent": "00-t-s-01", PARTITION_KEY: "C1", PARTITION_SLOT: "7"}
    assert '"a": 1' in ours.body_text()

    broker = letter(
        **{
            "x-death": [
                {
                    "reason": "delivery_limit",
                    "exchange": "oms.upstream",
                    "queue": "oms.order-sync.upstream-orders",
                    "routing-keys": ["order.order-placed.v1"],
                    "count": 1,
                }
            ]
        }
    )
    assert (broker.reason, broker.exchange, broker.routing_key) == (
        "broker:delivery_limit",
        "oms.upstream",
        "order.order-placed.v1",
    )

    assert selector(ids=["m1"])(ours) and not selector(ids=["m2"])(ours)
    assert selector(reason="failed")(ours) and not selector(reason="malformed")(ours)
    assert selector(routing_key="customer.*")(ours) and not selector(routing_key="order.*")(ours)
    assert selector(everything=True)(broker) and not selector()(ours)
