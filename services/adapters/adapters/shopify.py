"""Shopify webhooks -> our order contract (O8). Pure: no I/O.

Topics (the ``X-Shopify-Topic`` header), REST Admin API versions 2023-01 to 2026-04 (the
Order and Fulfillment resources kept their field names over those versions):

- ``orders/create`` -> ``OrderPlaced``;
- ``orders/updated``, ``orders/cancelled`` -> ``OrderPlaced`` (a no-op for an order already
  received) and ``OrderStatusChanged``: an update is applied as an update, never
  deduplicated away because its order id was seen before;
- ``orders/paid`` -> ``PaymentReceived``;
- ``fulfillments/create``, ``fulfillments/update`` -> ``OrderShipped`` once the fulfillment
  has shipped (``status: success`` with a tracking number or a shipment status); a pending,
  open, cancelled or failed one is acknowledged and ignored (no shipping email for it);
- the mandatory compliance topics ``customers/redact``, ``customers/data_request`` and
  ``shop/redact`` -> a privacy request (handlers.py routes it to C18), never a dead letter
  holding the customer's personal data.

Orders with ``test: true`` are ignored (acknowledged and logged) unless the settings accept
them (``OMS_ADAPTERS_SHOPIFY_TEST_ORDERS=accept``).

The order is identified by Shopify's order ``id`` (every topic carries it, a fulfillment as
``order_id``); the number the customer sees (``name``, "#1001") is ``display_number``.
Amounts are decimal strings in the shop currency; ``taxes_included`` is Shopify's own flag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderPlaced, OrderShipped

from . import customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    Ignored,
    MappingError,
    PlatformConfig,
    PrivacyRequested,
    Problems,
    address,
    amount_of,
    blank_none,
    build,
    decimal,
    get,
    https_link,
    identifier,
    items,
    language,
    message_id,
    obj,
    payment_received,
    require,
    status_changed,
    version_of,
)

PLATFORM = "shopify"

#: Contract field -> Shopify field, for errors and for the mapping table in the README.
ORDER_ORIGINS = {
    "order_number": "id",
    "display_number": "name",
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
    "totals.taxes_included": "taxes_included",
    "currency": "currency",
    "placed_at": "created_at",
    "store_id": "location_id",
    "status": "cancelled_at / closed_at / fulfillment_status / financial_status",
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
    "tracking_number": "tracking_number / tracking_numbers[0]",
    "tracking_url": "tracking_url / tracking_urls[0]",
    "lines": "line_items",
    "lines.*.sku": "line_items[*].sku",
    "lines.*.name": "line_items[*].name",
    "lines.*.quantity": "line_items[*].quantity",
    "shipped_at": "created_at",
}
PRIVACY_ORIGINS = {
    "source_customer_id": "customer.id",
    "order_numbers": "orders_to_redact / orders_requested",
    "shop": "shop_domain",
}


#: The key the REST Admin API (and the SDKs' fixtures, and buses that keep its answers) wraps
#: each topic family's resource in: ``{"order": {...}}``, ``{"fulfillment": {...}}``.
RESOURCE_KEYS = {"orders": "order", "fulfillments": "fulfillment"}


def unwrapped(topic: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """The body as the webhook sends it (the resource itself), and its topic, from the other
    shapes the same resource arrives in: an Amazon EventBridge event of Shopify's partner
    source (``detail.payload``, the topic in ``detail.metadata["X-Shopify-Topic"]`` when no
    header or routing key named it), or the resource wrapped in its name as the REST API
    answers. The bare resource is what ids are derived from, so the same order arriving
    both ways publishes the same messages once."""
    detail = payload.get("detail")
    if "detail-type" in payload and isinstance(detail, dict) and isinstance(detail.get("payload"), dict):
        metadata = detail.get("metadata")
        named = metadata.get("X-Shopify-Topic") if isinstance(metadata, dict) else None
        topic = topic or (named if isinstance(named, str) else "")
        payload = detail["payload"]
    key = RESOURCE_KEYS.get(topic.partition("/")[0])
    if key is not None and len(payload) == 1 and isinstance(payload.get(key), dict):
        payload = payload[key]
    return topic, payload


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    topic, payload = unwrapped(topic, payload)
    handler = TOPICS.get(topic)
    if handler is None:
        customer_topics.not_an_order(PLATFORM, topic, payload, config)
        raise UnsupportedTopic.at("X-Shopify-Topic", f"unsupported topic {topic!r}; supported: {', '.join(TOPICS)}")
    return handler(payload, config)


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    return address(
        first_name=raw.get("first_name"),
        last_name=raw.get("last_name"),
        company=raw.get("company"),
        line1=raw.get("address1"),
        line2=raw.get("address2"),
        city=raw.get("city"),
        region=raw.get("province"),
        postal_code=raw.get("zip"),
        country=blank_none(raw.get("country_code")) or raw.get("country"),
        phone=raw.get("phone"),
    )


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def _not_a_test(order: dict[str, Any], config: PlatformConfig) -> None:
    if order.get("test") is True and config.test_orders != "accept":
        raise Ignored(
            f"test order {order.get('name') or order.get('id')} (test: true) ignored; "
            "OMS_ADAPTERS_SHOPIFY_TEST_ORDERS=accept takes them"
        )


def _store_of(order: dict[str, Any]) -> Any:
    """The store a sale was made in (C6): a POS sale's ``location_id``. An online or draft
    order's ``location_id`` is the location it is fulfilled from, no store the buyer visited
    (a payload without ``source_name``, from before Shopify sent it, keeps its location)."""
    source = order.get("source_name")
    return order.get("location_id") if source in (None, "", *IN_STORE_SOURCES) else None


#: The ``source_name`` of a sale made in a store: Shopify POS.
IN_STORE_SOURCES = ("pos",)


def _presented(order: dict[str, Any]) -> bool:
    """Whether the buyer saw and paid another currency than the shop's (Shopify Markets:
    ``presentment_currency``), with every amount the order is read by given in it too
    (``*_set.presentment_money``). Then the order is published in that money: what the
    customer's emails and the CSR show is what the customer paid (45.85 USD, not the shop's
    60.33 AUD). Otherwise, or with any of those amounts missing, the shop's money throughout."""
    currency = blank_none(order.get("presentment_currency"))
    if not isinstance(currency, str) or currency == order.get("currency"):
        return False
    listed = [
        item
        for name in ("line_items", "shipping_lines")
        if isinstance(found := order.get(name), list)
        for item in found
        if isinstance(item, dict)
    ]
    needed = [(order, "total_price"), *((item, "price") for item in listed)]
    needed += [(order, field) for field in OPTIONAL_TOTALS if blank_none(order.get(field)) is not None]
    return all(_money(holder, field, True, strict=True) is not None for holder, field in needed)


