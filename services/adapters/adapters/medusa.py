"""Medusa orders -> our order contract (O8). Pure: no I/O.

Medusa emits ``order.placed`` (and ``order.updated``, ``order.canceled``,
``order.completed``) on its event bus with only ``{ "id" }``; a subscriber in the Medusa
application reads the order (v2: ``query.graph`` with ``ORDER_FIELDS`` below, or
``GET /admin/orders/:id``; v1: ``orderService.retrieveWithTotals``) and sends it here, as
the body ``{"event": "order.placed", "data": {"order": {...}}}``, ``{"order": {...}}`` or
the order object itself. ``order.placed`` -> ``OrderPlaced``; the others -> ``OrderPlaced``
(a no-op for an order already received) and ``OrderStatusChanged``.

Both major versions are read, told apart by the order's shape:

- **v2** (2.0, October 2024, and later): amounts in the currency's main unit
  (``unit_price: 20`` is 20.00), as JSON numbers that may carry their exact value beside
  them (``raw_unit_price: {"value": "20"}``; the raw value wins); ``item_total``,
  ``raw_*``, ``summary``, ``items[].variant_sku``.
- **v1** (1.x): every amount an integer in the currency's minor unit (25621 is 256.21 EUR,
  1200 is 1200 JPY): divided by 10 ** the ISO 4217 exponent of ``currency_code``;
  ``payment_status``, ``fulfillment_status``, ``cart_id``, ``paid_total``,
  ``items[].variant.sku``.

``currency_code`` and ``country_code`` are lower case. ``display_id`` is the number the
customer sees.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderPlaced

from . import customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    MappingError,
    PlatformConfig,
    Problems,
    address,
    build,
    currency_exponent,
    decimal,
    get,
    identifier,
    items,
    message_id,
    obj,
    status_changed,
    version_of,
)

PLATFORM = "medusa"
EVENT = "order.placed"

#: What the forwarding subscriber should read (query.graph ``fields``).
ORDER_FIELDS = (
    "id",
    "display_id",
    "status",
    "email",
    "currency_code",
    "created_at",
    "customer_id",
    "sales_channel_id",
    "customer.*",
    "items.*",
    "shipping_address.*",
    "billing_address.*",
    "shipping_methods.*",
    "subtotal",
    "item_total",
    "shipping_total",
    "tax_total",
    "discount_total",
    "total",
)

ORDER_ORIGINS = {
    "order_number": "id",
    "display_number": "display_id",
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
    "totals.taxes_included": "(item_total used: true)",
    "placed_at": "created_at",
    "status": "status",
}
#: v1: the same fields, amounts in minor units (÷ 10 ** ISO 4217 exponent of currency_code).
ORDER_ORIGINS_V1 = {
    **ORDER_ORIGINS,
    "lines.*.sku": "items[*].variant.sku",
    "lines.*.unit_price": "items[*].unit_price ÷ 10^exponent",
    "lines.*.total": "items[*].total ÷ 10^exponent",
    "totals.subtotal": "subtotal ÷ 10^exponent",
    "totals.shipping": "shipping_total ÷ 10^exponent",
    "totals.tax": "tax_total ÷ 10^exponent",
    "totals.discount": "discount_total ÷ 10^exponent",
    "totals.total": "total ÷ 10^exponent",
    "totals.taxes_included": "items[*].includes_tax (all)",
}


EVENTS = ("order.placed", "order.updated", "order.canceled", "order.completed")
#: Status an event implies when the order does not say it.
_EVENT_STATUS = {"order.canceled": "canceled", "order.completed": "completed"}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    event = payload.get("event") or payload.get("name") or topic or EVENT
    if event not in EVENTS:
        customer_topics.not_an_order(PLATFORM, str(event), payload, config)
        raise UnsupportedTopic.at("event", f"unsupported event {event!r}; supported: {', '.join(EVENTS)}")
    order = _unwrap(payload)
    placed = order_placed(order, config)
    if event == EVENT:
        return placed
    ref = placed[0].payload
    status = order.get("status") or _EVENT_STATUS.get(event) or "pending"
    changed_at = order.get("updated_at") or order.get("canceled_at") or order.get("created_at")
    return placed + [
        status_changed(
            config,
            message_id=message_id(PLATFORM, event, ref.order_number, status, changed_at),
            correlation_id=message_id(PLATFORM, "order", ref.order_number),
            order_number=ref.order_number,
            scope=ref.scope,
            status=status,
            changed_at=changed_at,
            origins={"order_number": "id", "status": "status", "changed_at": "updated_at"},
        )
    ]


def _unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    for path in ("data.order", "order", "data"):
        candidate = get(payload, path)
        if isinstance(candidate, dict) and "id" in candidate and "items" in candidate:
            return candidate
    if "id" in payload and "items" in payload:
        return payload
    raise MappingError.at("order", "required, missing: send the order object (with its items), not only its id")


_V1_KEYS = ("payment_status", "fulfillment_status", "cart_id", "paid_total", "refundable_amount", "draft_order_id")
_V2_KEYS = ("item_total", "summary", "raw_total", "version", "item_subtotal", "credit_line_total")


def is_v1(order: dict[str, Any]) -> bool:
    """Medusa v1's order: its own fields (payment_status, cart_id, paid_total...) and none
    of v2's (item_total, summary, raw_* values, version)."""
    # v2's raw_* values are objects ({"value": "20", "precision": 20}); v1.8+ has a
    # numeric raw_discount_total, which says nothing.
    if any(key in order for key in _V2_KEYS) or any(
        k.startswith("raw_") and isinstance(v, dict) for k, v in order.items()
    ):
        return False
    return any(key in order for key in _V1_KEYS)


