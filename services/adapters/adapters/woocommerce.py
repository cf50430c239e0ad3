"""WooCommerce webhooks -> our order contract (O8). Pure: no I/O.

Topics (the ``X-WC-Webhook-Topic`` header; on the broker, the routing key's tail
``platform.woocommerce.order.created``), the body being the REST API v3 order
(``GET /wp-json/wc/v3/orders/<id>``) as WooCommerce 3.x to 9.x sends it:

- ``order.created`` -> ``OrderPlaced``;
- ``order.updated`` and ``order.restored`` (out of the trash) -> ``OrderPlaced`` (a no-op
  for an order already received) and ``OrderStatusChanged``;
- on ``order.created``, ``order.updated`` and ``order.restored``, an order with ``date_paid``
  (WooCommerce sets it when a gateway or the shop marks the payment complete) ->
  ``PaymentReceived``, once per order (its message id is the order's, whatever the topic);
- ``order.deleted``: its body is only ``{"id": ...}`` (no status, no time): acknowledged
  and ignored, nothing to apply;
- on any of them, a shipment recorded by WooCommerce's official Shipment Tracking extension
  (order meta ``_wc_shipment_tracking_items``) on a processing, on-hold or completed order
  -> one ``OrderShipped`` per tracking item. WooCommerce itself has no shipments: a
  ``completed`` order without that meta is a status change only.

The ping WooCommerce sends when a webhook is created (the form body ``webhook_id=NN``,
unsigned, no topic) is acknowledged without being read as an order (``is_ping``).

The order is identified by its ``id``; ``number`` (the same unless a sequential-numbers
plugin changes it) is ``display_number``. ``customer_id`` 0 is a guest. Amounts are decimal
strings in the currency's main unit (``price`` is a JSON number, read as a decimal). The
REST amounts of lines, shipping and discounts are always *without* tax (their tax is in
``*_tax``), whatever the shop's setting; when the shop enters prices with tax
(``prices_include_tax: true``) the order is published as its customer saw it, each amount
with its tax added (``taxes_included: true``); otherwise net amounts, tax on top.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderPlaced, OrderShipped

from . import customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    Ignored,
    MappingError,
    PlatformConfig,
    Problems,
    address,
    amount_of,
    blank_none,
    build,
    currency_exponent,
    decimal,
    https_link,
    identifier,
    in_currency,
    items,
    message_id,
    obj,
    payment_received,
    status_changed,
    version_of,
)

PLATFORM = "woocommerce"
TRACKING_META = "_wc_shipment_tracking_items"
#: Statuses in which a tracking item means the goods left (not pending, cancelled, refunded...).
SHIPPABLE = ("processing", "on-hold", "completed")

ORDER_ORIGINS = {
    "order_number": "id",
    "display_number": "number",
    "source_customer_id": "customer_id",
    "account_type": "customer_id (0: guest)",
    "email": "billing.email",
    "phone": "billing.phone / shipping.phone",
    "first_name": "billing.first_name / shipping.first_name",
    "last_name": "billing.last_name / shipping.last_name",
    "billing_address": "billing",
    "billing_address.line1": "billing.address_1",
    "billing_address.line2": "billing.address_2",
    "billing_address.region": "billing.state",
    "billing_address.postal_code": "billing.postcode",
    "billing_address.country": "billing.country",
    "shipping_address": "shipping",
    "shipping_address.line1": "shipping.address_1",
    "shipping_address.line2": "shipping.address_2",
    "shipping_address.region": "shipping.state",
    "shipping_address.postal_code": "shipping.postcode",
    "shipping_address.country": "shipping.country",
    "lines": "line_items",
    "lines.*.sku": "line_items[*].sku",
    "lines.*.name": "line_items[*].name (HTML entities decoded)",
    "lines.*.quantity": "line_items[*].quantity",
    "lines.*.unit_price": "line_items[*].price (with tax: (total + total_tax) / quantity)",
    "lines.*.total": "line_items[*].total (+ total_tax with tax)",
    "totals.subtotal": "line_items[*].subtotal + fee_lines[*].total (sum; + their tax with tax)",
    "totals.shipping": "shipping_total (+ shipping_tax with tax)",
    "totals.tax": "total_tax",
    "totals.discount": "discount_total (+ discount_tax with tax)",
    "totals.total": "total",
    "totals.taxes_included": "prices_include_tax",
    "currency": "currency",
    "placed_at": "date_created_gmt",
    "status": "status",
}
STATUS_ORIGINS = {"order_number": "id", "status": "status", "changed_at": "date_modified_gmt"}
PAYMENT_ORIGINS = {
    "order_number": "id",
    "payment_id": "transaction_id (else id + ':paid')",
    "amount": "total",
    "currency": "currency",
    "method": "payment_method_title / payment_method",
    "paid_at": "date_paid_gmt",
}
SHIPMENT_ORIGINS = {
    "order_number": "id",
    "shipment_id": f"meta_data[{TRACKING_META}].value[*].tracking_id",
    "carrier": f"meta_data[{TRACKING_META}].value[*].tracking_provider / custom_tracking_provider",
    "tracking_number": f"meta_data[{TRACKING_META}].value[*].tracking_number",
    "tracking_url": f"meta_data[{TRACKING_META}].value[*].custom_tracking_link",
    "shipped_at": f"meta_data[{TRACKING_META}].value[*].date_shipped",
}

_PING = re.compile(rb"\s*webhook_id=\d{1,20}\s*")


def is_ping(body: bytes) -> bool:
    """WooCommerce's test delivery when a webhook is created or activated: the form body
    ``webhook_id=NN``, not signed (WC_Webhook::deliver_ping). Nothing in it to keep."""
    return _PING.fullmatch(body) is not None


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    handler = TOPICS.get(topic)
    if handler is None:
        customer_topics.not_an_order(PLATFORM, topic, payload, config)
        raise UnsupportedTopic.at("X-WC-Webhook-Topic", f"unsupported topic {topic!r}; supported: {', '.join(TOPICS)}")
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    if isinstance(payload.get("order"), dict) and "id" not in payload:
        raise MappingError.at(
            "order",
            'a Legacy REST API body ({"order": {...}}, the legacy v3 names): set the webhook\'s API version to '
            "WP REST API Integration v3 (WooCommerce > Settings > Advanced > Webhooks)",
        )
    return handler(payload, config)


def gmt(value: Any) -> Any:
    """WooCommerce's ``*_gmt`` times have no offset (``2017-03-22T19:28:02``): they are UTC."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", value.strip()):
        return value.strip() + "+00:00"
    return value


