"""Upstream commerce contract, version 1: carts, saved payment methods and invoices (C7, I3).

Storefronts and payment or billing systems publish these to the ``<ns>.upstream`` topic
exchange, like orders, with routing keys ``commerce.<message>.v1``. They know the customer
by their own id (``source_system`` with ``source_customer_id``) and orders by number;
order-sync resolves each to a customer code and publishes the customer-scoped events at the
end of this module (``order-sync.customer-*.v1`` on ``<ns>.events``).

**Never a card number.** A saved payment method is a token, a brand, the last four digits
and the expiry. A full card number (13 to 19 digits, spaces or dashes allowed, passing the
Luhn check) in any text field, or in a field the contract does not know, is refused with a
field-level error: the message is dead-lettered and nothing of it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .envelope import Event, define_message
from .orders import OrderRef
from .types import CurrencyCode, Identifier, Money, OptionalIdentifier, Text

# --- card numbers (PCI: never accepted, never stored) ----------------------------------------

#: 13 to 19 digits, each optionally followed by one space or dash, not inside a longer run.
_DIGIT_RUN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
#: The major networks' numbers start with 2 to 6 (Mastercard, Amex/Diners/JCB, Visa,
#: Discover/UnionPay). Numeric ids from 7, 8 or 9 (many PSPs' recurring references) pass.
_CARD_FIRST_DIGITS = frozenset("23456")
CARD_NUMBER_REASON = "looks like a full card number: send a token and the last four digits only"


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """The digit runs in ``text`` that are card numbers (digits only)."""
    found = []
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits):
            found.append(digits)
    return found


def mask_card_numbers(text: str) -> str:
    """``text`` with every card number's digits but the last four replaced by ``*``: what may
    be shown or kept of a refused message."""

    def mask(match: re.Match[str]) -> str:
        run = match.group()
        digits = re.sub(r"\D", "", run)
        if digits[0] not in _CARD_FIRST_DIGITS or not luhn_valid(digits):
            return run
        keep = len(run) - 4
        return re.sub(r"\d", "*", run[:keep]) + run[keep:]

    return _DIGIT_RUN.sub(mask, text)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every text (and integer, which a card number may arrive as) inside ``value``."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        yield path, str(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


def _refuse_card_numbers(value: Any) -> Any:
    if any(card_numbers_in(text) for _, text in _strings(value, "")):
        raise PydanticCustomError("card_number", CARD_NUMBER_REASON)
    return value


class _CardSafe(BaseModel):
    """Tolerant of unknown fields, like the order contract, but refuses a card number in any
    field, known (error on that field) or not (error naming it)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _no_card_number_in_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = {k: v for k, v in data.items() if k not in cls.model_fields}
            for path, text in _strings(unknown, ""):
                if card_numbers_in(text):
                    raise PydanticCustomError("card_number", "field {field} " + CARD_NUMBER_REASON,
                                              {"field": path.lstrip(".")})
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _no_card_number(cls, value: Any) -> Any:
        return _refuse_card_numbers(value)


# --- upstream messages -------------------------------------------------------------------------


class _CustomerRef(_CardSafe):
    source_system: Identifier = Field(description="Which system and shop, e.g. 'shopify:acme-eu'.")
    source_customer_id: Identifier = Field(description="The customer's id in that system.")
    scope: Identifier


class CartLine(_CardSafe):
    sku: OptionalIdentifier = None
    name: Text
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    unit_price: Money
    total: Money


class Cart(_CustomerRef):
    """A customer's cart as it is now. No lines, or ``converted_order_number``, closes it."""

    cart_id: Identifier
    lines: list[CartLine] = Field(default_factory=list, max_length=2000)
    total: Money
    currency: CurrencyCode
    converted_order_number: OptionalIdentifier = Field(
        default=None, description="The order the cart became: the cart is closed."
    )
    updated_at: AwareDatetime


Last4 = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]


class SavedPaymentMethod(_CustomerRef):
    """A payment method the customer saved: a token and what can be shown of the card."""

    token: Identifier = Field(description="The payment provider's token; never the card number.")
    brand: Identifier = Field(description="e.g. 'visa', 'mastercard', 'paypal'.")
    last4: Last4 | None = Field(default=None, description="The last four digits, for cards.")
    expiry_month: int | None = Field(default=None, ge=1, le=12)
    expiry_year: int | None = Field(default=None, ge=2000, le=2100)
    saved_at: AwareDatetime


class RemovedPaymentMethod(_CustomerRef):
    token: Identifier
    removed_at: AwareDatetime


class Invoice(OrderRef, _CardSafe):
    """An invoice for an order; the order tells order-sync whose it is."""

    invoice_number: Identifier
    amount: Money
    currency: CurrencyCode
    status: Identifier = Field(default="open", description="e.g. open, paid, void.")
    issued_at: AwareDatetime
    due_at: AwareDatetime | None = None


def _upstream(name: str, payload: type[BaseModel], doc: str) -> type[Event]:
    return define_message(Event, "commerce", name, payload, doc)


CartUpdated = _upstream("CartUpdated", Cart, "C7: a customer's cart changed; empty or converted closes it.")
PaymentMethodSaved = _upstream("PaymentMethodSaved", SavedPaymentMethod, "C7: a customer saved a payment method.")
PaymentMethodRemoved = _upstream("PaymentMethodRemoved", RemovedPaymentMethod, "C7: a saved payment method was removed.")
InvoiceIssued = _upstream("InvoiceIssued", Invoice, "C7: an invoice was issued (or changed) for an order.")

UPSTREAM_COMMERCE_MESSAGES = (CartUpdated, PaymentMethodSaved, PaymentMethodRemoved, InvoiceIssued)


# --- what order-sync publishes once it knows the customer (on <ns>.events) ---------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CartView(_Out):
    source_system: str
    cart_id: str
    scope_id: str
    lines: list[CartLine] = Field(default_factory=list)
    total: Money
    currency: str
    converted_order_number: str | None = None
    open: bool = Field(description="False once the cart is empty or became an order.")
    updated_at: datetime


class PaymentMethodView(_Out):
    source_system: str
    token: str
    brand: str
    last4: str | None = None
    expiry_month: int | None = None
    expiry_year: int | None = None
    saved_at: datetime


class InvoiceView(_Out):
    source_system: str
    order_number: str
    scope_id: str
    invoice_number: str
    amount: Money
    currency: str
    status: str
    issued_at: datetime
    due_at: datetime | None = None


class CustomerCartPayload(_Out):
    customer_code: str
    cart: CartView


class CustomerPaymentMethodPayload(_Out):
    customer_code: str
    payment_method: PaymentMethodView


class CustomerPaymentMethodRemovedPayload(_Out):
    customer_code: str
    source_system: str
    token: str
    removed_at: datetime


class CustomerInvoicePayload(_Out):
    customer_code: str
    invoice: InvoiceView


def _resolved(name: str, payload: type[BaseModel], doc: str) -> type[Event]:
    return define_message(Event, "order-sync", name, payload, doc)


CustomerCartUpdated = _resolved("CustomerCartUpdated", CustomerCartPayload, "C7: a customer's cart changed.")
CustomerPaymentMethodSaved = _resolved("CustomerPaymentMethodSaved", CustomerPaymentMethodPayload, "C7: a customer saved a payment method.")
CustomerPaymentMethodRemoved = _resolved("CustomerPaymentMethodRemoved", CustomerPaymentMethodRemovedPayload, "C7: a customer's saved payment method was removed upstream.")
CustomerInvoiceIssued = _resolved("CustomerInvoiceIssued", CustomerInvoicePayload, "C7: an invoice for a customer's order.")
