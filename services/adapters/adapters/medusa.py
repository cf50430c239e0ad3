"""Medusa ``order.placed`` -> ``OrderPlaced`` (O8). Pure: no I/O.

Medusa (v2) emits ``order.placed`` on its event bus with only ``{ "id" }``; a subscriber in
the Medusa application reads the order (``query.graph`` with the fields below, or the Admin
API's ``GET /admin/orders/:id``) and sends it here, as the body ``{"event": "order.placed",
"data": {"order": {...}}}``, ``{"order": {...}}`` or the order object itself.

Medusa v2 amounts are in the currency's main unit (``unit_price: 20`` is 20.00), as JSON
numbers that may carry their exact value beside them (``raw_unit_price: {"value": "20"}``):
the raw value wins. ``currency_code`` and ``country_code`` are lower case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.orders import OrderPlaced

from .mapping import (
    MappingError,
    PlatformConfig,
    build,
    decimal,
    get,
    items,
    message_id,
    obj,
    require,
)

PLATFORM = "medusa"
EVENT = "order.placed"

#: What the forwarding subscriber should read (query.graph ``fields``).
ORDER_FIELDS = (
    "id", "display_id", "status", "email", "currency_code", "created_at", "customer_id",
    "sales_channel_id", "customer.*", "items.*", "shipping_address.*", "billing_address.*",
    "shipping_methods.*", "subtotal", "item_total", "shipping_total", "tax_total", "discount_total", "total",
)

ORDER_ORIGINS = {
    "order_number": "id",
    "source_customer_id": "customer_id / customer.id",
    "account_type": "customer.has_account",
    "scope": "sales_channel_id",
    "email": "email",
    "phone": "billing_address.phone / shipping_address.phone / customer.phone",
    "first_name": "customer.first_name / billing_address.first_name",
    "last_name": "customer.last_name / billing_address.last_name",
    "billing_address": "billing_address",
    "billing_address.line1": "billing_address.address_1",
    "billing_address.line2": "billing_address.address_2",
    "billing_address.region": "billing_address.province",
    "billing_address.country": "billing_address.country_code",
    "shipping_address": "shipping_address",
    "shipping_address.line1": "shipping_address.address_1",
    "shipping_address.line2": "shipping_address.address_2",
    "shipping_address.region": "shipping_address.province",
    "shipping_address.country": "shipping_address.country_code",
    "lines": "items",
    "lines.*.sku": "items[*].variant_sku",
    "lines.*.name": "items[*].title",
    "lines.*.quantity": "items[*].quantity",
    "lines.*.unit_price": "items[*].unit_price",
    "lines.*.total": "items[*].total",
    "totals.subtotal": "item_total / subtotal",
    "totals.shipping": "shipping_total / shipping_methods[*].amount (sum)",
    "totals.tax": "tax_total",
    "totals.discount": "discount_total",
    "totals.total": "total",
    "currency": "currency_code",
    "placed_at": "created_at",
    "status": "status",
}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    event = payload.get("event") or payload.get("name") or topic or EVENT
    if event != EVENT:
        raise MappingError.at("event", f"unsupported event {event!r}; supported: {EVENT}")
    order = _unwrap(payload)
    return order_placed(order, config)


def _unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    for path in ("data.order", "order", "data"):
        candidate = get(payload, path)
        if isinstance(candidate, dict) and "id" in candidate and "items" in candidate:
            return candidate
    if "id" in payload and "items" in payload:
        return payload
    raise MappingError.at("order", "required, missing: send the order object (with its items), not only its id")


def amount(data: dict[str, Any], field: str, path: str, *, default: Any = None) -> Decimal:
    """The exact ``raw_<field>.value`` when Medusa sent it, else the number itself."""
    raw = get(data, f"raw_{field}.value")
    if raw is not None:
        return decimal(raw, f"{path}raw_{field}.value")
    value = data.get(field, default)
    return decimal(value, f"{path}{field}")


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "first_name": raw.get("first_name"),
        "last_name": raw.get("last_name"),
        "company": raw.get("company"),
        "line1": raw.get("address_1"),
        "line2": raw.get("address_2"),
        "city": raw.get("city"),
        "region": raw.get("province"),
        "postal_code": raw.get("postal_code"),
        "country": raw.get("country_code"),
        "phone": raw.get("phone"),
    }


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = str(require(order, "id"))
    customer = obj(order, "customer")
    billing = obj(order, "billing_address")
    shipping_address = obj(order, "shipping_address")
    lines = []
    for index, item in enumerate(items(order, "items")):
        where = f"items[{index}]."
        unit = amount(item, "unit_price", where)
        quantity = decimal(item.get("quantity"), f"{where}quantity")
        has_total = item.get("total") is not None or get(item, "raw_total.value") is not None
        lines.append({
            "sku": item.get("variant_sku"),
            "name": item.get("title") or item.get("product_title"),
            "quantity": quantity,
            "unit_price": unit,
            "total": amount(item, "total", where) if has_total else unit * quantity,
        })
    if order.get("shipping_total") is not None or get(order, "raw_shipping_total.value") is not None:
        shipping = amount(order, "shipping_total", "")
    else:
        shipping = sum(
            (amount(m, "amount", f"shipping_methods[{i}].") for i, m in enumerate(items(order, "shipping_methods"))),
            Decimal(0),
        )
    subtotal_field = "item_total" if order.get("item_total") is not None else "subtotal"
    customer_id = order.get("customer_id") or customer.get("id")
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": customer_id,
        "account_type": "registered" if customer.get("has_account") else "guest",
        "scope": config.scope_for(order.get("sales_channel_id"), "sales_channel_id"),
        "email": order.get("email") or customer.get("email"),
        "phone": billing.get("phone") or shipping_address.get("phone") or customer.get("phone"),
        "first_name": customer.get("first_name") or billing.get("first_name") or shipping_address.get("first_name"),
        "last_name": customer.get("last_name") or billing.get("last_name") or shipping_address.get("last_name"),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {
            "subtotal": amount(order, subtotal_field, ""),
            "shipping": shipping,
            "tax": amount(order, "tax_total", "", default=0),
            "discount": amount(order, "discount_total", "", default=0),
            "total": amount(order, "total", ""),
        },
        "currency": order.get("currency_code"),
        "placed_at": order.get("created_at"),
        "status": order.get("status"),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, EVENT, order_id),
            correlation_id=message_id(PLATFORM, "order", order_id),
            occurred_at=order.get("created_at"),
            payload=payload,
            origins=ORDER_ORIGINS,
        )
    ]


def topic_from_routing(tail: str) -> str:
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or EVENT
