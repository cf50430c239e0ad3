"""Canonical forms of what people type: emails, phones, names, postal codes (no I/O).

Matching and search compare these forms, never the raw input, so "Chloé.Dubois@Example.FR",
"chloe.dubois@example.fr" and "CHLOE DUBOIS" find the same customer.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Letters NFKD does not decompose into a base letter plus accents.
_FOLD_EXTRA = str.maketrans(
    {"ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h", "ŧ": "t"}
)
_SPACES = re.compile(r"\s+")
_POSTAL_JUNK = re.compile(r"[\s\-.]")


class InvalidValue(ValueError):
    """The value cannot be read as what its field needs; the message says why."""


def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'Chloé  GROß' -> 'chloe gross'."""
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_FOLD_EXTRA)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACES.sub(" ", text).strip()


def normalize_email(raw: str) -> str:
    """The email as email-validator normalizes it (domain lower-cased and IDNA-checked)."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidValue(str(exc)) from exc


def email_key(email: str) -> str:
    """What two emails must share to be the same address here: the whole address, folded.

    Most providers ignore case in the local part, so the key does too.
    """
    return email.casefold()


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


def damm_check_digit(number: str) -> str:
    """Damm check digit: catches every single-digit error and adjacent transposition."""
    table = (
        (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
        (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
        (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
        (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
        (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
        (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
        (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
        (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
        (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
        (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
    )
    interim = 0
    for digit in number:
        interim = table[interim][int(digit)]
    return str(interim)


def customer_code(sequence: int) -> str:
    """'C' + the sequence number + a check digit: short, readable over the phone, typo-proof."""
    digits = str(sequence)
    return f"C{digits}{damm_check_digit(digits)}"


def is_valid_customer_code(code: str) -> bool:
    return bool(re.fullmatch(r"C\d{2,18}", code)) and damm_check_digit(code[1:-1]) == code[-1]
