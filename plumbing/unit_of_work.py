"""One message, one MongoDB transaction: the state change, the events it caused (outbox) and
the record that the message was applied (inbox) commit together or not at all (P2).

    async def create_customer(cmd: CreateCustomer, runtime: Runtime) -> CustomerReply:
        view = await apply_once(runtime, cmd, lambda uow: domain_work(uow, ...), CustomerView)

- A redelivered message (same ``message_id``, same consumer) does nothing the second time and
  returns what the first time returned, so a retried command gets the same reply.
- Events recorded with ``uow.publish`` are written to the ``outbox`` collection in the
  transaction; the relay (plumbing.outbox) publishes them after the commit.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar, cast

from pydantic import TypeAdapter
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from contracts.envelope import Envelope, Event

from .indexes import ensure_index
from .telemetry import trace_headers

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from .runtime import ServiceRuntime

T = TypeVar("T")

OUTBOX = "outbox"
INBOX = "inbox"
INBOX_RETENTION_SECONDS = 14 * 24 * 3600
OUTBOX_RETENTION_SECONDS = 3 * 24 * 3600


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    async def outbox_indexes() -> None:
        # The relay reads unpublished events in the order they were written.
        await ensure_index(db[OUTBOX], [("published_at", ASCENDING), ("sequence", ASCENDING)], name="unpublished")
        # Published events and applied-message records expire after their retention window.
        await db[OUTBOX].create_index("published_at", expireAfterSeconds=OUTBOX_RETENTION_SECONDS)

    # The two collections side by side: every service's start waits for these.
    await asyncio.gather(
        outbox_indexes(), db[INBOX].create_index("applied_at", expireAfterSeconds=INBOX_RETENTION_SECONDS)
    )


_last_sequence = 0


def next_sequence() -> int:
    """Strictly increasing in this process, nanoseconds since the epoch: the order the relay
    publishes in. ``created_at`` is stored to the millisecond only, too coarse to order the
    events of one transaction or of back-to-back transactions on the same customer."""
    global _last_sequence
    _last_sequence = max(time.time_ns(), _last_sequence + 1)
    return _last_sequence


def outbox_document(event: Envelope[Any], exchange: str, partition_key: str | None) -> dict[str, Any]:
    return {
        "_id": event.message_id,
        "exchange": exchange,
        "routing_key": event.routing_key(),
        "body": event.model_dump_json(),
        "correlation_id": event.correlation_id or event.message_id,
        "partition_key": partition_key,
        # The handler's trace context: the relay publishes it, the consumer's span joins it.
        "trace": trace_headers(),
        "created_at": datetime.now(UTC),
        "sequence": next_sequence(),
        "published_at": None,
    }


async def inbox_records(uow: UnitOfWork, inbox_ids: list[str]) -> set[str]:
    """Which of these messages were applied before (for work that applies a batch of them)."""
    cursor = uow.db[INBOX].find({"_id": {"$in": inbox_ids}}, {"_id": 1}, session=uow.session)
    return {doc["_id"] async for doc in cursor}


async def was_applied(db: AsyncDatabase[Any], inbox_id: str) -> bool:
    """Whether this message was applied before, outside any transaction (what ``apply_once`` kept)."""
    return await db[INBOX].find_one({"_id": inbox_id}, {"_id": 1}) is not None


async def record_applied(uow: UnitOfWork, inbox_ids: list[str]) -> None:
    """Record messages as applied, in the transaction that applied them (as apply_once does)."""
    if inbox_ids:
        at = datetime.now(UTC)
        await uow.db[INBOX].insert_many(
            [{"_id": inbox_id, "applied_at": at} for inbox_id in inbox_ids], session=uow.session
        )


@functools.lru_cache(maxsize=256)
def _adapter(result_type: Any) -> TypeAdapter[Any]:
    """Building a TypeAdapter costs more than the validation it does: once per type."""
    return TypeAdapter(result_type)


class _AppliedConcurrently(Exception):
    pass


class RecordsEvents(Protocol):
    """An aggregate that records the events its rules cause, as cosmicpython's ``model.events``:
    each a message class and its payload, without an envelope (who caused it is the handler's
    business, not the rule's)."""

    events: list[tuple[type[Event[Any]], Any]]


@dataclass
class UnitOfWork:
    """What one transaction may do: read and write the service's database ``db`` in it (a
    store function given the unit of work uses its ``session``), record events."""

    db: AsyncDatabase[dict[str, Any]]
    session: AsyncClientSession
    exchange: str
    producer: str
    cause: Envelope[Any] | None = None
    events: list[tuple[Envelope[Any], str | None]] = field(default_factory=list)

    def publish(self, event: Envelope[Any], *, partition_key: str | None = None) -> None:
        """Publish ``event`` if, and only if, this transaction commits."""
        self.events.append((event, partition_key))

    def envelope(self) -> dict[str, Any]:
        """Envelope fields for an event caused by the message being handled."""
        if self.cause is None:
            return {"producer": self.producer}
        return self.cause.caused(producer=self.producer)

    def collect(self, aggregate: RecordsEvents) -> list[Event[Any]]:
        """The events ``aggregate`` recorded since it was last collected, as messages caused by
        the one being handled, in the order recorded; the aggregate forgets them."""
        events = [kind(**self.envelope(), payload=payload) for kind, payload in aggregate.events]
        aggregate.events.clear()
        return events


#: Where a store function reads or writes: within a transaction (its unit of work) or outside
#: any (the database itself). Handlers pass ``uow`` inside ``apply_once`` and ``runtime.db``
#: outside; a store function that only makes sense in a transaction takes ``UnitOfWork``.
Reads: TypeAlias = "UnitOfWork | AsyncDatabase[dict[str, Any]]"


def where(reads: Reads) -> tuple[AsyncDatabase[dict[str, Any]], AsyncClientSession | None]:
    """The database and the session (None: outside any transaction) ``reads`` stands for."""
    if isinstance(reads, UnitOfWork):
        return reads.db, reads.session
    return reads, None


async def apply_once(
    runtime: ServiceRuntime,
    message: Envelope[Any] | None,
    work: Callable[[UnitOfWork], Awaitable[T]],
    result_type: Any = None,
    *,
    consumer: str | None = None,
    inbox: bool = True,
) -> T:
    """Run ``work`` in a transaction, once per ``message.message_id`` for this consumer.

    ``result_type`` is what ``work`` returns (a pydantic model, a list of them, or None); it
    is kept with the inbox record, so a redelivered message gets the same result back.
    ``inbox=False`` is for work that is idempotent by a key of its own (an order's number):
    the message still causes the events, but no inbox record is written.
    """
    db = runtime.db
    adapter = _adapter(result_type) if result_type is not None else None
    inbox_id = f"{consumer or runtime.name}:{message.message_id}" if message is not None and inbox else None

    async def attempt(session: AsyncClientSession) -> tuple[bool, T]:
        uow = UnitOfWork(
            db=db,
            session=session,
            exchange=runtime.settings.topology.events_exchange,
            producer=runtime.name,
            cause=message,
        )
        if inbox_id is not None:
            # Look before inserting: a duplicate key error inside a transaction aborts it on
            # the server, and with_transaction would then retry the commit for two minutes.
            # A twin applying concurrently makes the insert a write conflict (retried, and the
            # retry finds the twin's record here) or, once it committed, a duplicate key.
            if await db[INBOX].find_one({"_id": inbox_id}, {"_id": 1}, session=session):
                return False, None  # type: ignore[return-value]
            try:
                await db[INBOX].insert_one({"_id": inbox_id, "applied_at": datetime.now(UTC)}, session=session)
            except DuplicateKeyError:
                raise _AppliedConcurrently from None
        result = await work(uow)
        if uow.events:
            await db[OUTBOX].insert_many(
                [outbox_document(event, uow.exchange, key) for event, key in uow.events], session=session
            )
        if inbox_id is not None and adapter is not None:
            await db[INBOX].update_one(
                {"_id": inbox_id}, {"$set": {"result": adapter.dump_python(result, mode="json")}}, session=session
            )
        return True, result

    async with runtime.mongo.start_session() as session:
        try:
            applied, result = await session.with_transaction(
                attempt, read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
            )
        except _AppliedConcurrently:
            applied, result = False, None
    if applied:
        runtime.outbox_written()
        return cast("T", result)
    # Applied before: answer what the first delivery answered.
    record = await db[INBOX].find_one({"_id": inbox_id})
    if adapter is None or record is None or "result" not in record:
        return None  # type: ignore[return-value]
    return cast("T", adapter.validate_python(record["result"]))
