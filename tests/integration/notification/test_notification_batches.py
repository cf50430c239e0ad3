"""Emails in batches over a pool of SMTP connections, still at most once (N6).

The sender claims emails a batch at a time, puts the emails whose envelopes are ready
together into the DATA phase in one write, and keeps a few SMTP connections open, each
carrying one message after another. These tests hold it to N6 on a real SMTP server: every
email arrives once, a connection lost in the middle loses nothing and sends nothing twice,
and a worker killed with many emails in flight never sends one of them again.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from contracts.notification.emails import EmailSent
from notification import store
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ...support import Cleanup, running
from ..notification_support import (
    EventTap,
    activity_docs,
    arrived,
    changed,
    invited,
    notification_app,
    publish_event,
    recipient,
    settled,
    shipped,
)
from .test_notification_delivery import KillsTheClient, worker_process


class CountsConnections(CapturedMail):
    """Accepts every message and remembers which connection (client port) carried it."""

    def __init__(self) -> None:
        super().__init__()
        self.carried_by: Counter[tuple[str, int]] = Counter()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.carried_by[session.peer] += 1
        return await super().handle_DATA(server, session, envelope)


class DropsConnections(CapturedMail):
    """Hangs up in the middle of some conversations, as a server restarting or cutting idle
    clients does: at RCPT of every ``at_rcpt``-th message (before DATA: the message is not
    taken), and right after accepting every ``after_data``-th message (the next message on
    that connection finds it closed)."""

    def __init__(self, *, at_rcpt: int, after_data: int) -> None:
        super().__init__()
        self.at_rcpt, self.after_data = at_rcpt, after_data
        self.rcpts = 0
        self.dropped = 0
        self.hang_up: set[int] = set()  # sessions to drop when their next message starts

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list) -> str:
        self.rcpts += 1
        if self.rcpts % self.at_rcpt == 0:
            self.dropped += 1
            server.transport.close()
            return "421 4.3.2 Service shutting down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) % self.after_data == 0:
            self.hang_up.add(id(session))  # once the 250 is out: at the next message's MAIL
        return reply

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list) -> str:
        if id(session) in self.hang_up:
            self.hang_up.discard(id(session))
            self.dropped += 1
            server.transport.close()
            return "421 4.3.2 Service shutting down"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"


def message_ids(handler: CapturedMail) -> Counter[str]:
    return Counter(message["Message-ID"] for message in handler.messages)


async def test_n6_many_emails_over_a_small_pool_of_smtp_connections_arrive_once_each(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """N1, N4, N6: forty system emails of three kinds through two connections, each
    connection carrying many messages in turn; each email once, each EmailSent once."""
    handler = CountsConnections()
    events = []
    for i in range(40):
        to = recipient(email=f"customer{i}@example.com")
        events.append((invited, shipped, changed)[i % 3](to))
    with smtp_server(handler) as port:
        async with (
            EventTap(client, EmailSent.routing_key()) as sent,
            running(notification_app(settings, port, send_concurrency=2), cleanup=cleanup),
        ):
            await asyncio.gather(*(publish_event(client, event) for event in events))
            activities = await settled(settings, 40, timeout=60)
            await arrived(handler, 40)
            sent_events = await sent.events(40)

    assert len(activities) == 40 and all(a["status"] == "sent" and a["attempts"] == 1 for a in activities)
    ids = message_ids(handler)
    assert len(handler.messages) == 40 and set(ids.values()) == {1}
    assert set(ids) == {a["message_id"] for a in activities}
    assert len(handler.carried_by) <= 2, "no more connections than the pool holds"
    assert sum(handler.carried_by.values()) == 40 and max(handler.carried_by.values()) >= 20
    assert sorted(e["payload"]["activity_id"] for e in sent_events) == sorted(a["_id"] for a in activities)


async def test_n6_a_burst_the_worker_has_room_for_is_sent_by_it_without_a_claim(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N6: system emails the worker has room for are recorded already claimed by it and
    sent from there (one attempt each, once each), not queued and fetched back by a claim."""
    claimed_by_claim_due: list[int] = []
    claim_due = store.claim_due

    async def counting_claim_due(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        batch = await claim_due(*args, **kwargs)
        claimed_by_claim_due.append(len(batch))
        return batch

    monkeypatch.setattr(store, "claim_due", counting_claim_due)
    handler = CapturedMail()
    events = [(invited, shipped)[i % 2](recipient(email=f"room{i}@example.com")) for i in range(24)]
    with smtp_server(handler) as port:
        # Room for 8 per connection: 32, more than the burst.
        async with running(notification_app(settings, port, send_concurrency=4), cleanup=cleanup):
            await asyncio.gather(*(publish_event(client, event) for event in events))
            activities = await settled(settings, 24, timeout=60)
            await arrived(handler, 24)

    assert all(a["status"] == "sent" and a["attempts"] == 1 and a["holder"] for a in activities)
    assert len({a["claim"] for a in activities}) < 24, "claimed in batches as they were recorded"
    assert sum(claimed_by_claim_due) == 0, "no email went through a claim of queued emails"
    assert set(message_ids(handler).values()) == {1}


async def test_n6_an_smtp_connection_dropped_mid_batch_loses_nothing_and_sends_nothing_twice(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """N6: the server hangs up before DATA on some messages and between messages on others,
    while a batch is on its connections: every email still arrives, exactly once."""
    handler = DropsConnections(at_rcpt=7, after_data=5)
    events = [shipped(recipient(email=f"buyer{i}@example.com"), number=f"EU-{i}") for i in range(30)]
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port, send_concurrency=3), cleanup=cleanup):
            await asyncio.gather(*(publish_event(client, event) for event in events))
            activities = await settled(settings, 30, timeout=60)
            await arrived(handler, 30)
            await asyncio.sleep(0.3)  # anything sent twice would arrive by now

    assert handler.dropped >= 6, "the server did hang up, several times"
    assert all(a["status"] == "sent" for a in activities), [a["last_error"] for a in activities]
    ids = message_ids(handler)
    assert len(handler.messages) == 30 and set(ids.values()) == {1}, "each email once, none lost"
    assert set(ids) == {a["message_id"] for a in activities}


