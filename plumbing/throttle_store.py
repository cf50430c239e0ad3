"""Throttle buckets in MongoDB (C15, I4): one document per key, counted exactly under
concurrent attempts, deleted by a TTL index once forgotten.

An attempt is *charged* before its password is checked: the bucket is read, the rules say
whether it must wait, and the new count is written only if nobody wrote the bucket since it
was read (compare-and-set on ``seq``). So N attempts at once count N, and once a bucket
reaches its limit no attempt slips through while the first ones are still being checked. A
successful attempt then clears its account's bucket and refunds its source's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from .indexes import ensure_index
from .throttle import Bucket, Limits

#: Compare-and-set rounds before an attempt on a contended bucket is told to retry.
MAX_ROUNDS = 50


def bucket_of(doc: dict[str, Any] | None) -> Bucket:
    if doc is None:
        return Bucket()
    return Bucket(
        failures=doc.get("failures", 0),
        last_failure_at=doc.get("last_failure_at"),
        locked_until=doc.get("locked_until"),
    )


class Throttle:
    def __init__(self, collection: AsyncCollection[Any]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await ensure_index(self.collection, "keep_until", name="forget", expireAfterSeconds=0)

    async def bucket(self, key: str) -> Bucket:
        return bucket_of(await self.collection.find_one({"_id": key}))

    async def wait_seconds(self, keys: Sequence[tuple[str, Limits]], at: datetime) -> float:
        """The longest wait among ``keys`` (each with its limits); 0 when none must wait."""
        if not keys:
            return 0.0
        buckets = await self.buckets([key for key, _ in keys])
        return max([0.0, *(buckets[key].wait_seconds(limits, at) for key, limits in keys)])

    async def charge(self, key: str, limits: Limits, at: datetime) -> tuple[float, Bucket]:
        """Count an attempt on ``key`` unless it must wait. Returns (0, the bucket after it) when
        counted, or (seconds to wait, the bucket) when not."""
        for _ in range(MAX_ROUNDS):
            doc = await self.collection.find_one({"_id": key})
            bucket = bucket_of(doc)
            if (wait := bucket.wait_seconds(limits, at)) > 0:
                return wait, bucket
            after = bucket.charged(limits, at)
            fields = {
                "failures": after.failures,
                "last_failure_at": after.last_failure_at,
                "locked_until": after.locked_until,
                "keep_until": after.keep_until(limits),
            }
            if doc is None:
                try:
                    await self.collection.insert_one({"_id": key, "seq": 1, **fields})
                except DuplicateKeyError:
                    continue
                return 0.0, after
            written = await self.collection.update_one(
                {"_id": key, "seq": doc.get("seq")}, {"$set": fields, "$inc": {"seq": 1}}
            )
            if written.modified_count == 1:
                return 0.0, after
        # Many attempts on one key at the same instant: this one waits rather than spin.
        return limits.first_delay_seconds, await self.bucket(key)

    async def refund(self, key: str) -> None:
        """Take back one charged attempt (a source's successful sign-in). Not a reset: signing
        in to one's own account between guesses must not clear the source's failures."""
        await self.collection.update_one({"_id": key, "failures": {"$gt": 0}}, {"$inc": {"failures": -1, "seq": 1}})

    async def clear(self, key: str) -> None:
        await self.collection.delete_one({"_id": key})

    async def lock(self, key: str, limits: Limits, until: datetime) -> None:
        keep = replace(await self.bucket(key), locked_until=until).keep_until(limits)
        await self.collection.update_one(
            {"_id": key},
            {"$set": {"locked_until": until}, "$max": {"keep_until": keep}, "$inc": {"seq": 1}},
            upsert=True,
        )

    async def buckets(self, keys: Sequence[str]) -> dict[str, Bucket]:
        """The buckets of ``keys`` (an empty one for a key without failures)."""
        found = {doc["_id"]: doc for doc in await self.collection.find({"_id": {"$in": list(keys)}}).to_list()}
        return {key: bucket_of(found.get(key)) for key in keys}