def moment(order: dict[str, Any], *fields: str) -> Any:
    """The first of an order's times given: each ``*_gmt`` field (UTC), else the shop's own
    time of that name, which the WP REST API v1 sends alone (``date_created``, read as UTC:
    off by the shop's offset, not by however long after the order it was published)."""
    for field in fields:
        for name in (f"{field}_gmt", field):
            if blank_none(order.get(name)) is not None:
                return gmt(order.get(name))
    return None


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    # A digital order's shipping block is all empty strings: no address at all.
    return address(
        first_name=raw.get("first_name"),
        last_name=raw.get("last_name"),
        company=raw.get("company"),
        line1=raw.get("address_1"),
        line2=raw.get("address_2"),
        city=raw.get("city"),
        region=raw.get("state"),
        postal_code=raw.get("postcode"),
        country=raw.get("country"),
        phone=raw.get("phone"),
    )


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def _name(value: Any) -> Any:
    # Product names come HTML-encoded by WordPress ("Ship Your Idea &ndash; Color: Black").
    return html.unescape(value) if isinstance(value, str) else value


def _per_unit(total: Decimal, quantity: Decimal, exponent: int) -> Decimal:
    if not quantity:
        return total
    try:
        unit = total / quantity
        exact = unit.quantize(Decimal(1).scaleb(-6))
    except InvalidOperation:
        return total
    return in_currency(exact, exponent)


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, order.get("id"), "id", required=True, default="?")
    billing = problems.check(obj, order, "billing", default={})
    shipping_address = problems.check(obj, order, "shipping", default={})
    exponent = problems.check(currency_exponent, order.get("currency"), "currency", default=2)
    taxes_included = order.get("prices_include_tax") is True

    def amount(data: dict[str, Any], field: str, where: str = "", *, missing: Any = None) -> Decimal:
        return amount_of(problems, data.get(field), f"{where}{field}", missing=missing)

    def with_tax(data: dict[str, Any], field: str, tax_field: str, where: str = "") -> Decimal:
        value = amount(data, field, where, missing="0")
        return value + amount(data, tax_field, where, missing="0") if taxes_included else value

    lines = []
    subtotal = Decimal(0)
    for index, line in enumerate(problems.check(items, order, "line_items", default=[])):
        where = f"line_items[{index}]."
        if not isinstance(line, dict):
            problems.add(f"line_items[{index}]", "must be an object")
            continue
        quantity = problems.check(decimal, line.get("quantity"), f"{where}quantity", default=Decimal(1))
        total = with_tax(line, "total", "total_tax", where)
        if taxes_included or line.get("price") is None:
            unit = _per_unit(total, quantity, exponent)
        else:
            unit = problems.check(decimal, line.get("price"), f"{where}price", default=Decimal(0))
        subtotal += with_tax(line, "subtotal", "subtotal_tax", where)
        lines.append(
            {
                "sku": problems.check(identifier, blank_none(line.get("sku")), f"{where}sku"),
                "name": _name(line.get("name")),
                "quantity": quantity,
                "unit_price": in_currency(unit, exponent),
                "total": in_currency(total, exponent),
            }
        )
    for index, fee in enumerate(problems.check(items, order, "fee_lines", default=[])):
        if isinstance(fee, dict):
            subtotal += with_tax(fee, "total", "total_tax", f"fee_lines[{index}].")
        else:
            problems.add(f"fee_lines[{index}]", "must be an object")

    customer_id = problems.check(identifier, order.get("customer_id"), "customer_id")
    registered = customer_id not in (None, "0")
    payload = {
        "order_number": order_id,
        "display_number": problems.check(identifier, order.get("number"), "number"),
        "source_system": config.source_system,
        "source_customer_id": customer_id if registered else None,
        "account_type": "registered" if registered else "guest",
        "scope": problems.check(config.scope_for, None, "scope", default="?"),
        "email": blank_none(billing.get("email")),
        "phone": blank_none(billing.get("phone")) or blank_none(shipping_address.get("phone")),
        "first_name": blank_none(billing.get("first_name")) or blank_none(shipping_address.get("first_name")),
        "last_name": blank_none(billing.get("last_name")) or blank_none(shipping_address.get("last_name")),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {
            "subtotal": in_currency(subtotal, exponent),
            "shipping": in_currency(with_tax(order, "shipping_total", "shipping_tax"), exponent),
            "tax": in_currency(amount(order, "total_tax", missing="0"), exponent),
            "discount": in_currency(with_tax(order, "discount_total", "discount_tax"), exponent),
            "total": in_currency(amount(order, "total"), exponent),
            "taxes_included": taxes_included,
        },
        "currency": order.get("currency"),
        "placed_at": moment(order, "date_created"),
        "status": blank_none(order.get("status")),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "order-placed", order_id, version_of(order)),
            correlation_id=_correlation(order_id),
            occurred_at=payload["placed_at"],
            payload=payload,
            origins=ORDER_ORIGINS,
            problems=problems,
        )
    ]


