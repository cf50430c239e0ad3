"""Shopware 6 app webhooks -> our order contract (O8). Pure: no I/O.

Shopware's app system posts every webhook as

    {"data": {"payload": {...} | [...], "event": "checkout.order.placed"},
     "source": {"url": ..., "shopId": ..., "appVersion": ..., "eventId": ...},
     "timestamp": 1710408105}

signed with the shop's secret (``shopware-shop-signature``: hex HMAC-SHA256 of the raw body;
signatures.py). The event is ``data.event`` (on the broker, else the routing key's tail
``platform.shopware.checkout.order.placed``). Business events carry their data by name: the
order entity, JSON-serialized with its loaded associations, is ``data.payload.order``
(also read: a payload that is the order itself, or a list whose first item holds it).
Field errors name the order's own fields (``lineItems[2].unitPrice``).

Events:

- ``checkout.order.placed`` -> ``OrderPlaced``;
- ``state_enter.order.state.<state>`` (``in_progress``, ``completed``, ``cancelled``, ``open``)
  -> ``OrderPlaced`` (a no-op for an order already received) and ``OrderStatusChanged`` to
  that state;
- ``state_enter.order_transaction.state.paid`` -> ``OrderPlaced`` and ``PaymentReceived``
  (the paid transaction: its id, amount and payment method), once per order;
- ``state_enter.order_delivery.state.shipped`` and ``...shipped_partially`` -> ``OrderPlaced``
  and one ``OrderShipped`` per delivery in that state (its tracking code, the shipping
  method's name and tracking link, its positions), once per delivery;
- the other states of a transaction or a delivery (``authorized``, ``refunded``,
  ``returned``...), and the entity events of orders (``order.written``,
  ``order_transaction.written``...: their payload is a list of ids, ``primaryKey``, never the
  order): acknowledged and ignored, nothing to apply. Subscribe to the events above instead.

The order is identified by its ``id``; ``orderNumber`` is ``display_number``. A guest
(``orderCustomer.customer.guest``, or no ``customerNumber``) has no ``source_customer_id``:
Shopware makes a new customer record for each guest checkout. Amounts are JSON numbers in the
order's currency (``currency.isoCode``; an order whose currency was not loaded names only its
``currencyId``, looked up in ``OMS_ADAPTERS_SHOPWARE_CURRENCIES``). ``price.taxStatus``
``gross`` (prices with tax, ``taxes_included: true``), ``net`` or ``tax-free``. Promotion and
credit line items (negative) are the discount; the children of a container line are in its
price. Times are ISO 8601 with an offset (``orderDateTime``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderLine, OrderPlaced, OrderShipped, ShippedLine

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
    checked_part,
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

PLATFORM = "shopware"
ORDER_PLACED = "checkout.order.placed"
ORDER_STATE = "state_enter.order.state."
TRANSACTION_STATE = "state_enter.order_transaction.state."
DELIVERY_STATE = "state_enter.order_delivery.state."
PAID = "paid"
SHIPPED = ("shipped", "shipped_partially")
#: Entity events of an order and its parts: ids only (``primaryKey``), no order to map.
ORDER_ENTITIES = ("order", "order_line_item", "order_transaction", "order_delivery", "order_address", "order_customer")
EVENTS = (
    ORDER_PLACED,
    f"{ORDER_STATE}<state>",
    f"{TRANSACTION_STATE}{PAID}",
    *(f"{DELIVERY_STATE}{state}" for state in SHIPPED),
)

ORDER_ORIGINS = {
    "order_number": "id",
    "display_number": "orderNumber",
    "source_customer_id": "orderCustomer.customerId",
    "account_type": "orderCustomer.customer.guest / orderCustomer.customerNumber",
    "scope": "salesChannelId",
    "email": "orderCustomer.email",
    "phone": "billingAddress.phoneNumber / deliveries[0].shippingOrderAddress.phoneNumber",
    "first_name": "orderCustomer.firstName / billingAddress.firstName",
    "last_name": "orderCustomer.lastName / billingAddress.lastName",
    "preferred_language": "language.locale.code",
    "billing_address": "billingAddress (or addresses[id=billingAddressId])",
    "billing_address.line1": "billingAddress.street",
    "billing_address.line2": "billingAddress.additionalAddressLine1, additionalAddressLine2",
    "billing_address.region": "billingAddress.countryState.name / shortCode",
    "billing_address.postal_code": "billingAddress.zipcode",
    "billing_address.country": "billingAddress.country.iso",
    "billing_address.phone": "billingAddress.phoneNumber",
    "shipping_address": "deliveries[0].shippingOrderAddress",
    "shipping_address.line1": "deliveries[0].shippingOrderAddress.street",
    "shipping_address.line2": "deliveries[0].shippingOrderAddress.additionalAddressLine1, additionalAddressLine2",
    "shipping_address.region": "deliveries[0].shippingOrderAddress.countryState.name / shortCode",
    "shipping_address.postal_code": "deliveries[0].shippingOrderAddress.zipcode",
    "shipping_address.country": "deliveries[0].shippingOrderAddress.country.iso",
    "shipping_address.phone": "deliveries[0].shippingOrderAddress.phoneNumber",
    "lines": "lineItems (top level, not negative)",
    "lines.*.sku": "lineItems[*].payload.productNumber",
    "lines.*.name": "lineItems[*].label",
    "lines.*.quantity": "lineItems[*].quantity",
    "lines.*.unit_price": "lineItems[*].unitPrice",
    "lines.*.total": "lineItems[*].totalPrice",
    "totals.subtotal": "lineItems[*].totalPrice (sum of the lines)",
    "totals.shipping": "shippingTotal / shippingCosts.totalPrice",
    "totals.tax": "price.calculatedTaxes[*].tax (sum) / amountTotal - amountNet",
    "totals.discount": "lineItems[*].totalPrice (negative: promotions, credits; sum)",
    "totals.total": "amountTotal / price.totalPrice",
    "totals.taxes_included": "price.taxStatus (gross)",
    "currency": "currency.isoCode / currencyId",
    "placed_at": "orderDateTime",
    "status": "stateMachineState.technicalName",
}
LINE_FIELDS = {
    "sku": "payload.productNumber",
    "name": "label",
    "quantity": "quantity",
    "unit_price": "unitPrice",
    "total": "totalPrice",
}
STATUS_ORIGINS = {"order_number": "id", "status": "data.event (its state)", "changed_at": "updatedAt / timestamp"}
PAYMENT_ORIGINS = {
    "order_number": "id",
    "payment_id": "transactions[paid].id",
    "amount": "transactions[paid].amount.totalPrice / amountTotal",
    "currency": "currency.isoCode / currencyId",
    "method": "transactions[paid].paymentMethod.name",
    "paid_at": "transactions[paid].updatedAt / timestamp",
}
SHIPMENT_ORIGINS = {
    "order_number": "id",
    "scope": "salesChannelId",
    "shipment_id": "deliveries[*].id",
    "carrier": "deliveries[*].shippingMethod.name",
    "tracking_number": "deliveries[*].trackingCodes[0]",
    "tracking_url": "deliveries[*].shippingMethod.trackingUrl",
    "lines": "deliveries[*].positions",
    "shipped_at": "deliveries[*].updatedAt / timestamp",
}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise MappingError.at(
            "data", "required, an object: Shopware's webhook body is {data: {payload, event}, source, timestamp}"
        )
    named = data.get("event")
    event = named.strip() if isinstance(named, str) and named.strip() else topic
    if not event:
        raise MappingError.at("data.event", "required, missing: the event's name")
    customer_topics.not_an_order(PLATFORM, event, payload, config)
    entity, _, operation = event.rpartition(".")
    if entity in ORDER_ENTITIES and operation in ("written", "deleted"):
        raise Ignored(f"{event}: an entity event names only ids; subscribe to {ORDER_PLACED} and the state events")
    webhook_time = unix_time(payload.get("timestamp"))
    if event == ORDER_PLACED:
        return order_placed(order_of(data), config)
    if event.startswith(ORDER_STATE):
        order = order_of(data)
        placed = order_placed(order, config)
        return placed + [_status_change(order, event[len(ORDER_STATE) :], webhook_time, config)]
    if event.startswith(TRANSACTION_STATE):
        if event != f"{TRANSACTION_STATE}{PAID}":
            raise Ignored(f"{event}: a payment that is not (yet) taken, nothing to apply")
        order = order_of(data)
        return order_placed(order, config) + [payment(order, webhook_time, config)]
    if event.startswith(DELIVERY_STATE):
        if event[len(DELIVERY_STATE) :] not in SHIPPED:
            raise Ignored(f"{event}: a delivery that has not shipped, nothing to apply")
        order = order_of(data)
        return order_placed(order, config) + shipments(order, webhook_time, config)
    raise UnsupportedTopic.at("data.event", f"unsupported event {event!r}; supported: {', '.join(EVENTS)}")


def order_of(data: dict[str, Any]) -> dict[str, Any]:
    """The order of a business event's payload (``data.payload.order``; see the docstring)."""
    inner = data.get("payload")
    if isinstance(inner, list):
        first = inner[0] if inner else None
        if isinstance(first, dict) and ("entity" in first or "primaryKey" in first):
            raise MappingError.at("data.payload", "names only ids (an entity event), not the order")
        inner = first
        where = "data.payload[0]"
    else:
        where = "data.payload"
    if not isinstance(inner, dict):
        raise MappingError.at(where, "required, an object holding the order")
    order = inner.get("order", inner if "orderNumber" in inner or "lineItems" in inner else None)
    if not isinstance(order, dict) or not order:
        raise MappingError.at(f"{where}.order", "required, missing: the order entity")
    return order


