"""C15 sign-in policy, one place, no I/O: throttle by account and by source, and lock an
account for a while after many failures in a row.

- **Account** (scope + email, whether or not such an account exists, so that throttling tells
  nothing about which emails are registered): after ``free_failures`` failures, each further
  attempt waits, doubling up to a cap; at ``lock_after`` failures the account is locked
  (disabled with ``LOCKED_REASON``) until ``lock_for`` has passed. A CSR's enable and a
  completed password reset lift the lock early.
- **Source** (``actor.source``, the caller's address as the gateway or storefront saw it): a
  higher limit, across accounts, against password spraying. A sign-in without a source is
  throttled by account only: there is no shared bucket for "unknown".

A throttled attempt is refused before the password is checked, with the same answer whether
it was right or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.customer.records import SIGN_IN_LOCK_REASON
from contracts.envelope import Actor
from plumbing.normalize import InvalidValue, email_key, normalize_email
from plumbing.throttle import Bucket, Limits, SignInLimits

LOCKED_REASON = SIGN_IN_LOCK_REASON
#: The enable that ends a lock whose time is up (audited as the sign-in policy).
LOCK_EXPIRED_REASON = "sign-in lock expired"


@dataclass(frozen=True)
class SignInPolicy(SignInLimits):
    """Customers' sign-in limits: an account is a scope's email."""

    @classmethod
    def from_settings(cls, settings: Any) -> SignInPolicy:
        policy: SignInPolicy = cls.build(settings, lock_after=settings.max_signin_failures)
        return policy

    def keys(self, scope_id: str, email_key: str | None, source: str | None) -> list[tuple[str, Limits]]:
        """The buckets an attempt is charged to: its account's (when the email is one) and its source's."""
        keys = []
        if email_key:
            keys.append((account_key(scope_id, email_key), self.account))
        if source:
            keys.append((source_key(source), self.source))
        return keys

    def lock_until(self, account: Bucket | None, at: datetime) -> datetime | None:
        """When a failed attempt, charged to its account's bucket (None: the email is none),
        locks the account until; None when the failures so far do not lock it."""
        if account is None or not self.account.locks(account.failures):
            return None
        return at + self.account.lock_for


def sign_in_email_key(email: str) -> str | None:
    """The account an attempt is for; None for what is not an email (then no account's)."""
    try:
        return email_key(normalize_email(email))
    except InvalidValue:
        return None


def source_of(actor: Actor | None) -> str | None:
    """The caller's address or channel, when the command names one."""
    return actor.source if actor and actor.source else None


def account_key(scope_id: str, email_key: str) -> str:
    return f"account:{scope_id}:{email_key}"


def source_key(source: str) -> str:
    return f"source:{source}"


def is_locked(doc: dict[str, Any] | None) -> bool:
    """Disabled by this policy (not by a CSR, whose disable never expires)."""
    return doc is not None and doc["state"] == "disabled" and doc.get("state_reason") == LOCKED_REASON


def lock_ended(doc: dict[str, Any] | None, at: datetime) -> bool:
    """A lock whose time is up. A lock from before locks expired (no ``locked_until``) stays
    until a CSR or a password reset lifts it."""
    until = doc.get("locked_until") if doc else None
    return is_locked(doc) and until is not None and until <= at


def lock_wait_seconds(doc: dict[str, Any] | None, at: datetime) -> float:
    until = doc.get("locked_until") if doc else None
    return (until - at).total_seconds() if is_locked(doc) and until is not None and until > at else 0.0


def lifted_early(doc: dict[str, Any] | None, bucket: Bucket, at: datetime) -> bool:
    """The account's failures no longer count: a CSR enabled it or a reset unlocked it while
    its bucket was locked, or its password was set after the last failure (a completed reset)."""
    if doc is None:
        return False
    if bucket.locked_until is not None and bucket.locked_until > at and doc["state"] == "active":
        return True
    reset_at = doc.get("last_password_reset_at")
    return reset_at is not None and bucket.last_failure_at is not None and reset_at >= bucket.last_failure_at
