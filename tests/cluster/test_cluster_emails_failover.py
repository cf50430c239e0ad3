"""N6 on a replica set (issue 23): the sender's writes before DATA meet a failover, and every
email still goes out once, at once, counting one attempt.

The claim and the DATA phase are multi-document updates, which the driver does not retry. A
primary that steps down while such an update waits for the majority answers it with a write
concern error (``InterruptedDueToReplStateChange``) after it applied it: in the fault test of
a primary stepped down twice, 2 emails of 400 stayed claimed by a worker that never learned
it held them, until their lease ran out. Here the primary answers this sender's next update
so (MongoDB's ``failCommand`` fail point, for this test's client only: ``writeConcernError``
applies the write and then reports the error; ``errorCode`` refuses it without applying it),
once at the claim, once at the DATA phase; the lease is an hour, so only a retried write
sends the emails within the test.

The emails a worker records already claimed (``Outbound.take``) meet it at their insert: in the
same fault test, an insert answered so left one email of 400 claimed by the worker whose
handler then failed, and the handler's second try found it recorded and left it alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from pymongo import AsyncMongoClient, MongoClient
from pymongo.errors import PyMongoError

from notification import store
from notification.handlers import record_and_send
from notification.outbound import Outbound
from notification.settings import NotificationSettings
from plumbing.runtime import ServiceRuntime
from plumbing.service import build_runtime
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import OUTBOX
from tools.smtp_capture import CapturedMail, smtp_server

from ..support import eventually, new_namespace
from .support import Cluster, fail_once

pytestmark = pytest.mark.cluster

APP = "sender-failover-probe"
EMAILS = 3
#: The primary's answer to an update: applied, then the wait for the majority interrupted
#: (a step-down), or refused as by a primary that is stepping down.
APPLIED_THEN_INTERRUPTED = {
    "writeConcernError": {"code": 11602, "codeName": "InterruptedDueToReplStateChange", "errmsg": "stepped down"}
}
REFUSED = {"errorCode": 11602}


class AtRcpt(CapturedMail):
    """Calls ``hook`` (once) when the first RCPT arrives: the claim is written, the DATA
    phase not yet (the sender waits for this answer before it asks for it)."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], None] | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()  # blocks the server's loop: every RCPT waits for it
        envelope.rcpt_tos.append(address)
        return "250 OK"


def activity(namespace: str, n: int) -> dict[str, Any]:
    now = store.now()
    key = f"{namespace}-{n}"
    return {
        "_id": key,
        "customer_code": f"C{n}",
        "scope_id": "s",
        "order": None,
        "initiated_by": "system",
        "cause_id": key,
        "cause_type": "tests",
        "template": "welcome",
        "language": "en",
        "sender": "OMS <noreply@example.com>",
        "to": f"probe{n}@example.com",
        "to_name": f"Probe {n}",
        "subject": f"Probe {key}",
        "html": "<p>hello</p>",
        "text": "hello",
        "message_id": f"<{key}@example.com>",
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "errors": [],
        "outcome_unknown": False,
        "created_at": now,
        "sent_at": None,
        "failed_at": None,
    }


@pytest.fixture
async def sender(healed: Cluster) -> AsyncIterator[tuple[Outbound, AtRcpt, ServiceRuntime]]:
    handler = AtRcpt()
    with smtp_server(handler) as port:
        settings = ServiceSettings(
            namespace=new_namespace(), amqp_url=healed.amqp_url, mongodb_url=healed.mongodb_url, smtp_port=port
        )
        runtime = build_runtime("notification", settings)[0]
        # A primary that answers "not primary" is forgotten until the driver's next look at it:
        # after a real step-down at once (the server tells its monitor), after a fail point's
        # answer only at the next heartbeat, 10 s by default.
        runtime.mongo = AsyncMongoClient(settings.mongodb_url, appname=APP, tz_aware=True, heartbeatFrequencyMS=500)
        outbound = Outbound(NotificationSettings(lease_seconds=3600, poll_seconds=0.05, retry_base_seconds=3600))
        await outbound.start(runtime)
        try:
            yield outbound, handler, runtime
        finally:
            await outbound.stop()
            await runtime.mongo.drop_database(runtime.db.name)
            await runtime.mongo.close()


async def sent_once(outbound: Outbound, handler: AtRcpt, runtime: ServiceRuntime) -> None:
    db = runtime.db
    await db[store.ACTIVITIES].insert_many([activity(db.name, n) for n in range(EMAILS)])
    outbound.wake()
    await each_sent_once(handler, runtime)


async def each_sent_once(handler: AtRcpt, runtime: ServiceRuntime) -> None:
    """Every probe email marked sent (within the test, so long before its lease of an hour),
    received once, with one attempt and no error, and its ``EmailSent`` in the outbox."""
    db = runtime.db

    async def all_sent() -> list[dict[str, Any]]:
        docs = await db[store.ACTIVITIES].find({"status": "sent"}).to_list()
        return docs if len(docs) == EMAILS else []

    docs = await eventually(all_sent, timeout=60)
    await asyncio.sleep(0.5)  # a second copy would have arrived by now
    subjects = sorted(str(message["subject"]) for message in handler.messages)
    assert subjects == sorted(f"Probe {db.name}-{n}" for n in range(EMAILS)), "each email once"
    assert [(doc["attempts"], doc["errors"], doc["phase"]) for doc in docs] == [(1, [], None)] * EMAILS
    assert await db[OUTBOX].count_documents({}) == EMAILS  # one EmailSent each


@pytest.mark.parametrize("answer", [APPLIED_THEN_INTERRUPTED, REFUSED], ids=["applied", "refused"])
async def test_n6_a_claim_that_meets_a_step_down_is_written_again_and_each_email_sent_once(
    healed: Cluster, sender: tuple[Outbound, AtRcpt, ServiceRuntime], answer: dict[str, Any]
) -> None:
    fail_once(healed, APP, "update", **answer)
    await sent_once(*sender)


@pytest.mark.parametrize("answer", [APPLIED_THEN_INTERRUPTED, REFUSED], ids=["applied", "refused"])
async def test_n6_a_data_phase_write_that_meets_a_step_down_is_written_again_and_each_email_sent_once(
    healed: Cluster, sender: tuple[Outbound, AtRcpt, ServiceRuntime], answer: dict[str, Any]
) -> None:
    outbound, handler, runtime = sender
    handler.hook = lambda: fail_once(healed, APP, "update", **answer)
    await sent_once(outbound, handler, runtime)


@pytest.mark.parametrize("answer", [APPLIED_THEN_INTERRUPTED, REFUSED], ids=["applied", "refused"])
async def test_n6_emails_recorded_claimed_whose_insert_meets_a_step_down_are_sent_once_at_once(
    healed: Cluster, sender: tuple[Outbound, AtRcpt, ServiceRuntime], answer: dict[str, Any]
) -> None:
    """The handler's path: the batch's insert fails, the batch is tried again (as the
    handler's retry does), and every email goes out once, well before its lease."""
    outbound, handler, runtime = sender
    db = runtime.db
    fail_once(healed, APP, "insert", times=2, **answer)  # the insert and the driver's retry of it
    batch = [activity(db.name, n) for n in range(EMAILS)]
    with pytest.raises(PyMongoError):
        await record_and_send(runtime, outbound, batch)
    await record_and_send(runtime, outbound, batch)  # the batch again, as its events are retried
    await each_sent_once(handler, runtime)