def unix_time(value: Any) -> str | None:
    """The webhook's ``timestamp`` (Unix seconds) as a time, or None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**11:
        return datetime.fromtimestamp(value, UTC).isoformat()
    return None


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    extra = [blank_none(raw.get(k)) for k in ("additionalAddressLine1", "additionalAddressLine2")]
    return address(
        first_name=raw.get("firstName"),
        last_name=raw.get("lastName"),
        company=raw.get("company"),
        line1=raw.get("street"),
        line2=", ".join(e for e in extra if isinstance(e, str)) or None,
        city=raw.get("city"),
        region=blank_none(get(raw, "countryState.name")) or get(raw, "countryState.shortCode"),
        postal_code=raw.get("zipcode"),
        country=blank_none(get(raw, "country.iso")) or get(raw, "country.iso3"),
        phone=raw.get("phoneNumber"),
    )


def billing_of(order: dict[str, Any], problems: Problems) -> dict[str, Any]:
    billing = problems.check(obj, order, "billingAddress", default={})
    if billing:
        return billing
    wanted = order.get("billingAddressId")
    for entry in problems.check(items, order, "addresses", default=[]):
        if isinstance(entry, dict) and wanted is not None and entry.get("id") == wanted:
            return entry
    return {}


def shipping_of(order: dict[str, Any], problems: Problems) -> dict[str, Any]:
    for index, delivery in enumerate(problems.check(items, order, "deliveries", default=[])):
        address = get(delivery, "shippingOrderAddress")
        if isinstance(address, dict) and address:
            return address
        if address is not None and not isinstance(address, dict):
            problems.add(f"deliveries[{index}].shippingOrderAddress", "must be an object")
    return {}


def currency_of(order: dict[str, Any], config: PlatformConfig) -> Any:
    """``currency.isoCode``, else the ISO code configured for ``currencyId``."""
    code = get(order, "currency.isoCode")
    if code is not None:
        return code
    currency_id = order.get("currencyId")
    if isinstance(currency_id, str) and currency_id in config.currencies:
        return config.currencies[currency_id]
    if currency_id is None:
        raise MappingError.at("currency.isoCode", "required, missing")
    raise MappingError.at(
        "currencyId",
        f"{str(currency_id)[:40]!r}: no currency.isoCode in the order, nor in OMS_ADAPTERS_SHOPWARE_CURRENCIES",
    )


def _correlation(order_id: str) -> str:
    return message_id(PLATFORM, "order", order_id)


def _guest(order_customer: dict[str, Any]) -> bool:
    return get(order_customer, "customer.guest") is True or blank_none(order_customer.get("customerNumber")) is None


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, order.get("id"), "id", required=True, default="?")
    currency = problems.check(currency_of, order, config, default=None)
    exponent = problems.check(currency_exponent, currency, "currency.isoCode", default=2) if currency else 2
    customer = problems.check(obj, order, "orderCustomer", default={})
    billing = billing_of(order, problems)
    shipping = shipping_of(order, problems)

    def amount(data: Any, path: str, where: str = "", *, missing: Any = None) -> Decimal:
        return amount_of(problems, get(data, path), f"{where}{path}", missing=missing)

    lines: list[dict[str, Any]] = []
    subtotal = discount = Decimal(0)
    for index, item in enumerate(problems.check(items, order, "lineItems", default=[])):
        where = f"lineItems[{index}]."
        if not isinstance(item, dict):
            problems.add(f"lineItems[{index}]", "must be an object")
            continue
        if blank_none(item.get("parentId")) is not None:
            continue  # a container's child: in its parent's price
        field = "totalPrice" if item.get("totalPrice") is not None else "price.totalPrice"
        total = amount(item, field, where)
        if total < 0:
            discount -= total  # a promotion, a credit: the discount
            continue
        subtotal += total
        unit_field = "unitPrice" if item.get("unitPrice") is not None else "price.unitPrice"
        line = {
            "sku": problems.check(
                identifier, blank_none(get(item, "payload.productNumber")), f"{where}payload.productNumber"
            ),
            "name": item.get("label"),
            "quantity": problems.check(decimal, item.get("quantity"), f"{where}quantity", default=Decimal(1)),
            "unit_price": in_currency(amount(item, unit_field, where), exponent),
            "total": in_currency(total, exponent),
        }
        if checked_part(OrderLine, line, where, LINE_FIELDS, problems):
            lines.append(line)

    if get(order, "price.calculatedTaxes") is not None:
        taxes = problems.check(items, order, "price.calculatedTaxes", default=[])
        tax = sum((amount(t, "tax", f"price.calculatedTaxes[{i}].") for i, t in enumerate(taxes)), Decimal(0))
    elif order.get("amountTotal") is not None and order.get("amountNet") is not None:
        tax = amount(order, "amountTotal") - amount(order, "amountNet")
    else:
        tax = Decimal(0)
    tax_status = get(order, "price.taxStatus") or order.get("taxStatus")
    registered = not _guest(customer)
    customer_id = problems.check(
        identifier, blank_none(customer.get("customerId")) or get(customer, "customer.id"), "orderCustomer.customerId"
    )
    payload = {
        "order_number": order_id,
        "display_number": problems.check(identifier, blank_none(order.get("orderNumber")), "orderNumber"),
        "source_system": config.source_system,
        "source_customer_id": customer_id if registered else None,
        "account_type": "registered" if registered and customer_id else "guest",
        "scope": problems.check(config.scope_for, order.get("salesChannelId"), "salesChannelId", default="?"),
        "email": blank_none(customer.get("email")),
        "phone": blank_none(billing.get("phoneNumber")) or blank_none(shipping.get("phoneNumber")),
        "first_name": blank_none(customer.get("firstName")) or blank_none(billing.get("firstName")),
        "last_name": blank_none(customer.get("lastName")) or blank_none(billing.get("lastName")),
        "preferred_language": language(
            get(order, "language.locale.code") or get(order, "language.translationCode.code")
        ),
        "billing_address": _address(billing),
        "shipping_address": _address(shipping),
        "lines": lines,
        "totals": {
            "subtotal": in_currency(subtotal, exponent),
            "shipping": in_currency(
                amount(
                    order,
                    "shippingTotal" if order.get("shippingTotal") is not None else "shippingCosts.totalPrice",
                    missing="0",
                ),
                exponent,
            ),
            "tax": in_currency(tax, exponent),
            "discount": in_currency(discount, exponent),
            "total": in_currency(
                amount(order, "amountTotal" if order.get("amountTotal") is not None else "price.totalPrice"), exponent
            ),
            "taxes_included": tax_status == "gross",
        },
        "currency": currency,
        "placed_at": order.get("orderDateTime") or order.get("createdAt"),
        "status": blank_none(get(order, "stateMachineState.technicalName")),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "order-placed", order_id, version_of(order)),
            correlation_id=_correlation(order_id),
            occurred_at=payload["placed_at"],
            payload=payload,
            # A currency that cannot be read is named where it was read, once.
            origins={
                **ORDER_ORIGINS,
                "currency": "currencyId" if "currencyId" in order and "currency" not in order else "currency.isoCode",
            },
            problems=problems,
        )
    ]


def _status_change(
    order: dict[str, Any], state: str, webhook_time: str | None, config: PlatformConfig
) -> Envelope[Any]:
    order_id = identifier(order.get("id"), "id", required=True)
    changed_at = order.get("updatedAt") or webhook_time
    return status_changed(
        config,
        message_id=message_id(PLATFORM, "status", order_id, state, changed_at),
        correlation_id=_correlation(order_id),
        order_number=order_id,
        scope=config.scope_for(order.get("salesChannelId"), "salesChannelId"),
        status=state,
        changed_at=changed_at,
        origins=STATUS_ORIGINS,
    )


def _state(value: Any) -> Any:
    return get(value, "stateMachineState.technicalName")


def payment(order: dict[str, Any], webhook_time: str | None, config: PlatformConfig) -> Envelope[Any]:
    """The order's paid transaction (the latest paid one; without states loaded, the latest)."""
    problems = Problems()
    order_id = identifier(order.get("id"), "id", required=True)
    transactions = [t for t in problems.check(items, order, "transactions", default=[]) if isinstance(t, dict)]
    paid = [t for t in transactions if _state(t) == PAID] or transactions
    transaction = max(paid, key=lambda t: str(t.get("createdAt") or ""), default={})
    currency = problems.check(currency_of, order, config, default=None)
    exponent = problems.check(currency_exponent, currency, "currency.isoCode", default=2) if currency else 2
    total = get(transaction, "amount.totalPrice")
    amount = problems.check(
        decimal,
        total if total is not None else order.get("amountTotal"),
        "transactions[paid].amount.totalPrice" if total is not None else "amountTotal",
        default=Decimal(0),
    )
    method = get(transaction, "paymentMethod")
    return payment_received(
        config,
        message_id=message_id(PLATFORM, "payment", order_id),
        correlation_id=_correlation(order_id),
        order_number=order_id,
        scope=config.scope_for(order.get("salesChannelId"), "salesChannelId"),
        payment_id=problems.check(identifier, transaction.get("id"), "transactions[paid].id") or f"{order_id}:paid",
        amount=in_currency(amount, exponent),
        currency=currency,
        method=blank_none(get(method, "translated.name"))
        or blank_none(get(method, "name"))
        or blank_none(get(method, "technicalName")),
        paid_at=transaction.get("updatedAt") or webhook_time or order.get("updatedAt"),
        origins=PAYMENT_ORIGINS,
        problems=problems,
    )


