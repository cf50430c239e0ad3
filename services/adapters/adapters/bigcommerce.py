"""BigCommerce orders -> our order contract (O8). Pure: no I/O.

BigCommerce webhooks are thin: ``{"scope": "store/order/created", "store_id": ...,
"data": {"type": "order", "id": 250}, "hash": ..., "created_at": ..., "producer": ...}``.
They name the order and nothing else, so the adapter reads it from the V2 Orders API
first (``bigcommerce_client.py``: the order, its products, shipping addresses and
shipments) and hands this mapper the webhook *with* those responses (``with_resources``):

    {"webhook": {...the webhook...}, "order": {...}, "products": [...],
     "shipping_addresses": [...], "shipments": [...]}

Scopes:

- ``store/order/created`` -> ``OrderPlaced``;
- ``store/order/updated``, ``store/order/statusUpdated`` (``data.status`` holds the status
  ids; the order read holds its name) -> ``OrderPlaced`` (a no-op for an order already
  received) and ``OrderStatusChanged``;
- on any of those three, an order whose ``payment_status`` says the money was taken
  (``captured``, ``paid``, or since refunded: ``partially refunded``, ``refunded``) ->
  ``PaymentReceived``, once per order (its message id is the order's). V2 keeps no payment
  time: ``paid_at`` is the order's ``date_modified`` when it was first read paid;
- ``store/order/archived`` (the order deleted to the archive) -> ``OrderStatusChanged`` to
  ``archived``: at the order's ``date_modified`` when it can still be read, else at the
  webhook's ``created_at`` in the default scope;
- ``store/shipment/created`` and ``store/shipment/updated`` (``data.id`` the shipment,
  ``data.orderId`` the order) -> ``OrderShipped`` for that shipment. Both make the same
  message id, so an update (a corrected tracking number) never ships the order twice: the
  first one received is kept, and the customer gets one shipping email.

A field error names the field of the V2 resource it is in: order fields bare
(``billing_address.zip``), the others under their endpoint (``products[0].price_ex_tax``,
``shipments[0].date_created``). Times are RFC 2822 (``Tue, 05 Mar 2019 21:40:11 +0000``).
Amounts are decimal strings with four decimals in every currency (``"55.9900"``), written
with the currency's ISO 4217 minor unit when exact (55.99 USD, 1200 JPY).

Tax: every amount comes both without and with tax (``*_ex_tax``, ``*_inc_tax``). The order
is published as the store prices it: the order's ``is_tax_inclusive_pricing`` when present,
else tax-inclusive when every product's catalog price (``base_price``) is its price with
tax. Tax-inclusive: the ``*_inc_tax`` amounts, ``taxes_included: true``; otherwise the
``*_ex_tax`` ones with the tax on top. The total is always ``total_inc_tax``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderPlaced, OrderShipped

from . import customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    MappingError,
    PlatformConfig,
    Problems,
    address,
    amount_of,
    blank_none,
    build,
    currency_exponent,
    decimal,
    get,
    https_link,
    identifier,
    in_currency,
    items,
    language,
    message_id,
    obj,
    payment_received,
    status_changed,
    version_of,
)

PLATFORM = "bigcommerce"
ORDER_SCOPES = ("store/order/created", "store/order/updated", "store/order/statusUpdated")
ARCHIVED_SCOPE = "store/order/archived"
SHIPMENT_SCOPES = ("store/shipment/created", "store/shipment/updated")
SCOPES = (*ORDER_SCOPES, ARCHIVED_SCOPE, *SHIPMENT_SCOPES)
#: ``payment_status`` values of an order whose money was taken (the others: authorized,
#: capture pending, declined, held for review, pending, void, void pending, empty).
PAID = ("captured", "paid", "partially refunded", "refunded")
#: What the adapter reads for a webhook, after its path under ``/stores/{hash}/v2/orders/{id}``.
RESOURCES = ("products", "shipping_addresses", "shipments")

ORDER_ORIGINS = {
    "order_number": "id",
    "source_customer_id": "customer_id",
    "account_type": "customer_id (0: guest)",
    "scope": "channel_id",
    "email": "billing_address.email",
    "phone": "billing_address.phone",
    "first_name": "billing_address.first_name",
    "last_name": "billing_address.last_name",
    "preferred_language": "customer_locale",
    "billing_address": "billing_address",
    "billing_address.line1": "billing_address.street_1",
    "billing_address.line2": "billing_address.street_2",
    "billing_address.region": "billing_address.state",
    "billing_address.postal_code": "billing_address.zip",
    "billing_address.country": "billing_address.country_iso2",
    "shipping_address": "shipping_addresses[0]",
    "shipping_address.line1": "shipping_addresses[0].street_1",
    "shipping_address.line2": "shipping_addresses[0].street_2",
    "shipping_address.region": "shipping_addresses[0].state",
    "shipping_address.postal_code": "shipping_addresses[0].zip",
    "shipping_address.country": "shipping_addresses[0].country_iso2",
    "lines": "products",
    "lines.*.sku": "products[*].sku",
    "lines.*.name": "products[*].name_customer / name",
    "lines.*.quantity": "products[*].quantity",
    "lines.*.unit_price": "products[*].price_inc_tax / price_ex_tax",
    "lines.*.total": "products[*].total_inc_tax / total_ex_tax",
    "totals.subtotal": "subtotal_inc_tax / subtotal_ex_tax",
    "totals.shipping": "shipping_cost_* + handling_cost_* + wrapping_cost_* (inc_tax / ex_tax)",
    "totals.tax": "total_tax",
    "totals.discount": "discount_amount + coupon_discount",
    "totals.total": "total_inc_tax",
    "totals.taxes_included": "is_tax_inclusive_pricing / products[*].base_price = price_inc_tax",
    "currency": "currency_code",
    "placed_at": "date_created",
    "status": "status",
}
STATUS_ORIGINS = {"order_number": "id", "status": "status", "changed_at": "date_modified"}
ARCHIVED_ORIGINS = {"order_number": "data.id", "status": "scope", "changed_at": "date_modified / created_at"}
PAYMENT_ORIGINS = {
    "order_number": "id",
    "payment_id": "id + ':paid'",
    "amount": "total_inc_tax",
    "currency": "currency_code",
    "method": "payment_method",
    "paid_at": "date_modified",
}
SHIPMENT_ORIGINS = {
    "order_number": "shipments[*].order_id",
    "shipment_id": "shipments[*].id",
    "carrier": "shipments[*].shipping_provider_display_name / shipping_provider / tracking_carrier",
    "tracking_number": "shipments[*].tracking_number",
    "tracking_url": "shipments[*].tracking_link / generated_tracking_link",
    "lines": "shipments[*].items",
    "lines.*.sku": "products[order_product_id].sku",
    "lines.*.name": "products[order_product_id].name",
    "lines.*.quantity": "shipments[*].items[*].quantity",
    "shipped_at": "shipments[*].date_created",
}


def order_id_of(webhook: dict[str, Any]) -> str:
    """The order a webhook is about: ``data.id``, or ``data.orderId`` for a shipment."""
    scope = webhook.get("scope")
    if scope not in SCOPES:
        raise MappingError.at("scope", f"unsupported scope {scope!r}; supported: {', '.join(SCOPES)}")
    path = "data.orderId" if scope in SHIPMENT_SCOPES else "data.id"
    order_id = identifier(get(webhook, path), path, required=True)
    if not ORDER_ID.fullmatch(order_id):
        # It becomes part of the API's URL path: "../customers" must never be read.
        raise MappingError.at(path, f"a BigCommerce order id is a positive integer, not {order_id[:40]!r}")
    return order_id


#: A BigCommerce order id as the V2 API numbers orders (up to a 64-bit integer).
ORDER_ID = re.compile(r"[1-9][0-9]{0,18}")


def with_resources(
    webhook: dict[str, Any], order: Any, products: Any, shipping_addresses: Any, shipments: Any
) -> dict[str, Any]:
    """The webhook with what the V2 Orders API answered for its order: what ``map_event`` maps."""
    return {
        "webhook": webhook,
        "order": order,
        "products": products,
        "shipping_addresses": shipping_addresses,
        "shipments": shipments,
    }


def is_thin(payload: Any) -> bool:
    """A webhook as BigCommerce sends it (not yet with its order)."""
    return isinstance(payload, dict) and "order" not in payload and "scope" in payload


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    inner = payload.get("webhook")
    webhook: dict[str, Any] = inner if isinstance(inner, dict) else payload
    scope = webhook.get("scope") or topic
    if scope not in SCOPES:
        customer_topics.not_an_order(PLATFORM, str(scope), webhook, config)
        raise UnsupportedTopic.at("scope", f"unsupported scope {scope!r}; supported: {', '.join(SCOPES)}")
    if scope == ARCHIVED_SCOPE:
        return order_archived(webhook, payload.get("order"), config)
    if not isinstance(payload.get("order"), dict):
        order_id_of({**webhook, "scope": scope})  # a bad id is why it was not read: named first
        raise MappingError.at(
            "order",
            "required, missing: the order is read from the V2 Orders API before mapping; a webhook alone names it only",
        )
    if scope in SHIPMENT_SCOPES:
        return shipment_created(webhook, payload, config)
    placed = order_placed(payload, config)
    order_id = placed[0].payload.order_number
    changes = [] if scope == "store/order/created" else [_status_change(payload["order"], config, order_id)]
    return placed + changes + payment(payload["order"], config, order_id)


def rfc2822(value: Any, path: str) -> Any:
    """``Tue, 05 Mar 2019 21:40:11 +0000`` -> an aware ISO 8601 time; else a field error."""
    if value in (None, ""):
        raise MappingError.at(path, "required, missing")
    if not isinstance(value, str):
        raise MappingError.at(path, f"not an RFC 2822 date: {value!r}")
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise MappingError.at(path, f"not an RFC 2822 date: {value!r}") from None
    if moment.tzinfo is None:
        raise MappingError.at(path, f"no time zone: {value!r}")
    return moment.isoformat()


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    return address(
        first_name=raw.get("first_name"),
        last_name=raw.get("last_name"),
        company=raw.get("company"),
        line1=raw.get("street_1"),
        line2=raw.get("street_2"),
        city=raw.get("city"),
        region=raw.get("state"),
        postal_code=raw.get("zip"),
        country=blank_none(raw.get("country_iso2")) or raw.get("country"),
        phone=raw.get("phone"),
    )


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def tax_inclusive(order: dict[str, Any], products: list[Any]) -> bool:
    """How the store prices: the order says it (``is_tax_inclusive_pricing``, V2 orders of
    2022 on); before that, prices were entered with tax when every product's catalog price
    (``base_price``) is its price with tax and not the one without."""
    flag = order.get("is_tax_inclusive_pricing")
    if isinstance(flag, bool):
        return flag
    lines = [p for p in products if isinstance(p, dict)]
    try:
        return bool(lines) and all(
            Decimal(str(p.get("base_price")))
            == Decimal(str(p.get("price_inc_tax")))
            != Decimal(str(p.get("price_ex_tax")))
            for p in lines
        )
    except ArithmeticError:
        return False


def order_placed(resources: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order = resources["order"]
    products = problems.check(items, resources, "products", default=[])
    addresses = problems.check(items, resources, "shipping_addresses", default=[])
    order_id = problems.check(identifier, order.get("id"), "id", required=True, default="?")
    billing = problems.check(obj, order, "billing_address", default={})
    shipping_address = addresses[0] if addresses and isinstance(addresses[0], dict) else {}
    exponent = problems.check(currency_exponent, order.get("currency_code"), "currency_code", default=2)
    included = tax_inclusive(order, products)
    kind = "inc_tax" if included else "ex_tax"

    def amount(data: dict[str, Any], field: str, where: str = "", *, missing: Any = None) -> Decimal:
        return amount_of(problems, data.get(field), f"{where}{field}", missing=missing)

    lines = []
    for index, product in enumerate(products):
        where = f"products[{index}]."
        if not isinstance(product, dict):
            problems.add(f"products[{index}]", "must be an object")
            continue
        lines.append(
            {
                "sku": problems.check(identifier, blank_none(product.get("sku")), f"{where}sku"),
                "name": blank_none(product.get("name_customer")) or product.get("name"),
                "quantity": problems.check(decimal, product.get("quantity"), f"{where}quantity", default=Decimal(1)),
                "unit_price": in_currency(amount(product, f"price_{kind}", where), exponent),
                "total": in_currency(amount(product, f"total_{kind}", where), exponent),
            }
        )
    shipping = sum(
        (amount(order, f"{part}_{kind}", missing="0") for part in ("shipping_cost", "handling_cost", "wrapping_cost")),
        Decimal(0),
    )
    discount = amount(order, "discount_amount", missing="0") + amount(order, "coupon_discount", missing="0")
    customer_id = problems.check(identifier, order.get("customer_id"), "customer_id")
    registered = customer_id not in (None, "0")
    placed_at = problems.check(rfc2822, order.get("date_created"), "date_created")
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": customer_id if registered else None,
        "account_type": "registered" if registered else "guest",
        "scope": problems.check(config.scope_for, order.get("channel_id"), "channel_id", default="?"),
        "email": blank_none(billing.get("email")),
        "phone": blank_none(billing.get("phone")) or blank_none(shipping_address.get("phone")),
        "first_name": blank_none(billing.get("first_name")) or blank_none(shipping_address.get("first_name")),
        "last_name": blank_none(billing.get("last_name")) or blank_none(shipping_address.get("last_name")),
        "preferred_language": language(order.get("customer_locale")),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {
            "subtotal": in_currency(amount(order, f"subtotal_{kind}"), exponent),
            "shipping": in_currency(shipping, exponent),
            "tax": in_currency(amount(order, "total_tax", missing="0"), exponent),
            "discount": in_currency(discount, exponent),
            "total": in_currency(amount(order, "total_inc_tax"), exponent),
            "taxes_included": included,
        },
        "currency": order.get("currency_code"),
        "placed_at": placed_at,
        "status": blank_none(order.get("status")),
    }
    state = {"order": order, "products": products, "shipping_addresses": addresses}
    return [
        build(
            OrderPlaced,
            config=config,
            # The order's state (not the webhook's delivery): the same order read twice gives the same id.
            message_id=message_id(PLATFORM, "order-placed", order_id, version_of(state)),
            correlation_id=_correlation(order_id),
            occurred_at=placed_at,
            payload=payload,
            origins=ORDER_ORIGINS,
            problems=problems,
        )
    ]


def _status_change(order: dict[str, Any], config: PlatformConfig, order_id: str) -> Envelope[Any]:
    status = blank_none(order.get("status"))
    changed_at = rfc2822(order.get("date_modified") or order.get("date_created"), "date_modified")
    return status_changed(
        config,
        message_id=message_id(PLATFORM, "status", order_id, status, changed_at),
        correlation_id=_correlation(order_id),
        order_number=order_id,
        scope=config.scope_for(order.get("channel_id"), "channel_id"),
        status=status,
        changed_at=changed_at,
        origins=STATUS_ORIGINS,
    )


def payment(order: dict[str, Any], config: PlatformConfig, order_id: str) -> list[Envelope[Any]]:
    if order.get("payment_status") not in PAID:
        return []
    problems = Problems()
    exponent = problems.check(currency_exponent, order.get("currency_code"), "currency_code", default=2)
    paid_at = problems.check(rfc2822, order.get("date_modified") or order.get("date_created"), "date_modified")
    total = problems.check(decimal, order.get("total_inc_tax"), "total_inc_tax", default=Decimal(0))
    return [
        payment_received(
            config,
            message_id=message_id(PLATFORM, "payment", order_id),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=problems.check(config.scope_for, order.get("channel_id"), "channel_id", default="?"),
            payment_id=f"{order_id}:paid",
            amount=in_currency(total, exponent),
            currency=order.get("currency_code"),
            method=blank_none(order.get("payment_method")),
            paid_at=paid_at,
            origins=PAYMENT_ORIGINS,
            problems=problems,
        )
    ]


def order_archived(webhook: dict[str, Any], order: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    """The order as read if it still can be (its channel, its time), else the webhook alone."""
    order_id = identifier(get(webhook, "data.id"), "data.id", required=True)
    if isinstance(order, dict):
        changed_at = rfc2822(order.get("date_modified") or order.get("date_created"), "date_modified")
        channel = order.get("channel_id")
    else:
        created = webhook.get("created_at")
        if isinstance(created, bool) or not isinstance(created, int):
            raise MappingError.at("created_at", f"not a Unix time: {created!r}")
        changed_at, channel = datetime.fromtimestamp(created, UTC).isoformat(), None
    return [
        status_changed(
            config,
            message_id=message_id(PLATFORM, "status", order_id, "archived", changed_at),
            correlation_id=_correlation(str(order_id)),
            order_number=order_id,
            scope=config.scope_for(channel, "channel_id"),
            status="archived",
            changed_at=changed_at,
            origins=ARCHIVED_ORIGINS,
        )
    ]


def shipment_created(webhook: dict[str, Any], resources: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order = resources["order"]
    wanted = identifier(get(webhook, "data.id"), "data.id", required=True)
    shipments = problems.check(items, resources, "shipments", default=[])
    products = problems.check(items, resources, "products", default=[])
    found = [(i, s) for i, s in enumerate(shipments) if isinstance(s, dict) and str(s.get("id")) == wanted]
    if not found:
        raise MappingError.at("data.id", f"shipment {wanted} is not among the order's shipments (deleted since?)")
    index, shipment = found[0]
    where = f"shipments[{index}]."
    by_line = {str(p.get("id")): p for p in products if isinstance(p, dict)}
    order_id = problems.check(
        identifier, shipment.get("order_id") or order.get("id"), f"{where}order_id", required=True, default="?"
    )
    lines = []
    for position, item in enumerate(problems.check(items, shipment, "items", default=[])):
        if not isinstance(item, dict):
            problems.add(f"{where}items[{position}]", "must be an object")
            continue
        product = by_line.get(str(item.get("order_product_id")), {})
        lines.append(
            {
                "sku": problems.check(identifier, blank_none(product.get("sku")), f"{where}items[{position}].sku"),
                "name": blank_none(product.get("name_customer")) or blank_none(product.get("name")),
                "quantity": item.get("quantity"),
            }
        )
    shipped_at = problems.check(rfc2822, shipment.get("date_created"), f"{where}date_created")
    origins = {k: v.replace("shipments[*].", where) for k, v in SHIPMENT_ORIGINS.items()}
    return [
        build(
            OrderShipped,
            config=config,
            message_id=message_id(
                PLATFORM,
                "shipment",
                order_id,
                problems.check(identifier, shipment.get("id"), f"{where}id", required=True, default="?"),
            ),
            correlation_id=_correlation(order_id),
            occurred_at=shipped_at,
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": problems.check(config.scope_for, order.get("channel_id"), "channel_id", default="?"),
                "shipment_id": wanted,
                "carrier": blank_none(shipment.get("shipping_provider_display_name"))
                or blank_none(shipment.get("shipping_provider"))
                or blank_none(shipment.get("tracking_carrier")),
                "tracking_number": blank_none(shipment.get("tracking_number")),
                "tracking_url": https_link(shipment.get("tracking_link"))
                or https_link(shipment.get("generated_tracking_link")),
                "lines": lines,
                "shipped_at": shipped_at,
            },
            origins=origins,
            problems=problems,
        )
    ]


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.bigcommerce.store.order.created`` carries ``store/order/created``."""
    return tail.replace(".", "/")


def routing_from_topic(topic: str) -> str:
    return topic.replace("/", ".") if topic else "store.unknown"
