"""C17: the cached field checks of customer records answer exactly what plumbing.normalize
answers, for every value: names and tags folded apart, emails with the domain checked once,
phones once per number and scope country. An import of a million rows relies on them being
the same function, only cheaper (no server)."""

from __future__ import annotations

import pytest

from bench.people import people
from customer.records.rules import email_of, folded, name_key, phone_of
from plumbing.normalize import InvalidValue, fold, normalize_email, normalize_phone

TRICKY_NAMES = [
    "",
    " ",
    "Chloé",
    "  GROß  ",
    "An\u200bna",
    "\u0301Zoë",  # starts with a combining accent
    "x\u00a8",  # a compatibility form that decomposes to a space and an accent
    "Ｍüller",  # fullwidth
    "İstanbul",
    "Σίσυφος",
    "太郎",
    "O'Brien-Smith",
    "a\tb\nc",
    "\u200e\u202e",  # only invisible characters
    "ﬁnn",  # ligature
    "Ø\u0308",
]


@pytest.mark.parametrize("first", TRICKY_NAMES)
@pytest.mark.parametrize("second", TRICKY_NAMES)
def test_c17_name_key_is_fold_of_both_names(first: str, second: str) -> None:
    assert name_key(first, second) == fold(f"{first} {second}")


def test_c17_name_keys_and_tags_of_generated_people_are_unchanged() -> None:
    for row in people(2000, 0):
        assert name_key(row["last_name"], row["first_name"]) == fold(f"{row['last_name']} {row['first_name']}")
        for tag in row.get("tags", []):
            assert folded(tag) == fold(tag)


def _answer(func, *args):  # noqa: ANN001, ANN202 - the value, or the error's message
    try:
        return "ok", func(*args)
    except InvalidValue as exc:
        return "invalid", str(exc)


EMAILS = [
    "anna@example.com",
    "Anna.Schmidt@Example.COM",
    "postmaster@example.com",
    "Info@Example.com",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@example",
    "a@localhost",
    "a@example.com.",
    "a@-example.com",
    "a@exa_mple.com",
    "a@123.456",
    "a@example.test",
    "a@example.invalid",
    "a@xn--mller-kva.de",
    "a@müller.de",
    "chloé@example.fr",
    "e\u0301lodie@example.fr",  # decomposed: NFC, then checked again
    "太郎.山田@example.jp",
    "Σίσυφος@example.gr",
    "ＰＯＳＴＭＡＳＴＥＲ@example.com",
    "ａ\u200bnna@example.com",
    "\u0301a@example.com",
    "a\u0300@example.com",
    "a(b)@example.com",
    "a,b@example.com",
    "a b@example.com",
    "a\\b@example.com",
    "a@example.com\u0301",
    "é" * 120 + "@example.com",
    "é" * 130 + "@example.com",
    "a@b@example.com",
    "Anna <anna@example.com>",
    '"a b"@example.com',
    " anna@example.com ",
    "ａdmin@example.com",
    "a+tag/x=y?z^{}|~`!#$%&'*@example.com",
    "a@" + "b" * 64 + ".com",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "x" * 200 + "@" + "d" * 50 + ".com",
    "x" * 240 + "@example.com",
    "x" * 243 + "@xn--mller-kva.de",
    "x" * 244 + "@xn--mller-kva.de",
    "@example.com",
    "anna@",
    "anna",
]


@pytest.mark.parametrize("email", EMAILS)
def test_c17_email_of_answers_as_normalize_email(email: str) -> None:
    assert _answer(email_of, email) == _answer(normalize_email, email)
    assert _answer(email_of, email) == _answer(normalize_email, email)  # the cached domain too


def test_c17_emails_and_phones_of_generated_people_are_unchanged() -> None:
    countries = {"eu-fr": "FR", "de": "DE", "es": "ES", "pl": "PL"}
    for row in people(2000, 0):
        assert _answer(email_of, row["email"]) == _answer(normalize_email, row["email"])
        country = countries[row["scope_id"]]
        for _ in range(2):  # computed, then remembered
            assert _answer(phone_of, row["phone"], country) == _answer(normalize_phone, row["phone"], country)


@pytest.mark.parametrize(
    ("raw", "country"),
    [("06 12 34 56 78", "FR"), ("06 12 34 56 78", "DE"), ("12", "FR"), ("+49 151 12345678", None), ("abc", "FR")],
)
def test_c17_phone_of_remembers_per_country_and_keeps_refusals(raw: str, country: str | None) -> None:
    for _ in range(2):
        assert _answer(phone_of, raw, country) == _answer(normalize_phone, raw, country)
