"""What an email must cost at the least, in plain code: a floor beside the notification worker.

The durable work the standards ask of each system email (at most once around DATA, the event
in an outbox), written with the bare libraries and nothing else, in a process of its own:

1. consume the event from a quorum queue (aio-pika, the batch subscribers' prefetch) and
   record the email, claimed, in MongoDB: one ``insert_many`` (majority) for the events that
   arrive while the previous one is written; ack each event once its email is recorded;
2. per SMTP connection (as many as the service keeps): MAIL and RCPT, the durable
   ``phase: data`` mark (one ``update_many`` for the connections ready meanwhile), DATA;
3. the sent mark and an ``EmailSent`` document in the outbox, in one transaction per batch;
4. the relay: each event published with confirms, then marked published.

No rendering (the raw ceiling's prebuilt message), no validation, inbox, metrics, retries,
sweeper or claims of due emails. So the floor is above anything a worker doing all of that
could reach; the service's ratio to it is how much of the gap to raw aiosmtplib is the
worker's own code, and the floor's ratio to raw aiosmtplib is what the durable work leaves.
A diagnostic beside the ceiling, not instead of it (``bench/notification.py`` runs it).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aiosmtplib import SMTP
from pymongo import AsyncMongoClient
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

SENDER = "no-reply@oms.local"


class Gathered:
    """Items asked for while the previous write runs go into the next one, as
    ``plumbing.batching`` gathers the service's writes: a lone item is never held back."""

    def __init__(self, write: Callable[[list[Any]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self._running = False

    async def __call__(self, item: Any) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self._write([item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - handed to every waiter
                    for _, done in batch:
                        done.set_exception(exc)
                else:
                    for _, done in batch:
                        done.set_result(None)
        finally:
            self._running = False


@dataclass(frozen=True)
class Floor:
    amqp_url: str
    mongodb_url: str
    queue: str
    database: str
    smtp_port: int
    message: bytes
    connections: int
    prefetch: int


async def _serve(floor: Floor, done: Any, ready: Any) -> None:
    mongo = AsyncMongoClient(floor.mongodb_url, tz_aware=True)
    db = mongo[floor.database]
    majority = WriteConcern("majority")
    activities = db.get_collection("activities", write_concern=majority)
    outbox = db.get_collection("outbox", write_concern=majority)
    await activities.insert_one({"_id": "warm"})  # the collections exist before the transactions
    await outbox.insert_one({"_id": "warm"})
    claim = uuid.uuid4().hex
    connection = await aio_pika.connect(floor.amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=floor.prefetch)
    events = await channel.declare_exchange(f"{floor.database}.events", aio_pika.ExchangeType.TOPIC, auto_delete=True)
    to_send: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def record(docs: list[dict[str, Any]]) -> None:
        await activities.insert_many(docs, ordered=False)

    async def enter_data_phase(ids: list[str]) -> None:
        await activities.update_many({"_id": {"$in": ids}, "claim": claim}, {"$set": {"phase": "data"}})

    async def mark_sent(ids: list[str]) -> None:
        at = datetime.now(UTC)
        sent = [
            {
                "_id": uuid.uuid4().hex,
                "routing_key": "notification.email-sent",
                "body": json.dumps({"activity_id": i, "at": at.isoformat()}).encode(),
                "published": False,
            }
            for i in ids
        ]

        async def write(session: Any) -> None:
            await activities.update_many(
                {"_id": {"$in": ids}, "claim": claim}, {"$set": {"status": "sent", "sent_at": at}}, session=session
            )
            await outbox.insert_many(sent, session=session)

        async with mongo.start_session() as session:
            await session.with_transaction(write, read_concern=ReadConcern("snapshot"), write_concern=majority)
        await asyncio.gather(
            *(events.publish(aio_pika.Message(e["body"], message_id=e["_id"]), e["routing_key"]) for e in sent)
        )
        await outbox.update_many({"_id": {"$in": [e["_id"] for e in sent]}}, {"$set": {"published": True}})
        with done.get_lock():
            done.value += len(ids)

    recorded, data_phase, sent = Gathered(record), Gathered(enter_data_phase), Gathered(mark_sent)

    async def consume(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = json.loads(message.body)
        to = event["payload"]["recipient"]
        doc = {"_id": event["message_id"], "to": to["email"], "status": "queued", "claim": claim, "phase": None}
        await recorded(doc)
        await message.ack()
        await to_send.put(doc)

    background: set[asyncio.Task[None]] = set()

    async def send() -> None:
        smtp = SMTP(hostname="127.0.0.1", port=floor.smtp_port, start_tls=False, local_hostname="floor")
        await smtp.connect()
        while True:
            doc = await to_send.get()
            await smtp.mail(SENDER)
            await smtp.rcpt(doc["to"])
            await data_phase(doc["_id"])
            await smtp.data(floor.message)
            task = asyncio.create_task(sent(doc["_id"]))  # not on the connection's way, as the service's
            background.add(task)
            task.add_done_callback(background.discard)

    senders = [asyncio.create_task(send()) for _ in range(floor.connections)]
    queue = await channel.get_queue(floor.queue)
    await queue.consume(consume)
    ready.set()
    await asyncio.get_running_loop().run_in_executor(None, signal.sigwait, {signal.SIGTERM})
    for task in senders:
        task.cancel()
    await connection.close()
    await mongo.drop_database(floor.database)
    await mongo.close()


def serve(floor: Floor, done: Any, ready: Any) -> None:
    """The floor's process: serves until SIGTERM."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    asyncio.run(_serve(floor, done, ready))


def start(floor: Floor) -> tuple[multiprocessing.process.BaseProcess, Any]:
    """The floor's process, consuming once it returns; and its count of emails sent."""
    context = multiprocessing.get_context("spawn")
    done, ready = context.Value("q", 0), context.Event()
    process = context.Process(target=serve, args=(floor, done, ready), daemon=True)
    process.start()
    if not ready.wait(60):
        raise TimeoutError("the email floor's process did not start")
    return process, done
