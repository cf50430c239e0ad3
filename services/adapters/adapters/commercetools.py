"""commercetools Orders and Messages -> our order contract (O8). Pure: no I/O.

Accepted (the body's ``type``; a Subscription delivers Messages with
``notificationType: "Message"`` and the message's fields at the top level):

- ``Order`` (the resource itself, with or without ``type``: GET /orders/{id} has none) ->
  ``OrderPlaced`` and ``OrderStatusChanged`` (the resource may be posted again after any
  change: the change is applied, the placement is a no-op for an order already received);
- ``OrderCreated`` and ``OrderImported`` (their ``order``) -> ``OrderPlaced``; an order
  without lines (imported) is placed without lines;
- ``OrderStateChanged`` -> ``OrderStatusChanged`` (``orderState``: Open, Confirmed, Complete, Cancelled);
- ``ParcelAddedToDelivery`` -> ``OrderShipped`` (one per parcel).

Money is ``{centAmount, fractionDigits, currencyCode}`` (or ``preciseAmount`` for high
precision): the amount is ``centAmount`` shifted by ``fractionDigits`` (missing: the
currency's ISO 4217 minor unit), so JPY (0 digits) stays "1200". A line's ``price`` is a
Price (``{"value": Money}``) or, from some relays, a plain Money. Prices include tax when
their TaxRate says ``includedInPrice`` (``taxes_included``). The order is identified by its
``id``, which every message carries as ``resource.id``; ``orderNumber`` (optional in
commercetools) is the number the customer sees (``display_number``).
"""

from __future__ import annotations

from decimal import Decimal
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
    blank_none,
    build,
    currency_exponent,
    decimal,
    get,
    identifier,
    items,
    language,
    message_id,
    obj,
    require,
    status_changed,
    version_of,
)

PLATFORM = "commercetools"

