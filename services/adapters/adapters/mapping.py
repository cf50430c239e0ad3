"""What every platform mapper shares: reading a platform payload, field-level errors that
name the *platform's* field, money, and message ids derived from the platform's own ids.

A mapper is a pure function ``(topic, payload, config) -> list[message]``: no I/O, so the
same payload always gives the same messages with the same ``message_id`` (a webhook
delivered twice, or a dead letter replayed after a fix, is deduplicated downstream).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar, overload

import iso4217
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from contracts.envelope import Envelope
from contracts.replies import FieldError
from contracts.types import OptionalHttpsLink

#: Fixed forever: changing it would change every derived message id.
_ID_NAMESPACE = uuid.UUID("5f0c3c1e-8a5e-4d0e-9a53-0f3c6e0a0d18")

#: What a reader passed to ``Problems.check`` returns.
T = TypeVar("T")
#: The stand-in ``Problems.check`` returns instead, when the reader failed.
D = TypeVar("D")


class MappingError(Exception):
    """The payload cannot become our contract; each field error names the platform field."""

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.reason}" for f in fields))
        self.fields = fields

    @classmethod
    def at(cls, field: str, reason: str) -> MappingError:
        return cls([FieldError(field=field, reason=reason)])


class Ignored(Exception):
    """The payload is the platform's and authentic, but nothing of it is for us (a Shopify
    test order, a fulfillment that has not shipped yet): acknowledged, logged with the
    reason, nothing published, nothing dead-lettered."""

    def __init__(self, reason: str, *, kind: str = "other") -> None:
        super().__init__(reason)
        self.reason = reason
        #: What was ignored, for the count operators read (``oms_adapters_ignored_total``).
        self.kind = kind


class PrivacyRequested(Exception):
    """A platform's privacy request (Shopify's mandatory compliance topics): not an order.
    ``request`` holds the ids it names and nothing personal (no email, no phone), so it can
    travel and be kept; handlers.py acknowledges it and routes it to C18 (privacy.py)."""

    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__(f"{request.get('platform')} {request.get('topic')}")
        self.request = request


class Problems:
    """Every wrong field of one payload, not only the first: a mapper reads each field
    through ``check`` (a failure is noted and a harmless stand-in used) and ``build`` reports
    them with the contract's own errors, in one ``MappingError``."""

    def __init__(self) -> None:
        self.fields: list[FieldError] = []

    # The reader's own arguments vary (a value and a path, sometimes ``required``); what is
    # typed is the result: the reader's, or the stand-in given as ``default``.
    @overload
    def check(self, read: Callable[..., T], *args: Any, default: D, **kwargs: Any) -> T | D: ...
    @overload
    def check(self, read: Callable[..., T], *args: Any, default: None = None, **kwargs: Any) -> T | None: ...
    def check(self, read: Callable[..., T], *args: Any, default: D | None = None, **kwargs: Any) -> T | D | None:
        try:
            return read(*args, **kwargs)
        except MappingError as error:
            self.fields += [f for f in error.fields if f not in self.fields]
            return default

    def add(self, field: str, reason: str) -> None:
        self.fields.append(FieldError(field=field, reason=reason))

    def raise_if_any(self) -> None:
        if self.fields:
            raise MappingError(list(self.fields))


def message_id(platform: str, *parts: Any) -> str:
    """A UUID derived from the platform's own ids: the same event gives the same id."""
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join([platform, *(str(p) for p in parts)])))


