"""Step 3 over real RabbitMQ and MongoDB: passwords, verification and claim, sign-in and
lockout, acting on behalf (C14, C15, C16, C20)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import (
    Authenticate,
    ChangeCustomerState,
    CompletePasswordReset,
    CreateCustomer,
    EndOnBehalfSession,
    GetCustomer,
    GetCustomerAudit,
    ImportCustomers,
    InviteCustomersWithoutPassword,
    RegisterCustomer,
    RequestPasswordReset,
    SearchCustomers,
    StartOnBehalfSession,
    UpdateCustomer,
    VerifyEmail,
)
from contracts.envelope import Actor
from customer.app import create_app as customer_app
from plumbing import passwords
from plumbing.client import OmsClient
from plumbing.sealing import sealer
from plumbing.settings import ServiceSettings

from ...support import Cleanup, EventTap, eventually, running
from ..conftest import create_customer, create_scope, ok

CSR = Actor(kind="csr", id="csr-anna", source="10.1.2.3")
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def accounts(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> AsyncIterator[EventTap]:
    """The customer service with short token lifetimes, a scope, and a tap on its events."""
    from customer.settings import CustomerSettings

    tuned = CustomerSettings(
        **settings.model_dump(),
        reset_token_hours=1.0,
        max_signin_failures=5,
        signin_source_free_failures=3,
        # Long enough that a slowed source is still waiting at its next attempt on a loaded
        # machine (the default 1 s ran out between two attempts in a fresh-clone CI).
        signin_first_delay_seconds=30,
        account_url="https://shop.test/account",
    )
    async with running(customer_app(tuned), cleanup=cleanup), EventTap(client, "customer.#") as tap:
        await create_scope(client)
        yield tap


def token_of(event: dict) -> str:
    """The token of a link event as the notification service reads it: the sealed link opened
    with the key the two services share; the event shows the link only redacted (C14)."""
    assert event["payload"]["link"].endswith("?token=[redacted]")
    link = sealer(ServiceSettings()).open(event["payload"]["sealed_link"])
    assert link.startswith("https://shop.test/account/")
    return parse_qs(urlparse(link).query)["token"][0]


async def next_event(tap: EventTap, routing_key: str) -> dict:
    async def found() -> dict | None:
        await tap.drain()
        matches = [e for e in tap.messages if e["routing_key"] == routing_key]
        if matches:
            tap.messages.remove(matches[0])
            return matches[0]
        return None

    return await eventually(found)


async def test_c14_invitation_then_password_set_once_and_the_link_is_single_use(
    client: OmsClient, accounts: EventTap, customer_db: AsyncDatabase
) -> None:
    customer = await create_customer(client, email="ines@example.fr")
    await create_customer(client, email="guest@example.fr", account_type="guest")
    invitation = await next_event(accounts, "customer.password-setup-invited.v1")
    assert invitation["payload"]["recipient"]["customer_code"] == customer.code
    assert "/set-password?token=" in invitation["payload"]["link"]
    await asyncio.sleep(0.3)
    await accounts.drain()
    assert not [e for e in accounts.messages if e["routing_key"].endswith("password-setup-invited.v1")], (
        "a guest is never invited"
    )

    token = token_of(invitation)
    assert await ok(await client.call(CompletePasswordReset, {"token": token, "new_password": PASSWORD}))
    done = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
    assert done.has_password and done.email_verified and done.last_password_reset_at is not None
    changed = await next_event(accounts, "customer.password-changed.v1")
    assert changed["payload"]["recipient"]["email"] == "ines@example.fr"

    again = await client.call(CompletePasswordReset, {"token": token, "new_password": "another password!"})
    assert again.error.fields[0].field == "payload.token" and "already used" in again.error.fields[0].reason
    stored = await customer_db["tokens"].find_one({})
    assert token not in str(stored) and len(stored["_id"]) == 64  # only the SHA-256 is kept


async def test_c14_reset_by_csr_or_by_the_customer_revokes_older_links_and_expires(
    client: OmsClient, accounts: EventTap, customer_db: AsyncDatabase
) -> None:
    customer = await create_customer(client, email="ines@example.fr", account_type="guest")
    await client.call(
        UpdateCustomer,
        {"customer_code": customer.code, "expected_version": 1, "changes": {"account_type": "registered"}},
    )
    assert await ok(await client.call(RequestPasswordReset, {"customer_code": customer.code}, actor=CSR))
    first = token_of(await next_event(accounts, "customer.password-reset-requested.v1"))
    assert await ok(await client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": "INES@example.fr"}))
    second = token_of(await next_event(accounts, "customer.password-reset-requested.v1"))
    # An unknown email gets the same answer and no email.
    assert await ok(await client.call(RequestPasswordReset, {"scope_id": "eu-fr", "email": "nobody@example.fr"}))

    assert await ok(await client.call(CompletePasswordReset, {"token": second, "new_password": PASSWORD}))
    replaced = await client.call(CompletePasswordReset, {"token": first, "new_password": PASSWORD})
    assert "replaced" in replaced.error.fields[0].reason

    assert await ok(await client.call(RequestPasswordReset, {"customer_code": customer.code}, actor=CSR))
    late = token_of(await next_event(accounts, "customer.password-reset-requested.v1"))
    await customer_db["tokens"].update_many(
        {"used_at": None, "revoked_at": None}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    before = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
    expired = await client.call(CompletePasswordReset, {"token": late, "new_password": "yet another one"})
    assert "expired" in expired.error.fields[0].reason
    unknown = await client.call(CompletePasswordReset, {"token": "x" * 43, "new_password": "yet another one"})
    assert unknown.error.fields[0].reason == "this link is not valid"
    after = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
    assert after.version == before.version, "a refused token changes nothing"

    trail = await ok(await client.call(GetCustomerAudit, {"customer_code": customer.code}))
    actions = [(e.action, e.actor_id) for e in trail.items]
    assert ("password reset requested", "csr-anna") in actions
    assert any(a.startswith("password set with a password reset link") for a, _ in actions)


async def test_c14_set_empty_passwords_invites_in_resumable_idempotent_batches(
    client: OmsClient, accounts: EventTap
) -> None:
    rows = [
        {
            "scope_id": "eu-fr",
            "first_name": f"P{i}",
            "last_name": "Import",
            "email": f"p{i}@example.fr",
            "account_type": "guest" if i >= 7 else "registered",
            "channel": "import",
            "idempotency_key": f"k{i}",
        }
        for i in range(9)
    ]
    await ok(await client.call(ImportCustomers, {"rows": rows}))
    # A disabled account is not invited (nor an erased, rejected or merged-away one).
    found = await ok(await client.call(SearchCustomers, {"email": "p6@example.fr"}))
    p6 = await ok(await client.call(GetCustomer, {"customer_code": found.items[0].code}))
    await ok(
        await client.call(
            ChangeCustomerState,
            {"customer_code": p6.code, "expected_version": p6.version, "action": "disable", "reason": "fraud check"},
            actor=CSR,
        )
    )
    progress, after, batches = None, None, []
    while progress is None or not progress.done:
        progress = await ok(await client.call(InviteCustomersWithoutPassword, {"batch_size": 3, "after_code": after}))
        batches.append(progress.invited)
        after = progress.last_code
    assert batches == [3, 3, 0] and sum(batches) == 6
    rerun = await ok(await client.call(InviteCustomersWithoutPassword, {"batch_size": 50}))
    assert rerun.invited == 0 and rerun.done

    def invitations(events: list[dict[str, Any]]) -> list[str]:
        return sorted(
            e["payload"]["recipient"]["email"]
            for e in events
            if e["routing_key"] == "customer.password-setup-invited.v1"
        )

    async def six_invited() -> list[dict[str, Any]] | None:
        events = await accounts.drain()
        return events if len(invitations(events)) >= 6 else None

    events = await eventually(six_invited)
    await asyncio.sleep(0.3)  # time for a seventh invitation to show, if there were one
    events = await accounts.drain()
    assert invitations(events) == sorted(f"p{i}@example.fr" for i in range(6))
    # The import announced its 9 customers (in one CustomersImported per transaction).
    imported = [
        c["email"]
        for e in events
        if e["routing_key"] == "customer.customers-imported.v1"
        for c in e["payload"]["customers"]
    ]
    assert sorted(imported) == sorted(f"p{i}@example.fr" for i in range(9))


async def test_c15_sign_in_lockout_and_a_slowed_source(client: OmsClient, accounts: EventTap) -> None:
    customer = await create_customer(client, email="sam@example.fr")
    token = token_of(await next_event(accounts, "customer.password-setup-invited.v1"))
    await ok(await client.call(CompletePasswordReset, {"token": token, "new_password": PASSWORD}))

    def attempt(password: str, source: str, email: str = "sam@example.fr"):  # noqa: ANN202
        return client.call(
            Authenticate,
            {"scope_id": "eu-fr", "email": email, "password": password},
            actor=Actor(kind="customer", id="anonymous", source=source),
        )

    signed_in = await ok(await attempt(PASSWORD, "ip-1"))
    assert signed_in.customer_code == customer.code
    assert (await ok(await client.call(GetCustomer, {"customer_code": customer.code}))).last_login_at

    wrong, unknown = await attempt("wrong password", "ip-2"), await attempt(PASSWORD, "ip-3", "who@example.fr")
    assert wrong.error == unknown.error and wrong.error.code == "unauthenticated"

    # One source failing again and again is slowed, whatever it tries; another is not.
    for _ in range(2):
        assert (await attempt("guess", "ip-4", "who@example.fr")).error.code == "unauthenticated"
    slowed = await attempt("guess", "ip-4", "who@example.fr")
    assert slowed.error.code == "unauthenticated"  # the third failure sets a delay
    blocked = await attempt(PASSWORD, "ip-4")
    assert blocked.error.code == "rate_limited" and blocked.error.details["retry_after_seconds"] >= 1
    assert (await attempt(PASSWORD, "ip-5")).ok

    # Five consecutive failures on the account lock it for a while (from sources not yet slowed).
    for n in range(5):
        await attempt("wrong password", f"ip-lock-{n}")
    locked = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
    assert locked.state == "disabled" and locked.state_reason == "too many failed sign-ins"
    refused = await attempt(PASSWORD, "ip-6")
    assert refused.error.code == "rate_limited" and refused.error.message.startswith("too many attempts")
    state_event = await next_event(accounts, "customer.customer-state-changed.v1")
    assert state_event["payload"]["reason"] == "too many failed sign-ins"
    await ok(
        await client.call(
            ChangeCustomerState,
            {
                "customer_code": customer.code,
                "expected_version": locked.version,
                "action": "enable",
                "reason": "called, identity checked",
            },
            actor=CSR,
        )
    )
    assert (await ok(await attempt(PASSWORD, "ip-7"))).customer_code == customer.code


async def test_c15_unknown_email_and_wrong_password_take_about_the_same_time(
    client: OmsClient, accounts: EventTap, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production's hashing cost (the run uses the cheapest, tests/conftest.py): it is what
    # makes the two answers take the same time.
    monkeypatch.setenv(passwords.PROFILE_VARIABLE, passwords.DEFAULT_PROFILE)
    customer = await create_customer(client, email="tim@example.fr")
    token = token_of(await next_event(accounts, "customer.password-setup-invited.v1"))
    await ok(await client.call(CompletePasswordReset, {"token": token, "new_password": PASSWORD}))

    async def duration(email: str, source: str) -> float:
        # CPU time of this process, where the service runs: the work done for the answer,
        # which other processes of a loaded machine do not stretch as they do wall time.
        started = time.process_time()
        reply = await client.call(
            Authenticate,
            {"scope_id": "eu-fr", "email": email, "password": "nope nope"},
            actor=Actor(kind="customer", id="anonymous", source=source),
        )
        assert reply.error.code == "unauthenticated"
        return time.process_time() - started

    known = sorted([await duration("tim@example.fr", f"k{i}") for i in range(5)])[2]
    unknown = sorted([await duration("nobody@example.fr", f"u{i}") for i in range(5)])[2]
    # Both verify an argon2 hash; a missing account is not answered faster.
    assert 0.4 < unknown / known < 2.5, (known, unknown)
    assert customer.code


async def test_c16_acting_on_behalf_is_time_boxed_recorded_and_visible_to_the_customer(
    client: OmsClient, accounts: EventTap, customer_db: AsyncDatabase
) -> None:
    customer = await create_customer(client, email="eva@example.fr")
    other = await create_customer(client, email="max@example.fr")
    session = await ok(
        await client.call(
            StartOnBehalfSession,
            {"customer_code": customer.code, "reason": "customer on the phone, lost access"},
            actor=CSR,
        )
    )
    as_customer = Actor(kind="csr", id="csr-anna", on_behalf_session=session.session_id)
    changed = await ok(
        await client.call(
            UpdateCustomer,
            {"customer_code": customer.code, "expected_version": 1, "changes": {"phone": "0611223344"}},
            actor=as_customer,
        )
    )
    assert changed.phone == "+33611223344"

    not_theirs = await client.call(
        UpdateCustomer,
        {"customer_code": other.code, "expected_version": 1, "changes": {"phone": "0611223344"}},
        actor=as_customer,
    )
    assert not_theirs.error.code == "forbidden"
    someone_else = Actor(kind="csr", id="csr-bob", on_behalf_session=session.session_id)
    stolen = await client.call(
        UpdateCustomer,
        {"customer_code": customer.code, "expected_version": 2, "changes": {"phone": "0600000000"}},
        actor=someone_else,
    )
    assert stolen.error.code == "forbidden"
    self_service = Actor(kind="customer", id=other.code)
    assert (
        await client.call(
            UpdateCustomer,
            {"customer_code": customer.code, "expected_version": 2, "changes": {"flag": "red"}},
            actor=self_service,
        )
    ).error.code == "forbidden"

    ended = await ok(await client.call(EndOnBehalfSession, {"session_id": session.session_id}, actor=CSR))
    assert ended.ended_at is not None
    after_end = await client.call(
        UpdateCustomer,
        {"customer_code": customer.code, "expected_version": 2, "changes": {"phone": "0600000000"}},
        actor=as_customer,
    )
    assert after_end.error.code == "forbidden"

    expiring = await ok(
        await client.call(
            StartOnBehalfSession, {"customer_code": customer.code, "reason": "again", "minutes": 1}, actor=CSR
        )
    )
    await customer_db["on_behalf_sessions"].update_one(
        {"_id": expiring.session_id}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    expired = await client.call(
        UpdateCustomer,
        {"customer_code": customer.code, "expected_version": 2, "changes": {"phone": "0600000000"}},
        actor=Actor(kind="csr", id="csr-anna", on_behalf_session=expiring.session_id),
    )
    assert expired.error.code == "forbidden"
    not_a_csr = await client.call(
        StartOnBehalfSession,
        {"customer_code": customer.code, "reason": "x"},
        actor=Actor(kind="customer", id=customer.code),
    )
    assert not_a_csr.error.code == "forbidden"

    trail = await ok(await client.call(GetCustomerAudit, {"customer_code": customer.code, "limit": 2}))
    everything = list(trail.items)
    while trail.next_cursor:
        trail = await ok(
            await client.call(
                GetCustomerAudit, {"customer_code": customer.code, "limit": 2, "cursor": trail.next_cursor}
            )
        )
        everything += trail.items
    # A cursor is input: anything but one this trail gave out is a field error, never a query.
    for hostile in ("not-base64!", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwienoiXQ", "eyIkZ3QiOiAxfQ"):
        refused = await client.call(GetCustomerAudit, {"customer_code": customer.code, "cursor": hostile})
        assert refused.error.code == "validation" and refused.error.fields[0].field == "payload.cursor", hostile
    on_behalf = [e for e in everything if e.on_behalf_session == session.session_id]
    assert [(e.action, e.actor_id, e.on_behalf_reason, e.changed) for e in on_behalf] == [
        ("updated", "csr-anna", "customer on the phone, lost access", ["phone"])
    ]
    assert [e.action for e in everything][-1].startswith("created")
    started = await next_event(accounts, "customer.on-behalf-session-started.v1")
    assert started["payload"]["session"]["reason"] == "customer on the phone, lost access"


async def test_c20_a_guest_becomes_registered_only_after_proving_the_email(
    client: OmsClient, accounts: EventTap, customer_db: AsyncDatabase
) -> None:
    guest = await create_customer(
        client,
        email="Lea@example.fr",
        account_type="guest",
        channel="order",
        addresses=[{"line1": "1 rue A", "city": "Lyon", "country": "FR"}],
    )
    registering = await ok(
        await client.call(
            RegisterCustomer, {"scope_id": "eu-fr", "email": "lea@EXAMPLE.fr", "first_name": "Léa", "last_name": "Roux"}
        )
    )
    assert registering.code == guest.code and registering.account_type == "guest" and registering.claim_pending
    assert await customer_db["customers"].count_documents({}) == 1  # never a second record
    token = token_of(await next_event(accounts, "customer.email-verification-requested.v1"))

    claimed = await ok(await client.call(VerifyEmail, {"token": token}))
    assert (claimed.code, claimed.account_type, claimed.email_verified, claimed.logon_id) == (
        guest.code,
        "registered",
        True,
        "Lea@example.fr",
    )
    assert claimed.addresses == guest.addresses  # keeps what it had
    invited = await next_event(accounts, "customer.password-setup-invited.v1")
    assert invited["payload"]["recipient"]["customer_code"] == guest.code
    again = await client.call(
        RegisterCustomer, {"scope_id": "eu-fr", "email": "lea@example.fr", "first_name": "Léa", "last_name": "Roux"}
    )
    assert again.error.code == "conflict"

    # A registered account's new email is used only once proved; the logon id stays.
    moved = await ok(
        await client.call(
            UpdateCustomer,
            {
                "customer_code": guest.code,
                "expected_version": claimed.version,
                "changes": {"email": "lea.roux@example.fr"},
            },
        )
    )
    assert moved.email == "Lea@example.fr" and moved.pending_email == "lea.roux@example.fr"
    proof = await next_event(accounts, "customer.email-verification-requested.v1")
    assert proof["payload"]["recipient"]["email"] == "lea.roux@example.fr"
    verified = await ok(await client.call(VerifyEmail, {"token": token_of(proof)}))
    assert (verified.email, verified.pending_email, verified.logon_id) == (
        "lea.roux@example.fr",
        None,
        "Lea@example.fr",
    )


async def test_c14_a_reset_flow_leaves_no_password_and_no_token_in_logs_or_messages(
    client: OmsClient, accounts: EventTap, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_password = "Sup3r-secret-passw0rd!"
    customer = await create_customer(client, email="zoe@example.fr", account_type="guest")
    await client.call(
        UpdateCustomer,
        {"customer_code": customer.code, "expected_version": 1, "changes": {"account_type": "registered"}},
    )
    await ok(await client.call(RequestPasswordReset, {"customer_code": customer.code}, actor=CSR))
    reset = await next_event(accounts, "customer.password-reset-requested.v1")
    token = token_of(reset)
    too_short = await client.call(CompletePasswordReset, {"token": token, "new_password": "Tiny7!x"})
    assert too_short.error.code == "validation"
    await ok(await client.call(CompletePasswordReset, {"token": token, "new_password": secret_password}))
    await client.call(
        Authenticate,
        {"scope_id": "eu-fr", "email": "zoe@example.fr", "password": secret_password + "x"},
        actor=Actor(kind="customer", id="anonymous", source="ip-9"),
    )
    await asyncio.sleep(0.5)
    events = await accounts.drain()

    logs = caplog.text + "".join(capfd.readouterr())
    for secret in (secret_password, token, "Tiny7!x"):
        assert secret not in logs
    carrying = [e for e in [reset, *events] if token in str(e) or secret_password in str(e)]
    assert carrying == [], "the token travels only sealed, for the notification service"


async def test_c14_omsctl_set_empty_passwords_shows_progress_and_can_resume(
    settings: ServiceSettings, client: OmsClient, accounts: EventTap
) -> None:
    from .test_customer_import import omsctl

    rows = [
        {
            "scope_id": "eu-fr",
            "first_name": f"Q{i}",
            "last_name": "Import",
            "email": f"q{i}@example.fr",
            "channel": "import",
            "idempotency_key": f"q{i}",
        }
        for i in range(5)
    ]
    await ok(await client.call(ImportCustomers, {"rows": rows}))
    code, out = await omsctl(settings, "customer", "set-empty-passwords", "--batch", "2")
    assert code == 0 and "5 customers invited" in out and "invited" in out, out
    code, out = await omsctl(settings, "customer", "set-empty-passwords")
    assert code == 0 and "0 customers invited" in out, out
    # At 80 columns the customer code, which the next command needs, is never cut.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omsctl",
        "customer",
        "find",
        "--name",
        "import",
        env={**os.environ, "OMS_NAMESPACE": settings.namespace, "COLUMNS": "80"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out = (await process.communicate())[0].decode()
    codes = [c.code for c in (await ok(await client.call(SearchCustomers, {"name": "import"}))).items]
    assert len(codes) == 5 and all(code in out for code in codes), out
