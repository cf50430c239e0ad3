"""Security step 12 over the real servers: a password reset or set-password token reaches the
customer's mailbox and nothing else (no database of the namespace, no log line, no event in
clear, no staff screen), and the rules of its lifetime: a newer link revokes the older ones,
a completed reset unlocks a locked account, reset emails per customer are limited, and a
reset request by email answers in the same time whether or not the account exists (C14,
C15, N3, N5)."""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest
from cryptography.fernet import Fernet
from pymongo import AsyncMongoClient

from contracts.customer.records import (
    Authenticate,
    ChangeCustomerState,
    CompletePasswordReset,
    GetCustomer,
    GetCustomerAudit,
    RequestPasswordReset,
)
from contracts.envelope import Actor
from customer.app import create_app as customer_app
from customer.settings import CustomerSettings
from plumbing.client import OmsClient
from plumbing.messaging import dead_letter_queue
from plumbing.sealing import REDACTED, Sealer, redact_link, sealer
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ...support import Cleanup, EventTap, eventually, running
from ..conftest import create_customer, create_scope, ok
from ..gateway_support import gateway_stack, signed_in
from ..notification_support import activity_docs, notification_app, publish_event, recipient, reset

CSR = Actor(kind="csr", id="csr-anna", source="10.1.2.3")
PASSWORD = "correct horse battery staple"
LINK = re.compile(r"https?://\S+?/(?:reset-password|set-password)\?token=([A-Za-z0-9_%\-]+)")


# --- helpers ---------------------------------------------------------------------------------------


def token_in(message: EmailMessage) -> str:
    """The token of the one link in an email's plain text (where the customer reads it)."""
    found = LINK.findall(message.get_body(("plain",)).get_content())
    assert len(set(found)) == 1, found
    return found[0]


async def emails_with_link(mail: CapturedMail, address: str, path: str, count: int) -> list[EmailMessage]:
    async def arrived() -> list[EmailMessage] | None:
        found = [
            m
            for m in list(mail.messages)
            if address in str(m["To"]) and f"/{path}?token=" in m.get_body(("plain",)).get_content()
        ]
        return found if len(found) >= count else None

    return await eventually(arrived, timeout=20)