@dataclass(frozen=True)
class PlatformConfig:
    """How one platform's orders enter: which source system they belong to, and which scope.

    ``scopes`` maps the platform's own channel or store key (commercetools store key, Saleor
    channel slug, Medusa sales channel id) to one of our scopes; ``scope`` is used when the
    key is absent or not listed. With neither, the order cannot be mapped.
    """

    platform: str
    source_system: str
    scope: str | None = None
    scopes: Mapping[str, str] = field(default_factory=dict)
    #: Shopify ``test: true`` orders (Bogus gateway, test mode): "ignore" (acknowledged,
    #: logged, never a customer) or "accept" (a staging shop that wants them through).
    test_orders: str = "ignore"
    #: The platform's own currency ids -> ISO 4217 codes, for payloads that name the currency
    #: by id only (a Shopware order whose ``currency`` association was not loaded).
    currencies: Mapping[str, str] = field(default_factory=dict)

    @property
    def producer(self) -> str:
        return f"adapter:{self.platform}"

    def scope_for(self, key: Any, path: str) -> str:
        if key not in (None, "") and str(key) in self.scopes:
            return self.scopes[str(key)]
        if self.scope:
            return self.scope
        raise MappingError.at(path, f"no scope configured for {key!r} (and no default scope)")


def get(data: Any, path: str, default: Any = None) -> Any:
    """``get(order, "customer.default_address.city")``: None (or ``default``) where any step is missing."""
    value = data
    for key in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return default
        if value is None:
            return default
    return value


def require(data: Any, path: str, where: str = "") -> Any:
    value = get(data, path)
    if value in (None, "", [], {}):
        raise MappingError.at(f"{where}{path}", "required, missing")
    return value


def obj(data: Any, path: str) -> dict[str, Any]:
    value = get(data, path)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MappingError.at(path, "must be an object")
    return dict(value)


def items(data: Any, path: str) -> list[Any]:
    """The list at ``path``; a null in it (an item a platform's serializer left empty) is none."""
    value = get(data, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError.at(path, "must be a list")
    return [item for item in value if item is not None]


@overload
def identifier(value: Any, path: str, *, required: Literal[True]) -> str: ...
@overload
def identifier(value: Any, path: str, *, required: bool = False) -> str | None: ...
def identifier(value: Any, path: str, *, required: bool = False) -> str | None:
    """A platform id as our text: a string or an integer (Shopify's are JSON integers, read
    exactly). An object, a list, a boolean or a fractional number is a field error, never
    its Python repr as an order or customer number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise MappingError.at(path, "required, missing")
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise MappingError.at(path, f"must be a string or an integer id, not {_json_kind(value)}")
    if isinstance(value, (int, str)):
        return str(value).strip()
    if isinstance(value, (float, Decimal)) and value == int(value):
        return str(int(value))
    raise MappingError.at(path, f"must be a string or an integer id, not {value!r}")


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(type(value), type(value).__name__)


def version_of(payload: Any) -> str:
    """What tells one state of a resource from another: a digest of the whole body. The
    same body twice (a retried webhook) gives the same message ids; a changed body under the
    same order id gives new ones, so an update is never deduplicated away as a repeat."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def currency_exponent(code: Any, path: str) -> int:
    """ISO 4217 minor unit of a currency (EUR 2, JPY 0, KWD 3), from the ``iso4217``
    package (the standard's own table): what an amount in minor units is divided by."""
    if not isinstance(code, str) or not code.strip():
        raise MappingError.at(path, "required, missing: the currency says how to read minor units")
    try:
        exponent = iso4217.Currency(code.strip().upper()).exponent
    except (ValueError, KeyError):
        raise MappingError.at(path, f"not an ISO 4217 currency: {code!r}") from None
    if exponent is None:
        raise MappingError.at(path, f"{code!r} has no minor unit (not money)")
    return exponent


def text(value: Any) -> str | None:
    """Ids arrive as numbers (Shopify) or strings; our contract wants text."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return None
    return str(value)


#: Digits an amount may have before its decimal point (10^15: no order costs as much).
MAX_AMOUNT_DIGITS = 15


def decimal(value: Any, path: str) -> Decimal:
    """An amount as the platform wrote it: a decimal string, an integer, or a JSON number
    read as Decimal (bodies are parsed with ``parse_float=Decimal``), never a float."""
    if value is None:
        raise MappingError.at(path, "required, missing")
    if isinstance(value, bool) or isinstance(value, float):
        raise MappingError.at(path, f"not an exact amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError.at(path, f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise MappingError.at(path, f"not a decimal amount: {value!r}")
    if amount.adjusted() >= MAX_AMOUNT_DIGITS:
        # No order costs 10^15 of anything; past 28 digits Decimal's arithmetic fails.
        raise MappingError.at(path, f"not a plausible amount: {str(value)[:40]!r} has over {MAX_AMOUNT_DIGITS} digits")
    return amount


def amount_of(problems: Problems, value: Any, field: str, *, missing: Any = None) -> Decimal:
    """``value`` read as an amount (``decimal``) under the platform's ``field``. Null or blank
    (WooCommerce, BigCommerce and Shopware write ``""`` for an amount not filled in) is
    ``missing`` when one is given (an optional amount: a discount, a tax), else refused as
    required; a refusal is noted in ``problems`` and 0 stands in."""
    value = blank_none(value)
    read: Decimal = problems.check(decimal, missing if value is None else value, field, default=Decimal(0))
    return read


def in_currency(amount: Decimal, exponent: int) -> Decimal:
    """``amount`` written with the currency's ISO 4217 minor unit when that loses nothing
    (BigCommerce's ``"55.9900"`` is 55.99 USD, ``"1200.0000"`` is 1200 JPY, WooCommerce's
    ``price: 3`` is 3.00 USD); an amount finer than the minor unit is kept as it is."""
    shaped = amount.quantize(Decimal(1).scaleb(-exponent))
    return shaped if shaped == amount else amount


def blank_none(value: Any) -> Any:
    """The platforms' empty strings (WooCommerce and BigCommerce send ``""`` for every
    field not filled in) as missing."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def address(**fields: Any) -> dict[str, Any] | None:
    """Our address from a platform's, its fields given by our names (``first_name``,
    ``last_name``, ``company``, ``line1``, ``line2``, ``city``, ``region``, ``postal_code``,
    ``country``, ``phone``): a blank is missing, and an address with nothing in it is none (a
    digital order's shipping block of empty strings, a guest's missing billing block)."""
    kept = {name: blank_none(value) for name, value in fields.items()}
    return kept if any(value is not None for value in kept.values()) else None


