"""eBay orders (Sell Fulfillment API ``Order`` objects) -> our order contract (O8). Pure: no I/O.

Delivery path: eBay has no push webhook that carries the order. Its Notification API pushes
no order topics, and the Trading API's Platform Notifications (``FixedPriceTransaction``,
``ItemMarkedShipped``...) are SOAP messages that name the order only. So a poller (or the
relay that receives those notifications) reads the orders with the seller's token,
``GET /sell/fulfillment/v1/order?filter=lastmodifieddate:[...]`` (getOrders) or
``GET /sell/fulfillment/v1/order/{orderId}`` (getOrder), and publishes each ``Order`` object
as one message to the adapters' broker queue for the platform: exchange ``<ns>.upstream``,
routing key ``platform.ebay.order`` (queue ``<ns>.adapters.ebay``). The broker's
credentials authenticate the poller; nothing is signed.

A message is one of:

- the ``Order`` bare, as getOrder returns it (one order of a getOrders page: a whole page,
  ``{"orders": [...]}``, is refused: publish each order on its own, so that one bad order
  does not hold back the others);
- ``{"order": Order, "fulfillments": [...]}``: the order with its shipping fulfillments as
  ``GET .../order/{orderId}/shipping_fulfillment`` (getShippingFulfillments) returns them
  (``fulfillmentId``, ``shipmentTrackingNumber``, ``shippingCarrierCode``, ``shippedDate``,
  ``lineItems[{lineItemId, quantity}]``); a bare order may carry them as ``fulfillments`` too.

Every message (the poller publishes an order again whenever its ``lastModifiedDate`` moves):

- ``OrderPlaced`` (a no-op for an order already received; a new version when it changed);
- ``OrderStatusChanged`` to the order's status: ``CANCELED`` when ``cancelStatus.cancelState``
  says so, else ``orderFulfillmentStatus`` (``NOT_STARTED``, ``IN_PROGRESS``: some line items
  shipped, ``FULFILLED``), at ``lastModifiedDate`` (the same id for the same status and time);
- ``PaymentReceived`` once per order when ``orderPaymentStatus`` is ``PAID``;
- one ``OrderShipped`` per shipping fulfillment given (its tracking number and carrier, the
  line items in it), once per fulfillment. The ``Order`` itself names its fulfillments only
  by URL (``fulfillmentHrefs``): without them the status says ``IN_PROGRESS``/``FULFILLED``
  and no shipment is published.

The order is identified by ``orderId`` (``03-14798-73169``, what the buyer sees). The buyer is
``buyer.username`` (an eBay member: ``registered``; since 2025 some applications get an
immutable user id in its place, read the same way), so order-sync links every later order of
that member. The email is the buyer's registration email where the application may read it
(``buyer.buyerRegistrationAddress.email``), else the ship-to contact's; both are most often
an eBay relay (``...@members.ebay.com``), kept as the order's email: order-sync takes a relay
address as no evidence either way. Names are one text (``fullName``): the last word (with
``van``, ``de``... before it) is the last name. The scope is the marketplace the buyer bought
on (``lineItems[0].purchaseMarketplaceId``, ``EBAY_DE``), through ``OMS_ADAPTERS_EBAY_SCOPES``.
Amounts are decimal strings in the order's currency (``pricingSummary.total.currency``);
the prices a buyer sees are the totals, tax added on top only where the seller collects it
(``pricingSummary.tax``): taxes eBay collects and remits itself (``ebayCollectAndRemitTaxes``)
are not in the order's total and not read. Times are ISO 8601 UTC (``...T19:09:02.768Z``).
Field errors name eBay's fields (``lineItems[1].lineItemCost.value``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderLine, OrderShipped, ShippedLine

from . import customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    MappingError,
    PlatformConfig,
    Problems,
    blank_none,
    build,
    checked_part,
    currency_exponent,
    decimal,
    get,
    identifier,
    in_currency,
    items,
    message_id,
    obj,
    payment_received,
)
from .marketplace import correlation, money, placed, postal_address, split_name, status_change, unit_price

PLATFORM = "ebay"
#: The one topic: an ``Order`` (its routing key ``platform.ebay.order``).
ORDER = "order"
EVENTS = (ORDER,)
PAID = "PAID"
CANCELED = "CANCELED"
SHIP_TO = "fulfillmentStartInstructions[0].shippingStep.shipTo"
REGISTRATION = "buyer.buyerRegistrationAddress"

ORDER_ORIGINS = {
    "order_number": "orderId",
    "source_customer_id": "buyer.username",
    "account_type": "buyer.username (an eBay member: registered)",
    "scope": "lineItems[0].purchaseMarketplaceId / listingMarketplaceId",
    "email": f"{REGISTRATION}.email / {SHIP_TO}.email",
    "phone": f"{REGISTRATION}.primaryPhone.phoneNumber / {SHIP_TO}.primaryPhone.phoneNumber",
    "first_name": f"{REGISTRATION}.fullName / {SHIP_TO}.fullName (all but the last name)",
    "last_name": f"{REGISTRATION}.fullName / {SHIP_TO}.fullName (the last word, with van, de...)",
    "billing_address": f"{REGISTRATION} (else buyer.taxAddress)",
    "billing_address.company": f"{REGISTRATION}.companyName",
    "billing_address.line1": f"{REGISTRATION}.contactAddress.addressLine1",
    "billing_address.line2": f"{REGISTRATION}.contactAddress.addressLine2",
    "billing_address.city": f"{REGISTRATION}.contactAddress.city",
    "billing_address.region": f"{REGISTRATION}.contactAddress.stateOrProvince",
    "billing_address.postal_code": f"{REGISTRATION}.contactAddress.postalCode",
    "billing_address.country": f"{REGISTRATION}.contactAddress.countryCode",
    "billing_address.phone": f"{REGISTRATION}.primaryPhone.phoneNumber",
    "shipping_address": f"{SHIP_TO} (its contactAddress; finalDestinationAddress for eBay's international shipping)",
    "shipping_address.company": f"{SHIP_TO}.companyName",
    "shipping_address.line1": f"{SHIP_TO}.contactAddress.addressLine1",
    "shipping_address.line2": f"{SHIP_TO}.contactAddress.addressLine2",
    "shipping_address.city": f"{SHIP_TO}.contactAddress.city",
    "shipping_address.region": f"{SHIP_TO}.contactAddress.stateOrProvince",
    "shipping_address.postal_code": f"{SHIP_TO}.contactAddress.postalCode",
    "shipping_address.country": f"{SHIP_TO}.contactAddress.countryCode",
    "shipping_address.phone": f"{SHIP_TO}.primaryPhone.phoneNumber",
    "lines": "lineItems",
    "lines.*.sku": "lineItems[*].sku",
    "lines.*.name": "lineItems[*].title",
    "lines.*.quantity": "lineItems[*].quantity",
    "lines.*.unit_price": "lineItems[*].lineItemCost.value / quantity",
    "lines.*.total": "lineItems[*].lineItemCost.value",
    "totals.subtotal": "pricingSummary.priceSubtotal.value",
    "totals.shipping": "pricingSummary.deliveryCost.value + pricingSummary.fee.value",
    "totals.tax": "pricingSummary.tax.value",
    "totals.discount": "-(pricingSummary.priceDiscount + deliveryDiscount + adjustment).value",
    "totals.total": "pricingSummary.total.value",
    "totals.taxes_included": "(tax on top: false)",
    "currency": "pricingSummary.total.currency",
    "placed_at": "creationDate",
    "status": "cancelStatus.cancelState (CANCELED) / orderFulfillmentStatus",
}
LINE_FIELDS = {
    "sku": "sku",
    "name": "title",
    "quantity": "quantity",
    "unit_price": "lineItemCost.value",
    "total": "lineItemCost.value",
}
STATUS_ORIGINS = {
    "order_number": "orderId",
    "scope": "lineItems[0].purchaseMarketplaceId",
    "status": "cancelStatus.cancelState (CANCELED) / orderFulfillmentStatus",
    "changed_at": "lastModifiedDate",
}
PAYMENT_ORIGINS = {
    "order_number": "orderId",
    "scope": "lineItems[0].purchaseMarketplaceId",
    "payment_id": "paymentSummary.payments[0].paymentReferenceId (else orderId + ':paid')",
    "amount": "pricingSummary.total.value",
    "currency": "pricingSummary.total.currency",
    "method": "paymentSummary.payments[0].paymentMethod",
    "paid_at": "paymentSummary.payments[0].paymentDate / lastModifiedDate",
}
SHIPMENT_ORIGINS = {
    "order_number": "orderId",
    "scope": "lineItems[0].purchaseMarketplaceId",
    "shipment_id": "fulfillments[*].fulfillmentId",
    "carrier": "fulfillments[*].shippingCarrierCode",
    "tracking_number": "fulfillments[*].shipmentTrackingNumber",
    "lines": "fulfillments[*].lineItems",
    "shipped_at": "fulfillments[*].shippedDate",
}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object: one eBay Order")
    event = topic.strip()
    if event and event != ORDER:
        customer_topics.not_an_order(PLATFORM, event, payload, config)
        raise UnsupportedTopic.at("topic", f"unsupported topic {event!r}; supported: {', '.join(EVENTS)}")
    order, fulfillments = order_of(payload)
    placed = order_placed(order, config)
    order_id = placed[0].payload.order_number
    messages = placed + [_status_change(order, order_id, config)]
    if order.get("orderPaymentStatus") == PAID:
        messages.append(payment(order, order_id, config))
    return messages + shipments(order, order_id, fulfillments, config)


def order_of(payload: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """The order of a message and its shipping fulfillments (see the module's docstring)."""
    if "orders" in payload:
        raise MappingError.at("orders", "a getOrders page: publish each of its orders as a message of its own")
    wrapped = payload.get("order")
    if wrapped is not None and not isinstance(wrapped, dict):
        raise MappingError.at("order", "must be an object: the eBay Order")
    order = wrapped if wrapped is not None else payload
    if not order.get("orderId") and "lineItems" not in order and "pricingSummary" not in order:
        raise MappingError.at("orderId", "required, missing: send the Order as getOrder returns it, bare or as order")
    return order, items(payload if wrapped is not None else order, "fulfillments")


def _scope(order: dict[str, Any], config: PlatformConfig) -> str:
    first = get(order, "lineItems.0")
    marketplace = blank_none(get(first, "purchaseMarketplaceId")) or blank_none(get(first, "listingMarketplaceId"))
    return config.scope_for(marketplace, "lineItems[0].purchaseMarketplaceId")


def _status(order: dict[str, Any]) -> Any:
    if get(order, "cancelStatus.cancelState") == CANCELED:
        return CANCELED
    return blank_none(order.get("orderFulfillmentStatus"))


def _contact(contact: dict[str, Any], where: str, problems: Problems) -> dict[str, Any] | None:
    """An eBay contact (``fullName``, ``companyName``, ``contactAddress``, ``primaryPhone``)
    as our address; a ``finalDestinationAddress`` in it (eBay's international shipping)
    is where the goods go."""
    if not contact:
        return None
    key = "finalDestinationAddress" if contact.get("finalDestinationAddress") else "contactAddress"
    place = contact.get(key) or {}
    if not isinstance(place, dict):
        problems.add(f"{where}.{key}", "must be an object")
        place = {}
    return postal_address(
        contact.get("fullName"),
        company=contact.get("companyName"),
        line1=place.get("addressLine1"),
        line2=place.get("addressLine2"),
        city=place.get("city"),
        region=blank_none(place.get("stateOrProvince")) or place.get("county"),
        postal_code=place.get("postalCode"),
        country=place.get("countryCode"),
        phone=get(contact, "primaryPhone.phoneNumber"),
    )


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, order.get("orderId"), "orderId", required=True, default="?")
    currency = blank_none(get(order, "pricingSummary.total.currency"))
    exponent = problems.check(currency_exponent, currency, "pricingSummary.total.currency", default=2)
    buyer = problems.check(obj, order, "buyer", default={})
    registration = problems.check(obj, order, REGISTRATION, default={})
    instructions = problems.check(items, order, "fulfillmentStartInstructions", default=[])
    ship_to = problems.check(obj, instructions[0] if instructions else {}, "shippingStep.shipTo", default={})

    def amount(path: str, *, missing: Any = None) -> Decimal:
        return money(problems, order, f"pricingSummary.{path}", "value", missing=missing)

    lines = []
    for index, item in enumerate(problems.check(items, order, "lineItems", default=[])):
        where = f"lineItems[{index}]."
        if not isinstance(item, dict):
            problems.add(f"lineItems[{index}]", "must be an object")
            continue
        quantity = problems.check(decimal, item.get("quantity"), f"{where}quantity", default=Decimal(1))
        total = money(problems, item, "lineItemCost", "value", where=where) if item.get("lineItemCost") else None
        line = {
            "sku": problems.check(identifier, blank_none(item.get("sku")), f"{where}sku"),
            "name": item.get("title"),
            "quantity": quantity,
            "unit_price": None if total is None else unit_price(in_currency(total, exponent), quantity, exponent),
            "total": None if total is None else in_currency(total, exponent),
        }
        if checked_part(OrderLine, line, where, LINE_FIELDS, problems):
            lines.append(line)

    customer_id = problems.check(identifier, blank_none(buyer.get("username")), "buyer.username")
    first, last = split_name(blank_none(registration.get("fullName")) or ship_to.get("fullName"))
    billing = _contact(registration, REGISTRATION, problems) or _contact(
        {"contactAddress": buyer.get("taxAddress")}, "buyer", problems
    )
    discount = amount("priceDiscount", missing="0") + amount("deliveryDiscount", missing="0")
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": customer_id,
        "account_type": "registered" if customer_id else "guest",
        "scope": problems.check(_scope, order, config, default="?"),
        "email": blank_none(registration.get("email")) or blank_none(ship_to.get("email")),
        "phone": blank_none(get(registration, "primaryPhone.phoneNumber"))
        or blank_none(get(ship_to, "primaryPhone.phoneNumber")),
        "first_name": first,
        "last_name": last,
        "billing_address": billing,
        "shipping_address": _contact(ship_to, SHIP_TO, problems),
        "lines": lines,
        "totals": {
            "subtotal": in_currency(amount("priceSubtotal"), exponent),
            "shipping": in_currency(amount("deliveryCost", missing="0") + amount("fee", missing="0"), exponent),
            "tax": in_currency(amount("tax", missing="0"), exponent),
            "discount": in_currency(-discount - amount("adjustment", missing="0"), exponent),
            "total": in_currency(amount("total"), exponent),
            "taxes_included": False,
        },
        "currency": currency,
        "placed_at": order.get("creationDate"),
        "status": _status(order),
    }
    return placed(PLATFORM, config, order, payload, ORDER_ORIGINS, problems)