def _strings(value: Any) -> list[str]:
    """Every string (and bytes) inside a stored document, keys included."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    return [str(value)]


async def stored_copies(settings: ServiceSettings, secrets: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Where any of ``secrets`` is stored, in every collection of every database of the test's
    namespace; and what was scanned (database: collections)."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    hits, scanned = [], {}
    try:
        for name in await mongo.list_database_names():
            if not name.startswith(f"{settings.namespace}_"):
                continue
            db = mongo[name]
            scanned[name] = sorted(await db.list_collection_names())
            for collection in scanned[name]:
                async for doc in db[collection].find():
                    text = "\n".join(_strings(doc))
                    hits += [f"{name}.{collection} {doc.get('_id')!r}" for s in secrets if s in text]
    finally:
        await mongo.close()
    return hits, scanned


@asynccontextmanager
async def every_log_record(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """caplog gets what reaches the root logger; FastStream's loggers do not propagate (they
    print to stdout), so within the block caplog's handler also sits on every logger that
    does not, at DEBUG. (Not capfd: FastStream binds a handler to the stdout it finds, and
    one bound to capfd's keeps writing to it, closed, in the tests after this one.)"""
    caplog.set_level(logging.DEBUG)
    # FastStream's access logger may not exist yet: made now, it keeps this handler when
    # the services' brokers make it stop propagating.
    loggers = {
        logging.getLogger("faststream.access.rabbit"),
        *(
            logger
            for logger in list(logging.Logger.manager.loggerDict.values())
            if isinstance(logger, logging.Logger) and not logger.propagate
        ),
    }
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
        logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """The services' log output, tracebacks included, but the SMTP capture server's
    (aiosmtpd's ``mail.log``: it is the customer's mailbox here)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records if not r.name.startswith("mail.log"))


async def all_sent(settings: ServiceSettings, count: int) -> list[dict[str, Any]]:
    async def done() -> list[dict[str, Any]] | None:
        docs = await activity_docs(settings)
        return docs if len(docs) >= count and all(d["status"] == "sent" for d in docs) else None

    return await eventually(done, timeout=20)


@asynccontextmanager
async def customer_service(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, **tuning: Any
) -> AsyncIterator[tuple[Any, EventTap]]:
    """The customer service alone (tuned), scope eu-fr, and a tap on its link events."""
    tuned = CustomerSettings(**{**settings.model_dump(), "account_url": "https://shop.test/account", **tuning})
    app = customer_app(tuned)
    async with running(app, cleanup=cleanup), EventTap(client, "customer.#") as tap:
        await create_scope(client)
        yield app, tap


async def link_events(tap: EventTap, routing_key: str, count: int, *, settle: float = 0.0) -> list[dict]:
    """The ``count`` link events of this kind published so far (after ``settle`` seconds more)."""

    async def enough() -> list[dict] | None:
        await tap.drain()
        found = [e for e in tap.messages if e["routing_key"] == routing_key]
        return found if len(found) >= count else None

    found = await eventually(enough, timeout=20)
    if settle:
        await asyncio.sleep(settle)
        await tap.drain()
        found = [e for e in tap.messages if e["routing_key"] == routing_key]
    return found


def token_of(event: dict) -> str:
    link = sealer(ServiceSettings()).open(event["payload"]["sealed_link"])
    return parse_qs(urlparse(link).query)["token"][0]


def sign_in(client: OmsClient, email: str, password: str, source: str):  # noqa: ANN201
    return client.call(
        Authenticate,
        {"scope_id": "eu-fr", "email": email, "password": password},
        actor=Actor(kind="customer", id="anonymous", source=source),
    )


# --- the token reaches the mailbox only --------------------------------------------------------------


@pytest.mark.timeout(180)
async def test_c14_n3_reset_and_set_password_tokens_reach_only_the_customers_mailbox(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"access_log": True})  # the most a service logs: every message
    async with every_log_record(caplog), gateway_stack(settings, client, cleanup) as s, signed_in(s.app, "csr") as csr:
        # Set-password: a CSR creates a registered customer, who is invited.
        created = await csr.post(
            "/api/customers",
            json={"scope_id": "eu-fr", "first_name": "Inès", "last_name": "Martin", "email": "ines@example.fr"},
        )
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        invitation = (await emails_with_link(s.mail, "ines@example.fr", "set-password", 1))[0]
        setup_token = token_in(invitation)
        await ok(await client.call(CompletePasswordReset, {"token": setup_token, "new_password": PASSWORD}))
        assert (await ok(await sign_in(client, "ines@example.fr", PASSWORD, "ip-1"))).customer_code == code

        # Reset: the CSR asks for it, the customer sets a new password with the emailed link.
        answer = await csr.post(f"/api/customers/{code}/password-reset")
        assert answer.status_code == 200, answer.text
        reset_email = (await emails_with_link(s.mail, "ines@example.fr", "reset-password", 1))[0]
        reset_token = token_in(reset_email)
        await ok(await client.call(CompletePasswordReset, {"token": reset_token, "new_password": PASSWORD + "!"}))
        assert (await ok(await sign_in(client, "ines@example.fr", PASSWORD + "!", "ip-2"))).customer_code == code

        activities = await all_sent(settings, 4)  # welcome, password changed, reset, password changed
        activities_api = (await csr.get(f"/api/customers/{code}/activities")).text
        audit_api = (await csr.get(f"/api/customers/{code}/audit")).text

    tokens = [setup_token, reset_token]
    secrets = [form for token in tokens for form in {token, quote(token, safe=""), quote(quote(token, safe=""))}]
    hits, scanned = await stored_copies(settings, secrets)
    assert {f"{settings.namespace}_customer", f"{settings.namespace}_notification"} <= set(scanned), scanned
    assert {"tokens", "outbox", "audit", "inbox"} <= set(scanned[f"{settings.namespace}_customer"])
    assert {"activities", "outbox", "inbox"} <= set(scanned[f"{settings.namespace}_notification"])
    assert hits == [], f"a token is stored in clear: {hits}"
    logs = logged(caplog)
    assert "faststream.access.rabbit" in logs, "FastStream's records (they do not propagate) were captured"
    leaked = [token for token in secrets if token in logs]
    assert leaked == [], "a token is in the logs"
    assert not [token for token in secrets if token in activities_api or token in audit_api]

    # The emails have the links (the one place they may be); the records have them redacted.
    assert f"set-password?token={setup_token}" in invitation.get_body(("html",)).get_content()
    links = {a["template"]: a for a in activities if a.get("link_sent")}
    assert set(links) == {"welcome", "password-reset"}
    for activity in links.values():
        assert f"?token={REDACTED}" in activity["text"] and "sealed" not in activity, "sent: no copy kept"


# --- staff see that a link was sent, never the link -------------------------------------------------


async def test_c14_n5_a_link_activity_shows_sent_and_its_expiry_never_the_link(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s, signed_in(s.app, "csr") as csr:
        customer = await create_customer(client, email="lea@example.fr", account_type="guest")
        assert (await csr.post(f"/api/customers/{customer.code}/password-reset")).status_code == 200
        token = token_in((await emails_with_link(s.mail, "lea@example.fr", "reset-password", 1))[0])
        await all_sent(settings, 1)
        page = (await csr.get(f"/api/customers/{customer.code}/activities")).json()
        tab = (await csr.get(f"/customers/{customer.code}/tab/activities")).text

    [item] = page["items"]
    assert item["template"] == "password-reset" and item["status"] == "sent"
    assert item["link_sent"]["summary"] == "reset link sent" and item["link_sent"]["purpose"] == "password_reset"
    expires_at = datetime.fromisoformat(item["link_sent"]["expires_at"])
    assert timedelta(hours=23) < expires_at - datetime.now(UTC) <= timedelta(hours=24)
    assert token not in str(page) and "sealed" not in str(page)
    assert f"reset-password?token={REDACTED}" in item["text"]
    # The console shows what was sent and until when, and no link at all.
    assert "Reset link sent, valid until" in tab and expires_at.strftime("%Y-%m-%d") in tab
    assert token not in tab and "token=" not in tab and "<iframe" not in tab


# --- lifetime of a token --------------------------------------------------------------------------------


async def test_c14_a_newer_link_revokes_the_older_ones_before_either_is_used(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with customer_service(settings, client, cleanup) as (_, tap):
        customer = await create_customer(client, email="tom@example.fr")
        [invitation] = await link_events(tap, "customer.password-setup-invited.v1", 1)
        assert await ok(await client.call(RequestPasswordReset, {"customer_code": customer.code}, actor=CSR))
        assert await ok(await client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": "tom@example.fr"}))
        older, newer = await link_events(tap, "customer.password-reset-requested.v1", 2)

        for replaced in (token_of(invitation), token_of(older)):
            refused = await client.call(CompletePasswordReset, {"token": replaced, "new_password": PASSWORD})
            assert refused.error.fields[0].reason == "this link was replaced by a newer one"
        assert await ok(await client.call(CompletePasswordReset, {"token": token_of(newer), "new_password": PASSWORD}))
        assert (await ok(await sign_in(client, "tom@example.fr", PASSWORD, "ip-1"))).customer_code == customer.code


async def test_c14_c15_a_completed_reset_unlocks_a_locked_account_but_not_a_disabled_one(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, customer_db: Any
) -> None:
    async with customer_service(settings, client, cleanup, max_signin_failures=5) as (_, tap):
        customer = await create_customer(client, email="sam@example.fr")
        [invitation] = await link_events(tap, "customer.password-setup-invited.v1", 1)
        await ok(await client.call(CompletePasswordReset, {"token": token_of(invitation), "new_password": PASSWORD}))
        for n in range(5):
            assert (
                await sign_in(client, "sam@example.fr", "wrong password", f"ip-lock-{n}")
            ).error.code == "unauthenticated"
        locked = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
        assert (locked.state, locked.state_reason) == ("disabled", "too many failed sign-ins")

        await ok(await client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": "sam@example.fr"}))
        [reset_event] = await link_events(tap, "customer.password-reset-requested.v1", 1)
        await ok(
            await client.call(CompletePasswordReset, {"token": token_of(reset_event), "new_password": PASSWORD + "!"})
        )
        unlocked = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
        assert unlocked.state == "active"
        assert (await customer_db["customers"].find_one({"_id": customer.code}))["failed_signins"] == 0
        assert (
            await ok(await sign_in(client, "sam@example.fr", PASSWORD + "!", "ip-9"))
        ).customer_code == customer.code
        await tap.drain()
        states = [e["payload"] for e in tap.messages if e["routing_key"] == "customer.customer-state-changed.v1"]
        assert [(p["previous"], p["state"]) for p in states] == [("active", "disabled"), ("disabled", "active")]
        trail = await ok(await client.call(GetCustomerAudit, {"customer_code": customer.code}))
        assert ("enabled", "customer", customer.code) in [(e.action, e.actor_kind, e.actor_id) for e in trail.items]

        # A CSR's disable is a decision, not a lock: a reset does not lift it.
        await ok(
            await client.call(
                ChangeCustomerState,
                {
                    "customer_code": customer.code,
                    "expected_version": unlocked.version,
                    "action": "disable",
                    "reason": "chargeback",
                },
                actor=CSR,
            )
        )
        await ok(await client.call(RequestPasswordReset, {"customer_code": customer.code}, actor=CSR))
        second = (await link_events(tap, "customer.password-reset-requested.v1", 2))[-1]
        await ok(await client.call(CompletePasswordReset, {"token": token_of(second), "new_password": PASSWORD}))
        still = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
        assert (still.state, still.state_reason) == ("disabled", "chargeback")


async def test_c14_reset_emails_per_customer_are_limited_answered_alike_and_recorded(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, customer_db: Any
) -> None:
    # A window no burst outlasts, however loaded the machine: the test ages the record to open
    # the next one, instead of waiting it out (a three-second window let a slow burst span two).
    window_minutes = 10
    async with customer_service(
        settings, client, cleanup, reset_emails_per_window=3, reset_email_window_minutes=window_minutes
    ) as (app, tap):
        customer = await create_customer(client, email="zoe@example.fr")
        replies = await asyncio.gather(
            *(client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": "zoe@example.fr"}) for _ in range(8)),
            *(client.call(RequestPasswordReset, {"customer_code": customer.code}, actor=CSR) for _ in range(12)),
        )
        assert [r.ok for r in replies] == [True] * 20, [r.error for r in replies if not r.ok]
        assert {r.result.model_dump_json() for r in replies} == {replies[0].result.model_dump_json()}
        sent = await link_events(tap, "customer.password-reset-requested.v1", 3, settle=1.0)
        assert len(sent) == 3, "at most three reset emails within the window, however many requests"

        trail = await ok(await client.call(GetCustomerAudit, {"customer_code": customer.code, "limit": 100}))
        actions = [e.action for e in trail.items]
        assert actions.count("password reset requested") == 3
        assert actions.count("password reset not sent: 3 reset emails within 10 minutes") == 17
        registry = app.context.get("runtime").registry
        assert registry.get_sample_value("oms_reset_emails_withheld_total", {"service": "customer"}) == 17
        open_tokens = await customer_db["tokens"].count_documents({"customer_code": customer.code, "revoked_at": None})
        assert open_tokens == 1, "each reset email revoked the one before"

        record = await customer_db["reset_emails"].find_one({"_id": customer.code})
        aged = [at - timedelta(minutes=window_minutes, seconds=1) for at in record["sent_at"]]
        await customer_db["reset_emails"].update_one({"_id": customer.code}, {"$set": {"sent_at": aged}})
        await ok(await client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": "zoe@example.fr"}))
        assert len(await link_events(tap, "customer.password-reset-requested.v1", 4)) == 4, "a new window, a new email"


@pytest.mark.timeout(180)
async def test_c14_a_reset_request_by_email_takes_the_same_time_whether_or_not_the_account_exists(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, customer_db: Any
) -> None:
    rounds = 30
    async with customer_service(settings, client, cleanup, reset_emails_per_window=10 * rounds) as _:
        customer = await create_customer(client, email="tim@example.fr")

        async def answered_in(email: str) -> float:
            started = time.perf_counter()
            assert await ok(await client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": email}))
            return time.perf_counter() - started

        await answered_in("warm-up@example.fr")
        known, unknown = [], []
        for i in range(rounds):  # interleaved, so that the machine's load weighs on both alike
            known.append(await answered_in("tim@example.fr"))
            unknown.append(await answered_in(f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.fr"))
        issued = await customer_db["tokens"].count_documents({"customer_code": customer.code, "kind": "password_reset"})

    assert issued == rounds, "every request for the existing account did the whole work"
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    assert min(known_median, unknown_median) >= 0.25, (known_median, unknown_median)
    assert 0.8 < known_median / unknown_median < 1.25, (known_median, unknown_median)


# --- the notification service opens only what was sealed with its key ---------------------------------


async def test_n3_a_link_sealed_with_another_key_is_dead_lettered_not_emailed(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    foreign = Sealer(Fernet.generate_key().decode())
    link = f"https://shop.example.com/account/reset-password?token={uuid.uuid4().hex}"
    event = reset(recipient())
    event = event.model_copy(
        update={
            "payload": event.payload.model_copy(update={"link": redact_link(link), "sealed_link": foreign.seal(link)})
        }
    )
    mail = CapturedMail()
    with smtp_server(mail) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            await publish_event(client, event)
            queue = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, "notification"))

            async def dead_letter() -> Any:
                return await queue.get(no_ack=True, fail=False)

            letter = await eventually(dead_letter, timeout=15)
            await asyncio.sleep(0.3)
    assert letter.headers["x-oms-reason"] == "rejected"
    assert "payload.sealed_link" in str(letter.headers["x-oms-field-errors"])
    assert mail.messages == [] and await activity_docs(settings) == []
