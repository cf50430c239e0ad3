"""Exchanges, queues and dispatch helpers on top of FastStream's RabbitMQ broker.

Besides the exchanges and queues named in contracts/README.md, the platform declares, per
service (docs/platform.md):

- retry tiers: ``<ns>.<service>.retry`` (headers exchange) and four quorum queues
  ``<ns>.<service>.retry.<n>``, whose messages expire back into the queue they failed in;
- ordered subscriptions: ``<ns>.<service>.<purpose>.p<i>`` quorum queues with a single
  active consumer, fed by ``<ns>.<service>.<purpose>.partitions`` (headers exchange) that
  routes each event by the partition slot the outbox relay stamped on it.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType, QuorumQueueArgs

from contracts.routing import Topology

if TYPE_CHECKING:
    from aio_pika import IncomingMessage

# --- headers the platform sets (contracts/README.md, docs/platform.md) -------------------

#: The entity an event is about (the customer code): events with one key are applied in order.
PARTITION_KEY = "x-oms-partition-key"
#: ``partition_slot(key)`` as a string. Not ``x-``-prefixed: a headers exchange ignores those.
PARTITION_SLOT = "oms-partition"
#: Fixed for every publisher and consumer: a consumer spreads the slots over its queues.
PARTITION_SLOTS = 64
#: Set on a message waiting in a retry tier: which tier (headers-exchange routing).
RETRY_TIER = "oms-retry-tier"
#: Where a retried message really came from (it returns through the default exchange).
ORIGINAL_EXCHANGE = "x-oms-original-exchange"
ORIGINAL_ROUTING_KEY = "x-oms-original-routing-key"


def partition_slot(key: str) -> int:
    """The slot of an entity: stable across processes, languages and restarts (CRC-32)."""
    return zlib.crc32(key.encode("utf-8")) % PARTITION_SLOTS


def commands_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.commands_exchange, type=ExchangeType.TOPIC, durable=True)


def events_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.events_exchange, type=ExchangeType.TOPIC, durable=True)


def upstream_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.upstream_exchange, type=ExchangeType.TOPIC, durable=True)


def dead_letter_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.dead_letter_exchange, type=ExchangeType.TOPIC, durable=True)


def _quorum_arguments(topology: Topology, queue: str, max_attempts: int) -> QuorumQueueArgs:
    # The namespace's own arguments (topology.queue_arguments()) are open-ended: the broker checks them.
    return cast(
        QuorumQueueArgs,
        {
            **topology.queue_arguments(),
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": queue,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-delivery-limit": max_attempts * 2,
        },
    )


def work_queue(topology: Topology, service: str, purpose: str, *, binding: str, max_attempts: int) -> RabbitQueue:
    """A durable quorum queue of ``service``, bound with ``binding``.

    The handler-level policy (plumbing.dead_letters) retries with back-off and dead-letters
    with a reason. The broker-level delivery limit is the safety net for a message that kills
    its worker before any handler code can run (a crash loop): RabbitMQ then dead-letters it
    itself.
    """
    name = topology.queue(service, purpose)
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=binding,
        arguments=_quorum_arguments(topology, name, max_attempts),
    )


def commands_queue(topology: Topology, service: str, *, max_attempts: int) -> RabbitQueue:
    """One queue per service for all its commands: ``<service>.#`` on the commands exchange."""
    return work_queue(topology, service, "commands", binding=f"{service}.#", max_attempts=max_attempts)


def dead_letter_queue(topology: Topology, service: str) -> RabbitQueue:
    return RabbitQueue(
        topology.dead_letter_queue(service),
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=f"{topology.namespace}.{service}.#",
        arguments=cast(QuorumQueueArgs, topology.queue_arguments()) or None,
    )


async def declare_dead_letter_queue(broker: RabbitBroker, topology: Topology, service: str) -> None:
    """The dead-letter queue has no consumer, so FastStream would not declare it by itself."""
    exchange = await broker.declare_exchange(dead_letter_exchange(topology))
    queue_spec = dead_letter_queue(topology, service)
    queue = await broker.declare_queue(queue_spec)
    await queue.bind(exchange, routing_key=queue_spec.routing_key)


# --- retries with back-off (P4) ----------------------------------------------------------


#: Delay tiers per service. The n-th failure waits in tier min(n, RETRY_TIERS) for the n-th
#: configured delay (the last delay repeats): a tier holds messages of similar delays, so
#: one waiting longer never holds up a shorter one behind it for more than the jitter.
RETRY_TIERS = 4


def retry_tier(failed_attempts: int) -> int:
    return min(max(failed_attempts, 1), RETRY_TIERS)


def retry_exchange(topology: Topology, service: str) -> RabbitExchange:
    """Where a service parks failed messages; routes by ``oms-retry-tier``. Auto-deleted with
    the last tier queue (its only bindings)."""
    return RabbitExchange(topology.queue(service, "retry"), type=ExchangeType.HEADERS, durable=True, auto_delete=True)


