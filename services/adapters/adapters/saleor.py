"""Saleor webhooks -> our order contract (O8). Pure: no I/O.

Events (the ``Saleor-Event`` header, e.g. ``order_created``): ``ORDER_CREATED`` ->
``OrderPlaced``, ``ORDER_FULLY_PAID`` -> ``PaymentReceived``, ``ORDER_FULFILLED`` ->
``OrderShipped`` per fulfillment and ``OrderStatusChanged``.

Saleor's current webhooks carry what the app's subscription query selects (the legacy
fixed payloads are deprecated); the query this adapter expects is ``SUBSCRIPTION_QUERY``
below (register it with the webhook). Its answer is ``{"order": {...}, "issuedAt": ...}``,
amounts are GraphQL ``Float`` values, read exactly as Decimal from the JSON text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

from .mapping import (
    MappingError,
    PlatformConfig,
    build,
    decimal,
    get,
    items,
    language,
    message_id,
    obj,
    require,
)

PLATFORM = "saleor"

_ORDER_FIELDS = """
      id number created updatedAt status userEmail languageCodeEnum shippingMethodName
      user { id email firstName lastName }
      channel { slug }
      billingAddress { ...Address } shippingAddress { ...Address }
      lines { productName variantName productSku quantity
              unitPrice { gross { amount currency } } totalPrice { gross { amount currency } } }
      subtotal { gross { amount currency } }
      shippingPrice { gross { amount currency } }
      total { gross { amount currency } tax { amount currency } }
      totalCharged { amount currency }
      discounts { amount { amount currency } }
      fulfillments { id created status trackingNumber
                     lines { quantity orderLine { productSku productName } } }
