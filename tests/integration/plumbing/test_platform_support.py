"""No tests here: the probe service the platform tests (test_platform_*.py) run, in-process
or as a process (``faststream run tests.integration.plumbing.test_platform_support:create_app``).

The probe consumes events the way a real consumer does (plumbing only: apply_once, ordered
subscriptions, retries) and records what it saw in its own database, so a test can count:

- ``deliveries``: every time the handler ran for a message id (outside any transaction);
- ``effects``: what ``apply_once`` applied, per message id (``applied`` must stay 1);
- ``sequences``: per partition key, the ``seq`` of each applied tick in the order applied.

Its events: ``probe.ticked.v1`` (a ``Tick`` with a key and a sequence number), written by a
producer through the outbox like any event, and optionally ``customer.customer-created.v1``.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from faststream.asgi import AsgiFastStream
from faststream.rabbit import RabbitRouter
from pydantic import BaseModel
from pymongo import AsyncMongoClient

from contracts.customer.records import CustomerCreated
from contracts.envelope import Event
from plumbing.messaging import events_exchange, routed_as, work_queue
from plumbing.ordering import OrderedSubscription
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import UnitOfWork, apply_once


class TickPayload(BaseModel):
    key: str
    seq: int
    #: The handler fails while it has run fewer than this many times for the message.
    fail_times: int = 0
    #: The handler fails after its effect committed, while it has run fewer than this many times.
    fail_after_apply: int = 0


class Tick(Event[TickPayload]):
    """A test event: one step of a key's sequence."""

    DOMAIN = "probe"
    message_type: Literal["ticked"] = "ticked"
    schema_version: Literal[1] = 1


class EchoPayload(BaseModel):
    key: str
    seq: int


class Echoed(Event[EchoPayload]):
    """What the probe publishes for each tick it applied."""

    DOMAIN = "probe"
    message_type: Literal["echoed"] = "echoed"
    schema_version: Literal[1] = 1


PROBE = "notification"  # the probe plays a consumer service: its queues and database
PURPOSE = "probe-events"


@dataclass
class Behaviour:
    #: Seconds each handler call sleeps (up to, at random, with ``jitter``).
    delay: float = 0.0
    jitter: bool = False
    ordered: bool = False
    #: Also apply CustomerCreated events (key: the customer code).
    customers: bool = False
    #: Publish an ``Echoed`` event (through the outbox) for each tick applied.
    echo: bool = False

    @classmethod
    def from_env(cls) -> Behaviour:
        return cls(
            delay=float(os.environ.get("OMS_PROBE_DELAY", "0")),
            jitter=os.environ.get("OMS_PROBE_JITTER") == "1",
            ordered=os.environ.get("OMS_PROBE_ORDERED") == "1",
            customers=os.environ.get("OMS_PROBE_CUSTOMERS") == "1",
            echo=os.environ.get("OMS_PROBE_ECHO") == "1",
        )


async def _record(runtime: ServiceRuntime, message: Any, key: str, seq: int, behaviour: Behaviour) -> int:
    db = runtime.db
    delivery = await db["deliveries"].find_one_and_update(
        {"_id": message.message_id}, {"$inc": {"count": 1}}, upsert=True, return_document=True
    )
    count = delivery["count"]
    if behaviour.delay:
        await asyncio.sleep(behaviour.delay * (random.random() if behaviour.jitter else 1.0))
    payload = message.payload
    if count <= getattr(payload, "fail_times", 0):
        raise RuntimeError(f"probe told to fail delivery {count} of {message.message_id}")

    async def work(uow: UnitOfWork) -> None:
        await db["effects"].update_one(
            {"_id": message.message_id},
            {"$inc": {"applied": 1}, "$set": {"key": key, "seq": seq, "worker": runtime.instance}},
            upsert=True,
            session=uow.session,
        )
        await db["sequences"].update_one({"_id": key}, {"$push": {"seqs": seq}}, upsert=True, session=uow.session)
        if behaviour.echo:
            uow.publish(Echoed(**uow.envelope(), payload={"key": key, "seq": seq}), partition_key=key)

    await apply_once(runtime, message, work)
    if count <= getattr(payload, "fail_after_apply", 0):
        raise RuntimeError(f"probe told to fail after applying {message.message_id} (delivery {count})")
    return count


