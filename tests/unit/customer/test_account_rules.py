"""Rules of accounts without servers: emailed links usable once and until they expire, who a
reset is for and its limit of emails (C14), the sign-in policy's account, source and lock
(C15), registration and email verification (C8, C20)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from contracts.customer.records import RegisterInput
from contracts.envelope import Actor
from customer.accounts import credentials, rules
from customer.accounts.signin import LOCKED_REASON, SignInPolicy, is_locked, sign_in_email_key, source_of
from customer.settings import CustomerSettings
from plumbing.errors import Rejected
from plumbing.throttle import Bucket

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def token(**changes: object) -> dict:
    doc = {"_id": "h", "kind": "password_reset", "used_at": None, "revoked_at": None, "expires_at": AT}
    return {**doc, **changes}


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(Rejected) as caught:
        call()
    assert caught.value.error.fields[0].field == "payload.token"
    return caught.value.error.fields[0].reason


def test_c14_c20_an_emailed_link_works_once_of_its_kind_and_until_it_expires() -> None:
    kinds: tuple[credentials.TokenKind, ...] = ("password_reset", "password_setup")
    before = AT - timedelta(seconds=1)
    assert credentials.usable(token(), kinds, before)["_id"] == "h"
    assert refusal(lambda: credentials.usable(None, kinds, before)) == "this link is not valid"
    assert refusal(lambda: credentials.usable(token(), ("email_verification",), before)) == "this link is not valid"
    assert refusal(lambda: credentials.usable(token(used_at=before), kinds, before)) == "this link was already used"
    replaced = refusal(lambda: credentials.usable(token(revoked_at=before), kinds, before))
    assert replaced == "this link was replaced by a newer one"
    assert refusal(lambda: credentials.usable(token(), kinds, AT)).startswith("this link has expired")


def test_c14_a_reset_is_for_a_customer_code_or_else_a_scope_and_an_email() -> None:
    assert credentials.reset_for("C100", "eu-fr", "a@example.fr") == "C100"
    assert credentials.reset_for(None, "eu-fr", "a@example.fr") == ("eu-fr", "a@example.fr")
    for scope, email in ((None, "a@example.fr"), ("eu-fr", None), (None, None)):
        with pytest.raises(Rejected) as caught:
            credentials.reset_for(None, scope, email)
        assert caught.value.error.fields[0].field == "payload.customer_code"


def test_c14_reset_emails_stop_at_the_limit_within_the_window_and_older_ones_stop_counting() -> None:
    window = timedelta(minutes=15)
    recent = [AT - timedelta(minutes=m) for m in (10, 5)]
    assert credentials.next_reset_emails(recent, AT, window, 3) == [*recent, AT]
    assert credentials.next_reset_emails(recent, AT, window, 2) is None
    old = [AT - timedelta(minutes=m) for m in (40, 20, 15)]  # none within the window
    assert credentials.next_reset_emails(old, AT, window, 1) == [AT]
    assert credentials.reset_withheld_note(3, 15.0) == "password reset not sent: 3 reset emails within 15 minutes"
    assert credentials.password_set_note("password_setup") == "password set with a password setup link"


def test_c15_a_lock_for_failed_sign_ins_is_lifted_by_a_reset_a_csrs_disable_is_not() -> None:
    assert is_locked({"state": "disabled", "state_reason": LOCKED_REASON})
    assert not is_locked({"state": "disabled", "state_reason": "fraud suspected"})
    assert not is_locked({"state": "active"}) and not is_locked(None)


def test_c15_the_failure_that_reaches_the_limit_locks_the_account_for_the_lock_time() -> None:
    settings = CustomerSettings(max_signin_failures=5, signin_lock_minutes=15)
    policy = SignInPolicy.from_settings(settings)
    assert policy.lock_until(Bucket(failures=5), AT) == AT + timedelta(minutes=15)
    assert policy.lock_until(Bucket(failures=4), AT) is None
    assert policy.lock_until(Bucket(failures=6), AT) is None  # later failures are only slowed
    assert policy.lock_until(None, AT) is None  # not an email: no account to lock


def test_c15_an_attempt_is_for_an_email_account_and_a_source_when_it_names_them() -> None:
    assert sign_in_email_key(" Anna@Example.FR ") == sign_in_email_key("anna@example.fr") is not None
    assert sign_in_email_key("not an email") is None
    assert source_of(Actor(kind="customer", id="anonymous", source="203.0.113.9")) == "203.0.113.9"
    assert source_of(Actor(kind="customer", id="anonymous")) is None and source_of(None) is None


def test_c8_c20_a_registration_is_keyed_by_its_email_and_creates_a_registered_storefront_account() -> None:
    assert rules.registration_key("Anna@Example.FR") == rules.registration_key("anna@example.fr")
    with pytest.raises(Rejected) as caught:
        rules.registration_key("anna at example")
    assert caught.value.error.fields[0].field == "payload.email"
    conflict = rules.already_registered("eu-fr").error
    assert (conflict.code, conflict.fields[0].field) == ("conflict", "payload.email")
    p = RegisterInput(scope_id="eu-fr", email="anna@example.fr", first_name="Anna", last_name="Martin")
    new = rules.new_registered(p)
    assert (new.account_type, new.channel, new.email, new.scope_id) == ("registered", "storefront", p.email, "eu-fr")


def test_c20_a_verification_reports_what_changed_but_not_the_invitation_bookkeeping() -> None:
    changed = {"email_verified": True, "account_type": "registered", "invited_at": AT}
    assert rules.verified_changes(changed) == {"email_verified": True, "account_type": "registered"}
    assert rules.verification_note(claimed=True) == "guest account claimed"
    assert rules.verification_note(claimed=False) == "email verified"