def _status_change(order: dict[str, Any], config: PlatformConfig, order_id: str) -> Envelope[Any]:
    status = blank_none(order.get("status"))
    changed_at = moment(order, "date_modified", "date_created")
    return status_changed(
        config,
        message_id=message_id(PLATFORM, "order.updated", order_id, status, changed_at),
        correlation_id=_correlation(order_id),
        order_number=order_id,
        scope=config.scope_for(None, "scope"),
        status=status,
        changed_at=changed_at,
        origins=STATUS_ORIGINS,
    )


def _shipped_at(value: Any, fallback: Any) -> Any:
    """The extension keeps ``date_shipped`` as a Unix timestamp (an integer or its text)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)) or (isinstance(value, str) and value.strip().isdigit()):
        return datetime.fromtimestamp(int(value), UTC).isoformat()
    return value if value not in (None, "") else fallback


def shipments(order: dict[str, Any], config: PlatformConfig, order_id: str) -> list[Envelope[Any]]:
    """One OrderShipped per item of the Shipment Tracking extension's meta, if any."""
    problems = Problems()
    entries = problems.check(items, order, "meta_data", default=[])
    found = [(i, m) for i, m in enumerate(entries) if isinstance(m, dict) and m.get("key") == TRACKING_META]
    if not found or order.get("status") not in SHIPPABLE:
        problems.raise_if_any()
        return []
    index, meta = found[-1]
    tracking = meta.get("value")
    if not isinstance(tracking, list):
        raise MappingError.at(f"meta_data[{index}].value", "must be a list of tracking items")
    messages = []
    for position, item in enumerate(tracking):
        where = f"meta_data[{index}].value[{position}]."
        if not isinstance(item, dict):
            raise MappingError.at(where[:-1], "must be an object")
        origins = {k: v.replace(f"meta_data[{TRACKING_META}].value[*].", where) for k, v in SHIPMENT_ORIGINS.items()}
        shipment_id = problems.check(
            identifier,
            blank_none(item.get("tracking_id")) or blank_none(item.get("tracking_number")),
            f"{where}tracking_id",
            required=True,
            default="?",
        )
        shipped_at = _shipped_at(
            item.get("date_shipped"), gmt(order.get("date_completed_gmt") or order.get("date_modified_gmt"))
        )
        messages.append(
            build(
                OrderShipped,
                config=config,
                message_id=message_id(PLATFORM, "shipment", order_id, shipment_id),
                correlation_id=_correlation(order_id),
                occurred_at=shipped_at,
                payload={
                    "source_system": config.source_system,
                    "order_number": order_id,
                    "scope": config.scope_for(None, "scope"),
                    "shipment_id": shipment_id,
                    "carrier": blank_none(item.get("custom_tracking_provider"))
                    or blank_none(item.get("tracking_provider")),
                    "tracking_number": blank_none(item.get("tracking_number")),
                    "tracking_url": https_link(item.get("custom_tracking_link")),
                    "lines": [],  # the extension tracks the whole order, not items
                    "shipped_at": shipped_at,
                },
                origins=origins,
                problems=problems,
            )
        )
    return messages


