"""Adobe Commerce / Magento 2 orders -> our order contract (O8). Pure: no I/O.

Magento has no signed webhooks of its own that reach us: a module or relay forwards its
orders and signs each body (``X-Magento-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body
with the shared secret, as for Medusa's forwarding subscriber): an observer of a small module,
an App Builder action subscribed to Adobe I/O Events, or the receiver of Adobe Commerce
Webhooks. It posts one of these bodies (each read the same way, the same message ids):

- the order entity itself, as the REST API returns it (``GET /V1/orders/{id}``): typed values,
  ``billing_address``, the shipping address under
  ``extension_attributes.shipping_assignments[].shipping.address``, ``street`` a list;
- ``{"eventName" | "event": "...", "data": {"order": {...}}}``: an observer event as Adobe
  Commerce Webhooks send it (``observer.sales_order_save_after``...), or a module's observer.
  The order is the model's data: values as the database keeps them (``"59.0000"``, ``"1"``),
  the addresses in ``addresses[]`` by ``address_type``, ``street`` one text with a line break
  between lines;
- ``{"order": {...}}``, and ``{"order": {...}, "result": {...}}``: a plugin webhook on
  ``OrderManagementInterface::place`` (its argument by name; an *after* plugin adds the saved
  order as ``result``, read first);
- ``{"type": "com.adobe.commerce.observer....", "data": {"value": {...}}}``: an Adobe I/O
  Events event of Adobe Commerce (the CloudEvent's ``data`` as an App Builder action receives
  it in ``params``), the entity in ``data.value`` with the fields of the event subscription;
- a shipment the same ways: bare (``GET /V1/shipment/{id}``), ``data.shipment``,
  ``{"shipment": ...}``, ``data.value``.

The event is named by the body (``eventName``, ``event``, a CloudEvent's ``type``), else by the
``X-Magento-Event`` header (on the broker, the routing key's tail
``platform.magento.sales_order_save_commit_after``), else by the entity's shape (an order:
placed; a shipment: created). ``com.adobe.commerce.``, ``observer.``, ``plugin.`` and
``magento.`` in front of a name are left out (``plugin.magento.sales.api.order_management.place``
is ``sales.api.order_management.place``). Events:

- placed: ``sales_order_place_after``, ``checkout_submit_all_after``,
  ``sales.api.order_management.place`` -> ``OrderPlaced``;
- saved: ``sales_order_save_after``, ``sales_order_save_commit_after`` -> ``OrderPlaced`` (a
  no-op for an order already received; a new version when it changed) and
  ``OrderStatusChanged`` (``status``, at ``updated_at``);
- on any order event, an order paid in full (``total_paid`` at least ``grand_total``, above 0:
  its invoices captured) -> ``PaymentReceived``, once per order (its message id is the order's);
- shipment created: ``sales_order_shipment_save_after``, ``sales_order_shipment_save_commit_after``
  -> ``OrderShipped`` for that shipment (a Magento shipment is the goods handed to the carrier),
  its first track's number and carrier, once per shipment however often it is saved again.

Customer events (``customer_*``, ``customer.api...``) are customer topics (customer_topics.py:
ignored, a deletion a data request). A body that names no event and holds no order or
shipment is not read as one: dead-lettered with its ids only.

The order is identified by ``entity_id`` (what ``/V1/orders/{id}`` and a shipment's
``order_id`` name); ``increment_id`` ("000000012") is ``display_number``. ``sales_order_place_after``
and *before* plugins run before Magento saves a new order: without ``entity_id`` it is a
field error that names the events to subscribe instead. A guest is ``customer_is_guest`` or no
``customer_id``. Times are UTC without an offset (``"2024-03-14 09:21:45"``). Amounts are in the
order's currency (``order_currency_code``; the ``base_*`` ones, in the base currency, are not
read), net of tax with the tax on top, as Magento's totals add up: the discount is
``discount_amount`` (negative in Magento) without the tax Magento compensates in it, and what
was paid with an Adobe Commerce gift card, store credit or reward points is part of the total
(``grand_total`` is what remains to pay after them).

A configurable product is two items, the configurable parent (its price, the chosen variant's
``sku``) and the simple child (``parent_item_id``, price 0): it is one line. A child is a line
of its own only when its parent carries no price (a bundle priced by its parts; the parent is
then left out instead). Sent without ``parent_item_id`` (an Adobe I/O subscription's field
list), a child is still known: an item priced nothing under a priced item's ``sku``.

Card data is never copied: ``payment`` is read for its ``method`` and ``last_trans_id`` only,
and wherever this adapter keeps a Magento body (a dead letter), ``without_card_data`` leaves
out every field of ``payment`` but the method, amounts and transaction id (``cc_last4``,
``cc_exp_*``, ``cc_owner``, ``cc_type``, ``additional_information``...), and every
``payment_additional_info`` entry but ``method_title``. A message's id is derived from the
order without them, so a dead letter kept so and replayed publishes the same ids.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderLine, OrderPlaced, OrderShipped, ShippedLine

from . import customer_topics
from .customer_topics import NotAnOrder, UnsupportedTopic, canonical_event
from .mapping import (
    MappingError,
    PlatformConfig,
    Problems,
    address,
    amount_of,
    blank_none,
    build,
    checked_part,
    currency_exponent,
    decimal,
    get,
    identifier,
    in_currency,
    items,
    message_id,
    obj,
    payment_received,
    status_changed,
    version_of,
)

PLATFORM = "magento"
PLACED = ("sales_order_place_after", "checkout_submit_all_after", "sales.api.order_management.place")
SAVED = ("sales_order_save_after", "sales_order_save_commit_after")
SHIPMENT_SAVED = ("sales_order_shipment_save_after", "sales_order_shipment_save_commit_after")
EVENTS = (*PLACED, *SAVED, *SHIPMENT_SAVED)

#: Where a body holds the entity, first found wins (an after plugin's ``result`` is the saved order).
WRAPPERS = ("result", "data.order", "data.shipment", "data.value", "order", "shipment")

#: Amounts paid with other tenders than the payment method (Adobe Commerce), which Magento
#: takes off ``grand_total``: part of what the order cost.
TENDERS = ("gift_cards_amount", "customer_balance_amount", "reward_currency_amount")

#: What a ``payment`` keeps wherever this adapter writes a Magento body: the method, its
#: amounts and the gateway's transaction id; never card data (``cc_*``), eCheck account data
#: or the gateway's ``additional_information``.
PAYMENT_KEPT = frozenset(
    {
        "entity_id",
        "parent_id",
        "method",
        "last_trans_id",
        "amount_ordered",
        "base_amount_ordered",
        "amount_paid",
        "base_amount_paid",
        "amount_authorized",
        "base_amount_authorized",
        "amount_refunded",
        "base_amount_refunded",
        "amount_canceled",
        "base_amount_canceled",
        "shipping_amount",
        "base_shipping_amount",
        "shipping_captured",
        "base_shipping_captured",
    }
)
#: The ``extension_attributes.payment_additional_info`` entries kept (``{"key", "value"}``).
PAYMENT_INFO_KEPT = frozenset({"method_title"})

ORDER_ORIGINS = {
    "order_number": "entity_id",
    "display_number": "increment_id",
    "source_customer_id": "customer_id",
    "account_type": "customer_is_guest / customer_id",
    "scope": "store_id",
    "email": "customer_email / billing_address.email",
    "phone": "billing_address.telephone / shipping address telephone",
    "first_name": "customer_firstname / billing_address.firstname",
    "last_name": "customer_lastname / billing_address.lastname",
    "billing_address": "billing_address (or addresses[address_type=billing])",
    "billing_address.line1": "billing_address.street[0]",
    "billing_address.line2": "billing_address.street[1:]",
    "billing_address.region": "billing_address.region / region_code",
    "billing_address.postal_code": "billing_address.postcode",
    "billing_address.country": "billing_address.country_id",
    "billing_address.phone": "billing_address.telephone",
    "shipping_address": "extension_attributes.shipping_assignments[0].shipping.address (or addresses[address_type=shipping])",
    "shipping_address.line1": "shipping address street[0]",
    "shipping_address.line2": "shipping address street[1:]",
    "shipping_address.region": "shipping address region / region_code",
    "shipping_address.postal_code": "shipping address postcode",
    "shipping_address.country": "shipping address country_id",
    "shipping_address.phone": "shipping address telephone",
    "lines": "items (a configurable product's child left out)",
    "lines.*.sku": "items[*].sku",
    "lines.*.name": "items[*].name",
    "lines.*.quantity": "items[*].qty_ordered",
    "lines.*.unit_price": "items[*].price",
    "lines.*.total": "items[*].row_total",
    "totals.subtotal": "subtotal",
    "totals.shipping": "shipping_amount",
    "totals.tax": "tax_amount",
    "totals.discount": "-discount_amount - discount_tax_compensation_amount - shipping_discount_tax_compensation_amount",
    "totals.total": "grand_total + gift_cards_amount + customer_balance_amount + reward_currency_amount",
    "totals.taxes_included": "(net amounts, tax on top: false)",
    "currency": "order_currency_code",
    "placed_at": "created_at",
    "status": "status / state",
}
#: Contract line field -> Magento item field (errors name the item by its index in ``items``).
LINE_FIELDS = {"sku": "sku", "name": "name", "quantity": "qty_ordered", "unit_price": "price", "total": "row_total"}
STATUS_ORIGINS = {"order_number": "entity_id", "status": "status / state", "changed_at": "updated_at"}
PAYMENT_ORIGINS = {
    "order_number": "entity_id",
    "payment_id": "payment.last_trans_id (else entity_id + ':paid')",
    "amount": "total_paid",
    "currency": "order_currency_code",
    "method": "extension_attributes.payment_additional_info[method_title] / payment.method",
    "paid_at": "updated_at",
}
SHIPMENT_ORIGINS = {
    "order_number": "order_id",
    "scope": "store_id",
    "shipment_id": "entity_id",
    "carrier": "tracks[0].title / tracks[0].carrier_code",
    "tracking_number": "tracks[0].track_number",
    "lines": "items",
    "shipped_at": "created_at",
}
SHIPPED_LINE_FIELDS = {"sku": "sku", "name": "name", "quantity": "qty"}


def event_of(topic: str, body: dict[str, Any]) -> str:
    """The event's name as this adapter reads it: the body's own (``eventName``, ``event``, a
    CloudEvent's ``type``), else the header's or routing key's; origin prefixes left out."""
    for key in ("eventName", "event", "type"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return canonical_event(PLATFORM, value.strip())
    return canonical_event(PLATFORM, topic.strip()) if topic else ""


def _is_order(value: dict[str, Any]) -> bool:
    return any(key in value for key in ("increment_id", "grand_total", "order_currency_code", "items"))


def _is_shipment(value: dict[str, Any]) -> bool:
    return "order_id" in value and "grand_total" not in value and "order_currency_code" not in value


def entity_of(body: dict[str, Any]) -> dict[str, Any]:
    """The order (or shipment) a body carries, however it is wrapped (see the module's docstring)."""
    for path in WRAPPERS:
        value = get(body, path)
        if value is None:
            continue
        if isinstance(value, dict) and (_is_order(value) or _is_shipment(value)):
            return value
        if path == "result":
            continue  # an after plugin's result that is not an order: the argument is read
        raise MappingError.at(path, "must be an object: the order (or shipment) entity")
    if _is_order(body) or _is_shipment(body):
        return body
    raise MappingError.at(
        "entity_id",
        "required, missing: send the order entity (GET /V1/orders/{id}) bare, as data.order, order or data.value",
    )


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    event = event_of(topic, payload)
    if event and event not in EVENTS:
        customer_topics.not_an_order(PLATFORM, event, payload, config)
        raise UnsupportedTopic.at("event", f"unsupported event {event!r}; supported: {', '.join(EVENTS)}")
    try:
        entity = entity_of(payload)
    except MappingError as exc:
        if event:
            raise  # an order event in a shape not read (yet): kept as it came, replayable
        # Nothing names an event and nothing in it is an order (a customer posted without its
        # event?): kept with its ids only.
        raise NotAnOrder(exc.fields) from None
    if event in SHIPMENT_SAVED or (not event and _is_shipment(entity)):
        return shipment_created(entity, config)
    placed = order_placed(entity, config)
    order_id = placed[0].payload.order_number
    changes = [_status_change(entity, config, order_id)] if event in SAVED else []
    return placed + changes + payment(entity, config, order_id)


# --- reading Magento's values ---------------------------------------------------------------

_NAIVE_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?")


def utc(value: Any) -> Any:
    """Magento's times are UTC without an offset (``2024-03-14 09:21:45``)."""
    if isinstance(value, str) and _NAIVE_TIME.fullmatch(value.strip()):
        return value.strip().replace(" ", "T") + "+00:00"
    return blank_none(value)


def _truthy(value: Any) -> bool:
    """Magento's flags: ``true``, ``1`` or the database's ``"1"``."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return value is True or (isinstance(value, int | Decimal) and not isinstance(value, bool) and value == 1)


def _quantity(value: Decimal) -> Decimal:
    """``"2.0000"`` (the database's) is 2; ``1.5`` stays 1.5."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _street(value: Any, path: str) -> tuple[str | None, str | None]:
    """``street``: a list of lines (REST) or one text with a line break between lines (the
    model's data); the first line is ``line1``, the others ``line2``."""
    if value is None:
        return None, None
    if isinstance(value, str):
        lines = [line.strip() for line in value.splitlines() if line.strip()]
    elif isinstance(value, list) and all(
        line is None or (isinstance(line, str | int) and not isinstance(line, bool)) for line in value
    ):
        lines = [str(line).strip() for line in value if line is not None and str(line).strip()]
    else:
        raise MappingError.at(path, "must be a list of lines or a text")
    return (lines[0] if lines else None), (", ".join(lines[1:]) or None)


def _address(raw: dict[str, Any], where: str, problems: Problems) -> dict[str, Any] | None:
    if not raw:
        return None
    line1, line2 = problems.check(_street, raw.get("street"), f"{where}street", default=(None, None))
    return address(
        first_name=raw.get("firstname"),
        last_name=raw.get("lastname"),
        company=raw.get("company"),
        line1=line1,
        line2=line2,
        city=raw.get("city"),
        region=blank_none(raw.get("region")) or raw.get("region_code"),
        postal_code=raw.get("postcode"),
        country=raw.get("country_id"),
        phone=raw.get("telephone"),
    )


def _typed_address(order: dict[str, Any], kind: str, problems: Problems) -> tuple[dict[str, Any], str]:
    """The model's data keeps both addresses in ``addresses[]``, told by ``address_type``."""
    for index, entry in enumerate(problems.check(items, order, "addresses", default=[])):
        if isinstance(entry, dict) and entry.get("address_type") == kind:
            return entry, f"addresses[{index}]."
    return {}, ""


def billing_of(order: dict[str, Any], problems: Problems) -> tuple[dict[str, Any], str]:
    billing = problems.check(obj, order, "billing_address", default={})
    return (billing, "billing_address.") if billing else _typed_address(order, "billing", problems)


def shipping_of(order: dict[str, Any], problems: Problems) -> tuple[dict[str, Any], str]:
    """The first shipping assignment's address (REST), else the model's shipping address; a
    virtual order (downloads, services) has none."""
    path = "extension_attributes.shipping_assignments"
    for index, assignment in enumerate(problems.check(items, order, path, default=[])):
        where = f"{path}[{index}].shipping.address"
        address = get(assignment, "shipping.address")
        if isinstance(address, dict) and address:
            return address, where + "."
        if address is not None and not isinstance(address, dict):
            problems.add(where, "must be an object")
    return _typed_address(order, "shipping", problems)


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def _order_id(order: dict[str, Any], problems: Problems) -> str:
    if order.get("entity_id") in (None, "") and (saved := _saved_as(order)) is not None:
        return problems.check(identifier, saved, "entity_id", required=True, default="?")
    if order.get("entity_id") in (None, "") and order.get("increment_id") not in (None, ""):
        problems.add(
            "entity_id",
            "required, missing: the order is not saved yet (sales_order_place_after and before plugins run "
            "before Magento saves it); subscribe to checkout_submit_all_after or sales_order_save_commit_after",
        )
        return "?"
    return problems.check(identifier, order.get("entity_id"), "entity_id", required=True, default="?")


def _saved_as(order: dict[str, Any]) -> Any:
    """The order's entity id as its saved parts name it, for an event whose field list left
    ``entity_id`` out (an Adobe I/O subscription's): its items' ``order_id``, its payment's or
    addresses' ``parent_id``; None before the order is saved (they are null then too)."""
    parts = [
        *((item, "order_id") for item in order.get("items") or () if isinstance(item, dict)),
        (order.get("payment"), "parent_id"),
        *((address, "parent_id") for address in order.get("addresses") or () if isinstance(address, dict)),
        (order.get("billing_address"), "parent_id"),
    ]
    return next(
        (part[key] for part, key in parts if isinstance(part, dict) and part.get(key) not in (None, "", 0, "0")),
        None,
    )


def _registered(order: dict[str, Any], problems: Problems) -> str | None:
    """The Magento customer id of a registered customer; None for a guest."""
    customer_id = problems.check(identifier, blank_none(order.get("customer_id")), "customer_id")
    if _truthy(order.get("customer_is_guest")) or customer_id in (None, "0"):
        return None
    return customer_id


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = _order_id(order, problems)
    exponent = problems.check(currency_exponent, order.get("order_currency_code"), "order_currency_code", default=2)

    def amount(data: dict[str, Any], field: str, where: str = "", *, missing: Any = None) -> Decimal:
        return amount_of(problems, data.get(field), f"{where}{field}", missing=missing)

    billing, billing_at = billing_of(order, problems)
    shipping, shipping_at = shipping_of(order, problems)
    lines = []
    order_items = problems.check(items, order, "items", default=[])
    by_id = {str(i.get("item_id")): i for i in order_items if isinstance(i, dict) and i.get("item_id") is not None}

    def carries_price(item: Any) -> bool:
        try:  # a bad row_total is reported where the line reads it
            return isinstance(item, dict) and decimal(blank_none(item.get("row_total")) or "0", "") != 0
        except MappingError:
            return False

    # A bundle priced by its parts: the parent has no price, its children have.
    priced_by_parts = {
        str(i.get("parent_item_id"))
        for i in order_items
        if isinstance(i, dict)
        and blank_none(i.get("parent_item_id")) is not None
        and carries_price(i)
        and not carries_price(i.get("parent_item") or by_id.get(str(i.get("parent_item_id"))))
    }
    # A subscription whose field list leaves parent_item_id out still sends the configurable's
    # child: priced nothing, under the sku of its parent (which carries the chosen variant's).
    priced_skus = {i.get("sku") for i in order_items if isinstance(i, dict) and carries_price(i)}
    for index, item in enumerate(order_items):
        where = f"items[{index}]."
        if not isinstance(item, dict):
            problems.add(f"items[{index}]", "must be an object")
            continue
        parent = blank_none(item.get("parent_item_id"))
        if parent is not None and str(parent) not in priced_by_parts:
            continue  # a configurable product's child: its parent is the line
        if "parent_item_id" not in item and not carries_price(item) and item.get("sku") in priced_skus:
            continue  # the same child, its parent_item_id not sent
        if str(item.get("item_id")) in priced_by_parts:
            continue  # a bundle whose children carry the prices: they are the lines
        quantity = problems.check(decimal, item.get("qty_ordered"), f"{where}qty_ordered", default=Decimal(1))
        line = {
            "sku": problems.check(identifier, blank_none(item.get("sku")), f"{where}sku"),
            "name": item.get("name"),
            "quantity": _quantity(quantity) if quantity else quantity,
            "unit_price": in_currency(amount(item, "price", where), exponent),
            "total": in_currency(amount(item, "row_total", where), exponent),
        }
        if checked_part(OrderLine, line, where, LINE_FIELDS, problems):
            lines.append(line)

    compensated = amount(order, "discount_tax_compensation_amount", missing="0") + amount(
        order, "shipping_discount_tax_compensation_amount", missing="0"
    )
    # Magento's JSON writes an empty attribute set as [] (Adobe's webhook examples show it).
    extension = (
        {}
        if order.get("extension_attributes") == []
        else problems.check(obj, order, "extension_attributes", default={})
    )
    tenders = sum(
        (
            amount(order, k)
            if order.get(k) not in (None, "")
            else amount(extension, k, "extension_attributes.", missing="0")
            for k in TENDERS
        ),
        Decimal(0),
    )
    customer_id = _registered(order, problems)
    payload = {
        "order_number": order_id,
        "display_number": problems.check(identifier, blank_none(order.get("increment_id")), "increment_id"),
        "source_system": config.source_system,
        "source_customer_id": customer_id,
        "account_type": "registered" if customer_id else "guest",
        "scope": problems.check(config.scope_for, text_id(order.get("store_id")), "store_id", default="?"),
        "email": blank_none(order.get("customer_email")) or blank_none(billing.get("email")),
        "phone": blank_none(billing.get("telephone")) or blank_none(shipping.get("telephone")),
        "first_name": blank_none(order.get("customer_firstname"))
        or blank_none(billing.get("firstname"))
        or blank_none(shipping.get("firstname")),
        "last_name": blank_none(order.get("customer_lastname"))
        or blank_none(billing.get("lastname"))
        or blank_none(shipping.get("lastname")),
        "billing_address": _address(billing, billing_at, problems),
        "shipping_address": _address(shipping, shipping_at, problems),
        "lines": lines,
        "totals": {
            "subtotal": in_currency(amount(order, "subtotal"), exponent),
            "shipping": in_currency(amount(order, "shipping_amount", missing="0"), exponent),
            "tax": in_currency(amount(order, "tax_amount", missing="0"), exponent),
            "discount": in_currency(-amount(order, "discount_amount", missing="0") - compensated, exponent),
            "total": in_currency(amount(order, "grand_total") + tenders, exponent),
            "taxes_included": False,
        },
        "currency": order.get("order_currency_code"),
        "placed_at": utc(order.get("created_at")),
        "status": blank_none(order.get("status")) or blank_none(order.get("state")),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "order-placed", order_id, version_of(card_safe(order))),
            correlation_id=_correlation(order_id),
            occurred_at=payload["placed_at"],
            payload=payload,
            origins=ORDER_ORIGINS,
            problems=problems,
        )
    ]


def text_id(value: Any) -> Any:
    """A store id as the scope key: ``1`` and the database's ``"1"`` alike."""
    return str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else None


def _status_change(order: dict[str, Any], config: PlatformConfig, order_id: str) -> Envelope[Any]:
    status = blank_none(order.get("status")) or blank_none(order.get("state"))
    changed_at = utc(order.get("updated_at") or order.get("created_at"))
    return status_changed(
        config,
        message_id=message_id(PLATFORM, "status", order_id, status, changed_at),
        correlation_id=_correlation(order_id),
        order_number=order_id,
        scope=config.scope_for(text_id(order.get("store_id")), "store_id"),
        status=status,
        changed_at=changed_at,
        origins=STATUS_ORIGINS,
    )


def _method(order: dict[str, Any], payment_data: dict[str, Any]) -> Any:
    entries = get(order, "extension_attributes.payment_additional_info")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("key") == "method_title" and isinstance(entry.get("value"), str):
            return entry["value"]
    return blank_none(payment_data.get("method"))


def payment(order: dict[str, Any], config: PlatformConfig, order_id: str) -> list[Envelope[Any]]:
    """``PaymentReceived`` for an order Magento counts as paid in full (its invoices captured:
    ``total_paid`` at least ``grand_total``); one per order, whatever event brings it."""
    problems = Problems()
    paid = problems.check(decimal, blank_none(order.get("total_paid")) or "0", "total_paid", default=Decimal(0))
    due = problems.check(decimal, blank_none(order.get("grand_total")) or "0", "grand_total", default=Decimal(0))
    if paid <= 0 or paid < due:
        problems.raise_if_any()
        return []
    exponent = problems.check(currency_exponent, order.get("order_currency_code"), "order_currency_code", default=2)
    payment_data = problems.check(obj, order, "payment", default={})
    transaction = problems.check(identifier, blank_none(payment_data.get("last_trans_id")), "payment.last_trans_id")
    return [
        payment_received(
            config,
            message_id=message_id(PLATFORM, "payment", order_id),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=config.scope_for(text_id(order.get("store_id")), "store_id"),
            payment_id=transaction or f"{order_id}:paid",
            amount=in_currency(paid, exponent),
            currency=order.get("order_currency_code"),
            method=_method(order, payment_data),
            paid_at=utc(order.get("updated_at") or order.get("created_at")),
            origins=PAYMENT_ORIGINS,
            problems=problems,
        )
    ]


def shipment_created(shipment: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    """One ``OrderShipped`` per Magento shipment (its first track: the contract has one
    tracking number); saved again (a track added), it makes the same message id."""
    problems = Problems()
    shipment_id = problems.check(identifier, shipment.get("entity_id"), "entity_id", required=True, default="?")
    order_id = problems.check(identifier, shipment.get("order_id"), "order_id", required=True, default="?")
    tracks = [t for t in problems.check(items, shipment, "tracks", default=[]) if isinstance(t, dict)]
    track = tracks[0] if tracks else {}
    lines = []
    for index, item in enumerate(problems.check(items, shipment, "items", default=[])):
        where = f"items[{index}]."
        if not isinstance(item, dict):
            problems.add(f"items[{index}]", "must be an object")
            continue
        quantity = problems.check(decimal, item.get("qty"), f"{where}qty", default=Decimal(0))
        if quantity <= 0:
            continue  # an item of the order not in this shipment
        line = {
            "sku": problems.check(identifier, blank_none(item.get("sku")), f"{where}sku"),
            "name": blank_none(item.get("name")),
            "quantity": _quantity(quantity),
        }
        if checked_part(ShippedLine, line, where, SHIPPED_LINE_FIELDS, problems):
            lines.append(line)
    shipped_at = utc(shipment.get("created_at"))
    return [
        build(
            OrderShipped,
            config=config,
            message_id=message_id(PLATFORM, "shipment", order_id, shipment_id),
            correlation_id=_correlation(order_id),
            occurred_at=shipped_at,
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": problems.check(config.scope_for, text_id(shipment.get("store_id")), "store_id", default="?"),
                "shipment_id": shipment_id,
                "carrier": blank_none(track.get("title")) or blank_none(track.get("carrier_code")),
                "tracking_number": blank_none(track.get("track_number")),
                "tracking_url": None,  # Magento keeps no tracking link
                "lines": lines,
                "shipped_at": shipped_at,
            },
            origins=SHIPMENT_ORIGINS,
            problems=problems,
        )
    ]


# --- card data: never kept ------------------------------------------------------------------


def card_safe(value: Any) -> Any:
    """``value`` without card data: every ``payment`` object reduced to ``PAYMENT_KEPT``,
    ``payment_additional_info`` to ``method_title``, and no ``cc_*`` field anywhere."""
    if isinstance(value, dict):
        safe: dict[str, Any] = {}
        for key, inner in value.items():
            if isinstance(key, str) and key.startswith("cc_"):
                continue
            if key == "payment" and isinstance(inner, dict):
                safe[key] = {k: card_safe(v) for k, v in inner.items() if k in PAYMENT_KEPT}
            elif key == "payment_additional_info" and isinstance(inner, list):
                safe[key] = [i for i in inner if isinstance(i, dict) and _kept_info(i.get("key"))]
            else:
                safe[key] = card_safe(inner)
        return safe
    if isinstance(value, list):
        return [card_safe(inner) for inner in value]
    return value


def _kept_info(key: Any) -> bool:
    return isinstance(key, str) and key in PAYMENT_INFO_KEPT


#: A JSON number read as text behind this mark, so that it is written back as it came.
_NUMBER_MARK = "\x00oms-number:"
_MARKED = re.compile(r'"\\u0000oms-number:([^"\\]*)"')


def without_card_data(body: bytes) -> bytes:
    """What a dead letter keeps of a Magento body: the bytes as sent when they hold no card
    data (or are not JSON), else the same JSON without it (``card_safe``), numbers written as
    they came, so that it maps again to the same messages."""
    if b"\\u0000" in body:
        return _without_card_data_plain(body)
    try:
        data = json.loads(body, parse_float=lambda number: _NUMBER_MARK + number)
        safe = card_safe(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body
    if safe == data:
        return body
    return _MARKED.sub(lambda m: m.group(1), json.dumps(safe)).encode()


def _without_card_data_plain(body: bytes) -> bytes:
    """The same for a body holding NUL characters (no mark can be told from its text):
    fractional numbers are written as decimal strings, which map to the same amounts."""
    try:
        data = json.loads(body, parse_float=Decimal)
        safe = card_safe(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body
    return body if safe == data else json.dumps(safe, default=str).encode()


#: The routing key's tail of a body that names no event: read by the entity's shape.
BY_SHAPE = "entity"


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.magento.sales_order_save_commit_after`` carries that event;
    ``platform.magento.entity`` none (the body's own name, else its shape, says)."""
    return "" if tail == BY_SHAPE else canonical_event(PLATFORM, tail)


def routing_from_topic(topic: str) -> str:
    return canonical_event(PLATFORM, topic) or BY_SHAPE
