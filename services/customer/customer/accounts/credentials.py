"""Passwords and single-use tokens (C14, C20), no I/O.

Passwords are argon2id hashes (``plumbing.passwords``, as the staff's). A token is 256
random bits given to the customer once, inside a link; only its SHA-256 is stored, so a
database leak yields no usable link. Neither ever appears in clear in a log line, an event
or the outbox: the one event that emails a link carries it sealed for the notification
service (``plumbing.sealing``) and, for everyone else, redacted.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from plumbing.errors import Rejected

TokenKind = Literal["password_setup", "password_reset", "email_verification"]

LINK_PATHS: dict[TokenKind, str] = {
    "password_setup": "set-password",
    "password_reset": "reset-password",
    "email_verification": "verify-email",
}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    """What is stored and looked up: the token's SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def usable(doc: dict[str, Any] | None, kinds: tuple[TokenKind, ...], at: datetime) -> dict[str, Any]:
    """The stored token a link carries, if it may still be used at ``at``: of one of ``kinds``,
    never used, not replaced by a newer one, not expired. Otherwise the link is refused."""
    if doc is None or doc["kind"] not in kinds:
        raise Rejected.invalid("payload.token", "this link is not valid")
    if doc["used_at"] is not None:
        raise Rejected.invalid("payload.token", "this link was already used")
    if doc["revoked_at"] is not None:
        raise Rejected.invalid("payload.token", "this link was replaced by a newer one")
    if doc["expires_at"] <= at:
        raise Rejected.invalid("payload.token", "this link has expired; ask for a new one")
    return doc


def password_set_note(kind: TokenKind) -> str:
    """The audit trail's words for a password set through an emailed link of ``kind``."""
    return f"password set with a {kind.replace('_', ' ')} link"


def link(base_url: str, kind: TokenKind, token: str) -> str:
    return f"{base_url.rstrip('/')}/{LINK_PATHS[kind]}?token={quote(token)}"


def replaces(kind: TokenKind) -> list[TokenKind]:
    """The open tokens a new one of ``kind`` revokes: a newer link is the only one that works.
    A reset and a set-password invitation both set the password, so each replaces both."""
    if kind == "email_verification":
        return ["email_verification"]
    return ["password_reset", "password_setup"]


def reset_for(customer_code: str | None, scope_id: str | None, email: str | None) -> str | tuple[str, str]:
    """Whose password a reset request is for: the customer's code, or a scope and an email."""
    if customer_code is not None:
        return customer_code
    if scope_id is not None and email is not None:
        return (scope_id, email)
    raise Rejected.invalid("payload.customer_code", "give a customer code, or a scope and an email")


def within_window(sent_at: list[datetime], now: datetime, window: timedelta) -> list[datetime]:
    """The earlier reset emails that still count towards the per-customer limit."""
    return [at for at in sent_at if at > now - window]


def next_reset_emails(sent_at: list[datetime], now: datetime, window: timedelta, limit: int) -> list[datetime] | None:
    """The reset emails that count once one more is sent ``now``; None when the customer's limit
    of ``limit`` within ``window`` is reached: then none is sent."""
    recent = within_window(sent_at, now, window)
    return None if len(recent) >= limit else [*recent, now]


def reset_withheld_note(limit: int, window_minutes: float) -> str:
    """The audit trail's words for a reset request answered but not emailed."""
    return f"password reset not sent: {limit} reset emails within {window_minutes:g} minutes"


def expiry(now: datetime, hours: float) -> datetime:
    return now + timedelta(hours=hours)


@dataclass
class ResetPace:
    """When to answer a reset request by email, so that the answer's timing does not tell
    whether the account exists (C14): never before ``floor`` seconds, nor before what the
    work for existing accounts recently took (its 90th percentile), when that is longer."""

    floor: float
    #: One slow request (a cold start) must not slow every answer: adapt from a few on, up to this.
    ceiling: float = 2.0
    min_samples: int = 8
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def wait(self, took: float, *, known: bool) -> float:
        """Seconds still to wait after a request whose work took ``took`` seconds."""
        if known:
            self.recent.append(took)
        target = self.floor
        if len(self.recent) >= self.min_samples:
            ordered = sorted(self.recent)
            target = min(max(target, ordered[int(0.9 * (len(ordered) - 1))]), max(self.ceiling, self.floor))
        return max(0.0, target - took)