"""

#: Register this query with the webhook (ORDER_CREATED, ORDER_FULLY_PAID, ORDER_FULFILLED).
SUBSCRIPTION_QUERY = (
    "subscription { event { issuedAt ... on OrderCreated { order { ...Order } } "
    "... on OrderFullyPaid { order { ...Order } } ... on OrderFulfilled { order { ...Order } } } }\n"
    f"fragment Order on Order {{{_ORDER_FIELDS}}}\n"
    "fragment Address on Address { firstName lastName companyName streetAddress1 streetAddress2 "
    "city cityArea postalCode country { code } countryArea phone }"
)

ORDER_ORIGINS = {
    "order_number": "order.number",
    "source_customer_id": "order.user.id",
    "account_type": "order.user (set: registered; null: guest)",
    "scope": "order.channel.slug",
    "email": "order.userEmail",
    "phone": "order.billingAddress.phone",
    "first_name": "order.user.firstName / billingAddress.firstName",
    "last_name": "order.user.lastName / billingAddress.lastName",
    "preferred_language": "order.languageCodeEnum",
    "billing_address": "order.billingAddress",
    "billing_address.company": "order.billingAddress.companyName",
    "billing_address.line1": "order.billingAddress.streetAddress1",
    "billing_address.line2": "order.billingAddress.streetAddress2",
    "billing_address.region": "order.billingAddress.countryArea",
    "billing_address.postal_code": "order.billingAddress.postalCode",
    "billing_address.country": "order.billingAddress.country.code",
    "shipping_address": "order.shippingAddress",
    "shipping_address.company": "order.shippingAddress.companyName",
    "shipping_address.line1": "order.shippingAddress.streetAddress1",
    "shipping_address.line2": "order.shippingAddress.streetAddress2",
    "shipping_address.region": "order.shippingAddress.countryArea",
    "shipping_address.postal_code": "order.shippingAddress.postalCode",
    "shipping_address.country": "order.shippingAddress.country.code",
    "lines": "order.lines",
    "lines.*.sku": "order.lines[*].productSku",
    "lines.*.name": "order.lines[*].productName (+ variantName)",
    "lines.*.quantity": "order.lines[*].quantity",
    "lines.*.unit_price": "order.lines[*].unitPrice.gross.amount",
    "lines.*.total": "order.lines[*].totalPrice.gross.amount",
    "totals.subtotal": "order.subtotal.gross.amount",
    "totals.shipping": "order.shippingPrice.gross.amount",
    "totals.tax": "order.total.tax.amount",
    "totals.discount": "order.discounts[*].amount.amount (sum)",
    "totals.total": "order.total.gross.amount",
    "currency": "order.total.gross.currency",
    "placed_at": "order.created",
    "status": "order.status",
}
PAYMENT_ORIGINS = {
    "order_number": "order.number",
    "payment_id": "order.id + ':fully-paid'",
    "amount": "order.totalCharged.amount / total.gross.amount",
    "currency": "order.totalCharged.currency",
    "paid_at": "issuedAt / order.updatedAt",
}
SHIPMENT_ORIGINS = {
    "order_number": "order.number",
    "shipment_id": "order.fulfillments[*].id",
    "carrier": "order.shippingMethodName",
    "tracking_number": "order.fulfillments[*].trackingNumber",
    "lines": "order.fulfillments[*].lines",
    "lines.*.sku": "order.fulfillments[*].lines[*].orderLine.productSku",
    "lines.*.quantity": "order.fulfillments[*].lines[*].quantity",
    "shipped_at": "order.fulfillments[*].created",
}
STATUS_ORIGINS = {"order_number": "order.number", "status": "order.status", "changed_at": "order.updatedAt"}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if isinstance(payload, list):
        raise MappingError.at("body", "a legacy (deprecated) payload; register the webhook with the subscription query")
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    handler = EVENTS.get(topic.upper())
    if handler is None:
        raise MappingError.at("Saleor-Event", f"unsupported event {topic!r}; supported: {', '.join(EVENTS)}")
    order = obj(payload, "order")
    if not order:
        raise MappingError.at("order", "required, missing")
    return handler(payload, order, config)


def _amount(data: Any, path: str, where: str = "order.") -> Decimal:
    value = get(data, path)
    if value is None:
        return Decimal(0)
    return decimal(value, f"{where}{path}")


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "first_name": raw.get("firstName"),
        "last_name": raw.get("lastName"),
        "company": raw.get("companyName"),
        "line1": raw.get("streetAddress1"),
        "line2": raw.get("streetAddress2"),
        "city": raw.get("city"),
        "region": raw.get("countryArea"),
        "postal_code": raw.get("postalCode"),
        "country": get(raw, "country.code"),
        "phone": raw.get("phone"),
    }


def _ref(order: dict[str, Any], config: PlatformConfig) -> dict[str, Any]:
    return {
        "source_system": config.source_system,
        "order_number": str(require(order, "number", "order.")),
        "scope": config.scope_for(get(order, "channel.slug"), "order.channel.slug"),
    }


def _correlation(order: dict[str, Any]) -> str:
    return message_id(PLATFORM, "order", require(order, "id", "order."))


def order_created(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    user = obj(order, "user")
    billing = obj(order, "billingAddress")
    lines = []
    for index, line in enumerate(items(order, "lines")):
        where = f"order.lines[{index}]."
        name = " - ".join(p for p in (line.get("productName"), line.get("variantName")) if p)
        lines.append({
            "sku": line.get("productSku"),
            "name": name,
            "quantity": line.get("quantity"),
            "unit_price": decimal(get(line, "unitPrice.gross.amount"), f"{where}unitPrice.gross.amount"),
            "total": decimal(get(line, "totalPrice.gross.amount"), f"{where}totalPrice.gross.amount"),
        })
    discount = sum(
        (decimal(get(d, "amount.amount"), f"order.discounts[{i}].amount.amount")
         for i, d in enumerate(items(order, "discounts"))),
        Decimal(0),
    )
    payload = {
        **_ref(order, config),
        "source_customer_id": user.get("id"),
        "account_type": "registered" if user else "guest",
        "email": order.get("userEmail") or user.get("email"),
        "phone": billing.get("phone") or get(order, "shippingAddress.phone"),
        "first_name": user.get("firstName") or billing.get("firstName"),
        "last_name": user.get("lastName") or billing.get("lastName"),
        "preferred_language": language(order.get("languageCodeEnum")),
        "billing_address": _address(billing),
        "shipping_address": _address(obj(order, "shippingAddress")),
        "lines": lines,
        "totals": {
            "subtotal": _amount(order, "subtotal.gross.amount"),
            "shipping": _amount(order, "shippingPrice.gross.amount"),
            "tax": _amount(order, "total.tax.amount"),
            "discount": discount,
            "total": decimal(get(order, "total.gross.amount"), "order.total.gross.amount"),
        },
        "currency": get(order, "total.gross.currency"),
        "placed_at": order.get("created"),
        "status": order.get("status"),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "ORDER_CREATED", require(order, "id", "order.")),
            correlation_id=_correlation(order),
            occurred_at=order.get("created"),
            payload=payload,
            origins=ORDER_ORIGINS,
        )
    ]


def order_fully_paid(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    charged = obj(order, "totalCharged")
    amount_path = "order.totalCharged.amount" if charged.get("amount") is not None else "order.total.gross.amount"
    paid_at = event.get("issuedAt") or order.get("updatedAt")
    order_id = require(order, "id", "order.")
    return [
        build(
            PaymentReceived,
            config=config,
            message_id=message_id(PLATFORM, "ORDER_FULLY_PAID", order_id),
            correlation_id=_correlation(order),
            occurred_at=paid_at,
            payload={
                **_ref(order, config),
                "payment_id": f"{order_id}:fully-paid",
                "amount": decimal(get(event, amount_path), amount_path),
                "currency": charged.get("currency") or get(order, "total.gross.currency"),
                "paid_at": paid_at,
            },
            origins=PAYMENT_ORIGINS,
        )
    ]


def order_fulfilled(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    ref = _ref(order, config)
    messages: list[Envelope[Any]] = []
    for fulfillment in items(order, "fulfillments"):
        fulfillment_id = require(fulfillment, "id", "order.fulfillments[].")
        messages.append(
            build(
                OrderShipped,
                config=config,
                message_id=message_id(PLATFORM, "fulfillment", fulfillment_id),
                correlation_id=_correlation(order),
                occurred_at=fulfillment.get("created"),
                payload={
                    **ref,
                    "shipment_id": fulfillment_id,
                    "carrier": order.get("shippingMethodName"),
                    "tracking_number": fulfillment.get("trackingNumber"),
                    "lines": [
                        {"sku": get(line, "orderLine.productSku"), "name": get(line, "orderLine.productName"),
                         "quantity": line.get("quantity")}
                        for line in items(fulfillment, "lines")
                    ],
                    "shipped_at": fulfillment.get("created"),
                },
                origins=SHIPMENT_ORIGINS,
            )
        )
    if not messages:
        raise MappingError.at("order.fulfillments", "required, missing: a fulfilled order has a fulfillment")
    changed_at = event.get("issuedAt") or order.get("updatedAt")
    status = order.get("status") or "FULFILLED"
    messages.append(
        build(
            OrderStatusChanged,
            config=config,
            message_id=message_id(PLATFORM, "ORDER_FULFILLED", require(order, "id", "order."), status),
            correlation_id=_correlation(order),
            occurred_at=changed_at,
            payload={**ref, "status": status, "changed_at": changed_at},
            origins=STATUS_ORIGINS,
        )
    )
    return messages


EVENTS = {
    "ORDER_CREATED": order_created,
    "ORDER_FULLY_PAID": order_fully_paid,
    "ORDER_FULFILLED": order_fulfilled,
}


def topic_from_routing(tail: str) -> str:
    return tail.upper()


def routing_from_topic(topic: str) -> str:
    return topic.lower()
