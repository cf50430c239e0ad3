"""Back-off for failed messages (P4): how long to wait before the next attempt, and how a
failed message waits without blocking its queue.

A message whose handler failed is published, confirmed, to the service's retry exchange
with an ``oms-retry-tier`` header naming the delay tier for its attempt and an expiration
of the delay; the original is
acknowledged only after that publish is confirmed (so it is never lost: at worst, a crash
between the two leaves a copy in both places, and the inbox makes the second a no-op). The
tier queue holds it for the attempt's delay, shortened by up to ``retry_jitter`` per
message, then RabbitMQ returns it to the queue it failed in. Nothing waits in the work queue, so the
messages behind it go on.

Ordered subscriptions (plumbing.ordering) cannot send a message to the back of the queue
without overtaking it with the next event of the same customer, so they retry in place: the
handler runs again after the same back-off, capped at ``ORDERED_MAX_DELAY`` seconds, and
only that partition waits.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import aiormq.abc
from faststream.rabbit import RabbitExchange
from pamqp.commands import Basic

from .messaging import ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY, RETRY_TIER, original_route, retry_exchange, retry_tier
from .telemetry import continuing

if TYPE_CHECKING:
    from aio_pika import IncomingMessage
    from faststream.rabbit import RabbitBroker

    from contracts.routing import Topology

#: Header on a retried message: the attempts made so far (the broker's own
#: ``x-delivery-count`` counts redeliveries of this copy on top).
ATTEMPTS = "x-oms-attempts"
LAST_ERROR = "x-oms-last-error"
ORDERED_MAX_DELAY = 10.0
#: Headers RabbitMQ adds when it dead-letters or redelivers; not carried over to a new copy.
BROKER_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
)


class NotConfirmed(Exception):
    """RabbitMQ did not take the message (returned as unroutable, or nacked)."""


def ensure_confirmed(result: Any, what: str) -> None:
    if isinstance(result, aiormq.abc.DeliveredMessage):
        raise NotConfirmed(f"{what}: returned unroutable")
    if result is not None and not isinstance(result, Basic.Ack):
        raise NotConfirmed(f"{what}: not confirmed ({type(result).__name__})")


def attempts_so_far(raw: IncomingMessage) -> int:
    """Attempts before this one: earlier copies (``x-oms-attempts``) plus redeliveries of
    this copy (quorum queues count them in ``x-delivery-count``)."""
    headers = raw.headers or {}
    return _count(headers.get(ATTEMPTS)) + _count(headers.get("x-delivery-count"))


def _count(value: object) -> int:
    """A header's count; absent or not a number (a header anyone may set): 0."""
    try:
        return int(value) if isinstance(value, int | str | float | Decimal) else 0
    except ValueError:
        return 0


class Backoff:
    def __init__(self, delays: Sequence[float], jitter: float, *, rng: random.Random | None = None) -> None:
        if not delays:
            raise ValueError("at least one retry delay")
        self.delays = tuple(float(d) for d in delays)
        self.jitter = jitter
        self.rng = rng or random.Random()

    def base_delay(self, failed_attempts: int) -> float:
        """The delay after ``failed_attempts`` failures (1 -> the first delay; the last
        delay repeats)."""
        return self.delays[min(max(failed_attempts, 1), len(self.delays)) - 1]

    def delay(self, failed_attempts: int) -> float:
        """The delay shortened by a random share of up to ``jitter``: retries of a burst
        that failed together do not all come back at the same instant."""
        return self.base_delay(failed_attempts) * (1.0 - self.jitter * self.rng.random())

    def in_place_delay(self, failed_attempts: int) -> float:
        return min(self.delay(failed_attempts), ORDERED_MAX_DELAY)


async def retry_later(
    broker: RabbitBroker,
    topology: Topology,
    service: str,
    backoff: Backoff,
    raw: IncomingMessage,
    *,
    queue: str,
    attempts: int,
    error: str,
) -> float:
    """Park ``raw`` in the retry tier for its ``attempts`` failures; return the delay.

    Returns once RabbitMQ confirmed the copy; raises otherwise (the caller then returns the
    original to its queue instead).
    """
    headers = {k: v for k, v in (raw.headers or {}).items() if k not in BROKER_HEADERS}
    exchange, routing_key = original_route(raw)
    delay = backoff.delay(attempts)
    headers.update(
        {
            RETRY_TIER: str(retry_tier(attempts)),
            ATTEMPTS: attempts,
            ORIGINAL_EXCHANGE: exchange,
            ORIGINAL_ROUTING_KEY: routing_key,
            LAST_ERROR: error[:500],
        }
    )
    with continuing(raw.headers):  # the retry stays in the message's trace
        result = await _publish(broker, raw, topology, service, queue, headers, delay)
    ensure_confirmed(result, f"retry of {raw.message_id}")
    return delay


async def _publish(
    broker: RabbitBroker,
    raw: IncomingMessage,
    topology: Topology,
    service: str,
    queue: str,
    headers: dict[str, Any],
    delay: float,
) -> Any:
    return await broker.publish(
        raw.body,
        exchange=RabbitExchange(retry_exchange(topology, service).name, declare=False),
        # Routed by header to the tier; the routing key is what brings it back: the queue.
        routing_key=queue,
        headers=headers,
        message_id=raw.message_id,
        correlation_id=raw.correlation_id,
        content_type=raw.content_type,
        content_encoding=raw.content_encoding,
        reply_to=raw.reply_to,
        persist=True,
        mandatory=True,
        expiration=max(delay, 0.001),
    )
