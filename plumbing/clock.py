"""Time as MongoDB keeps it: UTC, to the millisecond.

A time written to MongoDB reads back truncated to milliseconds; a reply, a cursor or a
comparison made with the full-precision time would then disagree with the stored one. Every
service takes "now" and truncates stored times here.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_ms(at: datetime) -> datetime:
    """``at`` truncated to the millisecond, as it will read back from MongoDB."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def now() -> datetime:
    """The current UTC time at MongoDB's precision."""
    return to_ms(datetime.now(UTC))
