"""C10's state summary at any size: counted on the spot while the collection is small; above
``EXACT_UP_TO`` customers, the counts last taken, kept in ``state_summaries`` for every
worker, recounted in the background once they are ``STALE_AFTER`` old (the reply says when
they were counted).

Counting a state reads every key of it in the state index (a COUNT_SCAN, a quarter of a
microsecond a key): a million customers took 250 ms (p95 650 ms on a busy machine), ten
million take seconds, and the Customer Manager asks on every visit. A counter per state kept
in step with every write would make every transaction that creates a customer update the same
few documents, a hot spot for imports and order intake; a summary of ten million customers
read a minute late says the same thing to a CSR.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from . import store

log = logging.getLogger("customer.summary")

SUMMARIES = "state_summaries"
#: Up to this many customers (the collection's own count, free to read) every read counts.
EXACT_UP_TO = 100_000
#: Older counts are still answered, and one worker recounts them in the background.
STALE_AFTER = timedelta(seconds=30)
#: Older counts (nobody asked for a while) are not answered: the reader waits for a count.
TOO_OLD = timedelta(minutes=10)
#: How long a worker's claim to recount holds, should it die while counting.
RECOUNT_LEASE = timedelta(minutes=2)

_recounts: set[asyncio.Task[Any]] = set()  # running background recounts (kept referenced)


async def state_summary(
    db: AsyncDatabase[dict[str, Any]], scope_id: str | None, at: datetime, *, exact_up_to: int = EXACT_UP_TO
) -> tuple[dict[str, int], datetime]:
    """How many customers are in each state (of a scope, or all), and when they were counted."""
    if await db[store.CUSTOMERS].estimated_document_count() <= exact_up_to:
        return await store.state_counts(db, scope_id), at
    key = scope_id or "*"
    kept = await db[SUMMARIES].find_one({"_id": key})
    if kept is None or "counts" not in kept or at - kept["counted_at"] > TOO_OLD:
        return await recount(db, scope_id, at)
    if at - kept["counted_at"] > STALE_AFTER and await _claim(db, key, at):
        task = asyncio.create_task(recount(db, scope_id, at))
        _recounts.add(task)
        task.add_done_callback(_finished)
    return kept["counts"], kept["counted_at"]


async def recount(
    db: AsyncDatabase[dict[str, Any]], scope_id: str | None, at: datetime
) -> tuple[dict[str, int], datetime]:
    """Count now and keep the counts for every worker. ``at`` (before counting) is their time."""
    counts = await store.state_counts(db, scope_id)
    await db[SUMMARIES].update_one(
        {"_id": scope_id or "*"},
        {"$set": {"counts": counts, "counted_at": at}, "$unset": {"recount_until": ""}},
        upsert=True,
    )
    return counts, at


async def _claim(db: AsyncDatabase[dict[str, Any]], key: str, at: datetime) -> bool:
    """One worker recounts stale counts: the one whose update takes the lease."""
    claimed = await db[SUMMARIES].update_one(
        {"_id": key, "$or": [{"recount_until": {"$exists": False}}, {"recount_until": {"$lt": at}}]},
        {"$set": {"recount_until": at + RECOUNT_LEASE}},
    )
    return claimed.modified_count == 1


def _finished(task: asyncio.Task[Any]) -> None:
    _recounts.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("recounting the state summary failed: %r", task.exception())