def _status_change(order: dict[str, Any], order_id: str, config: PlatformConfig) -> Envelope[Any]:
    changed_at = order.get("lastModifiedDate") or order.get("creationDate")
    return status_change(PLATFORM, config, order_id, _status(order), changed_at, _scope(order, config), STATUS_ORIGINS)


def payment(order: dict[str, Any], order_id: str, config: PlatformConfig) -> Envelope[Any]:
    """What the buyer paid (``pricingSummary.total``: the payments list what eBay pays the
    seller after its fees), by the first payment's reference and method; once per order."""
    problems = Problems()
    payments = [p for p in problems.check(items, order, "paymentSummary.payments", default=[]) if isinstance(p, dict)]
    first = payments[0] if payments else {}
    currency = blank_none(get(order, "pricingSummary.total.currency"))
    exponent = problems.check(currency_exponent, currency, "pricingSummary.total.currency", default=2)
    reference = problems.check(
        identifier, blank_none(first.get("paymentReferenceId")), "paymentSummary.payments[0].paymentReferenceId"
    )
    return payment_received(
        config,
        message_id=message_id(PLATFORM, "payment", order_id),
        correlation_id=correlation(PLATFORM, order_id),
        order_number=order_id,
        scope=_scope(order, config),
        payment_id=reference or f"{order_id}:paid",
        amount=in_currency(money(problems, order, "pricingSummary.total", "value"), exponent),
        currency=currency,
        method=blank_none(first.get("paymentMethod")),
        paid_at=first.get("paymentDate") or order.get("lastModifiedDate"),
        origins=PAYMENT_ORIGINS,
        problems=problems,
    )


