"""Ordered subscriptions (P3): the events of one customer are applied in order while the
workers of a service compete for the work. The design and its limits: docs/platform.md.

    events = OrderedSubscription(runtime, "customer-events", bindings=["customer.#"])
    events.on(CustomerCreated, customer_created)
    events.on(CustomerUpdated, customer_updated)

- The outbox relay stamps each event with its slot, ``crc32(partition key) % 64``
  (``oms-partition`` header; the partition key is the customer code).
- The subscription owns ``settings.partitions`` quorum queues ``<ns>.<service>.<purpose>.p<i>``
  with *single active consumer*; a headers exchange fed by the events exchange (with the
  subscription's bindings) sends slot ``s`` to queue ``s % partitions``. One customer's
  events therefore always land in the same queue, in the order they were published.
- Each queue is consumed with prefetch 1 by one worker at a time: messages are handled one
  after the other, and a failing one is retried in place (plumbing.retries) before the next.
- The workers of the service share the queues through leases in MongoDB (``leases``
  collection): each live worker holds about ``partitions / workers`` of them, re-balanced
  every few seconds as workers come and go. Single active consumer is the safety net: even
  when two workers briefly both think they hold a queue, RabbitMQ delivers it to one only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from faststream.rabbit import Channel, RabbitBroker, RabbitExchange, RabbitRouter
from pymongo.errors import DuplicateKeyError, PyMongoError

from .messaging import (
    PARTITION_SLOT,
    events_exchange,
    partition_exchange,
    partition_queue,
    routed_as,
    slots_of,
    unkeyed_exchange,
)

if TYPE_CHECKING:
    from faststream.rabbit.subscriber import RabbitSubscriber

    from contracts.envelope import Envelope

    from .runtime import ServiceRuntime

log = logging.getLogger("oms.ordering")

LEASES = "leases"


class OrderedSubscription:
    """``partitions`` single-active-consumer queues of one service for events that must be
    applied in order per partition key. Build it in ``build_routers``; add its ``router``
    to the routers returned."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        purpose: str,
        *,
        bindings: Sequence[str],
        exchange: RabbitExchange | None = None,
        partitions: int | None = None,
        description: str = "",
    ) -> None:
        settings = runtime.settings
        topology = settings.topology
        self.runtime = runtime
        self.purpose = purpose
        self.partitions = partitions or settings.partitions
        self.bindings = list(bindings)
        self.source = exchange or events_exchange(topology)
        self.exchange = partition_exchange(topology, runtime.name, purpose)
        self.unkeyed = unkeyed_exchange(topology, runtime.name, purpose)
        self.queues = [
            partition_queue(topology, runtime.name, purpose, i, max_attempts=settings.max_attempts)
            for i in range(self.partitions)
        ]
        self.router = RabbitRouter()
        # Prefetch 1 per consumer: one message at a time, in queue order.
        channel = Channel(prefetch_count=1)
        self.subscribers: list[RabbitSubscriber] = [
            self.router.subscriber(
                queue,
                channel=channel,
                no_reply=True,
                title=f"{runtime.name}.{purpose}" if i == 0 else None,
                description=(
                    f"{description} Ordered per partition key: {self.partitions} queues "
                    f"{queue.name[:-1]}<i> bound to {self.source.name} with {', '.join(self.bindings)}."
                ).strip(),
                include_in_schema=i == 0,
            )
            for i, queue in enumerate(self.queues)
        ]
        self.balancer = PartitionBalancer(
            runtime,
            group=f"{runtime.name}.{purpose}",
            subscribers=self.subscribers,
            lease_seconds=settings.partition_lease_seconds,
        )
        runtime.ordered.append(self)

    def on(self, message: type[Envelope[Any]], handler: Callable[..., Any]) -> Callable[..., Any]:
        """Handle ``message`` (dispatched on its routing key) on every partition."""
        for subscriber in self.subscribers:
            subscriber(filter=routed_as(message.routing_key()))(handler)
        return handler

    async def declare(self, broker: RabbitBroker) -> None:
        """Exchanges, queues and bindings, before anything consumes (idempotent, durable).

        On a channel of its own: FastStream caches a declared queue with the channel it was
        declared on, and each partition must be consumed on the prefetch-1 channel."""
        connection = await broker.connect()
        channel = await connection.channel()
        try:
            source = await _declare_exchange(channel, self.source)
            unkeyed = await _declare_exchange(channel, self.unkeyed)
            exchange = await _declare_exchange(channel, self.exchange)
            for binding in self.bindings:
                await exchange.bind(source, routing_key=binding)
            for index, spec in enumerate(self.queues):
                queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
                for slot in slots_of(index, self.partitions):
                    await queue.bind(exchange, arguments={"x-match": "all", PARTITION_SLOT: str(slot)})
                if index == 0:
                    await queue.bind(unkeyed)
        finally:
            await channel.close()


