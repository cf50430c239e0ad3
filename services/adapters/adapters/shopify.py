"""Shopify webhooks -> our order contract (O8). Pure: no I/O.

Topics (the ``X-Shopify-Topic`` header): ``orders/create`` -> ``OrderPlaced``,
``orders/updated`` -> ``OrderStatusChanged``, ``orders/paid`` -> ``PaymentReceived``,
``fulfillments/create`` -> ``OrderShipped``. The webhook body is the REST Order (or
Fulfillment) resource; amounts are decimal strings in the shop currency.

The order is identified by Shopify's order ``id`` (not ``name`` like "#1001"): every topic
carries it, a fulfillment only as ``order_id``.
"""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from contracts.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

from .mapping import (
    MappingError,
    PlatformConfig,
    build,
    decimal,
    https_link,
    items,
    language,
    message_id,
    obj,
    require,
    text,
    total_of,
)

PLATFORM = "shopify"

#: Contract field -> Shopify field, for errors and for the mapping table in the README.
ORDER_ORIGINS = {
    "order_number": "id",
    "source_customer_id": "customer.id",
    "account_type": "customer.state",
    "email": "email",
    "phone": "phone",
    "first_name": "customer.first_name",
    "last_name": "customer.last_name",
    "preferred_language": "customer_locale",
    "billing_address": "billing_address",
    "billing_address.line1": "billing_address.address1",
    "billing_address.line2": "billing_address.address2",
    "billing_address.region": "billing_address.province",
    "billing_address.postal_code": "billing_address.zip",
    "billing_address.country": "billing_address.country_code",
    "shipping_address": "shipping_address",
    "shipping_address.line1": "shipping_address.address1",
    "shipping_address.line2": "shipping_address.address2",
    "shipping_address.region": "shipping_address.province",
    "shipping_address.postal_code": "shipping_address.zip",
    "shipping_address.country": "shipping_address.country_code",
    "lines": "line_items",
    "lines.*.sku": "line_items[*].sku",
    "lines.*.name": "line_items[*].name",
    "lines.*.quantity": "line_items[*].quantity",
    "lines.*.unit_price": "line_items[*].price",
    "lines.*.total": "line_items[*].price × quantity",
    "totals.subtotal": "total_line_items_price",
    "totals.shipping": "shipping_lines[*].price (sum)",
    "totals.tax": "total_tax",
    "totals.discount": "total_discounts",
    "totals.total": "total_price",
    "currency": "currency",
    "placed_at": "created_at",
    "store_id": "location_id",
    "status": "financial_status",
}
STATUS_ORIGINS = {
    "order_number": "id",
    "status": "cancelled_at / closed_at / fulfillment_status / financial_status",
    "changed_at": "updated_at",
}
PAYMENT_ORIGINS = {
    "order_number": "id",
    "payment_id": "id + ':paid'",
    "amount": "total_price",
    "currency": "currency",
    "method": "payment_gateway_names[0] / gateway",
    "paid_at": "processed_at / updated_at",
}
SHIPMENT_ORIGINS = {
    "order_number": "order_id",
    "shipment_id": "id",
    "carrier": "tracking_company",
    "tracking_number": "tracking_number",
    "tracking_url": "tracking_url",
    "lines": "line_items",
    "lines.*.sku": "line_items[*].sku",
    "lines.*.name": "line_items[*].name",
    "lines.*.quantity": "line_items[*].quantity",
    "shipped_at": "created_at",
}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    handler = TOPICS.get(topic)
    if handler is None:
        raise MappingError.at("X-Shopify-Topic", f"unsupported topic {topic!r}; supported: {', '.join(TOPICS)}")
    return handler(payload, config)


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "first_name": raw.get("first_name"),
        "last_name": raw.get("last_name"),
        "company": raw.get("company"),
        "line1": raw.get("address1"),
        "line2": raw.get("address2"),
        "city": raw.get("city"),
        "region": raw.get("province"),
        "postal_code": raw.get("zip"),
        "country": raw.get("country_code"),
        "phone": raw.get("phone"),
    }