def payment(order: dict[str, Any], config: PlatformConfig, order_id: str) -> list[Envelope[Any]]:
    """``PaymentReceived`` for an order WooCommerce counts as paid (``date_paid`` set: a
    refunded or cancelled order keeps it, the money did arrive). One per order: the
    updates that follow carry the same ``date_paid`` and make the same message id."""
    paid_at = gmt(blank_none(order.get("date_paid_gmt")))
    if paid_at is None:
        return []
    problems = Problems()
    exponent = problems.check(currency_exponent, order.get("currency"), "currency", default=2)
    return [
        payment_received(
            config,
            message_id=message_id(PLATFORM, "payment", order_id),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=config.scope_for(None, "scope"),
            payment_id=problems.check(identifier, blank_none(order.get("transaction_id")), "transaction_id")
            or f"{order_id}:paid",
            amount=in_currency(problems.check(decimal, order.get("total"), "total", default=Decimal(0)), exponent),
            currency=order.get("currency"),
            method=blank_none(order.get("payment_method_title")) or blank_none(order.get("payment_method")),
            paid_at=paid_at,
            origins=PAYMENT_ORIGINS,
            problems=problems,
        )
    ]


def order_created(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    placed = order_placed(order, config)
    order_id = placed[0].payload.order_number
    return placed + payment(order, config, order_id) + shipments(order, config, order_id)


def order_updated(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    """The whole order again (placed if it was never received), its status as a change
    (order-sync keeps the newest), and its tracked shipments."""
    placed = order_placed(order, config)
    order_id = placed[0].payload.order_number
    return (
        placed
        + [_status_change(order, config, order_id)]
        + payment(order, config, order_id)
        + shipments(order, config, order_id)
    )


def order_deleted(body: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = identifier(body.get("id"), "id", required=True)
    raise Ignored(f"order {order_id} deleted: WooCommerce sends only its id (no status, no time), nothing to apply")


TOPICS = {
    "order.created": order_created,
    "order.updated": order_updated,
    "order.restored": order_updated,
    "order.deleted": order_deleted,
}


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.woocommerce.order.created`` carries ``order.created``."""
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or "order.unknown"
