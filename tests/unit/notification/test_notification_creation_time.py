"""N5: a customer's email history shows activities in the order their causes arrived, even
when a batch records several within one millisecond (MongoDB keeps milliseconds)."""

from __future__ import annotations

from notification import store


def test_n5_activities_recorded_in_one_millisecond_get_increasing_times() -> None:
    times = [store.creation_time() for _ in range(500)]  # far faster than one per millisecond
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    assert all(t.microsecond % 1000 == 0 for t in times)  # still what MongoDB stores exactly
    assert (times[-1] - store.now()).total_seconds() < 1  # ahead of the clock by milliseconds at most
