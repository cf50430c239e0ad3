"""C14, I4: password hashes (plumbing.passwords): production's argon2id profile unless the
test profile is named, a name that is neither refused, and hashes of either verified by
both (argon2 hashes carry their own parameters), the cheap ones to be rehashed."""

from __future__ import annotations

import logging

import pytest
from argon2 import extract_parameters, profiles

from plumbing import passwords


def test_c14_i4_production_hashes_with_rfc_9106_low_memory_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(passwords.PROFILE_VARIABLE, raising=False)
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert extract_parameters(stored) == profiles.RFC_9106_LOW_MEMORY
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.needs_rehash(stored)


def test_c14_i4_the_test_profile_is_cheap_and_its_hashes_are_rehashed_in_production(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(passwords.PROFILE_VARIABLE, "test-only-cheapest")
    passwords._hashing.cache_clear()
    with caplog.at_level(logging.WARNING, logger="plumbing.passwords"):
        cheap = passwords.hash_password("correct horse battery")
    assert extract_parameters(cheap) == profiles.CHEAPEST
    assert "for tests only" in caplog.text
    monkeypatch.delenv(passwords.PROFILE_VARIABLE)
    assert passwords.verify_password(cheap, "correct horse battery")
    assert passwords.needs_rehash(cheap)


def test_c14_i4_an_unknown_profile_is_refused_not_taken_for_a_weaker_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(passwords.PROFILE_VARIABLE, "cheapest")
    with pytest.raises(ValueError, match="OMS_PASSWORD_HASHING='cheapest'"):
        passwords.hash_password("correct horse battery")


def test_c14_i4_no_stored_hash_is_checked_against_a_dummy_and_never_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(passwords.PROFILE_VARIABLE, "test-only-cheapest")
    dummy = passwords._hashing("test-only-cheapest")[1]
    assert not passwords.verify_password(None, "not a real password, only here to spend the same time")
    assert passwords.verify_password(dummy, "not a real password, only here to spend the same time")
    assert not passwords.verify_password("not a hash", "anything")