def shipments(
    order: dict[str, Any], order_id: str, fulfillments: list[Any], config: PlatformConfig
) -> list[Envelope[Any]]:
    """One ``OrderShipped`` per shipping fulfillment, its line items named by the order's."""
    problems = Problems()
    by_id = {
        str(item.get("lineItemId")): item
        for item in problems.check(items, order, "lineItems", default=[])
        if isinstance(item, dict) and item.get("lineItemId") is not None
    }
    messages = []
    for index, fulfillment in enumerate(fulfillments):
        where = f"fulfillments[{index}]."
        if not isinstance(fulfillment, dict):
            problems.add(f"fulfillments[{index}]", "must be an object")
            continue
        origins = {k: v.replace("fulfillments[*].", where) for k, v in SHIPMENT_ORIGINS.items()}
        shipment_id = problems.check(
            identifier, fulfillment.get("fulfillmentId"), f"{where}fulfillmentId", required=True, default="?"
        )
        lines = []
        for position, shipped in enumerate(problems.check(items, fulfillment, "lineItems", default=[])):
            at = f"{where}lineItems[{position}]."
            item = by_id.get(str(get(shipped, "lineItemId")), {})
            line = {
                "sku": blank_none(item.get("sku")),
                "name": blank_none(item.get("title")),
                "quantity": problems.check(decimal, get(shipped, "quantity"), f"{at}quantity", default=Decimal(1)),
            }
            if checked_part(ShippedLine, line, at, {"quantity": "quantity"}, problems):
                lines.append(line)
        shipped_at = fulfillment.get("shippedDate")
        messages.append(
            build(
                OrderShipped,
                config=config,
                message_id=message_id(PLATFORM, "shipment", order_id, shipment_id),
                correlation_id=correlation(PLATFORM, order_id),
                occurred_at=shipped_at,
                payload={
                    "source_system": config.source_system,
                    "order_number": order_id,
                    "scope": _scope(order, config),
                    "shipment_id": shipment_id,
                    "carrier": blank_none(fulfillment.get("shippingCarrierCode")),
                    "tracking_number": blank_none(fulfillment.get("shipmentTrackingNumber")),
                    "tracking_url": None,  # eBay gives none; the carrier code and number say it
                    "lines": lines,
                    "shipped_at": shipped_at,
                },
                origins=origins,
                problems=problems,
            )
        )
    problems.raise_if_any()
    return messages


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.ebay.order`` carries an Order."""
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or ORDER
