"""Card numbers (PANs) in upstream payloads: never accepted, never stored (PCI, C7, O1).

Every upstream contract (orders and their events, carts, payment methods, invoices) is a
``CardSafe`` model: a full card number (13 to 19 digits, spaces or dashes allowed, passing
the Luhn check, starting with 2 to 6 like the major networks' numbers) in a field it knows
is a field-level error, ``looks like a full card number``. The contract decides what a field
error costs: the tolerant order contract sets an optional field aside (O1), the others
refuse the message.

Fields that hold a platform's own ids or a carrier's tracking number are not read as card
numbers (``NOT_CARD_NUMBERS``): a 13-digit Shopify id, an EAN-13 SKU or a 15-digit tracking
number passes the Luhn check one time in ten. A phone field refuses only runs of 16 digits
or more (``PHONE_FIELDS``): no phone number is that long (E.164: 15 at most), while a
Brazilian mobile with its country code is 13 digits starting with 5.

Where a payload's raw text is kept anyway (a dead letter, a rejected order's excerpt, a
note), ``redact_card_numbers_in_json`` masks every card number but its last four digits,
outside those id fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidatorFunctionWrapHandler, field_validator, model_validator
from pydantic_core import PydanticCustomError

#: 13 to 19 digits, each optionally followed by one space or dash, not inside a longer run.
_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
#: The major networks' numbers start with 2 to 6 (Mastercard, Amex/Diners/JCB, Visa,
#: Discover/UnionPay). Numeric ids from 7, 8 or 9 (many PSPs' recurring references) pass.
_CARD_FIRST_DIGITS = frozenset("23456")
_DIGIT = re.compile(r"\d")
CARD_NUMBER_REASON = "looks like a full card number: send a token and the last four digits only"

#: Field names whose values are ids, phones or tracking numbers, in every upstream contract
#: and in the JSON of its messages.
NOT_CARD_NUMBERS = frozenset(
    {
        "message_id",
        "correlation_id",
        "causation_id",
        "source_system",
        "source_customer_id",
        "scope",
        "order_number",
        "converted_order_number",
        "sku",
        "store_id",
        "payment_id",
        "shipment_id",
        "cart_id",
        "invoice_number",
        "tracking_number",
    }
)
#: Phone fields: a card number there is a run longer than any phone number.
PHONE_FIELDS = frozenset({"phone", "work_phone", "mobile", "fax"})
_LONGER_THAN_A_PHONE = 16


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card_number(run: str) -> bool:
    digits = re.sub(r"\D", "", run)
    return digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits)


def card_numbers_in(text: str, *, min_digits: int = 13) -> list[str]:
    """The digit runs in ``text`` that are card numbers (digits only), of ``min_digits`` or more."""
    found = (re.sub(r"\D", "", m.group()) for m in _DIGIT_RUN.finditer(text) if _is_card_number(m.group()))
    return [digits for digits in found if len(digits) >= min_digits]


def mask_card_numbers(text: str, *, min_digits: int = 13) -> str:
    """``text`` with every card number's digits but the last four replaced by ``*``: what may
    be shown or kept of it."""

    def mask(match: re.Match[str]) -> str:
        run = match.group()
        if not _is_card_number(run) or sum(ch.isdigit() for ch in run) < min_digits:
            return run
        hidden = sum(ch.isdigit() for ch in run) - 4  # the last four digits stay, wherever the spaces
        return _DIGIT.sub(lambda _: "*", run, count=hidden)

    return _DIGIT_RUN.sub(mask, text)


def texts_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text (and integer, which a card number may arrive as) inside ``value``, with its
    dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        yield path, str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from texts_in(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from texts_in(item, f"{path}.{index}")


def _min_digits(field: str | None) -> int:
    return _LONGER_THAN_A_PHONE if field in PHONE_FIELDS else 13


def has_card_number(value: Any, field: str | None = None) -> bool:
    """Whether ``value`` (of field ``field``: a phone field looks for longer runs) holds one."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str) and _DIGIT_RUN.search(value) is None:
        return False  # most texts: no run of 13 digits at all (checked on every field of every order)
    return any(card_numbers_in(text, min_digits=_min_digits(field)) for _, text in texts_in(value))


#: True while a payload is read that holds no run of 13 digits anywhere (``reading``): the
#: checks per field and per model have nothing to find in it.
_NO_DIGIT_RUNS: ContextVar[bool] = ContextVar("no_digit_runs", default=False)