def total_of(values: list[tuple[Any, str]]) -> Decimal:
    return sum((decimal(v, p) for v, p in values), Decimal(0))


def language(value: Any) -> str | None:
    """``fr-CA``, ``fr_CA`` or Saleor's ``FR_CA`` -> ``fr-CA``; anything else is dropped
    (a missing language falls back to the scope's; a wrong one must not refuse an order)."""
    if not isinstance(value, str):
        return None
    parts = re.split(r"[-_]", value.strip())
    if not parts or not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        return None
    rest = [p.upper() if len(p) == 2 else p for p in parts[1:] if re.fullmatch(r"[A-Za-z0-9]{2,8}", p)]
    return "-".join([parts[0].lower(), *rest])


_AWARE = TypeAdapter(AwareDatetime)
_HTTPS_LINK = TypeAdapter(OptionalHttpsLink)


def https_link(value: Any) -> str | None:
    """A platform's link (a carrier's tracking page) if it is one our contract takes (https,
    contracts.types), else None: Shopify still gives ``http://`` tracking pages for some
    carriers, and a shipment must not be refused for a link it can do without."""
    if not isinstance(value, str):
        return None
    try:
        return _HTTPS_LINK.validate_python(value)
    except ValidationError:
        return None


def checked_part(
    model: type[BaseModel], part: dict[str, Any], where: str, names: Mapping[str, str], problems: Problems
) -> bool:
    """Validate one part of a message (an order line, a shipped line) against the contract's
    own model before it is built, noting each error under the platform's field of that item
    (``where`` + ``names[field]``, e.g. ``items[3].price``). For mappers that leave some of
    the platform's items out (a configurable product's child, a promotion line): the contract
    would count only the lines kept, and name the wrong item. False when it does not validate
    (the caller leaves the part out: its errors are already noted)."""
    try:
        model.model_validate(part)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            ours = str(error["loc"][0]) if error["loc"] else ""
            problems.add(f"{where}{names.get(ours, ours)}", error["msg"])
        return False
    return True


