"""N6: the emails a worker's sender takes as they are recorded, within the room it has.

A worker holds at most eight emails per SMTP connection; ``Outbound.take`` claims, as they
are recorded, only as many queued emails as that room allows, and ``recorded`` starts those
that were recorded now (not an email an earlier delivery of its event had recorded).
"""

from __future__ import annotations

import asyncio
from typing import Any

from notification.outbound import Outbound
from notification.settings import NotificationSettings


class Started(Outbound):
    """The sender without SMTP: remembers what it would have sent."""

    def __init__(self, connections: int) -> None:
        super().__init__(NotificationSettings(send_concurrency=connections))
        self.holder = "worker-1:abcd"
        self.started: list[dict[str, Any]] = []

    def _start(self, claimed: dict[str, Any]) -> None:
        self.started.append(claimed)


def queued(n: int, status: str = "queued") -> list[dict[str, Any]]:
    return [{"_id": f"e{i}", "status": status, "attempts": 0, "next_attempt_at": "now"} for i in range(n)]


def test_n6_only_as_many_as_the_room_are_claimed_as_they_are_recorded_the_rest_stay_queued() -> None:
    sender = Started(connections=1)  # room for 8
    activities, claim = sender.take([*queued(10), {"_id": "x", "status": "failed", "attempts": 0}])

    claimed = [a for a in activities if a.get("claim") == claim]
    assert claim is not None and len(claimed) == 8
    assert all(a["status"] == "sending" and a["phase"] == "claimed" and a["attempts"] == 1 for a in claimed)
    assert all(a["holder"] == "worker-1:abcd" and a["lease_until"] and a["next_attempt_at"] is None for a in claimed)
    rest = [a for a in activities if a.get("claim") != claim]
    assert [a["status"] for a in rest] == ["queued", "queued", "failed"], "a failed email is never claimed"
    assert sender.take(queued(3)) == (queued(3), None), "the room is held until they are recorded"


def test_n6_recorded_starts_only_the_emails_recorded_now_and_frees_the_room() -> None:
    sender = Started(connections=1)
    activities, claim = sender.take(queued(5))
    # e0 was there already (its event delivered again): the insert left it as it was.
    sender.recorded(claim, activities[1:])

    assert [doc["_id"] for doc in sender.started] == ["e1", "e2", "e3", "e4"]
    _, again = sender.take(queued(8))
    assert again is not None, "the room is free again once they are recorded"


def test_n6_a_failed_record_frees_the_room_and_sends_nothing() -> None:
    sender = Started(connections=1)
    _, claim = sender.take(queued(8))
    sender.recorded(claim, [])  # the insert raised: the events are retried

    assert sender.started == []
    assert sender.take(queued(8))[1] is not None


def test_n6_a_stopping_worker_claims_nothing_as_it_records() -> None:
    sender = Started(connections=1)
    sender._stopping = True

    assert sender.take(queued(2)) == (queued(2), None)


def test_n6_a_batch_waits_for_room_no_longer_than_it_is_told() -> None:
    sender = Started(connections=1)
    sender.take(queued(8))  # no room left

    async def wait() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await sender.room_for(4, within=0.05)
        return loop.time() - started

    assert 0.04 <= asyncio.run(wait()) < 1.0
