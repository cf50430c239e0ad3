"""Canonical forms of what people type: emails, phones, names, postal codes (no I/O).

Search (customer service) and order matching (order-sync) compare these forms, never the
raw input, so "Chloé.Dubois@Example.FR", "chloe.dubois@example.fr" and "CHLOE DUBOIS" find
the same customer. Both services must fold the same way, hence one shared module. Every
form is read as ``contracts.types.visible_text`` first (NFKC, no zero-width, bidi or control
characters), as the contracts read what comes in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from contracts.types import visible_text

# Letters NFKD does not decompose into a base letter plus accents.
_FOLD_EXTRA = str.maketrans(
    {"ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h", "ŧ": "t"}
)
_SPACES = re.compile(r"\s+")
_POSTAL_JUNK = re.compile(r"[\s\-.]")


class InvalidValue(ValueError):
    """The value cannot be read as what its field needs; the message says why."""


def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'Chloé  GROß' -> 'chloe gross'; invisible characters
    (zero-width, bidi, controls) are not part of it: 'An\u200bna' -> 'anna'."""
    text = unicodedata.normalize("NFKD", visible_text(text).casefold()).translate(_FOLD_EXTRA)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=32768)
def normalize_email(raw: str, *, allow_display_name: bool = False) -> str:
    """The email as email-validator normalizes it (domain lower-cased and IDNA-checked), read
    first as a person typed it (``visible_text``: NFKC, no invisible characters), so that a
    fullwidth 'ａdmin@example.com' is 'admin@example.com', not a second address. Kept for a
    returning customer's next order: validating costs about 100 µs, a third of what
    order-sync spends reading an order's identity. ``allow_display_name``: 'Ann Lee
    <ann@example.com>' is read as the address inside the brackets."""
    try:
        return validate_email(
            visible_text(raw).strip(), check_deliverability=False, allow_display_name=allow_display_name
        ).normalized
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from exc


def email_key(email: str) -> str:
    """What two emails must share to be the same address here: the whole address, folded.

    Most providers ignore case in the local part, so the key does too; compatibility forms
    and invisible characters never make two keys of one address.
    """
    return visible_text(email).strip().casefold()


def normalize_phone(raw: str, country: str | None) -> str:
    """E.164 ('+33612345678'), reading a number without a country code as ``country``'s."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidValue("not a possible phone number" + (f" in {country}" if country else ""))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def postal_key(raw: str) -> str:
    """'sw1a 1aa' -> 'SW1A1AA': the same code however it was spaced."""
    return _POSTAL_JUNK.sub("", fold(raw)).upper()