#: For each contract field (``lines.*.unit_price``), the platform field it came from
#: (``line_items[*].price``): turns a contract validation error into the platform's name.
Origins = Mapping[str, str]


def build(
    message_type: type[Envelope[Any]],
    *,
    config: PlatformConfig,
    message_id: str,
    correlation_id: str,
    occurred_at: Any,
    payload: dict[str, Any],
    origins: Origins,
    problems: Problems | None = None,
) -> Envelope[Any]:
    """Validate ``payload`` as ``message_type``; an invalid field is reported by its platform
    name, together with the ``problems`` met while reading the payload (all in one error)."""
    noted = list(problems.fields) if problems else []
    envelope: dict[str, str | datetime] = {
        "message_id": message_id,
        "correlation_id": correlation_id,
        "producer": config.producer,
    }
    try:
        # The platform's own time when it is one; a bad one is reported on the payload field.
        envelope["occurred_at"] = _AWARE.validate_python(occurred_at)
    except ValidationError:
        pass
    try:
        message = message_type.model_validate({**envelope, "payload": payload})
    except ValidationError as exc:
        found = [
            FieldError(field=_platform_field(err["loc"], origins), reason=err["msg"])
            for err in exc.errors(include_url=False)
        ]
        # One error per platform field: a field already found wrong while reading is not
        # reported again by the contract (its stand-in value fails there too).
        seen = {f.field for f in noted}
        raise MappingError(noted + [f for f in found if f not in noted and f.field not in seen]) from None
    if noted:
        raise MappingError(noted)
    return message


def _platform_field(loc: tuple[Any, ...], origins: Origins) -> str:
    if not loc or loc[0] != "payload":
        return ".".join(map(str, loc)) or "body"
    ours = [str(part) for part in loc[1:]]
    # The longest prefix of our path that has an origin, indexes generalized to "*".
    for end in range(len(ours), 0, -1):
        pattern = ".".join("*" if p.isdigit() else p for p in ours[:end])
        if pattern in origins:
            indexes = iter(p for p in ours[:end] if p.isdigit())

            def index(_: re.Match[str], indexes: Iterator[str] = indexes) -> str:
                return next(indexes, "*")

            return re.sub(r"\*", index, origins[pattern])
    return "payload." + ".".join(ours)


Mapper = Callable[[str, Any, PlatformConfig], list[Envelope[Any]]]


def payment_received(
    config: PlatformConfig,
    *,
    message_id: str,
    correlation_id: str,
    order_number: Any,
    scope: Any,
    payment_id: Any,
    amount: Any,
    currency: Any,
    method: Any,
    paid_at: Any,
    origins: Origins,
    problems: Problems | None = None,
) -> Envelope[Any]:
    """The ``PaymentReceived`` a platform's paid order makes (O7): one per order and payment."""
    from contracts.upstream.orders import PaymentReceived  # the contract module imports nothing of ours: no cycle

    return build(
        PaymentReceived,
        config=config,
        message_id=message_id,
        correlation_id=correlation_id,
        occurred_at=paid_at,
        payload={
            "source_system": config.source_system,
            "order_number": order_number,
            "scope": scope,
            "payment_id": payment_id,
            "amount": amount,
            "currency": currency,
            "method": method,
            "paid_at": paid_at,
        },
        origins=origins,
        problems=problems,
    )


def status_changed(
    config: PlatformConfig,
    *,
    message_id: str,
    correlation_id: str,
    order_number: Any,
    scope: Any,
    status: Any,
    changed_at: Any,
    origins: Origins,
) -> Envelope[Any]:
    """The ``OrderStatusChanged`` every platform's update makes: the order's newest status (O7)."""
    from contracts.upstream.orders import OrderStatusChanged  # the contract module imports nothing of ours: no cycle

    return build(
        OrderStatusChanged,
        config=config,
        message_id=message_id,
        correlation_id=correlation_id,
        occurred_at=changed_at,
        payload={
            "source_system": config.source_system,
            "order_number": order_number,
            "scope": scope,
            "status": status,
            "changed_at": changed_at,
        },
        origins=origins,
    )