def could_hold_card_number(value: Any, key: str | None = None) -> bool:
    """Whether a text or a number inside ``value`` (JSON-like data, a field ``key``'s) has a
    run of digits as long as a card number, outside the id fields (``NOT_CARD_NUMBERS``, at
    any depth, as ``redact_card_numbers_in_json`` reads them) and phone fields' shorter runs:
    the condition every check here needs, found in one pass."""
    if key in NOT_CARD_NUMBERS:
        return False
    if isinstance(value, str):
        if len(value) < 13:
            return False
        if key in PHONE_FIELDS and sum(ch.isdigit() for ch in value) < _LONGER_THAN_A_PHONE:
            return False
        return _DIGIT_RUN.search(value) is not None
    if isinstance(value, dict):
        return any(could_hold_card_number(item, name) for name, item in value.items())
    if isinstance(value, list | tuple):
        return any(could_hold_card_number(item, key) for item in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float | Decimal):
        return could_hold_card_number(str(value), key)
    return False  # a model instance: checked when it was made


@contextmanager
def reading(data: Any) -> Iterator[None]:
    """Around the validation of a payload: when ``data`` holds no run of 13 digits, the
    checks of its fields and of the models inside it are skipped (``no_digit_runs``). One pass
    over an order costs a few microseconds; a check per field cost about half a millisecond."""
    if _NO_DIGIT_RUNS.get() or could_hold_card_number(data):
        yield
        return
    token = _NO_DIGIT_RUNS.set(True)
    try:
        yield
    finally:
        _NO_DIGIT_RUNS.reset(token)


def no_digit_runs() -> bool:
    """Inside ``reading`` a payload with no run of 13 digits anywhere."""
    return _NO_DIGIT_RUNS.get()


def _redacted(value: Any, key: str | None) -> Any:
    if key in NOT_CARD_NUMBERS:
        return value
    if isinstance(value, str):
        return mask_card_numbers(value, min_digits=_min_digits(key))
    if isinstance(value, int) and not isinstance(value, bool) and has_card_number(value, key):
        return mask_card_numbers(str(value), min_digits=_min_digits(key))
    if isinstance(value, dict):
        return {k: _redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(item, key) for item in value]
    return value


def redact_card_numbers_in_json(body: bytes) -> bytes:
    """``body`` with every card number masked but its last four digits, outside the id fields
    (``NOT_CARD_NUMBERS``, at any depth); the same bytes when it holds none, so a replay of a
    clean message is the message. A body that is not JSON is masked as text."""
    text = body.decode("utf-8", "surrogateescape")
    if not card_numbers_in(text):
        return body
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or too deep to read: mask it all
        return mask_card_numbers(text).encode("utf-8", "surrogateescape")
    redacted = _redacted(data, None)
    if redacted == data:
        return body
    return json.dumps(redacted, ensure_ascii=False).encode("utf-8", "surrogateescape")


class CardSafe(BaseModel):
    """Base of every upstream payload: a card number in a field it knows (but the id fields)
    is an error on that field. One in a field it does not know is refused (``"refuse"``, the
    commerce contract: a cart or a payment method carrying one is an integration sending
    card data) or left out (``"ignore"``, orders: the order is kept, the field never is; the
    order contract notes it)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    UNKNOWN_FIELDS_WITH_CARD_NUMBERS: ClassVar[Literal["refuse", "ignore"]] = "refuse"

    @model_validator(mode="wrap")
    @classmethod
    def _no_card_number_in_unknown_fields(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        with reading(data):
            if cls.UNKNOWN_FIELDS_WITH_CARD_NUMBERS == "refuse" and isinstance(data, dict) and not no_digit_runs():
                for path in unknown_fields_with_card_numbers(cls, data):
                    raise PydanticCustomError("card_number", "field {field} " + CARD_NUMBER_REASON, {"field": path})
            return handler(data)

    @field_validator("*", mode="after")
    @classmethod
    def _no_card_number(cls, value: Any, info: Any) -> Any:
        if no_digit_runs():
            return value
        if info.field_name not in NOT_CARD_NUMBERS and has_card_number(value, info.field_name):
            raise PydanticCustomError("card_number", CARD_NUMBER_REASON)
        return value


def unknown_fields_with_card_numbers(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """The dotted paths of fields ``model`` does not know (at its own level) that hold a card
    number: nested models look at their own."""
    found = []
    for key, value in data.items():
        if key in model.model_fields or key in NOT_CARD_NUMBERS:
            continue
        for path, text in texts_in(value, str(key)):
            if card_numbers_in(text, min_digits=_min_digits(str(key))):
                found.append(path)
    return found