def _tracking_url(template: Any, code: Any) -> str | None:
    if not isinstance(template, str) or not isinstance(code, str) or not template.strip():
        return None
    return https_link(template.replace("%s", code) if "%s" in template else template)


def shipments(order: dict[str, Any], webhook_time: str | None, config: PlatformConfig) -> list[Envelope[Any]]:
    """One ``OrderShipped`` per delivery in a shipped state (all of them when no state was
    loaded), with its positions as lines."""
    problems = Problems()
    order_id = identifier(order.get("id"), "id", required=True)
    deliveries = [
        (i, d) for i, d in enumerate(problems.check(items, order, "deliveries", default=[])) if isinstance(d, dict)
    ]
    states_loaded = any(_state(d) is not None for _, d in deliveries)
    shipped = [(i, d) for i, d in deliveries if _state(d) in SHIPPED or not states_loaded]
    line_items = {
        str(item.get("id")): item
        for item in problems.check(items, order, "lineItems", default=[])
        if isinstance(item, dict) and item.get("id") is not None
    }
    messages = []
    for index, delivery in shipped:
        where = f"deliveries[{index}]."
        origins = {k: v.replace("deliveries[*].", where) for k, v in SHIPMENT_ORIGINS.items()}
        delivery_id = problems.check(identifier, delivery.get("id"), f"{where}id", required=True, default="?")
        codes = [
            c for c in problems.check(items, delivery, "trackingCodes", default=[]) if isinstance(c, str) and c.strip()
        ]
        method = problems.check(obj, delivery, "shippingMethod", default={})
        lines = []
        for position_index, position in enumerate(problems.check(items, delivery, "positions", default=[])):
            at = f"{where}positions[{position_index}]."
            if not isinstance(position, dict):
                problems.add(at[:-1], "must be an object")
                continue
            item = line_items.get(str(position.get("orderLineItemId")), {})
            line = {
                "sku": problems.check(
                    identifier, blank_none(get(item, "payload.productNumber")), f"{at}payload.productNumber"
                ),
                "name": blank_none(item.get("label")),
                "quantity": problems.check(decimal, position.get("quantity"), f"{at}quantity", default=Decimal(1)),
            }
            if checked_part(ShippedLine, line, at, {"quantity": "quantity"}, problems):
                lines.append(line)
        shipped_at = delivery.get("updatedAt") or webhook_time or order.get("updatedAt")
        messages.append(
            build(
                OrderShipped,
                config=config,
                message_id=message_id(PLATFORM, "shipment", order_id, delivery_id),
                correlation_id=_correlation(order_id),
                occurred_at=shipped_at,
                payload={
                    "source_system": config.source_system,
                    "order_number": order_id,
                    "scope": config.scope_for(order.get("salesChannelId"), "salesChannelId"),
                    "shipment_id": delivery_id,
                    "carrier": blank_none(get(method, "translated.name"))
                    or blank_none(method.get("name"))
                    or blank_none(method.get("technicalName")),
                    "tracking_number": codes[0] if codes else None,
                    "tracking_url": _tracking_url(
                        get(method, "translated.trackingUrl") or method.get("trackingUrl"), codes[0] if codes else None
                    ),
                    "lines": lines,
                    "shipped_at": shipped_at,
                },
                origins=origins,
                problems=problems,
            )
        )
    problems.raise_if_any()
    return messages


#: The routing key's tail when no event was named outside the body.
UNNAMED = "event"


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.shopware.checkout.order.placed`` carries that event (the
    body's ``data.event`` wins)."""
    return "" if tail == UNNAMED else tail


def routing_from_topic(topic: str) -> str:
    return topic or UNNAMED