#: Totals an order may leave out; read in the presentment currency when given.
OPTIONAL_TOTALS = ("total_line_items_price", "subtotal_price", "total_tax", "total_discounts")


def _money(holder: Any, field: str, presented: bool, *, strict: bool = False) -> Any:
    """``field`` of ``holder`` in the buyer's money (``<field>_set.presentment_money.amount``)
    when the order is ``presented``, else as the shop's (``field``)."""
    if not isinstance(holder, dict):
        return None
    if presented:
        found = get(holder, f"{field}_set.presentment_money.amount")
        if found is not None or strict:
            return found
    return holder.get(field)


def status_of(order: dict[str, Any]) -> str:
    """One status for the order, whatever the topic: a cancelled order is "cancelled" on
    orders/create as on orders/updated (its financial_status may still say "voided")."""
    if order.get("cancelled_at"):
        return "cancelled"
    if order.get("closed_at"):
        return "closed"
    return order.get("fulfillment_status") or order.get("financial_status") or "open"


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    _not_a_test(order, config)
    problems = Problems()
    order_id = problems.check(identifier, order.get("id"), "id", required=True, default="?")
    customer = problems.check(obj, order, "customer", default={})
    billing = problems.check(obj, order, "billing_address", default={})
    shipping_address = problems.check(obj, order, "shipping_address", default={})
    presented = _presented(order)

    def shown(holder: Any, field: str) -> Any:
        return _money(holder, field, presented)

    lines = []
    for index, line in enumerate(problems.check(items, order, "line_items", default=[])):
        if not isinstance(line, dict):
            problems.add(f"line_items[{index}]", "must be an object")
            continue
        unit = problems.check(decimal, shown(line, "price"), f"line_items[{index}].price", default=Decimal(0))
        quantity = problems.check(decimal, line.get("quantity"), f"line_items[{index}].quantity", default=Decimal(1))
        lines.append(
            {
                "sku": problems.check(identifier, line.get("sku"), f"line_items[{index}].sku"),
                "name": line.get("name") or line.get("title"),
                "quantity": quantity,
                "unit_price": unit,
                "total": unit * quantity,
            }
        )
    shipping = sum(
        (
            problems.check(
                decimal,
                shown(line, "price") if isinstance(line, dict) else line,
                f"shipping_lines[{i}].price",
                default=Decimal(0),
            )
            for i, line in enumerate(problems.check(items, order, "shipping_lines", default=[]))
        ),
        Decimal(0),
    )

    def amount(field: str, *, fallback: str | None = None, missing: Any = None) -> Decimal:
        value = shown(order, field)
        if blank_none(value) is None and fallback:
            value = shown(order, fallback)
        return amount_of(problems, value, field, missing=missing)

    payload = {
        "order_number": order_id,
        "display_number": problems.check(identifier, order.get("name"), "name"),
        "source_system": config.source_system,
        "source_customer_id": problems.check(identifier, customer.get("id"), "customer.id"),
        # Shopify keeps a customer record for guest checkouts too; only "enabled" has an account.
        "account_type": "registered" if customer.get("state") == "enabled" else "guest",
        "scope": problems.check(config.scope_for, None, "scope", default="?"),
        "email": order.get("email") or order.get("contact_email") or customer.get("email"),
        "phone": order.get("phone") or customer.get("phone"),
        "first_name": customer.get("first_name") or billing.get("first_name"),
        "last_name": customer.get("last_name") or billing.get("last_name"),
        "preferred_language": language(order.get("customer_locale")),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {
            "subtotal": amount("total_line_items_price", fallback="subtotal_price"),
            "shipping": shipping,
            "tax": amount("total_tax", missing="0"),
            "discount": amount("total_discounts", missing="0"),
            "total": amount("total_price"),
            "taxes_included": order.get("taxes_included") is True,
        },
        "currency": order.get("presentment_currency") if presented else order.get("currency"),
        "placed_at": order.get("created_at"),
        "store_id": problems.check(identifier, _store_of(order), "location_id"),
        "status": status_of(order),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            # The order's state, not only its id: a changed body is a new message.
            message_id=message_id(PLATFORM, "order-placed", order_id, version_of(order)),
            correlation_id=_correlation(order_id),
            occurred_at=order.get("created_at"),
            payload=payload,
            origins=ORDER_ORIGINS,
            problems=problems,
        )
    ]