class KillsAtTheNthData(KillsTheClient):
    """SIGKILLs the sending worker once the server has stored its ``nth`` message."""

    def __init__(self, nth: int) -> None:
        super().__init__(at="DATA")
        self.nth = nth

    def _strike(self, step: str) -> None:
        if len(self.messages) >= self.nth:
            super()._strike(step)


async def test_n6_a_worker_killed_with_a_batch_in_flight_never_sends_an_email_twice(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, tmp_path: Path
) -> None:
    """N6: kill -9 while a batch of emails is between claim and sent, some in DATA on their
    connections: after a new worker takes over, every email was sent once, or was in DATA
    and is failed with outcome unknown (a person checks it), never sent again."""
    handler = KillsAtTheNthData(nth=6)
    log = tmp_path / "worker.log"
    events = [invited(recipient(email=f"member{i}@example.com")) for i in range(24)]
    with smtp_server(handler) as port:
        cleanup.track(settings, notification_app(settings, port))
        async with worker_process(settings, port, log) as first:
            handler.victim = first.pid
            await asyncio.gather(*(publish_event(client, event) for event in events))
            assert await asyncio.wait_for(first.wait(), 60) == -signal.SIGKILL
        killed_with = len(handler.messages)
        async with worker_process(settings, port, log):
            try:
                activities = await settled(settings, 24, timeout=90)
            except AssertionError:
                docs = await activity_docs(settings)
                states = Counter((d["status"], d.get("phase")) for d in docs)
                raise AssertionError(
                    f"{len(docs)} activities not settled: {states}; log: {log.read_text()[-3000:]}"
                ) from None
            await asyncio.sleep(0.3)

    ids = message_ids(handler)
    assert set(ids.values()) == {1}, "no email reached the server twice"
    by_status = Counter(a["status"] for a in activities)
    unknown = [a for a in activities if a["outcome_unknown"]]
    assert unknown, "the email in DATA when the worker died is not sent again but surfaced"
    assert all(a["status"] == "failed" and "may have been delivered" in a["last_error"] for a in unknown)
    assert by_status["sent"] + len(unknown) == 24
    for activity in activities:
        if activity["status"] == "sent":
            assert ids[activity["message_id"]] == 1
    assert len(handler.messages) >= killed_with >= 6
    assert len(handler.messages) == by_status["sent"] + sum(1 for a in unknown if a["message_id"] in ids)


class TakesThenHangsUp(CapturedMail):
    """Stores every ``nth`` message and hangs up before answering it: the client never
    learns whether the server took it."""

    def __init__(self, nth: int) -> None:
        super().__init__()
        self.nth = nth

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) % self.nth == 0:
            server.transport.abort()  # before the 250: no answer ever reaches the client
        return reply


async def test_n6_a_connection_lost_inside_data_is_not_sent_again_but_surfaced(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """N6, at most once: the connection dies after the message went out and before the
    server answered it. The server has it; the worker cannot know, so the email is failed
    with outcome unknown (a person checks it), never sent a second time."""
    handler = TakesThenHangsUp(nth=4)
    events = [shipped(recipient(email=f"shopper{i}@example.com"), number=f"US-{i}") for i in range(12)]
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port, send_concurrency=2), cleanup=cleanup):
            await asyncio.gather(*(publish_event(client, event) for event in events))
            activities = await settled(settings, 12, timeout=60)
            await asyncio.sleep(0.5)  # a resend would arrive by now

    ids = message_ids(handler)
    assert len(handler.messages) == 12 and set(ids.values()) == {1}, "each email reached the server once"
    unknown = [a for a in activities if a["outcome_unknown"]]
    assert len(unknown) == 3, [(a["status"], a["last_error"]) for a in activities]
    assert all(a["status"] == "failed" and "may have been delivered" in a["last_error"] for a in unknown)
    assert sum(1 for a in activities if a["status"] == "sent") == 9
