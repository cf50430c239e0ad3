"""The outbox relay: publishes, after commit, the events transactions wrote to ``outbox`` (P2).

One relay per service publishes at a time: the worker processes of a service compete for a
lease in MongoDB and the holder publishes, oldest event first, each batch with publisher
confirms, and marks the batch published only once RabbitMQ confirmed it. A relay that dies
mid-batch leaves those events unmarked; the next holder of the lease publishes them again,
so an event may arrive twice but is never lost (consumers deduplicate on message_id).

Without a crash, no event is published twice: the lease is fenced. Each acquisition bumps the
lease's ``epoch``; a holder renews only its own epoch, before every chunk of a batch (a batch
of 500 can outlast the lease under load), and stops publishing the moment a renewal fails, so
a second worker that took an expired lease never publishes events the first is still sending.
Each chunk is marked as soon as RabbitMQ confirmed it: a lost lease leaves only unsent events.

The relay reads the outbox with read concern ``majority``: an event goes out once its
transaction can no longer be rolled back by a failover, never before (a primary shows a
commit to plain reads while it waits for the majority; killed then, the commit is undone
and its writer retries, and the event first read would be a ghost). Its reads and marks share
a causally consistent session, so a batch it marked is never read back as unsent.

Each event goes out with the headers consumers rely on: ``x-oms-partition-key`` (the
customer code) and its slot ``oms-partition`` (plumbing.ordering routes by it), and the
trace context of the transaction that wrote it (plumbing.telemetry), so the consumer's span
joins the same trace. Events are sent in ``sequence`` order (the order they were written)
on one channel, pipelined, and a batch is marked only when every one is confirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import aio_pika
from pamqp.commands import Basic
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern

from . import amqp
from .messaging import PARTITION_KEY, PARTITION_SLOT, partition_slot
from .telemetry import TRACE_HEADERS
from .unit_of_work import OUTBOX

if TYPE_CHECKING:
    from pymongo.asynchronous.client_session import AsyncClientSession
    from pymongo.asynchronous.database import AsyncDatabase

log = logging.getLogger("oms.outbox")

LEASES = "leases"
MAJORITY = ReadConcern("majority")
#: Events published, confirmed and marked between two checks of the lease.
CHUNK = 100


class NotConfirmed(RuntimeError):
    """RabbitMQ refused a publish (``basic.nack``): the batch stays unmarked, sent again."""


class OutboxRelay:
    def __init__(
        self,
        db: AsyncDatabase[Any],
        amqp_url: str,
        *,
        holder: str,
        batch_size: int = 500,
        idle_poll_seconds: float = 0.1,
        lease_seconds: float = 10.0,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.amqp_url = amqp_url
        self.holder = holder
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        self._lease_until: datetime | None = None
        #: Causally consistent: its majority reads of the outbox see its own marks (``_publish_batch``).
        self._session: AsyncClientSession | None = None
        #: The lease's epoch when this relay acquired it (fencing: only that epoch is renewed).
        self._epoch: int | None = None
        #: Batches cut short because the lease was lost mid-batch (would have been published twice).
        self.fenced = 0
        #: Channels replaced after RabbitMQ refused a publish on them.
        self.channels_replaced = 0
        self.published = 0
        self.on_published = on_published

    def wake(self) -> None:
        """A transaction of this process committed events: publish them now."""
        self._wake.set()

    async def start(self) -> None:
        # Its own connection and channel, with publisher confirms: a plain publish per event,
        # without the per-message tracing and metrics of the consumers' pipeline.
        self._connection = await amqp.connect_robust(
            self.amqp_url, client_properties={"connection_name": f"outbox-relay {self.holder}"}
        )
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._session = self.db.client.start_session(causal_consistency=True)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, *, flush_seconds: float = 10.0) -> None:
        """Publish what is pending (up to ``flush_seconds``), then release the lease."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, flush_seconds)
        except TimeoutError:
            self._task.cancel()
        self._task = None
        await self._release()
        if self._session is not None:
            with contextlib.suppress(PyMongoError):
                await self._session.end_session()
            self._session = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def pending(self) -> int:
        return await self.db[OUTBOX].count_documents({"published_at": None})

    async def lag_seconds(self) -> float:
        """Age of the oldest unpublished event: 0 when everything is out."""
        oldest = await self.db[OUTBOX].find_one(
            {"published_at": None}, sort=[("created_at", ASCENDING)], projection={"created_at": 1}
        )
        if oldest is None:
            return 0.0
        return max(0.0, float((datetime.now(UTC) - oldest["created_at"]).total_seconds()))

    async def _run(self) -> None:
        while True:
            try:
                published = await self._publish_batch() if await self._hold_lease() else 0
            except NotConfirmed as refused:
                log.warning("outbox relay %s: %s; sending the batch again on a new channel", self.holder, refused)
                published = 0
                await asyncio.sleep(1.0)
                await self._replace_channel()
            except Exception:  # noqa: BLE001 - the relay must outlive broker and database hiccups
                log.exception("outbox relay failed; retrying")
                published = 0
                await asyncio.sleep(1.0)
            if published:
                continue  # more may be waiting
            if self._stopping:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.idle_poll_seconds)
            except TimeoutError:
                pass

    async def _replace_channel(self) -> None:
        """A new channel after a refused publish. A quorum queue refuses publishes while it
        elects a leader, for a second; in a cluster test a channel that began publishing while
        the leader's node died was refused every publish for 90 s after the queue had its new
        leader (RabbitMQ 3.10, docs/platform.md), so the relay does not keep that channel."""
        if self._connection is None:
            return
        old, self._exchanges = self._channel, {}
        try:
            self._channel = await self._connection.channel(publisher_confirms=True)
        except Exception:  # noqa: BLE001 - the connection is down: the robust one restores the old channel
            log.exception("outbox relay %s could not open a new channel; keeping the old one", self.holder)
            return
        self.channels_replaced += 1
        if old is not None and not old.is_closed:
            with contextlib.suppress(Exception):
                await old.close()

    async def _hold_lease(self) -> bool:
        """Renew this relay's lease, or acquire it when it expired (a new epoch)."""
        if await self._keep_lease():
            return True
        now = datetime.now(UTC)
        try:
            lease = await self.db[LEASES].find_one_and_update(
                {"_id": "outbox-relay", "expires_at": {"$lt": now}},
                {"$set": {"holder": self.holder, "expires_at": now + self.lease}, "$inc": {"epoch": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # another process holds it
        assert lease is not None  # upserted, returned after the update
        self._epoch, self._lease_until = lease["epoch"], now + self.lease
        return True

    async def _keep_lease(self) -> bool:
        """True while this relay surely holds the lease for at least half its length more:
        renewed (its own epoch only) when less remains. False once another relay took it."""
        if self._epoch is None:
            return False
        now = datetime.now(UTC)
        if self._lease_until is not None and now < self._lease_until - self.lease / 2:
            return True  # renewed recently: no write for every chunk
        renewed = await self.db[LEASES].update_one(
            {"_id": "outbox-relay", "holder": self.holder, "epoch": self._epoch},
            {"$set": {"expires_at": now + self.lease}},
        )
        if renewed.matched_count:
            self._lease_until = now + self.lease
            return True
        self._epoch = self._lease_until = None
        return False

    async def _release(self) -> None:
        try:
            await self.db[LEASES].update_one(
                {"_id": "outbox-relay", "holder": self.holder, "epoch": self._epoch},
                {"$set": {"expires_at": datetime.now(UTC)}},
            )
        except PyMongoError:
            pass

    async def _publish_batch(self) -> int:
        # What a majority holds, not what a primary has just written: an event of a
        # transaction still waiting for its majority would go out before it could be rolled
        # back by a failover (a ghost event: its writer, told its commit failed, retries and
        # publishes again). In this relay's causally consistent session, its own marks of
        # published events are read back.
        batch = await (
            self.db[OUTBOX]
            .with_options(read_concern=MAJORITY)
            .find({"published_at": None}, session=self._session)
            .sort([("published_at", ASCENDING), ("sequence", ASCENDING)])
            .limit(self.batch_size)
            .to_list()
        )
        if not batch:
            return 0
        assert self._channel is not None  # opened by start(), before the first batch
        for name in {doc["exchange"] for doc in batch} - set(self._exchanges):
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        published = 0
        for start in range(0, len(batch), CHUNK):
            if not await self._keep_lease():
                # Another relay holds the lease now and reads these events as unsent: stop.
                self.fenced += 1
                log.warning(
                    "outbox relay %s lost its lease mid-batch; %d events left to the new holder",
                    self.holder,
                    len(batch) - start,
                )
                break
            chunk = batch[start : start + CHUNK]
            # Sent in order on one channel, pipelined; each publish returns when RabbitMQ
            # confirmed it, and any failure leaves the chunk unmarked (sent again).
            await asyncio.gather(*(self._publish(doc) for doc in chunk))
            await self.db[OUTBOX].update_many(
                {"_id": {"$in": [doc["_id"] for doc in chunk]}},
                {"$set": {"published_at": datetime.now(UTC)}},
                session=self._session,
            )
            published += len(chunk)
            self.published += len(chunk)
            if self.on_published is not None:
                self.on_published(len(chunk))
        return published

    async def _publish(self, doc: dict[str, Any]) -> None:
        exchange = self._exchanges[doc["exchange"]]
        try:
            confirmation = await exchange.publish(
                aio_pika.Message(
                    doc["body"].encode(),
                    message_id=doc["_id"],
                    correlation_id=doc.get("correlation_id"),
                    content_type="application/json",
                    headers=event_headers(doc),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=doc["routing_key"],
                mandatory=False,  # an event nobody subscribes to yet is not an error
            )
        except aio_pika.exceptions.DeliveryError as refused:  # basic.nack
            raise NotConfirmed(f"event {doc['_id']} refused by RabbitMQ") from refused
        if not isinstance(confirmation, Basic.Ack):
            raise NotConfirmed(f"event {doc['_id']} not confirmed: {type(confirmation).__name__}")


def event_headers(doc: dict[str, Any]) -> dict[str, Any]:
    """The headers of an outbox event: partition key and slot, and its trace context."""
    headers: dict[str, Any] = {k: v for k, v in (doc.get("trace") or {}).items() if k in TRACE_HEADERS}
    key = doc.get("partition_key")
    if key:
        headers[PARTITION_KEY] = key
    # Without a key, any slot will do: spread them by message id.
    headers[PARTITION_SLOT] = str(partition_slot(key or doc["_id"]))
    return headers