ORDER_ORIGINS = {
    "order_number": "order.id",
    "display_number": "order.orderNumber",
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
    "lines.*.unit_price": "order.lineItems[*].price.value (or a plain Money price)",
    "lines.*.total": "order.lineItems[*].totalPrice",
    "totals.subtotal": "order.lineItems[*].totalPrice (sum)",
    "totals.shipping": "order.shippingInfo.price / shipping[*].shippingInfo.price (sum)",
    "totals.tax": "order.taxedPrice.totalTax",
    "totals.discount": "order.discountOnTotalPrice.discountedAmount",
    "totals.total": "order.taxedPrice.totalGross / totalPrice",
    "totals.taxes_included": "order.lineItems[*].taxRate.includedInPrice",
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
    """A commercetools Money (centPrecision or highPrecision) as a decimal amount.

    Without ``fractionDigits`` (a relay or an older API client may leave it out) the
    currency's ISO 4217 minor unit applies: JPY ``1200`` is 1200, KWD ``1200`` is 1.200,
    never "2 digits whatever the currency"."""
    if not isinstance(value, dict):
        raise MappingError.at(path, "required Money, missing")
    digits = value.get("fractionDigits")
    if digits is None:
        digits = currency_exponent(value.get("currencyCode"), f"{path}.currencyCode")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 20:
        raise MappingError.at(f"{path}.fractionDigits", f"not a number of digits: {digits!r}")
    if value.get("type") == "highPrecision" and value.get("preciseAmount") is not None:
        amount = decimal(value["preciseAmount"], f"{path}.preciseAmount")
    else:
        amount = decimal(value.get("centAmount"), f"{path}.centAmount")
    if amount != amount.to_integral_value():
        raise MappingError.at(f"{path}.centAmount", "must be a whole number of minor units")
    return amount.scaleb(-digits)


def price_money(price: Any, path: str) -> tuple[Decimal, str]:
    """A line's price: a Price (``{"value": Money, ...}``) as the API sends it, or a plain
    Money as some relays and imports do. Returns the amount and the path it was read at."""
    if isinstance(price, dict) and isinstance(price.get("value"), dict):
        return money(price["value"], f"{path}.value"), f"{path}.value"
    if isinstance(price, dict) and ("centAmount" in price or "preciseAmount" in price):
        return money(price, path), path
    raise MappingError.at(f"{path}.value", "required Money, missing")


def _looks_like_order(payload: dict[str, Any]) -> bool:
    return any(key in payload for key in ("lineItems", "customLineItems", "totalPrice", "orderState"))


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    if "specversion" in payload and isinstance(payload.get("data"), dict):
        # A Subscription in the CloudEvents format: the message is its ``data``
        # (``type: com.commercetools.order.message.OrderCreated``).
        payload = payload["data"]
    kind = payload.get("type") or topic
    if not payload.get("type") and "notificationType" not in payload and _looks_like_order(payload):
        # The Order resource as GET /orders/{id} returns it has no ``type``: over HTTP (no
        # routing key) as on the queue, an order body is an Order.
        kind = "Order"
    handler = TYPES.get(kind)
    if handler is None:
        customer_topics.not_an_order(PLATFORM, customer_topics.commercetools_event(payload, kind), payload, config)
        if payload.get("notificationType") == "Message" and payload.get("payloadNotIncluded"):
            raise MappingError.at("payloadNotIncluded", "the message was too large to include; fetch it and resend")
        raise UnsupportedTopic.at("type", f"unsupported type {kind!r}; supported: {', '.join(TYPES)}")
    return handler(payload, config)


def _localized(value: Any, locale: str | None) -> object:
    """The text of a LocalizedString in ``locale`` (or its language, or the first one); the
    entry is returned as the platform wrote it: the contract says whether it is text."""
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
    street = " ".join(p for p in (raw.get("streetName"), raw.get("streetNumber")) if p)
    return address(
        first_name=raw.get("firstName"),
        last_name=raw.get("lastName"),
        company=raw.get("company"),
        line1=street or raw.get("building"),
        line2=blank_none(raw.get("additionalStreetInfo")) or raw.get("additionalAddressInfo"),
        city=raw.get("city"),
        region=blank_none(raw.get("region")) or raw.get("state"),
        postal_code=raw.get("postalCode"),
        country=raw.get("country"),
        phone=blank_none(raw.get("phone")) or raw.get("mobile"),
    )


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def _taxes_included(order: dict[str, Any]) -> bool:
    """commercetools prices include tax when their TaxRate says ``includedInPrice``."""
    rates = [
        get(line, "taxRate.includedInPrice")
        for key in ("lineItems", "customLineItems")
        for line in (order.get(key) or [])
        if isinstance(line, dict)
    ]
    rates.append(get(order, "shippingInfo.taxRate.includedInPrice"))
    return any(rate is True for rate in rates)


def order_placed(message: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    wrapped = message.get("type") in ("OrderCreated", "OrderImported")
    prefix = "order." if wrapped else ""
    problems = Problems()
    order = problems.check(obj, message, "order", default={}) if wrapped else message
    if not order:
        raise MappingError.at("order", "required, missing")
    order_id = problems.check(identifier, order.get("id"), f"{prefix}id", required=True, default="?")
    locale = order.get("locale")
    billing = problems.check(obj, order, "billingAddress", default={})
    shipping_address = problems.check(obj, order, "shippingAddress", default={})
    zero = Decimal(0)
    lines, subtotal = [], zero
    for index, line in enumerate(problems.check(items, order, "lineItems", default=[])):
        where = f"{prefix}lineItems[{index}]"
        total = problems.check(money, line.get("totalPrice"), f"{where}.totalPrice", default=zero)
        subtotal += total
        unit = problems.check(price_money, line.get("price"), f"{where}.price", default=(zero, ""))[0]
        lines.append(
            {
                "sku": problems.check(identifier, get(line, "variant.sku"), f"{where}.variant.sku"),
                "name": _localized(line.get("name"), locale),
                "quantity": line.get("quantity"),
                "unit_price": unit,
                "total": total,
            }
        )
    for index, line in enumerate(problems.check(items, order, "customLineItems", default=[])):
        where = f"{prefix}customLineItems[{index}]"
        total = problems.check(money, line.get("totalPrice"), f"{where}.totalPrice", default=zero)
        subtotal += total
        lines.append(
            {
                "sku": problems.check(identifier, line.get("slug"), f"{where}.slug"),
                "name": _localized(line.get("name"), locale),
                "quantity": line.get("quantity"),
                "unit_price": problems.check(money, line.get("money"), f"{where}.money", default=zero),
                "total": total,
            }
        )
    # Single shipping mode: shippingInfo; multiple: one shippingInfo per entry of shipping.
    shipping = zero
    if order.get("shippingInfo"):
        shipping = problems.check(money, get(order, "shippingInfo.price"), f"{prefix}shippingInfo.price", default=zero)
    for index, entry in enumerate(problems.check(items, order, "shipping", default=[])):
        shipping += problems.check(
            money, get(entry, "shippingInfo.price"), f"{prefix}shipping[{index}].shippingInfo.price", default=zero
        )
    taxed = problems.check(obj, order, "taxedPrice", default={})
    total_price = problems.check(money, order.get("totalPrice"), f"{prefix}totalPrice", default=zero)
    total = (
        problems.check(money, taxed["totalGross"], f"{prefix}taxedPrice.totalGross", default=zero)
        if taxed.get("totalGross")
        else total_price
    )
    tax = zero
    if taxed.get("totalTax"):
        tax = problems.check(money, taxed["totalTax"], f"{prefix}taxedPrice.totalTax", default=zero)
    elif taxed.get("totalGross") and taxed.get("totalNet"):
        tax = total - problems.check(money, taxed["totalNet"], f"{prefix}taxedPrice.totalNet", default=total)
    discount = zero
    if get(order, "discountOnTotalPrice.discountedAmount"):
        discount = problems.check(
            money,
            get(order, "discountOnTotalPrice.discountedAmount"),
            f"{prefix}discountOnTotalPrice.discountedAmount",
            default=zero,
        )
    customer_id = problems.check(identifier, order.get("customerId"), f"{prefix}customerId")
    payload = {
        "order_number": order_id,
        "display_number": problems.check(identifier, order.get("orderNumber"), f"{prefix}orderNumber"),
        "source_system": config.source_system,
        "source_customer_id": customer_id,
        "account_type": "registered" if customer_id else "guest",
        "scope": problems.check(config.scope_for, get(order, "store.key"), f"{prefix}store.key", default="?"),
        "email": order.get("customerEmail"),
        "phone": billing.get("phone") or billing.get("mobile") or shipping_address.get("phone"),
        "first_name": billing.get("firstName") or shipping_address.get("firstName"),
        "last_name": billing.get("lastName") or shipping_address.get("lastName"),
        "preferred_language": language(locale),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping_address),
        "lines": lines,
        "totals": {
            "subtotal": subtotal,
            "shipping": shipping,
            "tax": tax,
            "discount": discount,
            "total": total,
            "taxes_included": _taxes_included(order),
        },
        "currency": get(order, "totalPrice.currencyCode"),
        "placed_at": order.get("createdAt"),
        "status": order.get("orderState"),
    }
    origins = {k: (v if prefix else v.removeprefix("order.")) for k, v in ORDER_ORIGINS.items()}
    placed = build(
        OrderPlaced,
        config=config,
        # The order's version, not only its id: a changed order is a new message.
        message_id=message_id(PLATFORM, "order-placed", order_id, order.get("version"), version_of(order)),
        correlation_id=_correlation(order_id),
        occurred_at=order.get("createdAt"),
        payload=payload,
        origins=origins,
        problems=problems,
    )
    if wrapped or not order.get("orderState"):
        return [placed]
    # The Order resource itself may be posted again after any change: its state is applied
    # as a status change (order-sync keeps the newest), the placement being a no-op then.
    changed_at = order.get("lastModifiedAt") or order.get("createdAt")
    return [
        placed,
        status_changed(
            config,
            message_id=message_id(PLATFORM, "order-state", order_id, order.get("orderState"), changed_at),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=payload["scope"],
            status=order.get("orderState"),
            changed_at=changed_at,
            origins={"order_number": "id", "status": "orderState", "changed_at": "lastModifiedAt"},
        ),
    ]


def _scope_of_message(message: dict[str, Any], config: PlatformConfig) -> str:
    # Messages do not carry the order's store: the default scope applies, unless the relay
    # (one Subscription per store) adds ``store.key``.
    return config.scope_for(get(message, "store.key"), "store.key")


def order_state_changed(message: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = identifier(get(message, "resource.id"), "resource.id", required=True)
    changed_at = require(message, "createdAt")
    state = require(message, "orderState")
    return [
        status_changed(
            config,
            message_id=message_id(PLATFORM, "message", message.get("id") or f"{order_id}:{state}:{changed_at}"),
            correlation_id=_correlation(order_id),
            order_number=order_id,
            scope=_scope_of_message(message, config),
            status=state,
            changed_at=changed_at,
            origins=STATUS_ORIGINS,
        )
    ]


def parcel_added(message: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    order_id = identifier(get(message, "resource.id"), "resource.id", required=True)
    parcel = obj(message, "parcel")
    parcel_id = identifier(parcel.get("id"), "parcel.id", required=True)
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
    "OrderImported": order_placed,
    "OrderStateChanged": order_state_changed,
    "ParcelAddedToDelivery": parcel_added,
}


def topic_from_routing(tail: str) -> str:
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or "message"
