"""What the marketplace adapters (eBay, Amazon) share beyond mapping.py (O8). Pure: no I/O.

Marketplaces give a person's name as one text (eBay ``fullName``, Amazon ``BuyerName``), a
line's price for all its units (eBay ``lineItemCost``, Amazon ``ItemPrice``: the unit price
times the quantity) and money as an object (``{"value", "currency"}``,
``{"Amount", "CurrencyCode"}``).

Card numbers: neither marketplace sends any (the buyer pays the marketplace), but a buyer
may type one into a free text (an address line, a gift message). As on every platform, a
card number in a field our contract reads is that field's error (``contracts.upstream.cards``)
and the order is dead-lettered. ``without_card_data`` is what the dead letter keeps: every
card number masked but its last four digits (``card_safe``) outside the payload's id fields
(``orderId``, ``AmazonOrderId``, ``sku``, ``SellerSKU``, tracking numbers...: a 13-19 digit
id passes the Luhn check one time in ten, and masking it would publish another order on a
replay), so that a replay maps, masked, to the order's own message ids.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.cards import card_numbers_in, mask_card_numbers
from contracts.upstream.orders import OrderPlaced

from .mapping import (
    Origins,
    PlatformConfig,
    Problems,
    address,
    blank_none,
    build,
    decimal,
    get,
    in_currency,
    message_id,
    status_changed,
    version_of,
)

#: Keys whose values are ids, SKUs, references or tracking numbers: never masked.
_ID_KEY = re.compile(r"(^id|Id|ID|_id|^sku|SKU|^ASIN|[Tt]rackingNumber|Reference)$")
#: Phone keys: a card number there is a run longer than any phone number (as the contract reads phones).
_PHONE_KEYS = frozenset({"phoneNumber", "Phone", "phone"})
_PHONE_MIN_DIGITS = 16

#: Words that begin a family name ("Ludwig van Beethoven", "Jean de La Fontaine").
_PARTICLES = frozenset(
    {
        "da",
        "das",
        "de",
        "del",
        "della",
        "den",
        "der",
        "des",
        "di",
        "do",
        "dos",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "van",
        "von",
        "zu",
    }
)


#: The legal form a company's name ends with ('ML Bau & Energie GmbH', 'Acme Trading Ltd.',
#: 'Dupont SARL'), written as companies write it: a contact so named is a company, no person.
_LEGAL_FORM = re.compile(
    r"\s(?:GmbH(?:\s*&\s*Co\.?\s*KG)?|AG|KG|OHG|UG|e\.\s?K\.|Ltd\.?|Limited|LLC|L\.L\.C\.|Inc\.?|Corp\.?|"
    r"PLC|plc|LLP|SARL|S\.A\.R\.L\.|SAS|S\.A\.S\.|S\.A\.|S\.L\.|S\.L\.U\.|S\.R\.L\.|Srl|S\.p\.A\.|SpA|"
    r"B\.V\.|BV|N\.V\.|Oy|AB|A/S|ApS|Sp\.\s?z\s?o\.o\.|s\.r\.o\.)$"
)


def is_company(full: Any) -> bool:
    """Whether a contact's full name is a company's: it ends with a legal form."""
    return isinstance(full, str) and _LEGAL_FORM.search(full.strip()) is not None


def split_name(full: Any) -> tuple[str | None, str | None]:
    """A full name as (first, last): the last word is the family name, with the particles
    before it (``van``, ``de La``); one word is a family name alone. A company's name
    (``is_company``) is no person's: (None, None)."""
    words = full.split() if isinstance(full, str) and not is_company(full) else []
    if not words:
        return None, None
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]) or None, " ".join(words[start:])


def postal_address(full_name: Any, **fields: Any) -> dict[str, Any] | None:
    """Our address of a marketplace's contact: its full name split (``split_name``), its
    other fields by our names (``company``, ``line1``... ``phone``), a blank as missing;
    None when nothing is in it. A company's name is the address's company ('ML Bau &
    Energie GmbH' on an eBay ship-to: no first name 'ML Bau & Energie', last name 'GmbH')."""
    first, last = split_name(full_name)
    if is_company(full_name) and not blank_none(fields.get("company")):
        fields = {**fields, "company": full_name.strip()}
    return address(first_name=first, last_name=last, **fields)


