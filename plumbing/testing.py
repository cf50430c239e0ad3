"""Handlers tested without servers: a service's app on FastStream's in-memory broker, with
stand-ins for the dependencies its ``app.py`` builds (``plumbing.runtime.Injected``).

A handler declares what it needs (the runtime, a batcher, clients) and FastStream injects
them by name from the app's context; ``in_memory`` puts stand-ins there instead and runs the
app's broker as ``TestRabbitBroker``: a message published to an exchange reaches the
subscribers its routing key and filters select, through the same decoder, contract
validation and middlewares (dead letters included) as on RabbitMQ. Nothing connects: the
app's startup hooks (MongoDB, the outbox relay) do not run, so a handler under such a test
must not reach the database. What does is an integration test's (tests/integration).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from .messaging import dead_letter_exchange, dead_letter_queue
from .settings import ServiceSettings

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class RecordingBatcher(Generic[T, R]):
    """Stands in for a ``plumbing.batching.Batcher``: keeps what handlers submit and answers
    each with ``answer(item)`` (None if not given), as a batch's outcome would."""

    answer: Callable[[T], R] | None = None
    items: list[T] = field(default_factory=list)

    async def submit(self, item: T) -> R | None:
        self.items.append(item)
        return self.answer(item) if self.answer is not None else None


@dataclass
class DeadLetterTap:
    """What a service dead-letters in memory: each letter's body and ``x-oms-*`` headers."""

    letters: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def reasons(self) -> list[str]:
        return [str(headers.get("x-oms-reason")) for _, headers in self.letters]

    def field_errors(self) -> list[list[dict[str, Any]]]:
        return [json.loads(headers.get("x-oms-field-errors") or "[]") for _, headers in self.letters]


@asynccontextmanager
async def in_memory(
    app: AsgiFastStream, settings: ServiceSettings, service: str, dependencies: Mapping[str, object] = {}
) -> AsyncIterator[tuple[RabbitBroker, DeadLetterTap]]:
    """``app``'s broker in memory, its context's ``dependencies`` replaced by the stand-ins
    given, and a tap on the service's dead-letter queue."""
    broker = app.broker
    assert isinstance(broker, RabbitBroker)
    for name, value in dependencies.items():
        app.context.set_global(name, value)
    tap = DeadLetterTap()

    @broker.subscriber(dead_letter_queue(settings.topology, service), dead_letter_exchange(settings.topology))
    async def dead_lettered(body: Any, message: RabbitMessage) -> None:
        tap.letters.append((body, dict(message.headers)))

    async with TestRabbitBroker(broker) as patched:
        yield patched, tap