def _order_key(order: dict[str, Any], field: str = "id") -> str:
    return str(require(order, field))


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = _order_key(order)
    customer = obj(order, "customer")
    billing = obj(order, "billing_address")
    lines = []
    for index, line in enumerate(items(order, "line_items")):
        unit = decimal(line.get("price"), f"line_items[{index}].price")
        quantity = line.get("quantity")
        lines.append(
            {
                "sku": line.get("sku"),
                "name": line.get("name") or line.get("title"),
                "quantity": quantity,
                "unit_price": unit,
                "total": unit * decimal(quantity, f"line_items[{index}].quantity"),
            }
        )
    shipping = total_of(
        [(line.get("price"), f"shipping_lines[{i}].price") for i, line in enumerate(items(order, "shipping_lines"))]
    )
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": text(customer.get("id")),
        # Shopify keeps a customer record for guest checkouts too; only "enabled" has an account.
        "account_type": "registered" if customer.get("state") == "enabled" else "guest",
        "scope": config.scope_for(None, "scope"),
        "email": order.get("email") or order.get("contact_email") or customer.get("email"),
        "phone": order.get("phone") or customer.get("phone"),
        "first_name": customer.get("first_name") or billing.get("first_name"),
        "last_name": customer.get("last_name") or billing.get("last_name"),
        "preferred_language": language(order.get("customer_locale")),
        "billing_address": _address(billing),
        "shipping_address": _address(obj(order, "shipping_address")),
        "lines": lines,
        "totals": {
            "subtotal": decimal(order.get("total_line_items_price", order.get("subtotal_price")), "total_line_items_price"),
            "shipping": shipping,
            "tax": decimal(order.get("total_tax") or "0", "total_tax"),
            "discount": decimal(order.get("total_discounts") or "0", "total_discounts"),
            "total": decimal(order.get("total_price"), "total_price"),
        },
        "currency": order.get("currency"),
        "placed_at": order.get("created_at"),
        "store_id": text(order.get("location_id")),
        "status": order.get("financial_status"),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "orders/create", order_id),
            correlation_id=_correlation(order_id),
            occurred_at=order.get("created_at"),
            payload=payload,
            origins=ORDER_ORIGINS,
        )
    ]


def status_of(order: dict[str, Any]) -> str:
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("closed_at"):
        return "closed"
    return order.get("fulfillment_status") or order.get("financial_status") or "open"


def order_updated(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = _order_key(order)
    status = status_of(order)
    changed_at = require(order, "updated_at")
    return [
        build(
            OrderStatusChanged,
            config=config,
            message_id=message_id(PLATFORM, "orders/updated", order_id, status, changed_at),
            correlation_id=_correlation(order_id),
            occurred_at=changed_at,
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": config.scope_for(None, "scope"),
                "status": status,
                "changed_at": changed_at,
            },
            origins=STATUS_ORIGINS,
        )
    ]


def order_paid(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = _order_key(order)
    paid_at = order.get("processed_at") or require(order, "updated_at")
    gateways = items(order, "payment_gateway_names")
    return [
        build(
            PaymentReceived,
            config=config,
            message_id=message_id(PLATFORM, "orders/paid", order_id),
            correlation_id=_correlation(order_id),
            occurred_at=paid_at,
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": config.scope_for(None, "scope"),
                "payment_id": f"{order_id}:paid",
                "amount": decimal(order.get("total_price"), "total_price"),
                "currency": order.get("currency"),
                "method": (gateways[0] if gateways else None) or order.get("gateway"),
                "paid_at": paid_at,
            },
            origins=PAYMENT_ORIGINS,
        )
    ]


def fulfillment_created(fulfillment: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = _order_key(fulfillment, "order_id")
    shipment_id = str(require(fulfillment, "id"))
    numbers = items(fulfillment, "tracking_numbers")
    urls = items(fulfillment, "tracking_urls")
    return [
        build(
            OrderShipped,
            config=config,
            message_id=message_id(PLATFORM, "fulfillments/create", shipment_id),
            correlation_id=_correlation(order_id),
            occurred_at=fulfillment.get("created_at"),
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": config.scope_for(None, "scope"),
                "shipment_id": shipment_id,
                "carrier": fulfillment.get("tracking_company"),
                "tracking_number": fulfillment.get("tracking_number") or (numbers[0] if numbers else None),
                "tracking_url": https_link(fulfillment.get("tracking_url") or (urls[0] if urls else None)),
                "lines": [
                    {"sku": line.get("sku"), "name": line.get("name") or line.get("title"),
                     "quantity": line.get("quantity")}
                    for line in items(fulfillment, "line_items")
                ],
                "shipped_at": fulfillment.get("created_at"),
            },
            origins=SHIPMENT_ORIGINS,
        )
    ]


TOPICS = {
    "orders/create": order_placed,
    "orders/updated": order_updated,
    "orders/paid": order_paid,
    "fulfillments/create": fulfillment_created,
}


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.shopify.orders.create`` carries the topic ``orders/create``."""
    return tail.replace(".", "/")


def routing_from_topic(topic: str) -> str:
    return topic.replace("/", ".")

