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

_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _moment(value: Any) -> Any:
    """A date written day first or month first ('20.11.2026 09:14', '20/11/2026', '11/20/2026')
    where that is plain: a part over 12 is the day, and dots are never written month first.
    '05/11/2026' could be either: left for the reader to refuse. Other ways exports write a
    moment ('Fri, 20 Nov 2026 09:14:00 +0100', '20 novembre 2026', '09:14 PM CET') are read
    by ``contracts.moments``."""
    if not isinstance(value, str):
        return value
    if (found := _DAY_MONTH_YEAR.match(value.strip())) is None:
        return moment_text(value) or value
    first, mark, second, year, hour, minute, second_of_minute = found.groups()
    a, b = int(first), int(second)
    if a > 12 >= b or (mark == "." and b <= 12):
        day, month = a, b
    elif b > 12 >= a:
        day, month = b, a
    else:
        return value
    clock = f"T{int(hour):02d}:{minute}:{second_of_minute or '00'}" if hour else ""
    return f"{year}-{month:02d}-{day:02d}{clock}"


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
UpstreamOrderNumber = Annotated[Identifier, BeforeValidator(_platform_id)]
UpstreamCustomerId = Annotated[Identifier, BeforeValidator(_platform_id)]


SourceCustomerId = Annotated[OptionalIdentifier, BeforeValidator(_customer_id)]


def amount_of(value: Any) -> Decimal:
    """``value`` as an amount (``_amount``); raises what ``Decimal`` raises for no amount."""
    return Decimal(str(_amount(value)))


def _scope(value: Any) -> Any:
    """'EU-FR', ' eu-fr ': scope ids are lower case (``ScopeId``), so another case names the same."""
    return value.strip().lower() if isinstance(value, str) else value


#: A scope id as an upstream system may write it (``_scope``).
UpstreamScope = Annotated[Identifier, BeforeValidator(_scope)]