async def _declare_exchange(channel: Any, spec: RabbitExchange) -> Any:
    return await channel.declare_exchange(
        spec.name,
        type=spec.type.value,
        durable=spec.durable,
        auto_delete=spec.auto_delete,
        arguments=spec.arguments,
    )


class PartitionBalancer:
    """Which partitions of a group this worker consumes: a lease per partition in MongoDB,
    about ``ceil(partitions / live workers)`` per worker."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        *,
        group: str,
        subscribers: Sequence[RabbitSubscriber],
        lease_seconds: float,
    ) -> None:
        self.runtime = runtime
        self.group = group
        self.subscribers = list(subscribers)
        self.lease = timedelta(seconds=lease_seconds)
        self.interval = max(lease_seconds / 3, 0.2)
        self.me = runtime.instance
        self.owned: set[int] = set()
        self.consuming: set[int] = set()
        #: Partitions being let go: what is delivered now goes back to the queue, unhandled.
        self.draining: set[int] = set()
        #: Messages of each partition inside their handler (prefetch 1: at most one).
        self._in_flight: dict[int, int] = {}
        self._idle: dict[int, asyncio.Event] = {}
        self._cancelled: dict[int, asyncio.Event] = {}
        self._drain_timeout = runtime.settings.shutdown_deadline_seconds * 0.5
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        # Start where the hash of this worker points, so workers do not all reach for p0.
        self._offset = zlib.crc32(self.me.encode()) % max(len(self.subscribers), 1)
        for index, subscriber in enumerate(self.subscribers):
            self._gate(index, subscriber)

    # -- consuming --------------------------------------------------------------------------

    def _gate(self, index: int, subscriber: RabbitSubscriber) -> None:
        """The broker starts every subscriber at startup; this one consumes only while this
        worker holds its partition."""
        real_start = subscriber.start

        async def start() -> None:
            if index in self.owned and index not in self.consuming:
                await real_start()
                self.consuming.add(index)

        real_consume = subscriber.consume

        idle = self._idle.setdefault(index, asyncio.Event())
        idle.set()
        cancelled = self._cancelled.setdefault(index, asyncio.Event())

        async def consume(message: Any) -> Any:
            if index in self.draining:
                # Delivered while this worker lets the partition go: hold it until the
                # consumer is cancelled, then give it back once, to the head of the queue (a
                # return before that would come straight back, again and again, each time
                # counting towards the queue's delivery limit).
                await cancelled.wait()
            if not subscriber.running or index in self.draining:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
                return None
            self._in_flight[index] = self._in_flight.get(index, 0) + 1
            idle.clear()
            try:
                return await real_consume(message)
            finally:
                self._in_flight[index] -= 1
                if not self._in_flight[index]:
                    idle.set()

        subscriber.start = start  # type: ignore[method-assign]
        subscriber.consume = consume  # type: ignore[method-assign, assignment]
        subscriber._oms_real_start = real_start  # type: ignore[attr-defined]  # noqa: SLF001

    async def _consume(self, index: int) -> None:
        if index in self.consuming or not self.runtime.broker.running:
            return
        await self.subscribers[index]._oms_real_start()  # type: ignore[attr-defined]  # noqa: SLF001
        self.consuming.add(index)
        log.info("%s: consuming partition %d", self.group, index)

    async def _release_consumer(self, index: int) -> None:
        """Stop consuming partition ``index`` without reordering it.

        The message in hand finishes BEFORE the consumer is cancelled: once it is, single
        active consumer hands the queue to another worker, which would take the next
        message while this one still applies the previous. Meanwhile anything delivered goes
        back to the queue (a quorum queue delivers returned messages first)."""
        if index not in self.consuming:
            return
        self._cancelled[index].clear()
        self.draining.add(index)
        try:
            await asyncio.wait_for(self._idle[index].wait(), self._drain_timeout)
        except TimeoutError:
            log.warning(
                "%s: partition %d still busy after %.0fs; letting it go", self.group, index, self._drain_timeout
            )
        try:
            await self._cancel_and_stop(index)
        finally:
            self._cancelled[index].set()
            await asyncio.sleep(0)  # what was held goes back while still draining
            self.draining.discard(index)

    async def _cancel_and_stop(self, index: int) -> None:
        subscriber = self.subscribers[index]
        queue = subscriber._queue_obj  # noqa: SLF001
        tag = subscriber._consumer_tag  # noqa: SLF001
        if queue is not None and tag is not None and not queue.channel.is_closed:
            try:
                await queue.cancel(tag)
            except Exception:  # noqa: BLE001 - a closed channel returns what it held anyway
                log.warning("%s: cancel of partition %d failed", self.group, index, exc_info=True)
        subscriber._consumer_tag = None  # noqa: SLF001
        self._cancelled[index].set()  # a message delivered before cancel-ok goes back now
        await asyncio.sleep(0)
        await subscriber.stop()  # waits for the handler in flight
        self.consuming.discard(index)
        log.info("%s: released partition %d", self.group, index)

    # -- leases -----------------------------------------------------------------------------

    def _lease_id(self, index: int) -> str:
        return f"partition:{self.group}:{index}"

    async def _heartbeat(self, now: datetime) -> int:
        leases = self.runtime.db[LEASES]
        await leases.update_one(
            {"_id": f"member:{self.group}:{self.me}"},
            {"$set": {"group": self.group, "kind": "member", "expires_at": now + self.lease}},
            upsert=True,
        )
        await leases.delete_many({"kind": "member", "group": self.group, "expires_at": {"$lt": now - self.lease}})
        return await leases.count_documents({"kind": "member", "group": self.group, "expires_at": {"$gt": now}})

    async def _claim(self, index: int, now: datetime) -> bool:
        try:
            await self.runtime.db[LEASES].update_one(
                {"_id": self._lease_id(index), "$or": [{"holder": self.me}, {"expires_at": {"$lt": now}}]},
                {"$set": {"holder": self.me, "group": self.group, "kind": "partition", "expires_at": now + self.lease}},
                upsert=True,
            )
            return True
        except DuplicateKeyError:
            return False  # another worker holds it

    async def _renew(self, now: datetime) -> set[int]:
        leases = self.runtime.db[LEASES]
        ids = [self._lease_id(i) for i in range(len(self.subscribers))]
        await leases.update_many(
            {"_id": {"$in": ids}, "holder": self.me, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now + self.lease}},
        )
        held = await leases.find({"_id": {"$in": ids}, "holder": self.me, "expires_at": {"$gt": now}}).to_list()
        return {int(doc["_id"].rsplit(":", 1)[1]) for doc in held}

    async def _release_lease(self, index: int) -> None:
        await self.runtime.db[LEASES].update_one(
            {"_id": self._lease_id(index), "holder": self.me},
            {"$set": {"holder": None, "expires_at": datetime.fromtimestamp(0, UTC)}},
        )

    async def _claim_up_to(self, share: int, held: set[int], now: datetime) -> set[int]:
        """Claim free partitions, from this worker's offset on, until it holds ``share``."""
        count = len(self.subscribers)
        for step in range(count):
            if len(held) >= share:
                break
            index = (self._offset + step) % count
            if index not in held and await self._claim(index, now):
                held.add(index)
        return held

    async def rebalance(self) -> None:
        """One round: heartbeat, renew, give up extras, claim up to the fair share, then
        consume exactly the partitions held."""
        async with self._lock:
            if self._stopping:
                return
            now = datetime.now(UTC)
            workers = max(await self._heartbeat(now), 1)
            held = await self._renew(now)
            share = math.ceil(len(self.subscribers) / workers)
            for index in sorted(held, reverse=True)[: max(len(held) - share, 0)]:
                await self._release_consumer(index)
                await self._release_lease(index)
                held.discard(index)
            self.owned = await self._claim_up_to(share, held, now)
            for index in sorted(self.consuming - held):
                await self._release_consumer(index)  # lost the lease (e.g. database was away)
            for index in sorted(held - self.consuming):
                await self._consume(index)

    async def first_claim(self) -> None:
        """Before the broker starts: claim a share, so the gated subscribers consume it."""
        try:
            now = datetime.now(UTC)
            workers = max(await self._heartbeat(now), 1)
            held = await self._renew(now)
            share = math.ceil(len(self.subscribers) / workers)
            self.owned = await self._claim_up_to(share, held, now)
        except PyMongoError:
            log.warning("%s: no partitions claimed at startup (database unavailable)", self.group, exc_info=True)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"partitions {self.group}")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.rebalance()
            except Exception:  # noqa: BLE001 - keep what is held; SAC keeps order meanwhile
                log.warning("%s: rebalance failed; keeping current partitions", self.group, exc_info=True)
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        """Stop consuming every partition (in-flight messages finish), release the leases."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await self._task  # ends after the round in progress
            except Exception:  # noqa: BLE001
                pass
            self._task = None
        async with self._lock:
            for index in sorted(self.consuming):
                await self._release_consumer(index)
            try:
                for index in sorted(self.owned):
                    await self._release_lease(index)
                await self.runtime.db[LEASES].delete_one({"_id": f"member:{self.group}:{self.me}"})
            except PyMongoError:
                log.warning("%s: leases not released (they expire)", self.group)
            self.owned = set()
