"""Exchanges, queues and dispatch helpers on top of FastStream's RabbitMQ broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType

from contracts.routing import Topology


def commands_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.commands_exchange, type=ExchangeType.TOPIC, durable=True)


def events_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.events_exchange, type=ExchangeType.TOPIC, durable=True)


def upstream_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.upstream_exchange, type=ExchangeType.TOPIC, durable=True)


def dead_letter_exchange(topology: Topology) -> RabbitExchange:
    return RabbitExchange(topology.dead_letter_exchange, type=ExchangeType.TOPIC, durable=True)


def work_queue(
    topology: Topology, service: str, purpose: str, *, binding: str, max_attempts: int
) -> RabbitQueue:
    """A durable quorum queue of ``service``, bound with ``binding``.

    The handler-level policy (plumbing.dead_letters) dead-letters with a reason. The
    broker-level delivery limit is the safety net for a message that kills its worker before
    any handler code can run (a crash loop): RabbitMQ then dead-letters it itself.
    """
    return RabbitQueue(
        topology.queue(service, purpose),
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=binding,
        arguments={
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": topology.queue(service, purpose),
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-delivery-limit": max_attempts * 2,
        },
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
    )


async def declare_dead_letter_queue(broker: RabbitBroker, topology: Topology, service: str) -> None:
    """The dead-letter queue has no consumer, so FastStream would not declare it by itself."""
    exchange = await broker.declare_exchange(dead_letter_exchange(topology))
    queue_spec = dead_letter_queue(topology, service)
    queue = await broker.declare_queue(queue_spec)
    await queue.bind(exchange, routing_key=queue_spec.routing_key)


def routed_as(routing_key: str) -> Callable[[Any], Awaitable[bool]]:
    """A FastStream filter: the handler for messages published with ``routing_key``.

    Async although it does no I/O: FastStream runs a synchronous filter in a worker thread,
    once per handler it tries, for every message.
    """

    async def matches(message: Any) -> bool:
        return message.raw_message.routing_key == routing_key

    return matches
