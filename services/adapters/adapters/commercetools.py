"""commercetools Orders and Messages -> our order contract (O8). Pure: no I/O.

Accepted (the body's ``type``; a Subscription delivers Messages with
``notificationType: "Message"`` and the message's fields at the top level):

- ``Order`` (the resource itself) and ``OrderCreated`` (its ``order``) -> ``OrderPlaced``;
- ``OrderStateChanged`` -> ``OrderStatusChanged`` (``orderState``: Open, Confirmed, Complete, Cancelled);
- ``ParcelAddedToDelivery`` -> ``OrderShipped`` (one per parcel).

Money is ``{centAmount, fractionDigits, currencyCode}`` (or ``preciseAmount`` for high
precision): the amount is ``centAmount`` shifted by ``fractionDigits``, so JPY (0 digits)
stays "1200". The order is identified by its ``id``, which every message carries as
``resource.id`` (``orderNumber`` is optional in commercetools and may be set later).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.orders import OrderPlaced, OrderShipped, OrderStatusChanged

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

PLATFORM = "commercetools"

ORDER_ORIGINS = {
    "order_number": "order.id",
    "source_customer_id": "order.customerId",
    "account_type": "order.customerId (set: registered; anonymousId only: guest)",
    "scope": "order.store.key",
    "email": "order.customerEmail",
    "phone": "order.billingAddress.phone / mobile",
    "first_name": "order.billingAddress.firstName",
    "last_name": "order.billingAddress.lastName",
    "preferred_language": "order.locale",
    "billing_address": "order.billingAddress",
    "billing_address.line1": "order.billingAddress.streetName + streetNumber",
    "billing_address.line2": "order.billingAddress.additionalStreetInfo",
    "billing_address.region": "order.billingAddress.region / state",
    "billing_address.postal_code": "order.billingAddress.postalCode",
    "billing_address.country": "order.billingAddress.country",
    "shipping_address": "order.shippingAddress",
    "shipping_address.line1": "order.shippingAddress.streetName + streetNumber",
    "shipping_address.line2": "order.shippingAddress.additionalStreetInfo",
    "shipping_address.region": "order.shippingAddress.region / state",
    "shipping_address.postal_code": "order.shippingAddress.postalCode",
    "shipping_address.country": "order.shippingAddress.country",
    "lines": "order.lineItems + customLineItems",
    "lines.*.sku": "order.lineItems[*].variant.sku",
    "lines.*.name": "order.lineItems[*].name[locale]",
    "lines.*.quantity": "order.lineItems[*].quantity",
    "lines.*.unit_price": "order.lineItems[*].price.value",
    "lines.*.total": "order.lineItems[*].totalPrice",
    "totals.subtotal": "order.lineItems[*].totalPrice (sum)",
    "totals.shipping": "order.shippingInfo.price / shipping[*].shippingInfo.price (sum)",
    "totals.tax": "order.taxedPrice.totalTax",
    "totals.discount": "order.discountOnTotalPrice.discountedAmount",
    "totals.total": "order.taxedPrice.totalGross / totalPrice",
    "currency": "order.totalPrice.currencyCode",
    "placed_at": "order.createdAt",
    "status": "order.orderState",
}
STATUS_ORIGINS = {
    "order_number": "resource.id",
    "status": "orderState",
    "changed_at": "createdAt",
}
SHIPMENT_ORIGINS = {
    "order_number": "resource.id",
    "shipment_id": "parcel.id",
    "carrier": "parcel.trackingData.carrier",
    "tracking_number": "parcel.trackingData.trackingId",
    "lines": "parcel.items",
    "lines.*.quantity": "parcel.items[*].quantity",
    "shipped_at": "parcel.createdAt",
}


def money(value: Any, path: str) -> Decimal:
    """A commercetools Money (centPrecision or highPrecision) as a decimal amount."""
    if not isinstance(value, dict):
        raise MappingError.at(path, "required Money, missing")
    digits = value.get("fractionDigits", 2)
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 20:
        raise MappingError.at(f"{path}.fractionDigits", f"not a number of digits: {digits!r}")
    if value.get("type") == "highPrecision" and value.get("preciseAmount") is not None:
        amount = decimal(value["preciseAmount"], f"{path}.preciseAmount")
    else:
        amount = decimal(value.get("centAmount"), f"{path}.centAmount")
    if amount != amount.to_integral_value():
        raise MappingError.at(f"{path}.centAmount", "must be a whole number of minor units")
    return amount.scaleb(-digits)


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    kind = payload.get("type") or topic
    handler = TYPES.get(kind)
    if handler is None:
        if payload.get("notificationType") == "Message" and payload.get("payloadNotIncluded"):
            raise MappingError.at("payloadNotIncluded", "the message was too large to include; fetch it and resend")
        raise MappingError.at("type", f"unsupported type {kind!r}; supported: {', '.join(TYPES)}")
    return handler(payload, config)


def _localized(value: Any, locale: str | None) -> str | None:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return None
    if locale:
        for key in (locale, locale.split("-")[0]):
            if value.get(key):
                return value[key]
    return next(iter(value.values()))


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    if not raw:
        return None
    street = " ".join(p for p in (raw.get("streetName"), raw.get("streetNumber")) if p)
    return {
        "first_name": raw.get("firstName"),
        "last_name": raw.get("lastName"),
        "company": raw.get("company"),
        "line1": street or raw.get("building"),
        "line2": raw.get("additionalStreetInfo") or raw.get("additionalAddressInfo"),
        "city": raw.get("city"),
        "region": raw.get("region") or raw.get("state"),
        "postal_code": raw.get("postalCode"),
        "country": raw.get("country"),
        "phone": raw.get("phone") or raw.get("mobile"),
    }


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def order_placed(message: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    prefix = "order." if message.get("type") == "OrderCreated" else ""
    order = obj(message, "order") if prefix else message
    if not order:
        raise MappingError.at("order", "required, missing")
    order_id = str(require(order, "id", prefix))
    locale = order.get("locale")
    billing = obj(order, "billingAddress")
    shipping_address = obj(order, "shippingAddress")
    lines, subtotal = [], Decimal(0)
    for index, line in enumerate(items(order, "lineItems")):
        where = f"{prefix}lineItems[{index}]"
        total = money(line.get("totalPrice"), f"{where}.totalPrice")
        subtotal += total
        lines.append({
            "sku": get(line, "variant.sku"),
            "name": _localized(line.get("name"), locale),
            "quantity": line.get("quantity"),
            "unit_price": money(get(line, "price.value"), f"{where}.price.value"),
            "total": total,
        })
    for index, line in enumerate(items(order, "customLineItems")):
        where = f"{prefix}customLineItems[{index}]"
        total = money(line.get("totalPrice"), f"{where}.totalPrice")
        subtotal += total
        lines.append({
            "sku": line.get("slug"),
            "name": _localized(line.get("name"), locale),
            "quantity": line.get("quantity"),
            "unit_price": money(line.get("money"), f"{where}.money"),
            "total": total,
        })
    # Single shipping mode: shippingInfo; multiple: one shippingInfo per entry of shipping.
    shipping = Decimal(0)
    if order.get("shippingInfo"):
        shipping = money(get(order, "shippingInfo.price"), f"{prefix}shippingInfo.price")
    for index, entry in enumerate(items(order, "shipping")):
        shipping += money(get(entry, "shippingInfo.price"), f"{prefix}shipping[{index}].shippingInfo.price")
    taxed = obj(order, "taxedPrice")
    total_price = money(order.get("totalPrice"), f"{prefix}totalPrice")
    total = money(taxed["totalGross"], f"{prefix}taxedPrice.totalGross") if taxed.get("totalGross") else total_price
    tax = Decimal(0)
    if taxed.get("totalTax"):
        tax = money(taxed["totalTax"], f"{prefix}taxedPrice.totalTax")
    elif taxed.get("totalGross") and taxed.get("totalNet"):
        tax = total - money(taxed["totalNet"], f"{prefix}taxedPrice.totalNet")
    discount = Decimal(0)
    if get(order, "discountOnTotalPrice.discountedAmount"):
        discount = money(get(order, "discountOnTotalPrice.discountedAmount"),
                         f"{prefix}discountOnTotalPrice.discountedAmount")
    customer_id = order.get("customerId")
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": customer_id,
        "account_type": "registered" if customer_id else "guest",
        "scope": config.scope_for(get(order, "store.key"), f"{prefix}store.key"),
        "email": order.get("customerEmail"),
        "phone": billing.get("phone") or billing.get("mobile") or shipping_address.get("phone"),
        "first_name": billing.get("firstName") or shipping_address.get("firstName"),
        "last_name": billing.get("lastName") or shipping_address.get("lastName"),
        "preferred_language": language(locale),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {"subtotal": subtotal, "shipping": shipping, "tax": tax, "discount": discount, "total": total},
        "currency": get(order, "totalPrice.currencyCode"),
        "placed_at": order.get("createdAt"),
        "status": order.get("orderState"),
    }
    origins = {k: (v if prefix else v.removeprefix("order.")) for k, v in ORDER_ORIGINS.items()}
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "order-placed", order_id),
            correlation_id=_correlation(order_id),
            occurred_at=order.get("createdAt"),
            payload=payload,
            origins=origins,
        )
    ]


def _scope_of_message(message: dict[str, Any], config: PlatformConfig) -> str:
    # Messages do not carry the order's store: the default scope applies, unless the relay
    # (one Subscription per store) adds ``store.key``.
    return config.scope_for(get(message, "store.key"), "store.key")


def order_state_changed(message: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = str(require(message, "resource.id"))
    changed_at = require(message, "createdAt")
    state = require(message, "orderState")
    return [
        build(
            OrderStatusChanged,
            config=config,
            message_id=message_id(PLATFORM, "message", message.get("id") or f"{order_id}:{state}:{changed_at}"),
            correlation_id=_correlation(order_id),
            occurred_at=changed_at,
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": _scope_of_message(message, config),
                "status": state,
                "changed_at": changed_at,
            },
            origins=STATUS_ORIGINS,
        )
    ]


def parcel_added(message: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = str(require(message, "resource.id"))
    parcel = obj(message, "parcel")
    parcel_id = str(require(message, "parcel.id"))
    return [
        build(
            OrderShipped,
            config=config,
            message_id=message_id(PLATFORM, "parcel", parcel_id),
            correlation_id=_correlation(order_id),
            occurred_at=parcel.get("createdAt") or message.get("createdAt"),
            payload={
                "source_system": config.source_system,
                "order_number": order_id,
                "scope": _scope_of_message(message, config),
                "shipment_id": parcel_id,
                "carrier": get(parcel, "trackingData.carrier") or get(parcel, "trackingData.provider"),
                "tracking_number": get(parcel, "trackingData.trackingId"),
                "lines": [{"quantity": item.get("quantity")} for item in items(parcel, "items")],
                "shipped_at": parcel.get("createdAt") or message.get("createdAt"),
            },
            origins=SHIPMENT_ORIGINS,
        )
    ]


TYPES = {
    "Order": order_placed,
    "OrderCreated": order_placed,
    "OrderStateChanged": order_state_changed,
    "ParcelAddedToDelivery": parcel_added,
}


def topic_from_routing(tail: str) -> str:
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or "message"