class _Amounts:
    """Reads amounts as the order's version writes them: v2 main units (raw value first),
    v1 integer minor units divided by the currency's ISO 4217 exponent."""

    def __init__(self, problems: Problems, v1: bool, exponent: int) -> None:
        self.problems, self.v1, self.exponent = problems, v1, exponent

    def read(self, data: dict[str, Any], field: str, path: str, *, default: Any = None) -> Decimal:
        raw = get(data, f"raw_{field}.value")
        if raw is not None and not self.v1:
            return self.problems.check(decimal, raw, f"{path}raw_{field}.value", default=Decimal(0))
        value = data.get(field, default)
        amount = self.problems.check(decimal, value, f"{path}{field}", default=Decimal(0))
        if self.v1:
            if amount != amount.to_integral_value():
                self.problems.add(f"{path}{field}", "a Medusa v1 amount is a whole number of minor units")
            return amount.scaleb(-self.exponent)
        return amount

    def has(self, data: dict[str, Any], field: str) -> bool:
        return data.get(field) is not None or (not self.v1 and get(data, f"raw_{field}.value") is not None)


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    return address(
        first_name=raw.get("first_name"),
        last_name=raw.get("last_name"),
        company=raw.get("company"),
        line1=raw.get("address_1"),
        line2=raw.get("address_2"),
        city=raw.get("city"),
        region=raw.get("province"),
        postal_code=raw.get("postal_code"),
        country=raw.get("country_code"),
        phone=raw.get("phone"),
    )


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, order.get("id"), "id", required=True, default="?")
    customer = problems.check(obj, order, "customer", default={})
    billing = problems.check(obj, order, "billing_address", default={})
    shipping_address = problems.check(obj, order, "shipping_address", default={})
    v1 = is_v1(order)
    exponent = problems.check(currency_exponent, order.get("currency_code"), "currency_code", default=2) if v1 else 2
    amounts = _Amounts(problems, v1, exponent)
    lines = []
    all_items_include_tax = True
    for index, item in enumerate(problems.check(items, order, "items", default=[])):
        where = f"items[{index}]."
        if not isinstance(item, dict):
            problems.add(f"items[{index}]", "must be an object")
            continue
        unit = amounts.read(item, "unit_price", where)
        quantity = problems.check(decimal, item.get("quantity"), f"{where}quantity", default=Decimal(1))
        all_items_include_tax &= item.get("includes_tax") is True or item.get("is_tax_inclusive") is True
        lines.append(
            {
                "sku": problems.check(
                    identifier, item.get("variant_sku") or get(item, "variant.sku"), f"{where}variant_sku"
                ),
                "name": item.get("title") or item.get("product_title"),
                "quantity": quantity,
                "unit_price": unit,
                "total": amounts.read(item, "total", where) if amounts.has(item, "total") else unit * quantity,
            }
        )
    if amounts.has(order, "shipping_total"):
        shipping = amounts.read(order, "shipping_total", "")
    else:
        shipping = sum(
            (
                amounts.read(m, "amount", f"shipping_methods[{i}].")
                for i, m in enumerate(problems.check(items, order, "shipping_methods", default=[]))
                if isinstance(m, dict)
            ),
            Decimal(0),
        )
    # v2's item_total includes the items' tax; v1's (and v2's) subtotal does not, unless
    # every item's price was entered with tax (v1 ``includes_tax``).
    subtotal_field = "item_total" if amounts.has(order, "item_total") else "subtotal"
    taxes_included = subtotal_field == "item_total" or (bool(lines) and all_items_include_tax)
    customer_id = problems.check(identifier, order.get("customer_id") or customer.get("id"), "customer_id")
    payload = {
        "order_number": order_id,
        "display_number": problems.check(identifier, order.get("display_id"), "display_id"),
        "source_system": config.source_system,
        "source_customer_id": customer_id,
        "account_type": "registered" if customer.get("has_account") else "guest",
        "scope": problems.check(config.scope_for, order.get("sales_channel_id"), "sales_channel_id", default="?"),
        "email": order.get("email") or customer.get("email"),
        "phone": billing.get("phone") or shipping_address.get("phone") or customer.get("phone"),
        "first_name": customer.get("first_name") or billing.get("first_name") or shipping_address.get("first_name"),
        "last_name": customer.get("last_name") or billing.get("last_name") or shipping_address.get("last_name"),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {
            "subtotal": amounts.read(order, subtotal_field, ""),
            "shipping": shipping,
            "tax": amounts.read(order, "tax_total", "", default=0),
            "discount": amounts.read(order, "discount_total", "", default=0),
            "total": amounts.read(order, "total", ""),
            "taxes_included": taxes_included,
        },
        "currency": order.get("currency_code"),
        "placed_at": order.get("created_at"),
        "status": order.get("status"),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, EVENT, order_id, version_of(order)),
            correlation_id=message_id(PLATFORM, "order", order_id),
            occurred_at=order.get("created_at"),
            payload=payload,
            origins=ORDER_ORIGINS_V1 if v1 else ORDER_ORIGINS,
            problems=problems,
        )
    ]


def topic_from_routing(tail: str) -> str:
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or EVENT
