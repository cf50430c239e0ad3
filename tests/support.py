"""Helpers for tests against the real servers: running services in-process, isolation, cleanup."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitBroker
from pymongo import AsyncMongoClient

from contracts.routing import SERVICES
from plumbing.settings import ServiceSettings

T = TypeVar("T")


def new_namespace() -> str:
    """A namespace no other test run uses: its own exchanges, queues and databases."""
    return f"t{uuid.uuid4().hex[:12]}"


#: Channels a cleanup deletes queues on at once.
CLEANUP_CHANNELS = 4


class Cleanup:
    """Remembers every queue a test run declares, and removes them and its databases after."""

    def __init__(self) -> None:
        self.queues: set[str] = set()
        self.namespaces: set[str] = set()

    def track(self, settings: ServiceSettings, app: AsgiFastStream | None = None) -> None:
        self.namespaces.add(settings.namespace)
        for service in SERVICES:
            self.queues.add(settings.topology.dead_letter_queue(service))
            self.queues.add(settings.topology.commands_queue(service))
        if app is not None:
            for broker in app.brokers:
                for subscriber in broker.subscribers:
                    self.queues.add(subscriber.queue.name)

    async def run(self, amqp_url: str, mongodb_url: str) -> None:
        broker = RabbitBroker(amqp_url, logger=None)
        await broker.connect()
        connection = broker._connection  # noqa: SLF001 - plain aio-pika for deletes

        async def delete_queues(queues: list[str]) -> None:
            channel = await connection.channel()
            for queue in queues:
                await channel.queue_delete(queue)
            await channel.close()

        try:
            # A channel answers one request at a time, and a quorum queue's deletion waits for
            # its Raft group to stop: four channels delete side by side (every test ends here).
            queues = sorted(self.queues)
            await asyncio.gather(*(delete_queues(queues[i::CLEANUP_CHANNELS]) for i in range(CLEANUP_CHANNELS)))
            channel = await connection.channel()
            for namespace in self.namespaces:
                for suffix in ("commands", "events", "upstream", "dead-letter"):
                    await channel.exchange_delete(f"{namespace}.{suffix}")
            await channel.close()
        finally:
            await broker.stop()
        client = AsyncMongoClient(mongodb_url)
        try:
            names = await client.list_database_names()
            await asyncio.gather(
                *(
                    client.drop_database(name)
                    for name in names
                    if any(name.startswith(f"{ns}_") for ns in self.namespaces)
                )
            )
        finally:
            await client.close()


@asynccontextmanager
async def running(*apps: AsgiFastStream, cleanup: Cleanup) -> AsyncIterator[None]:
    """Run services in this process against the real servers for the duration of the block.

    The apps start side by side: a start is mostly round trips to the servers (declarations,
    indexes), and three of them one after the other made a third of a console test."""
    async with AsyncExitStack() as stack:
        for app in apps:
            runtime = app.context.get("runtime")
            cleanup.track(runtime.settings, app)
        # Hooks run and every subscriber consumes before each start returns.
        started = await asyncio.gather(*(app.start() for app in apps), return_exceptions=True)
        for app, outcome in zip(apps, started, strict=True):
            if not isinstance(outcome, BaseException):
                stack.push_async_callback(app.stop)
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield


#: How long a service started as its own process (``faststream run``) may take to answer
#: ``/ready``: importing and connecting took over 30 s in a fresh-clone CI run on two cores
#: shared with the other tests' services.
PROCESS_START_SECONDS = 90.0


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; fail with its last value otherwise."""
    deadline = time.monotonic() + timeout
    value: Any = None
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")


class EventTap:
    """A private queue bound to the events exchange: what the services published, in order,
    each event once. The outbox publishes at least once (a relay whose lease ran out under
    load sends its batch again, P2), and consumers deduplicate on message_id: so does the tap,
    or a copy would take the place of an event a test waits for (a fresh-clone CI,
    2026-12-08, counted six events of which the last was a copy)."""

    def __init__(self, client: Any, binding: str = "#") -> None:
        self.client = client
        self.binding = binding
        self.messages: list[dict[str, Any]] = []
        self.copies = 0  # events received again, left out of ``messages``
        self._seen: set[str] = set()

    async def __aenter__(self) -> EventTap:
        from faststream.rabbit import RabbitQueue

        from plumbing.messaging import events_exchange

        broker = self.client.broker
        exchange = await broker.declare_exchange(events_exchange(self.client.settings.topology))
        self.queue = await broker.declare_queue(
            RabbitQueue(
                f"{self.client.settings.namespace}.tap.{uuid.uuid4().hex[:8]}", auto_delete=True, exclusive=True
            )
        )
        await self.queue.bind(exchange, routing_key=self.binding)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.queue.delete(if_unused=False, if_empty=False)

    async def drain(self) -> list[dict[str, Any]]:
        import json

        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            event = {"routing_key": message.routing_key, **json.loads(message.body)}
            if event.get("message_id") in self._seen:
                self.copies += 1
                continue
            self._seen.add(event.get("message_id", ""))
            self.messages.append(event)
        return self.messages

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        async def enough() -> list[dict[str, Any]] | None:
            await self.drain()
            return self.messages if len(self.messages) >= count else None

        return await eventually(enough, timeout=timeout)


def widen_omsctl_consoles(width: int = 200) -> None:
    """omsctl's rich consoles are made at import, and one made while COLUMNS was set keeps
    that width for the process: in-process runs (CliRunner) under pytest-xdist got 80 columns
    and wrapped the tables the tests read. Give every one the width the test asks for."""
    import importlib
    import pkgutil

    from rich.console import Console

    import omsctl

    for module in pkgutil.iter_modules(omsctl.__path__):
        for value in vars(importlib.import_module(f"omsctl.{module.name}")).values():
            if isinstance(value, Console):
                value.width = width
