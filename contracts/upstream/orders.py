"""Upstream order contract, version 1: what storefronts, marketplaces and POS publish (O1, I3).

Publish to the ``<ns>.upstream`` topic exchange with the message's routing key
(``order.order-placed.v1`` and so on), persistent, with publisher confirms.
Examples: ``contracts/examples/``.
"""

from __future__ import annotations

import contextlib
import functools
import re
import types
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticUseDefault

from contracts.envelope import Event, PayloadT, utc_now
from contracts.moments import day_or_month_first, names_a_year, nearest_before, without_its_year
from contracts.types import (
    Identifier,
    LanguageTag,
    OptionalCountryCode,
    OptionalHttpsLink,
    OptionalIdentifier,
    OptionalText,
    Text,
)
from contracts.upstream.cards import (
    CARD_NUMBER_REASON,
    CardSafe,
    no_digit_runs,
    reading,
    unknown_fields_with_card_numbers,
)
from contracts.upstream.readings import (
    SourceCustomerId,
    UpstreamCurrency,
    UpstreamId,
    UpstreamMomentRead,
    UpstreamMoney,
    UpstreamScope,
    amount_of,
)


def _account_type(value: Any) -> Any:
    """ "Guest", " REGISTERED " are what they say; "" and null are missing (the default)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PydanticUseDefault()
    return value.strip().lower() if isinstance(value, str) else value


AccountType = Annotated[Literal["guest", "registered"], BeforeValidator(_account_type)]


class _Payload(CardSafe):
    """Tolerant reader: platforms add fields all the time; unknown ones are ignored, and
    never kept, also when they hold a card number (contracts/upstream/cards.py). A card number in a
    field the contract knows is an error on that field. A number where text is expected (an
    order number, a customer id, a phone or a postal code sent as a JSON number, as many
    platforms' ids are) is read as its digits."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True, coerce_numbers_to_str=True)

    UNKNOWN_FIELDS_WITH_CARD_NUMBERS: ClassVar[Literal["refuse", "ignore"]] = "ignore"


class PostalAddress(_Payload):
    first_name: OptionalText = None
    last_name: OptionalText = None
    company: OptionalText = None
    line1: OptionalText = None
    line2: OptionalText = None
    city: OptionalText = None
    region: OptionalText = Field(default=None, description="State, province or county.")
    postal_code: OptionalText = None
    country: OptionalCountryCode = Field(
        default=None, description="ISO 3166-1 alpha-2; a country's name or alpha-3 code is read too."
    )
    phone: OptionalText = None


#: The name of a line sent with neither a name nor a SKU: what it cost is still the order's.
UNNAMED_LINE = "(unnamed item)"


def _listed(value: Any) -> Any:
    """Lines as exports send them: null is none, and a null among them is no line."""
    if value is None:
        return []
    if isinstance(value, list) and None in value:
        return [item for item in value if item is not None]
    return value  # as nearly all are: read as it is


def _quantity_of(line: Mapping[str, Any]) -> Any:
    """A line sent without its quantity: its total over its unit price where that is a whole
    number of units, else one unit (an export that writes no quantity for a single item)."""
    try:
        units = amount_of(line["total"]) / amount_of(line["unit_price"])
    except (KeyError, ArithmeticError, ValueError, TypeError):
        return 1
    return units if units > 0 and units == units.to_integral_value() else 1


class OrderLine(_Payload):
    """A line as sold. One sent without a name is named by its SKU (or, with neither,
    ``UNNAMED_LINE``); without a unit price or a total, the one is worked out from the other
    and the quantity; without a quantity, it is the total over the unit price where that is
    a whole number, else one."""

    sku: OptionalIdentifier = None
    name: Text
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)
    unit_price: UpstreamMoney
    total: UpstreamMoney

    @model_validator(mode="before")
    @classmethod
    def _completed(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or all(
            data.get(k) not in (None, "") for k in ("name", "quantity", "unit_price", "total")
        ):
            return data  # a whole line, as nearly all are: nothing to work out
        line = dict(data)
        if not str(line.get("name") or "").strip():
            line["name"] = line["sku"] if str(line.get("sku") or "").strip() else UNNAMED_LINE
        if line.get("quantity") in (None, ""):
            line["quantity"] = _quantity_of(line)
        try:
            quantity = Decimal(str(line["quantity"]))
            if line.get("unit_price") in (None, "") and line.get("total") not in (None, "") and quantity > 0:
                line["unit_price"] = (amount_of(line["total"]) / quantity).quantize(Decimal("0.000001"))
            elif line.get("total") in (None, "") and line.get("unit_price") not in (None, ""):
                line["total"] = amount_of(line["unit_price"]) * quantity
        except (KeyError, ArithmeticError, ValueError, TypeError):
            pass  # left as sent: the field's own error says what is wrong
        return line


class OrderTotals(_Payload):
    """What the order cost. ``taxes_included`` says how the parts add up: false (the
    default), ``subtotal + shipping + tax - discount = total``, tax added on top of net
    prices; true, ``subtotal + shipping - discount = total``, prices (unit prices, line
    totals, subtotal, shipping) already include the tax, and ``tax`` says how much of the
    total it is. A total sent without its subtotal (or the other way round) is completed
    by that sum."""

    subtotal: UpstreamMoney
    shipping: UpstreamMoney = Decimal(0)
    tax: UpstreamMoney = Decimal(0)
    discount: UpstreamMoney = Decimal(0)
    total: UpstreamMoney
    taxes_included: bool = Field(
        default=False, description="True: prices and subtotal include tax (tax is part of the total, not added)."
    )

    @model_validator(mode="before")
    @classmethod
    def _completed(cls, data: Any) -> Any:
        """Totals as exports send them: a part sent as null is none (0); a subtotal or a total
        left out comes from the other and the parts (a spreadsheet's order has its total only)."""
        if not isinstance(data, Mapping) or all(data.get(k) not in (None, "") for k in _TOTAL_PARTS):
            return data  # whole, as nearly all are
        totals = {k: v for k, v in data.items() if not (k in _TOTAL_PARTS and v in (None, ""))}
        try:
            parts = {k: amount_of(totals.get(k, 0)) for k in ("shipping", "tax", "discount")}
            included = str(totals.get("taxes_included", "")).strip().casefold() in ("true", "1", "yes")
            added = parts["shipping"] - parts["discount"] + (0 if included else parts["tax"])
            if "subtotal" not in totals and "total" in totals:
                totals["subtotal"] = amount_of(totals["total"]) - added
            elif "total" not in totals and "subtotal" in totals:
                totals["total"] = amount_of(totals["subtotal"]) + added
        except (ArithmeticError, ValueError, TypeError):
            pass  # left as sent: the field's own error says what is wrong
        return totals


#: What ``OrderTotals`` adds up.
_TOTAL_PARTS = ("subtotal", "shipping", "tax", "discount", "total")


# --- setting aside what cannot be used (O1) ---------------------------------------------------

#: Why a value was set aside, by pydantic error type; other types use pydantic's message.
_REASONS = {
    "country": "not a country",
    "string_too_long": "longer than {max_length} characters",
    "string_pattern_mismatch": "malformed",
    "literal_error": "not {expected}",
}
#: Enough digits to be a card or account number: such a value is never repeated in a note.
_LONG_DIGIT_RUN = re.compile(r"(?:\d[ -]?){8,}")


def _model_inside(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``PostalAddress | None`` -> PostalAddress); None for lists,
    scalars: their parts are never set aside one by one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType, Annotated):
        for arg in get_args(annotation):
            if model := _model_inside(arg):
                return model
    return None


