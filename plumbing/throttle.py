"""Sign-in throttling rules, no I/O (C15, I4): how long a bucket of failed attempts must wait.

A bucket counts the failures of one key (an account, or a source address) in a row. After
``free_failures`` of them, each further attempt waits ``first_delay * 2**(failures - free)``
seconds after the last failure, at most ``max_delay``; at ``lock_after`` failures the key is
also locked for ``lock_for``. Failures are forgotten after ``forget_after`` without one.
``plumbing.throttle_store`` keeps the buckets in MongoDB; the customer service and the
gateway each build their limits from their settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Limits:
    free_failures: int
    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 300.0
    forget_after: timedelta = timedelta(hours=1)
    #: Failures in a row that lock the key for ``lock_for`` (None: never locked, only slowed).
    lock_after: int | None = None
    lock_for: timedelta = timedelta(minutes=15)

    def delay_seconds(self, failures: int) -> float:
        """How long after the last of ``failures`` failures the next attempt must wait."""
        over = failures - self.free_failures
        if over < 0:
            return 0.0
        # min() before the power would overflow a float after ~1,000 failures.
        return float(min(self.first_delay_seconds * 2 ** min(over, 64), self.max_delay_seconds))

    def locks(self, failures: int) -> bool:
        """True for the one failure that reaches the lock (later ones are only slowed)."""
        return self.lock_after is not None and failures == self.lock_after


@dataclass(frozen=True)
class SignInLimits:
    """The limits of one kind of sign-in: by account (slowed, then locked after ``lock_after``
    failures) and by source (slowed only), from settings named ``signin_*`` alike in the
    customer service and the gateway."""

    account: Limits
    source: Limits

    @classmethod
    def build(cls, settings: Any, *, lock_after: int) -> Any:
        delays = {
            "first_delay_seconds": settings.signin_first_delay_seconds,
            "max_delay_seconds": settings.signin_max_delay_seconds,
            "forget_after": timedelta(minutes=settings.signin_forget_minutes),
        }
        return cls(
            account=Limits(
                free_failures=settings.signin_free_failures,
                lock_after=lock_after,
                lock_for=timedelta(minutes=settings.signin_lock_minutes),
                **delays,
            ),
            source=Limits(free_failures=settings.signin_source_free_failures, **delays),
        )


@dataclass(frozen=True)
class Bucket:
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def keep_until(self, limits: Limits) -> datetime | None:
        """When the bucket is forgotten: after the quiet time, and never before its wait or lock ends."""
        if self.last_failure_at is None:
            return self.locked_until
        ends = [
            self.last_failure_at + limits.forget_after,
            self.last_failure_at + timedelta(seconds=limits.delay_seconds(self.failures)),
        ]
        if self.locked_until is not None:
            ends.append(self.locked_until)
        return max(ends)

    def current(self, limits: Limits, at: datetime) -> Bucket:
        """The bucket as it stands at ``at``: empty once forgotten (MongoDB's TTL deletes it later)."""
        keep = self.keep_until(limits)
        return self if keep is not None and keep > at else Bucket()

    def wait_seconds(self, limits: Limits, at: datetime) -> float:
        """Seconds before the next attempt may be tried; 0 when it may be tried now."""
        bucket = self.current(limits, at)
        waits = [0.0]
        if bucket.locked_until is not None:
            waits.append((bucket.locked_until - at).total_seconds())
        delay = limits.delay_seconds(bucket.failures)
        if bucket.last_failure_at is not None and delay > 0:
            waits.append((bucket.last_failure_at + timedelta(seconds=delay) - at).total_seconds())
        return max(waits)

    def charged(self, limits: Limits, at: datetime) -> Bucket:
        """The bucket once an attempt at ``at`` is counted as a failure (refunded if it succeeds)."""
        bucket = self.current(limits, at)
        return replace(bucket, failures=bucket.failures + 1, last_failure_at=at)


def retry_after(seconds: float) -> int:
    """Whole seconds to tell the caller, at least 1 (a 0 would invite an immediate retry)."""
    return max(1, math.ceil(seconds))


def too_many_attempts(seconds: float) -> str:
    """The answer to a throttled attempt: the same whether or not the password was right."""
    return f"too many attempts; try again in {retry_after(seconds)} s"
