"""Field types shared by the contracts: text, links, money, codes."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints
from pydantic_core import PydanticCustomError

from .countries import country_code
from .languages import language_tag

#: Ordinary whitespace a form, a CSV or a platform may carry inside one field: a space each.
_WHITESPACE = dict.fromkeys(map(ord, "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"), " ")
#: Control (Cc), format (Cf: zero-width U+200B-U+200D, U+2060, U+FEFF, bidi controls
#: U+200E/F, U+202A-U+202E, U+2066-U+2069, soft hyphen...) and lone surrogate (Cs) characters.
_INVISIBLE = frozenset(("Cc", "Cf", "Cs"))
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def visible_text(value: str) -> str:
    """What a person typed, as one canonical string: NFKC (a fullwidth "ａ" is "a", a
    ligature its letters, a no-break space a space), ordinary whitespace as spaces, and no
    invisible character left. "An\u200bna" is "Anna": zero-width and bidi characters hide
    text from search and reorder what a CSR reads (security step 12)."""
    if value.isascii():
        if _ASCII_CONTROLS.search(value):
            value = _ASCII_CONTROLS.sub("", value.translate(_WHITESPACE))
        return value
    # Invisible characters out first: one between a letter and an accent would otherwise
    # keep them from composing, and the result would change if read again. A printable
    # string has none (str.isprintable is false for every Cc, Cf and Cs character): most
    # names and addresses are, and are not read a character at a time.
    value = value.translate(_WHITESPACE)
    if not value.isprintable():
        value = "".join(ch for ch in value if unicodedata.category(ch) not in _INVISIBLE)
    return unicodedata.normalize("NFKC", value)


def _clean_text(value: Any) -> Any:
    """Strip, make visible and canonical (``visible_text``) and turn "" into None.

    Storefronts send "" and null interchangeably for a missing field; treating both as
    missing keeps "no email" from ever matching another "no email".
    """
    if isinstance(value, str):
        return visible_text(value).strip() or None
    return None if _empty(value) else value


def _empty(value: Any) -> bool:
    """What platforms built in PHP send for a field they have no value for: false, [] or {}."""
    return value is False or (isinstance(value, (list, dict)) and not value)


def _clean_identifier(value: Any) -> Any:
    """Strip, NFC-normalize (one form for "é", whatever the keyboard) and turn "" into None.
    Identifiers are a platform's own keys: compatibility forms are not folded into them."""
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return None if _empty(value) else value


def _required_text(value: Any) -> Any:
    value = _clean_text(value)
    if value is None:
        raise PydanticCustomError("blank", "required: must not be empty")
    return value


def _required_identifier(value: Any) -> Any:
    value = _clean_identifier(value)
    if value is None:
        raise PydanticCustomError("blank", "required: must not be empty")
    return value


def _language(value: Any) -> Any:
    """O1: 'fr_FR', 'French', 'français' -> 'fr-FR', 'fr', 'fr' (languages.py)."""
    value = _clean_text(value)
    return language_tag(value) if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _country(value: Any) -> Any:
    """O1: "France", "deu", "U.K.", "250" -> the ISO code; what names no country is an error."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a numeric code sent as a JSON number
    if not isinstance(value, str):
        return value  # the str schema reports the wrong type
    code = country_code(value)
    if code is None:
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise PydanticCustomError("country", "not a country: {given}", {"given": repr(shown)})
    return code


Text = Annotated[str, BeforeValidator(_required_text), StringConstraints(min_length=1, max_length=500)]
OptionalText = Annotated[Annotated[str, StringConstraints(max_length=500)] | None, BeforeValidator(_clean_text)]
Identifier = Annotated[str, BeforeValidator(_required_identifier), StringConstraints(min_length=1, max_length=200)]
OptionalIdentifier = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(_clean_identifier)
]

#: ISO 4217, e.g. "EUR", "JPY".
CurrencyCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{3}$")]
#: ISO 3166-1 alpha-2, e.g. "DE"; also read from names, alpha-3 and numeric codes (countries.py).
CountryCode = Annotated[str, BeforeValidator(_country), StringConstraints(pattern=r"^[A-Z]{2}$")]
OptionalCountryCode = Annotated[CountryCode | None, BeforeValidator(_clean_text)]
#: BCP 47 language tag, e.g. "fr" or "fr-CA".
LanguageTag = Annotated[
    str, BeforeValidator(_language), StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
]


def _utc_if_naive(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: A moment an upstream system reports (an order placed, a parcel shipped): with its offset,
#: as RFC 3339 says; a time written without one ('2026-12-07 10:00:00', as Magento and
#: WooCommerce's `_gmt` fields write UTC) or a date alone is read as UTC, not refused.
UpstreamMoment = Annotated[
    datetime,
    AfterValidator(_utc_if_naive),
    Field(description="RFC 3339; a time without an offset, or a date alone, is read as UTC."),
]

#: An amount as a decimal string ("12.50", "1200"): never a float, so nothing is rounded.
Money = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=6, allow_inf_nan=False),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]


# --- links (security step 12) ------------------------------------------------------------------

#: Characters no link we send needs, and which browsers and mail clients read in surprising
#: ways (whitespace they drop inside a scheme, quotes and angle brackets that end an attribute).
_NOT_IN_LINKS = re.compile(r'[\s"<>`\\]')


def _https_link(value: str) -> str:
    """An absolute ``https://`` link to a host, or a field error. ``javascript:``, ``data:``,
    ``vbscript:``, ``http:``, relative and protocol-relative links end up in emails and on
    the console as something a click runs or leaks: they are refused."""
    if _NOT_IN_LINKS.search(value):
        raise PydanticCustomError("https_link", "must be an https:// link without spaces or quotes")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise PydanticCustomError("https_link", "must be an https:// link") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise PydanticCustomError("https_link", "must be an https:// link to a host")
    if "@" in parts.netloc:
        raise PydanticCustomError("https_link", "must not carry a user name or password before the host")
    return value


_LINK_SCHEMA = Field(json_schema_extra={"format": "uri", "pattern": "^https://"})
#: A link a customer or a CSR may click: https only (tracking, payment, account pages).
HttpsLink = Annotated[
    str,
    BeforeValidator(_required_text),
    StringConstraints(max_length=2000),
    AfterValidator(_https_link),
    _LINK_SCHEMA,
]
OptionalHttpsLink = Annotated[
    Annotated[str, StringConstraints(max_length=2000), AfterValidator(_https_link), _LINK_SCHEMA] | None,
    BeforeValidator(_clean_text),
]
