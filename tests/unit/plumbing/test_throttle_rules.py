"""Sign-in throttling rules without servers (C15, I4): delays double after the free failures
up to a cap, a lock is reached once, and a bucket is forgotten after its quiet time but never
before its wait or lock ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from plumbing.throttle import Bucket, Limits, retry_after, too_many_attempts

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LIMITS = Limits(
    free_failures=3,
    first_delay_seconds=1.0,
    max_delay_seconds=60.0,
    forget_after=timedelta(minutes=10),
    lock_after=8,
    lock_for=timedelta(minutes=15),
)


def test_c15_i4_delays_start_after_the_free_failures_double_and_stop_at_the_cap() -> None:
    assert [LIMITS.delay_seconds(n) for n in range(0, 11)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert LIMITS.delay_seconds(10_000) == 60, "no overflow however many failures"


def test_c15_i4_a_bucket_waits_after_its_last_failure_and_the_lock_counts_once() -> None:
    bucket = Bucket()
    for _ in range(3):
        assert bucket.wait_seconds(LIMITS, T0) == 0
        bucket = bucket.charged(LIMITS, T0)
    assert bucket.failures == 3 and bucket.wait_seconds(LIMITS, T0) == 1.0
    assert bucket.wait_seconds(LIMITS, T0 + timedelta(seconds=1)) == 0
    assert [LIMITS.locks(n) for n in (7, 8, 9)] == [False, True, False]
    locked = Bucket(failures=8, last_failure_at=T0, locked_until=T0 + timedelta(minutes=15))
    assert locked.wait_seconds(LIMITS, T0 + timedelta(minutes=5)) == 600.0


def test_c15_i4_a_bucket_is_forgotten_after_its_quiet_time_not_before_its_lock_ends() -> None:
    bucket = Bucket(failures=5, last_failure_at=T0)
    assert bucket.current(LIMITS, T0 + timedelta(minutes=9)) == bucket
    assert bucket.current(LIMITS, T0 + timedelta(minutes=10)) == Bucket()
    assert bucket.charged(LIMITS, T0 + timedelta(minutes=11)).failures == 1, "a forgotten bucket starts over"
    locked = Bucket(failures=8, last_failure_at=T0, locked_until=T0 + timedelta(minutes=15))
    assert locked.keep_until(LIMITS) == T0 + timedelta(minutes=15)
    assert locked.current(LIMITS, T0 + timedelta(minutes=12)) == locked
    # A clock a little behind the last failure (another worker's attempt) does not make a free attempt wait.
    assert Bucket(failures=1, last_failure_at=T0).wait_seconds(LIMITS, T0 - timedelta(milliseconds=5)) == 0


def test_c15_i4_the_answer_names_whole_seconds_at_least_one() -> None:
    assert [retry_after(s) for s in (0.01, 1.0, 1.2, 299.5)] == [1, 1, 2, 300]
    assert too_many_attempts(0.3) == "too many attempts; try again in 1 s"