def order_updated(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    """The whole order again: placed if it was never received (an orders/create lost or
    dead-lettered), and its status applied as a change (order-sync keeps the newest)."""
    placed = order_placed(order, config)
    order_id = placed[0].payload.order_number
    status = status_of(order)
    changed_at = order.get("updated_at") or order.get("cancelled_at") or require(order, "updated_at")
    return placed + [
        status_changed(
            config,
            message_id=message_id(PLATFORM, "orders/updated", order_id, status, changed_at),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=config.scope_for(None, "scope"),
            status=status,
            changed_at=changed_at,
            origins=STATUS_ORIGINS,
        )
    ]


def order_paid(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    _not_a_test(order, config)
    problems = Problems()
    order_id = problems.check(identifier, order.get("id"), "id", required=True, default="?")
    paid_at = order.get("processed_at") or order.get("updated_at")
    if not paid_at:
        problems.add("processed_at", "required, missing")
    gateways = problems.check(items, order, "payment_gateway_names", default=[])
    presented = _presented(order)
    return [
        payment_received(
            config,
            message_id=message_id(PLATFORM, "orders/paid", order_id),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=problems.check(config.scope_for, None, "scope", default="?"),
            payment_id=f"{order_id}:paid",
            amount=problems.check(decimal, _money(order, "total_price", presented), "total_price", default=Decimal(0)),
            currency=order.get("presentment_currency") if presented else order.get("currency"),
            method=(gateways[0] if gateways else None) or order.get("gateway"),
            paid_at=paid_at,
            origins=PAYMENT_ORIGINS,
            problems=problems,
        )
    ]


#: Fulfillment statuses that say the goods left (Shopify: pending, open, success,
#: cancelled, error, failure; ``shipment_status``: label_printed ... delivered).
SHIPPED = "success"


def fulfillment_shipped(fulfillment: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, fulfillment.get("order_id"), "order_id", required=True, default="?")
    shipment_id = problems.check(identifier, fulfillment.get("id"), "id", required=True, default="?")
    numbers = problems.check(items, fulfillment, "tracking_numbers", default=[])
    urls = problems.check(items, fulfillment, "tracking_urls", default=[])
    tracking_number = fulfillment.get("tracking_number") or (numbers[0] if numbers else None)
    status = fulfillment.get("status")
    if status != SHIPPED or not (tracking_number or fulfillment.get("shipment_status")):
        problems.raise_if_any()
        raise Ignored(
            f"fulfillment {shipment_id} of order {order_id} has not shipped "
            f"(status {status!r}, no tracking number or shipment status yet): no shipment, no email"
        )
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
                "scope": problems.check(config.scope_for, None, "scope", default="?"),
                "shipment_id": shipment_id,
                "carrier": fulfillment.get("tracking_company"),
                "tracking_number": tracking_number,
                "tracking_url": https_link(fulfillment.get("tracking_url") or (urls[0] if urls else None)),
                "lines": [
                    {
                        "sku": line.get("sku"),
                        "name": line.get("name") or line.get("title"),
                        "quantity": line.get("quantity"),
                    }
                    for line in problems.check(items, fulfillment, "line_items", default=[])
                    if isinstance(line, dict)
                ],
                "shipped_at": fulfillment.get("updated_at") or fulfillment.get("created_at"),
            },
            origins=SHIPMENT_ORIGINS,
            problems=problems,
        )
    ]


