"""The identity index follows the code (O2). A release may derive blocking keys a stored
profile lacks (``matching.index_keys``: a new kind of key, a phone's line without its
extension, another surname block). A profile gains its missing keys when it learns from an
order (``Profile.lesson``), but a customer who does not order again would stay unfindable
by them: so at a start whose keys differ from those the index was built with, every
customer is indexed under its missing keys once, in the background.

Which keys the code derives is told by a fingerprint: the keys of a fixed set of profiles
(every kind of identifier, written as orders write them). A change that moves none of them
is not seen; ``INDEX_GENERATION`` is raised by hand for one that should be.

Only the keys are recomputed. The identifiers a profile holds were normalized when learned
(an E.164 phone, a street key) and are not read again: order-sync keeps no order's raw
personal data to read them from.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from plumbing.runtime import ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store
from .matching import Profile, index_keys

log = logging.getLogger("oms.order_sync.reindexing")

#: Raised by hand when keys change in a way the fingerprint's profiles do not show.
INDEX_GENERATION = 1

#: Profiles with one identifier of each kind, as stored (``Identity.learned``).
_FINGERPRINT_PROFILES: tuple[dict[str, list[Any]], ...] = (
    {"emails": ["anne.muller@gmail.com"], "names": [("anne sophie", "muller")], "postals": ["70586"]},
    {"phones": ["+4971112345678", "+12125550147;ext=12"], "names": [("jean", "dupont")], "postals": ["75002"]},
    {"streets": [("75002", "12 paix")], "names": [(None, "garcia lopez")], "postals": ["28013"]},
    {"sources": ["shopify:acme|77"], "taught": ["sig:1"], "names": [("yuki", "tanaka")], "emails": ["y@example.jp"]},
)


def fingerprint() -> str:
    """The keys this code derives from the fingerprint's profiles, with INDEX_GENERATION."""
    keys = []
    for n, learned in enumerate(_FINGERPRINT_PROFILES):
        profile = Profile(f"F{n}")
        profile.add(learned)
        keys.append(sorted(index_keys(profile)))
    return hashlib.sha256(repr((INDEX_GENERATION, keys)).encode()).hexdigest()[:16]


def missing_keys(doc: dict[str, Any]) -> list[str]:
    """The keys a stored customer document's profile has under this code and is not indexed by."""
    profile = Profile.of_customer(doc["_id"], doc)
    return sorted(index_keys(profile) - profile.indexed)


async def reindex_needed(db: store.Database) -> bool:
    """Whether the index was built with other keys than this code derives."""
    return await store.index_fingerprint(db) != fingerprint()


async def reindex(runtime: ServiceRuntime, batch: int = 200) -> int | None:
    """Index every customer under the keys it lacks, when the index was built with other
    keys than this code derives; then note the fingerprint. How many customers gained keys
    (None: the index was up to date). Each batch is read and written in one transaction: an
    erasure (C18) meanwhile is a write conflict, retried, so no key names an erased
    customer. Two workers doing it at once add the same keys."""
    if not await reindex_needed(runtime.db):
        return None
    current = fingerprint()
    changed, last = 0, ""
    while True:

        async def one_batch(uow: UnitOfWork, after: str = last) -> tuple[int, str | None]:
            docs = await store.customers_after(uow, after, batch)
            writes = [
                store.learning(doc["_id"], doc["scope_id"], {}, keys)
                for doc in docs
                if doc.get("scope_id") and doc.get("state") != "erased" and (keys := missing_keys(doc))
            ]
            await store.teach(uow, writes)
            return len(writes), (docs[-1]["_id"] if docs else None)

        gained, next_last = await apply_once(runtime, None, one_batch, inbox=False)
        changed += gained
        if next_last is None:
            break
        last = next_last
    await store.set_index_fingerprint(runtime.db, current, datetime.now(UTC), changed)
    return changed


class Reindexer:
    """The worker's ``reindex``, in the background from its start (matching does not wait
    for it: an order of a customer not reindexed yet finds them as before the release)."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self, runtime: ServiceRuntime) -> None:
        self._task = asyncio.create_task(self._run(runtime), name="identity-reindexer")

    async def _run(self, runtime: ServiceRuntime) -> None:
        try:
            changed = await reindex(runtime)
        except Exception:  # noqa: BLE001 - the next start tries again; matching goes on
            log.exception("reindexing the identity index failed; the next start tries again")
            return
        if changed is not None:
            log.info("identity index brought up to this release's keys: %d customers gained keys", changed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
