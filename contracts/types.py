"""Field types shared by the contracts: text, money, codes."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, StringConstraints
from pydantic_core import PydanticCustomError

from .countries import country_code


def _clean_text(value: Any) -> Any:
    """Strip, NFC-normalize (one form for "é", whatever the keyboard) and turn "" into None.

    Storefronts send "" and null interchangeably for a missing field; treating both as
    missing keeps "no email" from ever matching another "no email".
    """
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


def _required_text(value: Any) -> Any:
    value = _clean_text(value)
    if value is None:
        raise PydanticCustomError("blank", "required: must not be empty")
    return value


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
Identifier = Annotated[
    str, BeforeValidator(_required_text), StringConstraints(min_length=1, max_length=200)
]
OptionalIdentifier = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(_clean_text)
]

#: ISO 4217, e.g. "EUR", "JPY".
CurrencyCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{3}$")]
#: ISO 3166-1 alpha-2, e.g. "DE"; also read from names, alpha-3 and numeric codes (countries.py).
CountryCode = Annotated[str, BeforeValidator(_country), StringConstraints(pattern=r"^[A-Z]{2}$")]
OptionalCountryCode = Annotated[CountryCode | None, BeforeValidator(_clean_text)]
#: BCP 47 language tag, e.g. "fr" or "fr-CA".
LanguageTag = Annotated[
    str, BeforeValidator(_clean_text), StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
]

#: An amount as a decimal string ("12.50", "1200"): never a float, so nothing is rounded.
Money = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=6, allow_inf_nan=False),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
