"""C15 sign-in policy, one place, no I/O: lock an account after consecutive failures, and
slow a source (an address or channel) that keeps failing, whatever accounts it tries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LOCKED_REASON = "too many failed sign-ins"


@dataclass(frozen=True)
class SignInPolicy:
    max_account_failures: int = 5
    #: Failures a source may have before it is slowed down.
    free_source_failures: int = 3
    #: Delay after the first slowed failure; it doubles with each further failure.
    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 300.0
    #: A source's failures are forgotten after this quiet time.
    source_memory: timedelta = timedelta(hours=1)

    def account_locks(self, consecutive_failures: int) -> bool:
        return consecutive_failures >= self.max_account_failures

    def source_delay(self, failures: int) -> float:
        """Seconds a source must wait before its next attempt, after ``failures`` failures."""
        over = failures - self.free_source_failures
        if over < 0:
            return 0.0
        return min(self.first_delay_seconds * 2**over, self.max_delay_seconds)

    def retry_after(self, blocked_until: datetime | None, now: datetime) -> float:
        if blocked_until is None or blocked_until <= now:
            return 0.0
        return (blocked_until - now).total_seconds()