def _models_under(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, alone or in a list (``list[OrderLine]`` -> OrderLine)."""
    if get_origin(annotation) is list:
        return _model_inside(get_args(annotation)[0])
    return _model_inside(annotation)


def _card_numbers_left_out(model: type[BaseModel], data: Any, prefix: str = "") -> list[str]:
    """Notes for the fields ``model`` (and the models inside it) does not know that hold a
    card number: they are left out like any unknown field, and the note says so."""
    if isinstance(data, list):
        return [
            note for index, item in enumerate(data) for note in _card_numbers_left_out(model, item, f"{prefix}{index}.")
        ]
    if not isinstance(data, Mapping):
        return []
    notes = [
        f"{prefix}{path} (a field this contract does not know) left out: {CARD_NUMBER_REASON}"
        for path in unknown_fields_with_card_numbers(model, dict(data))
    ]
    for name, inner in _nested_models(model):
        if data.get(name) is not None:
            notes += _card_numbers_left_out(inner, data[name], f"{prefix}{name}.")
    return notes


@functools.cache
def _nested_models(model: type[BaseModel]) -> tuple[tuple[str, type[BaseModel]], ...]:
    """The fields of ``model`` that hold models, with the model each holds: worked out once
    per class (reading annotations costs more than validating an order)."""
    return tuple(
        (name, inner)
        for name, field in model.model_fields.items()
        if (inner := _models_under(field.annotation)) is not None
    )


def _field_to_set_aside(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, ...] | None:
    """The path of the deepest optional field above the error at ``loc`` that can be set aside
    (every field from the order down to it has a default), or None when the error refuses the
    order: a required field, one of ``KEPT_STRICT``, anything inside lines or totals."""
    path: tuple[str, ...] = ()
    current: type[BaseModel] | None = model
    for part in loc:
        field = current.model_fields.get(part) if current and isinstance(part, str) else None
        if field is None or field.is_required() or part in getattr(current, "KEPT_STRICT", ()):
            break
        assert isinstance(part, str)  # a field was found by this name
        path += (part,)
        current = _model_inside(field.annotation)
    return path or None


def _without(data: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    """A copy of ``data`` without the value at ``path`` (copying only the dicts on the way),
    or None when the input at ``path`` is not a plain mapping to take it from."""
    head, *rest = path
    if not isinstance(data, Mapping):
        return None
    copy = dict(data)
    if not rest:
        copy.pop(head, None)
        return copy
    inner = _without(copy.get(head), tuple(rest))
    if inner is None:
        return None
    copy[head] = inner
    return copy


def _value_at(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, Mapping) else None
    return data


def _set_aside_note(path: tuple[str, ...], given: Any, error: ErrorDetails) -> str:
    try:
        reason = _REASONS[error["type"]].format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        reason = error["msg"][:1].lower() + error["msg"][1:]
    if isinstance(given, str) and len(given) > 40:
        shown = f"({len(given)} characters)"  # the length is the story; the text may be personal
    elif isinstance(given, Mapping | list) or _LONG_DIGIT_RUN.search(str(given)):
        shown = f"({type(given).__name__})"
    else:
        shown = repr(given)
    return f"{'.'.join(path)} {shown} set aside: {reason}"


class _SetsAsideUnusableFields(_Payload):
    """O1: a payload whose optional field cannot be used is read without it, not refused.

    An invalid value of a field that has a default (a country nobody can read, a malformed
    language, an over-long optional text) is dropped, so the field takes its default, and a
    note says which and why (``set_aside``). Errors of required fields, of ``KEPT_STRICT``
    fields and of anything under a required field (lines, totals) still refuse the payload,
    with those errors only.
    """

    #: Optional fields that are never set aside: refusing beats reading without them.
    KEPT_STRICT: ClassVar[frozenset[str]] = frozenset()

    _set_aside: tuple[str, ...] = PrivateAttr(default=())

    @property
    def set_aside(self) -> tuple[str, ...]:
        """What was dropped from the payload as received, one note per field."""
        return self._set_aside

    @model_validator(mode="wrap")
    @classmethod
    def _read_without_unusable_fields(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        with reading(data):
            notes: list[str] = [] if no_digit_runs() else _card_numbers_left_out(cls, data)
            payload = cls._read_setting_aside(data, handler, notes)
        if notes:
            # Frozen model: the private attribute is written where pydantic keeps it.
            payload.__pydantic_private__["_set_aside"] = payload._set_aside + tuple(notes)
        return payload

    @classmethod
    def _read_setting_aside(cls, data: Any, handler: ValidatorFunctionWrapHandler, notes: list[str]) -> Any:
        """The payload read by ``handler``, each unusable optional field dropped and noted in ``notes``."""
        done: set[tuple[str, ...]] = set()
        while True:
            try:
                return handler(data)
            except ValidationError as error:
                # First error per field: a field is set aside once, for its first reason.
                unusable: dict[tuple[str, ...], ErrorDetails] = {}
                for detail in error.errors():
                    path = _field_to_set_aside(cls, detail["loc"])
                    if path is not None and path not in done:
                        unusable.setdefault(path, detail)
                done.update(unusable)
                cleaned = data
                for path, detail in unusable.items():
                    without = _without(cleaned, path) if cleaned is not None else None
                    if without is not None:
                        notes.append(_set_aside_note(path, _value_at(cleaned, path), detail))
                    cleaned = without
                if cleaned is None or not unusable:
                    raise  # nothing left to set aside: what remains refuses the payload
                data = cleaned


class Order(_SetsAsideUnusableFields):
    """An order as the source system placed it.

    An optional field whose value cannot be used (an unreadable country, a malformed
    preferred_language) is set aside, with a note, rather than refusing the order (O1).
    """

    #: O2 matches on these: an unusable one refuses the order, so it is never linked on the
    #: strength of what is left. Lines may be absent, but lines that cannot be read refuse it.
    KEPT_STRICT = frozenset({"source_customer_id", "email", "phone", "first_name", "last_name", "lines"})

    order_number: UpstreamId = Field(description="The order number in the source system.")
    display_number: OptionalIdentifier = Field(
        default=None,
        description="The number the customer sees (Shopify '#1001', Medusa display_id, commercetools "
        "orderNumber), when it is not order_number itself.",
    )
    source_system: Identifier = Field(
        description="Which system and shop the order comes from, e.g. 'shopify:acme-eu'. "
        "With order_number it identifies the order; with source_customer_id, the customer."
    )
    source_customer_id: SourceCustomerId = Field(
        default=None, description="The customer's id in the source system; absent for guests."
    )
    scope: UpstreamScope = Field(description="The site, brand or country store the order belongs to.")
    account_type: AccountType = "guest"
    email: OptionalText = None
    phone: OptionalText = Field(
        default=None, description="Any format; the scope's country is assumed when it has none."
    )
    first_name: OptionalText = None
    last_name: OptionalText = None
    preferred_language: LanguageTag | None = None
    billing_address: PostalAddress | None = None
    shipping_address: PostalAddress | None = None
    lines: list[OrderLine] = Field(
        default_factory=list,
        max_length=2000,
        description="May be empty: an imported order, or one whose platform left its lines out; totals still say what it cost.",
    )
    totals: OrderTotals
    currency: UpstreamCurrency
    placed_at: UpstreamMomentRead = Field(
        description="When the order was placed. An OrderPlaced sent without it (or with null) takes the "
        "envelope's occurred_at, with a note on the order."
    )
    store_id: OptionalIdentifier = Field(default=None, description="The store, for POS or click-and-collect.")
    status: OptionalText = Field(default=None, description="The order's status at publication.")

    @field_validator("lines", mode="before")
    @classmethod
    def _lines_as_sent(cls, value: Any) -> Any:
        return _listed(value)

    @model_validator(mode="before")
    @classmethod
    def _totals_of_the_lines(cls, data: Any) -> Any:
        """An order sent without totals but with lines: they add up to its subtotal and total
        (no shipping, tax or discount said)."""
        if not isinstance(data, Mapping) or data.get("totals") not in (None, {}) or not data.get("lines"):
            return data
        try:
            lines = [line for line in data["lines"] if line is not None]
            total = sum((_line_total(line) for line in lines), Decimal(0))
        except (KeyError, ArithmeticError, ValueError, TypeError, AttributeError):
            return data  # left as sent: 'totals' is refused, with its field
        return {**data, "totals": {"subtotal": total, "total": total}}


def _line_total(line: Mapping[str, Any]) -> Decimal:
    if line.get("total") not in (None, ""):
        return amount_of(line["total"])
    quantity = line.get("quantity")
    return amount_of(line["unit_price"]) * (Decimal(str(quantity)) if quantity not in (None, "") else 1)


class OrderRef(_Payload):
    source_system: Identifier
    order_number: UpstreamId
    scope: UpstreamScope


class StatusChange(OrderRef):
    status: Identifier
    changed_at: UpstreamMomentRead


class ShippedLine(_Payload):
    sku: OptionalIdentifier = None
    name: OptionalText = None
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=4)

    @model_validator(mode="before")
    @classmethod
    def _one_unless_said(cls, data: Any) -> Any:
        """A line of a shipment sent without its quantity: one unit, as a packing slip lists it."""
        if isinstance(data, Mapping) and data.get("quantity") in (None, ""):
            return {**data, "quantity": 1}
        return data


class Shipment(OrderRef):
    shipment_id: Identifier
    carrier: OptionalText = None
    tracking_number: OptionalText = None
    tracking_url: OptionalHttpsLink = Field(default=None, description="https only: it is emailed and shown.")
    lines: list[ShippedLine] = Field(default_factory=list, max_length=2000)
    shipped_at: UpstreamMomentRead

    @field_validator("lines", mode="before")
    @classmethod
    def _lines_as_sent(cls, value: Any) -> Any:
        return _listed(value)


class PaymentRequest(OrderRef):
    payment_id: Identifier
    amount: UpstreamMoney
    currency: UpstreamCurrency
    payment_url: OptionalHttpsLink = Field(default=None, description="https only: it is emailed and shown.")
    due_at: UpstreamMomentRead | None = None
    requested_at: UpstreamMomentRead


class Payment(OrderRef):
    payment_id: Identifier
    amount: UpstreamMoney
    currency: UpstreamCurrency
    method: OptionalText = Field(default=None, description="e.g. 'visa', 'paypal'; never a card number.")
    paid_at: UpstreamMomentRead


class _UpstreamEvent(Event[PayloadT], Generic[PayloadT]):
    """An upstream event whose payload says when it happened (``MOMENT``), read as exports
    write it (``contracts.moments``). An event is published after it happens, most within the
    hour: a date whose day and month could be either ('05/11/2026'), or written without its
    year ('20 Nov 09:14'), is the moment it may name nearest before the envelope's
    ``occurred_at`` (an order notes the reading). One sent without that time happened no later
    than it was published: ``occurred_at`` is taken (a status change, a shipment or a payment
    still updates the history and sends its email), and so for an order's text naming no
    date at all ('N/A', MySQL's '0000-00-00 00:00:00'), with a note. A time written but
    unreadable otherwise ('31/02/2026', 'CST', which is two zones) refuses the event, its
    field named: it says something, not for certain."""

    MOMENT: ClassVar[str]
    #: A text naming no date ('N/A', MySQL's '0000-00-00 00:00:00') is taken as no time.
    NO_DATE_IS_NO_TIME: ClassVar[bool] = False

    @model_validator(mode="wrap")
    @classmethod
    def _when_published(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        moment = getattr(cls, "MOMENT", None)  # none on the generic step towards a message
        payload = data.get("payload") if isinstance(data, Mapping) else None
        if moment is None or not isinstance(payload, Mapping):
            return handler(data)
        written = payload.get(moment)
        text = written.strip() if isinstance(written, str) else None
        if text and (found := _nearest(text, data)) is not None:
            read, why = found
            event = handler({**data, "payload": {**payload, moment: read.isoformat()}})
            return cls._noted(
                event, f"{moment} {text!r} {why}: {read:%Y-%m-%d} taken, the nearest before its publication"
            )
        no_date = cls.NO_DATE_IS_NO_TIME and bool(text) and not names_a_year(text or "")
        if written not in (None, "") and not no_date:
            return handler(data)
        occurred = data.get("occurred_at") or utc_now().isoformat()
        event = cls._published_at(handler({**data, "occurred_at": occurred, "payload": {**payload, moment: occurred}}))
        return cls._noted(event, f"{moment} {text!r} names no date") if no_date else event

    @classmethod
    def _published_at(cls, event: Any) -> Any:
        return event

    @classmethod
    def _noted(cls, event: Any, note: str) -> Any:
        return event


def _nearest(written: str, data: Mapping[str, Any]) -> tuple[datetime, str] | None:
    """A date written with its day and month either way round, or without its year: the
    moment it names nearest before its publication, and why it was chosen."""
    if (readings := day_or_month_first(written)) is not None:
        read = nearest_before(readings, _published(data.get("occurred_at")))
        return None if read is None else (read, "could be read day or month first")
    if not names_a_year(written) and (read := without_its_year(written, _published(data.get("occurred_at")))):
        return read, "names no year"
    return None


def _published(occurred_at: Any) -> datetime:
    """When the envelope says its event was published (now, if it does not say it plainly)."""
    if isinstance(occurred_at, datetime) and occurred_at.tzinfo is not None:
        return occurred_at
    if isinstance(occurred_at, str):
        with contextlib.suppress(ValueError):
            published = datetime.fromisoformat(occurred_at.strip())
            return published if published.tzinfo else published.replace(tzinfo=UTC)
    return utc_now()


class OrderPlaced(_UpstreamEvent[Order]):
    """O1: an order placed on a storefront, a till or a marketplace (matched to a customer by order-sync)."""

    DOMAIN = "order"
    MOMENT = "placed_at"
    NO_DATE_IS_NO_TIME = True
    message_type: Literal["order-placed"] = "order-placed"
    schema_version: Literal[1] = 1

    @classmethod
    def _published_at(cls, event: Any) -> Any:
        return cls._noted(event, PLACED_AT_PUBLISHED)

    @classmethod
    def _noted(cls, event: Any, note: str) -> Any:
        order = event.payload  # the order says so (GetOrderLink's notes)
        order.__pydantic_private__["_set_aside"] = (*order.set_aside, note)
        return event


#: The note on an order sent without the time it was placed.
PLACED_AT_PUBLISHED = "placed_at missing: the time the order was published taken"


class OrderStatusChanged(_UpstreamEvent[StatusChange]):
    """O7: an order's status changed upstream (paid, shipped, cancelled...)."""

    DOMAIN = "order"
    MOMENT = "changed_at"
    message_type: Literal["order-status-changed"] = "order-status-changed"
    schema_version: Literal[1] = 1


class OrderShipped(_UpstreamEvent[Shipment]):
    """O7: (part of) an order shipped; the customer gets the shipping confirmation."""

    DOMAIN = "order"
    MOMENT = "shipped_at"
    message_type: Literal["order-shipped"] = "order-shipped"
    schema_version: Literal[1] = 1


class PaymentRequested(_UpstreamEvent[PaymentRequest]):
    """O7: an order awaits payment; the customer gets the payment request."""

    DOMAIN = "order"
    MOMENT = "requested_at"
    message_type: Literal["payment-requested"] = "payment-requested"
    schema_version: Literal[1] = 1


class PaymentReceived(_UpstreamEvent[Payment]):
    """O7: an order's payment arrived."""

    DOMAIN = "order"
    MOMENT = "paid_at"
    message_type: Literal["payment-received"] = "payment-received"
    schema_version: Literal[1] = 1


UPSTREAM_ORDER_MESSAGES = (OrderPlaced, OrderStatusChanged, OrderShipped, PaymentRequested, PaymentReceived)
