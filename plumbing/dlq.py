"""Dead letters of the services, read and replayed (P4): what ``omsctl dlq`` and the
console's dead-letter screen (gateway) both use.

Reading never loses a message: each is taken unacknowledged and returned to the queue, in
order, when the reader is done. A replay publishes the message to the exchange and routing
key it was first published with, persistent, and acknowledges the dead letter only once
RabbitMQ confirmed that publish; the ``x-oms-*`` bookkeeping and the broker's death records
are removed, the message id is kept, so a message that was in fact applied before is
recognised by the consumer's inbox and has no second effect. A replayed message is routed
as the original was: every queue bound to it gets it again (their inboxes deduplicate).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiormq.abc
from pamqp.commands import Basic

from contracts.routing import Topology
from plumbing import amqp
from plumbing import dead_letters as dl
from plumbing.messaging import dead_letter_queue
from plumbing.retries import BROKER_HEADERS
from plumbing.settings import ServiceSettings


@dataclass
class DeadLetter:
    service: str
    message_id: str
    reason: str
    error: str
    exchange: str
    routing_key: str
    queue: str
    attempts: Any
    dead_lettered_at: str
    headers: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)
    content_type: str | None = None
    correlation_id: str | None = None

    @classmethod
    def read(cls, service: str, message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
        headers: dict[str, Any] = dict(message.headers or {})  # AMQP field values: read as they come
        if dl.REASON in headers:
            reason = str(headers[dl.REASON])
            exchange = str(headers.get(dl.ORIGINAL_EXCHANGE) or "")
            routing_key = str(headers.get(dl.ORIGINAL_ROUTING_KEY) or "")
            queue = str(headers.get(dl.ORIGINAL_QUEUE) or "")
            error = str(headers.get(dl.ERROR) or "")
            attempts = headers.get(dl.ATTEMPTS)
            at = str(headers.get(dl.DEAD_LETTERED_AT) or "")
        else:
            # Dead-lettered by RabbitMQ itself (the delivery limit: a worker crash loop).
            death = (headers.get("x-death") or [{}])[0]
            reason = f"broker:{death.get('reason', '?')}"
            exchange = str(death.get("exchange") or "")
            routing_key = str((death.get("routing-keys") or [""])[0])
            if not exchange and dl.ORIGINAL_ROUTING_KEY in headers:  # it was back from a retry tier
                exchange = str(headers.get(dl.ORIGINAL_EXCHANGE) or "")
                routing_key = str(headers[dl.ORIGINAL_ROUTING_KEY])
            queue = str(death.get("queue") or "")
            error = "RabbitMQ dead-lettered it (delivery limit reached: the worker died handling it?)"
            attempts = headers.get("x-delivery-count")
            at = str(death.get("time") or "")
        return cls(
            service=service,
            message_id=message.message_id or "",
            reason=reason,
            error=error,
            exchange=exchange,
            routing_key=routing_key,
            queue=queue,
            attempts=attempts,
            dead_lettered_at=at,
            headers=headers,
            body=message.body,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
        )

    def replay_headers(self) -> dict[str, Any]:
        drop = set(dl.BOOKKEEPING) | set(BROKER_HEADERS)
        headers = {k: v for k, v in self.headers.items() if k not in drop}
        if not self.exchange:
            # First published to a queue directly: dispatch still needs its routing key.
            headers[dl.ORIGINAL_EXCHANGE] = ""
            headers[dl.ORIGINAL_ROUTING_KEY] = self.routing_key
        return headers

    def body_text(self) -> str:
        try:
            return json.dumps(json.loads(self.body), indent=2, ensure_ascii=False, default=str)
        except (ValueError, UnicodeDecodeError, RecursionError):  # shown as it came: too deep to pretty-print
            return self.body.decode("utf-8", errors="replace")


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    kept: int = 0


Select = Callable[[DeadLetter], bool]


@dataclass(frozen=True)
class Selection:
    """Which dead letters to replay: by message ids, reason, routing-key pattern, or all."""

    ids: frozenset[str] = frozenset()
    reason: str | None = None
    routing_key: str | None = None
    everything: bool = False

    def __call__(self, letter: DeadLetter) -> bool:
        if self.everything:
            return True
        if self.ids and letter.message_id not in self.ids:
            return False
        if self.reason and letter.reason != self.reason:
            return False
        if self.routing_key and not fnmatch.fnmatchcase(letter.routing_key, self.routing_key):
            return False
        return bool(self.ids or self.reason or self.routing_key)


def selector(
    ids: Sequence[str] = (), reason: str | None = None, routing_key: str | None = None, everything: bool = False
) -> Selection:
    return Selection(frozenset(ids), reason, routing_key, everything)


#: How long a replay by ids waits for a named letter that is not in the queue yet: one that a
#: reader (the console's list, ``omsctl dlq show``) has just returned is back in a quorum
#: queue only once the queue's log has applied the return, after the reader's channel closed.
RETURNING_LETTERS_WAIT_S = 3.0


class DeadLetterQueues:
    """The services' dead-letter queues over one AMQP connection (``async with``)."""

    def __init__(self, settings: ServiceSettings, *, reader: str = "omsctl dlq") -> None:
        self.settings = settings
        #: Names the AMQP connection in RabbitMQ's management UI: who is browsing.
        self.reader = reader
        self.topology: Topology = settings.topology
        self.connection: aio_pika.abc.AbstractConnection | None = None

    async def __aenter__(self) -> DeadLetterQueues:
        self.connection = await amqp.connect(self.settings.amqp_url, client_properties={"connection_name": self.reader})
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection is not None:
            await self.connection.close()

    def _connection(self) -> aio_pika.abc.AbstractConnection:
        if self.connection is None:
            raise RuntimeError("use DeadLetterQueues as 'async with'")
        return self.connection

    async def _queue(self, channel: aio_pika.abc.AbstractChannel, service: str) -> aio_pika.abc.AbstractQueue:
        spec = dead_letter_queue(self.topology, service)
        # A full, idempotent declare: quorum queues report their depth correctly only to that.
        return await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)

    async def depth(self, service: str) -> int:
        channel = await self._connection().channel()
        try:
            return (await self._queue(channel, service)).declaration_result.message_count or 0
        finally:
            await channel.close()

    async def browse(self, service: str, limit: int | None = None) -> list[DeadLetter]:
        """The messages, oldest first, left in place. A letter another reader has just given
        back is counted in the queue's depth before a get can take it again (the quorum
        queue's log applies the return a moment later): up to ``RETURNING_LETTERS_WAIT_S`` is
        given for every counted letter to be listed (a fresh-clone CI listed 1 of 2)."""
        channel = await self._connection().channel()
        held: list[aio_pika.abc.AbstractIncomingMessage] = []
        try:
            queue = await self._queue(channel, service)
            total = queue.declaration_result.message_count or 0
            bound = total if limit is None else min(total, limit)
            deadline = time.monotonic() + RETURNING_LETTERS_WAIT_S
            while len(held) < bound:
                message = await queue.get(no_ack=False, fail=False)
                if message is not None:
                    held.append(message)
                elif time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                else:
                    break  # taken meanwhile (replayed by someone else)
            return [DeadLetter.read(service, message) for message in held]
        finally:
            for message in held:
                await message.nack(requeue=True)
            await channel.close()

    async def find(self, message_id: str, services: Sequence[str]) -> DeadLetter | None:
        for service in services:
            for letter in await self.browse(service):
                if letter.message_id == message_id:
                    return letter
        return None

    async def replay(self, service: str, select: Select) -> ReplayReport:
        """Republish the selected dead letters where they came from; each is acknowledged
        (removed) only after RabbitMQ confirmed its publish.

        Letters are those in the queue when the replay starts; a replay by ids reads until it
        has seen every id it names (or the queue is empty for ``RETURNING_LETTERS_WAIT_S``)."""
        report = ReplayReport()
        channel = await self._connection().channel(publisher_confirms=True)
        kept: list[aio_pika.abc.AbstractIncomingMessage] = []
        named = set(select.ids) if isinstance(select, Selection) else set()
        try:
            queue = await self._queue(channel, service)
            to_read = queue.declaration_result.message_count or 0
            deadline = time.monotonic() + RETURNING_LETTERS_WAIT_S
            while to_read > 0 or named:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    if named and time.monotonic() < deadline:
                        await asyncio.sleep(0.1)
                        continue
                    break
                to_read -= 1
                letter = DeadLetter.read(service, message)
                named.discard(letter.message_id)
                if not select(letter):
                    kept.append(message)
                    continue
                try:
                    await self._publish(channel, letter)
                except Exception as exc:  # noqa: BLE001 - reported; the dead letter stays
                    kept.append(message)
                    report.failed.append((letter.message_id, str(exc)))
                    continue
                await message.ack()
                report.replayed.append(letter.message_id)
        finally:
            for message in kept:
                await message.nack(requeue=True)
            report.kept = len(kept) - len(report.failed)
            await channel.close()
        return report

    async def _publish(self, channel: aio_pika.abc.AbstractChannel, letter: DeadLetter) -> None:
        if letter.exchange:
            exchange = await channel.get_exchange(letter.exchange, ensure=False)
            routing_key = letter.routing_key
        else:
            exchange = channel.default_exchange
            routing_key = letter.queue
        confirmation = await exchange.publish(
            aio_pika.Message(
                letter.body,
                message_id=letter.message_id or None,
                correlation_id=letter.correlation_id,
                content_type=letter.content_type,
                headers=letter.replay_headers(),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )
        if isinstance(confirmation, aiormq.abc.DeliveredMessage):
            raise RuntimeError(f"no queue is bound to {letter.exchange or '(default)'} {routing_key}")
        if not isinstance(confirmation, Basic.Ack):
            raise RuntimeError(f"RabbitMQ did not confirm the publish ({type(confirmation).__name__})")

    async def purge(self, service: str) -> int:
        channel = await self._connection().channel()
        try:
            queue = await self._queue(channel, service)
            result = await queue.purge()
            return int(result.message_count or 0)
        finally:
            await channel.close()