def retry_queue(topology: Topology, service: str, tier: int) -> RabbitQueue:
    """A delay tier: each message waits for its own expiration (its back-off delay), then
    RabbitMQ dead-letters it through the default exchange with its routing key, which is the
    name of the queue it failed in: it is back where it was, behind newer messages.

    A quorum queue that no consumer ever reads, like every other queue of the platform: on a
    cluster a classic queue lives on one node, and while that node is down no connection
    could declare it, so no service could reconnect anywhere (issue 23). Expired messages
    are dead-lettered at least once (never dropped if the way back is briefly unavailable;
    a second copy is a redelivery the inbox absorbs). Its arguments do not depend on the
    configured delays, so changing them never conflicts with the declared queue. (The classic
    tiers of earlier versions are replaced as a service starts: replace_classic_retry_tiers.)
    """
    return RabbitQueue(
        topology.queue(service, f"retry.{tier}"),
        queue_type=QueueType.QUORUM,
        durable=True,
        arguments=cast(
            QuorumQueueArgs,
            {
                "x-dead-letter-exchange": "",
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",  # what at-least-once dead-lettering requires
                **topology.queue_arguments(),
            },
        ),
        bind_arguments={"x-match": "all", RETRY_TIER: str(tier)},
    )


def retry_tiers(topology: Topology, service: str) -> list[RabbitQueue]:
    return [retry_queue(topology, service, tier) for tier in range(1, RETRY_TIERS + 1)]


async def replace_classic_retry_tiers(amqp_url: str, topology: Topology, service: str) -> list[str]:
    """Earlier versions declared the retry tiers as classic queues, and RabbitMQ refuses to
    declare a queue again as another type (PRECONDITION_FAILED): a service upgraded in place
    would not start. Before the subscribers declare them, each tier that exists with other
    arguments is deleted if it is empty (nothing is lost: a tier only holds messages waiting
    out their back-off); one still holding messages stops the start with its name, as those
    expire back into their queues within the longest retry delay. Returns the tiers replaced."""
    from aio_pika.exceptions import ChannelPreconditionFailed

    from .amqp import connect

    connection = await connect(amqp_url)

    async def replace_if_classic(spec: RabbitQueue) -> str | None:
        arguments = {**(spec.arguments or {}), "x-queue-type": QueueType.QUORUM.value}
        channel = await connection.channel()
        try:
            await channel.declare_queue(spec.name, durable=True, arguments=arguments)
            await channel.close()
            return None  # absent (now declared as it should be) or already a quorum tier
        except ChannelPreconditionFailed:
            pass  # the channel is closed by the broker
        channel = await connection.channel()
        waiting = (await channel.declare_queue(spec.name, passive=True)).declaration_result.message_count
        if waiting:
            raise RuntimeError(
                f"{spec.name}: a retry tier of an earlier version still holds {waiting} messages waiting "
                "out their back-off; they return to their queues within the longest retry delay: start again then"
            )
        await channel.queue_delete(spec.name, if_empty=True)
        await channel.close()
        return spec.name

    try:
        # The tiers side by side, each on a channel of its own: a quorum queue's declaration
        # waits for its Raft group to start, and four in a row were a tenth of a start.
        outcomes = await asyncio.gather(
            *(replace_if_classic(spec) for spec in retry_tiers(topology, service)), return_exceptions=True
        )
    finally:
        await connection.close()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [tier for tier in outcomes if isinstance(tier, str)]


# --- ordered subscriptions (P3) -----------------------------------------------------------


def partition_exchange(topology: Topology, service: str, purpose: str) -> RabbitExchange:
    """Fed by the events exchange with the subscription's bindings; routes by slot."""
    return RabbitExchange(
        topology.queue(service, f"{purpose}.partitions"),
        type=ExchangeType.HEADERS,
        durable=True,
        auto_delete=True,
        arguments={"alternate-exchange": topology.queue(service, f"{purpose}.unkeyed")},
    )


def unkeyed_exchange(topology: Topology, service: str, purpose: str) -> RabbitExchange:
    """An event without a slot (not published by an outbox relay) goes to partition 0."""
    return RabbitExchange(
        topology.queue(service, f"{purpose}.unkeyed"), type=ExchangeType.FANOUT, durable=True, auto_delete=True
    )


def partition_queue(topology: Topology, service: str, purpose: str, index: int, *, max_attempts: int) -> RabbitQueue:
    name = topology.queue(service, f"{purpose}.p{index}")
    return RabbitQueue(
        name,
        queue_type=QueueType.QUORUM,
        durable=True,
        arguments=cast(
            QuorumQueueArgs, {**_quorum_arguments(topology, name, max_attempts), "x-single-active-consumer": True}
        ),
    )


def slots_of(index: int, partitions: int) -> list[int]:
    """The slots partition ``index`` of ``partitions`` receives."""
    return [slot for slot in range(PARTITION_SLOTS) if slot % partitions == index]


def is_ordered(queue: RabbitQueue | None) -> bool:
    return bool(queue is not None and (queue.arguments or {}).get("x-single-active-consumer"))


# --- dispatch ----------------------------------------------------------------------------


def original_route(raw: IncomingMessage) -> tuple[str, str]:
    """The exchange and routing key a message was first published with, also after it came
    back from a retry tier (through the default exchange, routed by queue name)."""
    headers = raw.headers or {}
    if not raw.exchange and ORIGINAL_ROUTING_KEY in headers:
        return str(headers.get(ORIGINAL_EXCHANGE) or ""), str(headers[ORIGINAL_ROUTING_KEY])
    return raw.exchange or "", raw.routing_key or ""


def routed_as(routing_key: str) -> Callable[[Any], Awaitable[bool]]:
    """A FastStream filter: the handler for messages published with ``routing_key`` (also
    when they come back from a retry tier).

    Async although it does no I/O: FastStream runs a synchronous filter in a worker thread,
    once per handler it tries, for every message.
    """

    async def matches(message: Any) -> bool:
        return original_route(message.raw_message)[1] == routing_key

    return matches
