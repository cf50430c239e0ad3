"""The rules, without servers, that keep a single-use link readable by the notification
service only, and the pace of reset answers (C14)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from customer.accounts.credentials import ResetPace
from plumbing.sealing import KeyMissing, SealBroken, Sealer, redact_link, sealer
from plumbing.settings import ServiceSettings

LINK = "https://shop.example/account/reset-password?token=Zm9v-YmFy_baz"


def test_c14_a_sealed_link_opens_with_the_shared_key_only_and_keys_rotate() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Sealer(old).seal(LINK)
    assert "Zm9v-YmFy_baz" not in sealed and Sealer(old).open(sealed) == LINK
    with pytest.raises(SealBroken):
        Sealer(new).open(sealed)
    with pytest.raises(SealBroken):
        Sealer(old).open(sealed[:-2] + "AA")  # altered on the way
    rotated = Sealer(f"{new}, {old}")
    assert rotated.open(sealed) == LINK, "the old key still opens what it sealed"
    assert Sealer(new).open(rotated.seal(LINK)) == LINK, "the first key seals"


def test_c14_a_missing_or_malformed_key_stops_the_service_without_showing_it() -> None:
    with pytest.raises(KeyMissing, match="OMS_LINK_KEY is not set"):
        sealer(ServiceSettings(link_key=None))
    with pytest.raises(KeyMissing) as refused:
        sealer(ServiceSettings(link_key=SecretStr("not-a-key-but-secret")))
    assert "not-a-key-but-secret" not in str(refused.value)
    assert "not-a-key-but-secret" not in repr(ServiceSettings(link_key=SecretStr("not-a-key-but-secret")))


def test_c14_a_redacted_link_keeps_where_it_points_not_the_token() -> None:
    assert redact_link(LINK) == "https://shop.example/account/reset-password?token=[redacted]"
    assert (
        redact_link("https://a.example/verify-email?token=abc&x=1#abc")
        == "https://a.example/verify-email?token=[redacted]&x=[redacted]#[redacted]"
    )


def test_c14_reset_answers_wait_for_the_floor_then_for_what_existing_accounts_take() -> None:
    pace = ResetPace(floor=0.25, ceiling=1.0, min_samples=3)
    assert pace.wait(0.01, known=False) == pytest.approx(0.24)
    assert pace.wait(0.05, known=True) == pytest.approx(0.20)
    for _ in range(3):
        pace.wait(0.6, known=True)  # the service got slower than the floor
    assert pace.wait(0.01, known=False) == pytest.approx(0.59), "an unknown email waits as long"
    for _ in range(10):
        pace.wait(5.0, known=True)
    assert pace.wait(0.0, known=False) == pytest.approx(1.0), "never beyond the ceiling"