# --- mandatory compliance topics (privacy, C18) ---------------------------------------------

PRIVACY_KINDS = {"customers/redact": "erase", "customers/data_request": "export", "shop/redact": "shop-erase"}


def privacy_request(topic: str, body: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    """A compliance webhook: the ids it names (never the email or phone it also carries)."""
    problems = Problems()
    customer = problems.check(obj, body, "customer", default={})
    numbers = problems.check(
        items, body, "orders_to_redact" if topic == "customers/redact" else "orders_requested", default=[]
    )
    request = {
        "platform": PLATFORM,
        "kind": PRIVACY_KINDS[topic],
        "topic": topic,
        "source_system": config.source_system,
        "shop_id": problems.check(identifier, body.get("shop_id"), "shop_id"),
        "shop": body.get("shop_domain") if isinstance(body.get("shop_domain"), str) else None,
        "source_customer_id": problems.check(
            identifier, customer.get("id"), "customer.id", required=topic != "shop/redact"
        ),
        "order_numbers": [problems.check(identifier, n, f"orders[{i}]") for i, n in enumerate(numbers)],
        "request_id": problems.check(
            identifier,
            (body.get("data_request") or {}).get("id") if isinstance(body.get("data_request"), dict) else None,
            "data_request.id",
        ),
    }
    problems.raise_if_any()
    raise PrivacyRequested(request)


def redacted_body(request: dict[str, Any]) -> dict[str, Any]:
    """The compliance webhook as it is kept and passed on: ids only, the same shape (so it
    maps again to the same request), without the email and phone Shopify put in it."""
    body: dict[str, Any] = {"shop_id": request.get("shop_id"), "shop_domain": request.get("shop")}
    if request.get("source_customer_id"):
        body["customer"] = {"id": request["source_customer_id"]}
    key = "orders_to_redact" if request["topic"] == "customers/redact" else "orders_requested"
    if request["topic"] != "shop/redact":
        body[key] = request.get("order_numbers") or []
    if request.get("request_id"):
        body["data_request"] = {"id": request["request_id"]}
    return body


#: What a compliance webhook's dead letter keeps: the fields that are ids.
PRIVACY_ID_FIELDS = ("shop_id", "shop_domain", "orders_to_redact", "orders_requested")


def privacy_dead_letter_body(body: bytes) -> bytes:
    """A compliance webhook that could not be mapped, as its dead letter keeps it: its id fields
    only (``customer`` and ``data_request`` reduced to their ``id``), in the same shape, so that
    a replay maps it once fixed; the customer's email and phone are never kept. A body that
    cannot be read is kept as its digest alone."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return json.dumps({"unreadable_body_sha256": hashlib.sha256(body).hexdigest()}).encode()
    kept: dict[str, Any] = {k: data[k] for k in PRIVACY_ID_FIELDS if k in data}
    for nested in ("customer", "data_request"):
        if isinstance(data.get(nested), dict):
            kept[nested] = {"id": data[nested].get("id")}
        elif nested in data:
            kept[nested] = "(removed: not an object)"
    return json.dumps(kept).encode()


#: One Shopify topic's mapper: (the body, the platform's config) -> messages.
TopicMapper = Callable[[dict[str, Any], PlatformConfig], list[Envelope[Any]]]

TOPICS: dict[str, TopicMapper] = {
    "orders/create": order_placed,
    "orders/updated": order_updated,
    "orders/cancelled": order_updated,
    "orders/paid": order_paid,
    "fulfillments/create": fulfillment_shipped,
    "fulfillments/update": fulfillment_shipped,
    **{topic: partial(privacy_request, topic) for topic in PRIVACY_KINDS},
}


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.shopify.orders.create`` carries the topic ``orders/create``."""
    return tail.replace(".", "/")


def routing_from_topic(topic: str) -> str:
    return topic.replace("/", ".")
