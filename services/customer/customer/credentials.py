"""Passwords and single-use tokens (C14, C20), no I/O.

Passwords are argon2id hashes (argon2-cffi's defaults). A token is 256 random bits given
to the customer once, inside a link; only its SHA-256 is stored, so a database leak yields
no usable link. Neither ever appears in a log line or an event, except the link itself in
the one event that emails it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TokenKind = Literal["password_setup", "password_reset", "email_verification"]

_hasher = PasswordHasher()
#: Verified when the email is unknown, so that an unknown email and a wrong password take
#: the same time to answer.
_DUMMY_HASH = _hasher.hash("not a real password, only here to spend the same time")

LINK_PATHS: dict[TokenKind, str] = {
    "password_setup": "set-password",
    "password_reset": "reset-password",
    "email_verification": "verify-email",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    """What is stored and looked up: the token's SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def link(base_url: str, kind: TokenKind, token: str) -> str:
    return f"{base_url.rstrip('/')}/{LINK_PATHS[kind]}?token={quote(token)}"


def expiry(now: datetime, hours: float) -> datetime:
    return now + timedelta(hours=hours)
