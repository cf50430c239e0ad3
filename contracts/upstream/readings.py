"""How the upstream contracts read values as shops, spreadsheets and platforms write them (O1).

An amount with a decimal comma or a currency beside it, a currency's sign or name, a date
written day or month first, a platform's guest marker as a customer id: each read where the
reading is certain, and left as written otherwise, for the field's own type to refuse.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

from contracts.moments import moment_text
from contracts.types import CurrencyCode, Identifier, Money, OptionalIdentifier, UpstreamMoment


def _amount(value: Any) -> Any:
    """An amount as shops and spreadsheets write it: '59,70' and '1.234,56' (a decimal comma),
    '1,234.56' and "1'234.50" (thousands marks), '€59.70', '59.70 EUR' (a currency beside it).
    A lone comma before three digits ('1,234') marks thousands, as amounts of money have two
    decimals. Anything else is left for the decimal reader to judge."""
    if not isinstance(value, str) or _PLAIN_NUMBER.fullmatch(value.strip()):
        return value  # '59.70', '-5', '1e3': the decimal reader's as they are
    text = re.sub(r"[^\d,.+-]", "", value)
    if not re.search(r"\d", text):
        return value
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_mark == "," else ",", "").replace(decimal_mark, ".")
    elif "," in text:
        whole, _, fraction = text.rpartition(",")
        if text.count(",") == 1 and len(fraction) != 3:
            text = f"{whole}.{fraction}"
        elif _GROUPED.fullmatch(text.replace(",", ".")):
            text = text.replace(",", "")  # '1,234', '1,234,567': thousands marks
    elif text.count(".") > 1 and _GROUPED.fullmatch(text):
        text = text.replace(".", "")  # '1.234.567'
    return text


#: A number as Python's Decimal reads it.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Digits in groups of three after the first, as thousands marks part them.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")


#: Money as an upstream system may write it (``_amount``).
UpstreamMoney = Annotated[Money, BeforeValidator(_amount)]

#: Currency signs and names that stand for one currency only ('$' and 'kr' stand for several).
_CURRENCY_SIGNS = {
    "€": "EUR", "EURO": "EUR", "EUROS": "EUR", "£": "GBP", "GB£": "GBP", "POUND": "GBP", "POUNDS": "GBP",
    "STERLING": "GBP", "US$": "USD", "USD$": "USD", "US DOLLAR": "USD", "US DOLLARS": "USD", "C$": "CAD",
    "CA$": "CAD", "A$": "AUD", "AU$": "AUD", "CHF.": "CHF", "FR.": "CHF", "ZŁ": "PLN", "ZL": "PLN", "₹": "INR",
    "₩": "KRW", "₺": "TRY", "₽": "RUB", "₪": "ILS",
}  # fmt: skip


def _currency(value: Any) -> Any:
    """'eur', '€', 'Euro', 'US$': the ISO 4217 code; what stands for several currencies is an error."""
    if not isinstance(value, str):
        return value
    text = value.strip().upper()
    return _CURRENCY_SIGNS.get(text, text)


UpstreamCurrency = Annotated[CurrencyCode, BeforeValidator(_currency)]


def _moment(value: Any) -> Any:
    """A moment as exports write it (``contracts.moments``), or as written for the type to judge."""
    return (moment_text(value) or value) if isinstance(value, str) else value


UpstreamMomentRead = Annotated[UpstreamMoment, BeforeValidator(_moment)]

#: What platforms write as the customer id of a guest (WooCommerce's 0): no one's id, or every
#: guest's orders would share one customer.
_GUEST_IDS = frozenset({"0", "-1", "guest", "null", "none"})


def _customer_id(value: Any) -> Any:
    if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).strip().casefold() in _GUEST_IDS:
        return None
    return _platform_id(value)


#: A Shopify GraphQL global id ('gid://shopify/Customer/7860482965002'): the REST id after it.
_GLOBAL_ID = re.compile(r"gid://shopify/[A-Za-z]+/(\d+)(?:\?.*)?")


def _platform_id(value: Any) -> Any:
    """An id as the platform's GraphQL API writes it is the id its webhooks and REST API give
    ('gid://shopify/Order/5500123456' is order 5500123456): one order or customer, whichever
    way an integration read it."""
    if isinstance(value, str) and (found := _GLOBAL_ID.fullmatch(value.strip())):
        return found.group(1)
    return value


#: An order's or a customer's id in its source system, as an upstream system may write it
#: (``_platform_id``).
UpstreamId = Annotated[Identifier, BeforeValidator(_platform_id)]


SourceCustomerId = Annotated[OptionalIdentifier, BeforeValidator(_customer_id)]


def amount_of(value: Any) -> Decimal:
    """``value`` as an amount (``_amount``); raises what ``Decimal`` raises for no amount."""
    return Decimal(str(_amount(value)))


def _scope(value: Any) -> Any:
    """'EU-FR', ' eu-fr ': scope ids are lower case (``ScopeId``), so another case names the same."""
    return value.strip().lower() if isinstance(value, str) else value


#: A scope id as an upstream system may write it (``_scope``).
UpstreamScope = Annotated[Identifier, BeforeValidator(_scope)]
