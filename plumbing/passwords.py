"""Password hashes for the services that keep passwords: customer accounts (C14) and staff
(I4). No I/O.

argon2id with argon2-cffi's RFC 9106 low-memory profile (its default: 64 MiB, three passes),
tens of milliseconds of CPU per hash, which is the point. A password that matches no stored
hash (an unknown account) is checked against a dummy hash of the same profile, so that the
answer takes the same time and tells nothing about which accounts exist.

``OMS_PASSWORD_HASHING=test-only-cheapest`` selects argon2-cffi's CHEAPEST profile, which
its documentation gives for tests: the test run sets it (tests/conftest.py), where hashing
took a fifth of the integration tests' CPU (196 hashes and 119 checks, 74 s of 390, on
2026-12-07). Still argon2id, still salted; a service that uses it says so in its log once.
Any other value is refused, so a typo cannot weaken production's hashes.
"""

from __future__ import annotations

import logging
import os
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PROFILE_VARIABLE = "OMS_PASSWORD_HASHING"
PROFILES = {"rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY, "test-only-cheapest": profiles.CHEAPEST}
DEFAULT_PROFILE = "rfc9106-low-memory"

log = logging.getLogger(__name__)


@cache
def _hashing(profile: str) -> tuple[PasswordHasher, str]:
    """The hasher of ``profile`` and a dummy hash of it, made once per process."""
    if profile not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={profile!r}: one of {', '.join(PROFILES)}")
    if profile != DEFAULT_PROFILE:
        log.warning("password hashes use argon2-cffi's %s profile (%s): for tests only", profile, PROFILE_VARIABLE)
    hasher = PasswordHasher.from_parameters(PROFILES[profile])
    return hasher, hasher.hash("not a real password, only here to spend the same time")


def _current() -> tuple[PasswordHasher, str]:
    # Read at each use, not at import: a test may set the variable for its own duration.
    return _hashing(os.environ.get(PROFILE_VARIABLE) or DEFAULT_PROFILE)


def hash_password(password: str) -> str:
    return _current()[0].hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``stored_hash``; spends the same time when there is none."""
    hasher, dummy = _current()
    try:
        return hasher.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """The hash was made with other parameters than today's: hash the password again."""
    return _current()[0].check_needs_rehash(stored_hash)
