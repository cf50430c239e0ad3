"""How the upstream contracts read values as shops, spreadsheets and platforms write them (O1).

An amount with a decimal comma or a currency beside it, a currency's sign or name, a date
written day or month first, a platform's guest marker as a customer id: each read where the
reading is certain, and left as written otherwise, for the field's own type to refuse.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticUseDefault

from contracts.countries import COMMERCE_LOCALES, fold, own_locale_data
from contracts.moments import moment_text, plain_digits
from contracts.types import CurrencyCode, Identifier, Money, OptionalIdentifier, UpstreamMoment


def _amount(value: Any) -> Any:
    """An amount as shops and spreadsheets write it: '59,70' and '1.234,56' (a decimal comma),
    '1,234.56' and "1'234.50" (thousands marks), '€59.70', '59.70 EUR', 'Rs. 1,234.00',
    'S/. 59.70', 'د.إ 59.70' (a currency's sign or word beside it, dots and all), '59,-' and
    '1.234,-' (whole units), '−5,00', '٥٩٫٧٠' and '１，２３４' (digits of any script, the Arabic
    decimal and thousands marks). A lone comma before three digits ('1,234') marks thousands,
    as amounts of money have two decimals. A placeholder for none ('-', 'n/a', 'free',
    'gratis') is no value: the field's default (a part of the totals: 0), or missing where the
    field must have one. Anything else is left for the decimal reader to judge."""
    if not isinstance(value, str) or _PLAIN_NUMBER.fullmatch(value.strip()):
        return value  # '59.70', '-5', '1e3': the decimal reader's as they are
    if value.strip().casefold() in NO_AMOUNT:
        raise PydanticUseDefault()
    # A footnote's asterisk after it ('59,70 €*': prices include VAT) says nothing of the amount.
    written = _WRITTEN_AMOUNT.fullmatch(plain_digits(value.translate(_MARKS)).strip().rstrip("*").rstrip())
    if written is None or not (_is_mark(written["before"]) and _is_mark(written["after"])):
        return value  # '59.70 (incl. VAT)', '5.00-', '(5.00)': not for certain
    signs = written["sign"] + written["sign_after_mark"]
    number, whole = written["number"], written["whole"]
    if len(signs) > 1 or (re.search("[ '’]", number) and not _SPACED.fullmatch(number)):
        return value  # '-€-5', '12 34': not an amount as anyone writes one
    text = signs + re.sub("[ '’]", "", number)
    if whole:  # '59,-', '1.234,-': no decimals, so any mark parts thousands
        marks = set(re.sub(r"[\d+-]", "", text))
        return re.sub("[.,]", "", text) if len(marks) <= 1 and _whole(text) else value
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_mark == "," else ",", "").replace(decimal_mark, ".")
    elif "," in text:
        whole_part, _, fraction = text.rpartition(",")
        if text.count(",") == 1 and len(fraction) != 3:
            text = f"{whole_part}.{fraction}"
        elif _GROUPED.fullmatch(text.replace(",", ".")):
            text = text.replace(",", "")  # '1,234', '1,234,567': thousands marks
    elif text.count(".") > 1 and _GROUPED.fullmatch(text):
        text = text.replace(".", "")  # '1.234.567'
    return text


#: What exports write for no amount (a part of the totals: none). Not 'incl.' for the tax: it
#: says the tax is in the prices, not that it is 0.
NO_AMOUNT = frozenset({"-", "--", "—", "–", "n/a", "n.a.", "none", "free", "gratis", "kostenlos", "gratuit",
                       "gratuite", "gratuito"})  # fmt: skip

#: A number as Python's Decimal reads it.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Digits in groups of three after the first, as thousands marks part them.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
#: Digits parted by spaces or apostrophes ('1 234,56', "1'234.50"): in groups of three.
_SPACED = re.compile(r"\d{1,3}(?:[ '’]\d{3})+(?:[.,]\d*)?")
#: An amount with a currency's sign or word before or after it, and whole units ('59,-').
_WRITTEN_AMOUNT = re.compile(
    r"(?P<sign>[+-]?)\s*(?P<before>[^\d\s+-]*)\s*(?P<sign_after_mark>[+-]?)\s*"
    r"(?P<number>\d(?:[\d.,' ’]*\d)?)(?P<whole>[.,][-–—])?\s*(?P<after>[^\d\s]*)"
)
#: The Arabic decimal and thousands marks ('٥٩٫٧٠', '١٬٢٣٤'), the thousands mark as the Swiss
#: apostrophe, which parts groups of three only; the minus sign ('−5,00') as the hyphen.
_MARKS = str.maketrans({"\u066b": ".", "\u066c": "'", "\u2212": "-"})


def _is_mark(text: str) -> bool:
    """Whether ``text`` is nothing, or a currency's sign or word: letters and currency signs,
    dots and slashes among them ('Rs.', 'S/.', 'د.إ', 'R$'), not brackets or other words'
    punctuation."""
    return not text or (
        all(char.isalpha() or char in "./" or unicodedata.category(char) == "Sc" for char in text)
        and any(char.isalpha() or unicodedata.category(char) == "Sc" for char in text)
    )


def _whole(text: str) -> bool:
    digits = text.lstrip("+-")
    return digits.isdigit() or _GROUPED.fullmatch(digits.replace(",", ".")) is not None


#: Money as an upstream system may write it (``_amount``).
UpstreamMoney = Annotated[Money, BeforeValidator(_amount)]

#: Signs, names and codes people write that CLDR does not give, or gives for other currencies
#: than they mean ('£' is also the Falklands', Gibraltar's and St Helena's pound, at par with
#: GBP and written with their own codes). 'Won' is South Korea's: North Korea's is no currency
#: of trade. '$' and 'kr' stand for several: not here.
_CURRENCY_SIGNS = {
    "€": "EUR", "EURO": "EUR", "EUROS": "EUR", "£": "GBP", "GB£": "GBP", "POUND": "GBP", "POUNDS": "GBP",
    "STERLING": "GBP", "POUND STERLING": "GBP", "POUNDS STERLING": "GBP", "US$": "USD", "USD$": "USD",
    "US DOLLAR": "USD", "US DOLLARS": "USD", "C$": "CAD", "CA$": "CAD", "A$": "AUD", "AU$": "AUD",
    "CHF.": "CHF", "FR.": "CHF", "SFR.": "CHF", "SFR": "CHF", "FRANKEN": "CHF", "ZŁ": "PLN", "ZL": "PLN",
    "ZLOTY": "PLN", "ZŁOTY": "PLN", "₹": "INR", "₩": "KRW", "원": "KRW", "WON": "KRW", "₺": "TRY", "₽": "RUB",
    "₪": "ILS", "NIS": "ILS", "円": "JPY", "YEN": "JPY", "RMB": "CNY", "LEI": "RON", "LEU": "RON",
}  # fmt: skip
#: Signs CLDR gives one currency but people write for several: '元' for the yuan, the New
#: Taiwan and Hong Kong dollars; 'Rs.' for the Indian, Pakistani, Sri Lankan and Nepalese
#: rupees; 'SR' for the Saudi riyal as well as the Seychelles rupee.
SHARED_SIGNS = frozenset({"元", "rs", "sr"})


def _currency(value: Any) -> Any:
    """'eur', '€', 'Euro', 'US$', 'R$', 'Kč', 'złoty', 'Euro (EUR)': the ISO 4217 code; what
    stands for several currencies ('$', 'kr', '¥') is left as written, an error."""
    if not isinstance(value, str):
        return value
    text = value.strip().upper()
    if text in _CURRENCY_SIGNS or _CODE.fullmatch(text):
        return _CURRENCY_SIGNS.get(text, text)
    return _currency_named(value.strip()) or text


_CODE = re.compile("[A-Z]{3}")
#: 'Euro (EUR)', 'EUR (€)': a name or sign with the code in brackets.
_BRACKETED = re.compile(r"(.+?)\s*[(\[]\s*([^()\[\]]+?)\s*[)\]]")


def _currency_named(text: str) -> str | None:
    """The code of a currency's sign or name (``_currency_names``), or of a name and a code
    in brackets that name the same; else None."""
    if found := _BRACKETED.fullmatch(text):
        read = {_currency(part) for part in found.groups()}
        code = read.pop()
        return code if not read and code in _currency_codes() else None
    return _currency_names().get(_sign_key(text)) or _currency_names().get(fold(text))


def _sign_key(text: str) -> str:
    """The form signs are compared in: NFKC, no case, no spaces, invisible marks or final dot
    ('د.إ.\u200f' and 'د.إ' are one sign; so are 'Kč' and 'KČ')."""
    return plain_digits(text).casefold().replace(" ", "").rstrip(".")


@cache
def _currency_names() -> dict[str, str | None]:
    """Sign or folded name -> code: CLDR's signs as every locale Babel holds writes them, and
    the currencies' names in the languages of commerce (``COMMERCE_LOCALES``), singular and
    plural. A sign or name of two currencies is neither (None); a sign of one Latin letter
    ('P', 'R', 'S') is too short to tell; ``SHARED_SIGNS`` are not read. Built on the first
    currency that is no code and not in ``_CURRENCY_SIGNS`` (about 0.4 s, once)."""
    from babel import localedata

    codes: dict[str, str | None] = {}

    def add(key: str, code: str) -> None:
        if key and key not in SHARED_SIGNS and not (len(key) == 1 and key.isascii() and key.isalpha()):
            codes[key] = code if codes.setdefault(key, code) == code else None

    for locale in localedata.locale_identifiers():
        data = own_locale_data(localedata, locale)
        for code, sign in data.get("currency_symbols", {}).items():
            add(_sign_key(sign), code)
        if locale in COMMERCE_LOCALES:
            for code, name in data.get("currency_names", {}).items():
                add(fold(name), code)
            for code, plurals in data.get("currency_names_plural", {}).items():
                for name in plurals.values():
                    add(fold(name), code)
    return codes


@cache
def _currency_codes() -> frozenset[str]:
    """The codes CLDR names (ISO 4217's, current and past)."""
    return frozenset(code for code in _currency_names().values() if code)


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
    """``value`` as an amount (``_amount``), a placeholder for none ('-', 'free') as 0, as a
    part of the totals sent as null is (a field that must have an amount refuses it itself);
    raises what ``Decimal`` raises for no amount."""
    try:
        return Decimal(str(_amount(value)))
    except PydanticUseDefault:
        return Decimal(0)


def _scope(value: Any) -> Any:
    """'EU-FR', ' eu-fr ': scope ids are lower case (``ScopeId``), so another case names the same."""
    return value.strip().lower() if isinstance(value, str) else value


#: A scope id as an upstream system may write it (``_scope``).
UpstreamScope = Annotated[Identifier, BeforeValidator(_scope)]