def probe_app(settings: ServiceSettings, behaviour: Behaviour | None = None, *, service: str = PROBE) -> AsgiFastStream:
    behaviour = behaviour or Behaviour()

    async def ticked(message: Tick, runtime: Runtime) -> None:
        await _record(runtime, message, message.payload.key, message.payload.seq, behaviour)

    async def customer_created(message: CustomerCreated, runtime: Runtime) -> None:
        await _record(runtime, message, message.payload.customer.code, 0, behaviour)

    def build(runtime: ServiceRuntime) -> list[RabbitRouter]:
        handlers: list[tuple[Any, Any]] = [(Tick, ticked)]
        if behaviour.customers:
            handlers.append((CustomerCreated, customer_created))
        bindings = [message.routing_key() for message, _ in handlers]
        if behaviour.ordered:
            subscription = OrderedSubscription(runtime, PURPOSE, bindings=bindings, description="Probe.")
            for message, handler in handlers:
                subscription.on(message, handler)
            return [subscription.router]
        router = RabbitRouter()
        topology = runtime.settings.topology
        for index, (message, handler) in enumerate(handlers):
            queue = work_queue(
                topology,
                runtime.name,
                f"{PURPOSE}-{index}",
                binding=message.routing_key(),
                max_attempts=runtime.settings.max_attempts,
            )
            router.subscriber(queue, events_exchange(topology))(filter=routed_as(message.routing_key()))(handler)
        return [router]

    return create_service_app(service, settings, build, description="Platform test probe.")


def create_app() -> AsgiFastStream:
    """For ``faststream run``: settings and behaviour from the environment."""
    return probe_app(ServiceSettings(), Behaviour.from_env())


def producer_app(settings: ServiceSettings, service: str = "customer") -> AsgiFastStream:
    """A service with nothing to consume: its outbox relay publishes what ``emit`` writes."""
    return create_service_app(service, settings, lambda runtime: [], description="Platform test producer.")


def tick(key: str, seq: int, **fields: Any) -> Any:
    return Tick(producer="tests", payload={"key": key, "seq": seq, **fields})


async def emit(app: AsgiFastStream, events: Iterable[Any], *, per_transaction: int = 10) -> list[Any]:
    """Write events through ``app``'s outbox, ``per_transaction`` per transaction, partitioned
    by their key, as a service's handlers do."""
    runtime: ServiceRuntime = app.context.get("runtime")
    events = list(events)
    for start in range(0, len(events), per_transaction):
        chunk = events[start : start + per_transaction]

        async def work(uow: UnitOfWork, chunk: list[Any] = chunk) -> None:
            for event in chunk:
                uow.publish(event, partition_key=event.payload.key)

        await apply_once(runtime, None, work)
    return events


class Ledger:
    """What the probe recorded, read straight from its database."""

    def __init__(self, settings: ServiceSettings, service: str = PROBE) -> None:
        self.client = AsyncMongoClient(settings.mongodb_url, tz_aware=True, serverSelectionTimeoutMS=60000)
        self.db = self.client[settings.database_name(service)]

    async def close(self) -> None:
        await self.client.close()

    async def effects(self) -> dict[str, dict[str, Any]]:
        return {doc["_id"]: doc for doc in await self.db["effects"].find().to_list()}

    async def deliveries(self) -> dict[str, int]:
        return {doc["_id"]: doc["count"] for doc in await self.db["deliveries"].find().to_list()}

    async def sequences(self) -> dict[str, list[int]]:
        return {doc["_id"]: doc["seqs"] for doc in await self.db["sequences"].find().to_list()}

    async def applied(self, count: int) -> dict[str, dict[str, Any]] | None:
        effects = await self.effects()
        return effects if len(effects) >= count else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