def money(problems: Problems, data: Any, path: str, key: str, *, where: str = "", missing: Any = None) -> Decimal:
    """The amount of the money object at ``path`` in ``data`` (its ``key``: ``value``,
    ``Amount``); a missing one is ``missing`` (None: a field error naming ``where`` +
    ``path.key``)."""
    value = blank_none(get(data, f"{path}.{key}"))
    read: Decimal = problems.check(
        decimal, missing if value is None else value, f"{where}{path}.{key}", default=Decimal(0)
    )
    return read


def amazon_totals(sums: dict[str, Decimal], total: Decimal, exponent: int, *, items_read: bool) -> dict[str, Any]:
    """An Amazon order's totals from its items' ``sums`` (subtotal, shipping, tax, discount)
    and its ``total``, in either Orders API: without items read, what it cost in one; prices
    with VAT (Europe, the UK) when the items add up to the total without their tax."""
    if not items_read:
        sums = {**sums, "subtotal": total}
    included = sums["tax"] != 0 and sums["subtotal"] + sums["shipping"] - sums["discount"] == total
    return {
        **{name: in_currency(value, exponent) for name, value in sums.items()},
        "total": in_currency(total, exponent),
        "taxes_included": included,
    }


def unit_price(total: Decimal, quantity: Decimal, exponent: int) -> Decimal:
    """A line's price for one unit, from its price for all units, to the currency's minor unit."""
    if quantity <= 0:
        return total
    return (total / quantity).quantize(Decimal(1).scaleb(-exponent))


def correlation(platform: str, order_id: str) -> str:
    """What every message of one order shares: derived from the order's id."""
    return message_id(platform, "order", order_id)


def placed(
    platform: str,
    config: PlatformConfig,
    order: dict[str, Any],
    payload: dict[str, Any],
    origins: Origins,
    problems: Problems,
) -> list[Envelope[Any]]:
    """The ``OrderPlaced`` of ``payload``, its id from the order's id and a digest of the
    ``order`` as read (a changed order is a new version, the same one the same id)."""
    order_id = payload["order_number"]
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(platform, "order-placed", order_id, version_of(order)),
            correlation_id=correlation(platform, order_id),
            occurred_at=payload["placed_at"],
            payload=payload,
            origins=origins,
            problems=problems,
        )
    ]


def status_change(
    platform: str, config: PlatformConfig, order_id: str, status: Any, changed_at: Any, scope: str, origins: Origins
) -> Envelope[Any]:
    """The ``OrderStatusChanged`` to ``status``: one id per order, status and time (the same
    order polled again publishes the same one)."""
    return status_changed(
        config,
        message_id=message_id(platform, "status", order_id, status, changed_at),
        correlation_id=correlation(platform, order_id),
        order_number=order_id,
        scope=scope,
        status=status,
        changed_at=changed_at,
        origins=origins,
    )


def card_safe(value: Any, key: str = "") -> Any:
    """``value`` (a marketplace payload) with every card number in a text masked but its
    last four digits, outside the id fields; the same object when it holds none."""
    if _ID_KEY.search(key):
        return value
    if isinstance(value, dict):
        return {name: card_safe(inner, str(name)) for name, inner in value.items()}
    if isinstance(value, list):
        return [card_safe(inner, key) for inner in value]
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        least = _PHONE_MIN_DIGITS if key in _PHONE_KEYS else 13
        masked = mask_card_numbers(str(value), min_digits=least)
        return value if masked == str(value) else masked
    return value


def without_card_data(body: bytes) -> bytes:
    """What a dead letter keeps of a marketplace body: the bytes as sent when no card number
    is in them, else the JSON ``card_safe`` (amounts as decimal texts,
    read as the same amounts), which maps to the same message ids."""
    if not card_numbers_in(body.decode("utf-8", "replace")):
        return body
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):  # never mapped: masked as text
        return mask_card_numbers(body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    safe = card_safe(data)
    return body if safe == data else json.dumps(safe, default=str, ensure_ascii=False).encode()
