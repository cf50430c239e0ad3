"""Amazon orders (Selling Partner API, Orders v0 ``Order`` objects) -> our order contract (O8).
Pure: no I/O. An order as the Orders API ``2026-01-01`` gives it is read by ``amazon_2026``.

Delivery path: Amazon pushes no order body to anyone. Its notifications (``ORDER_CHANGE``,
through Amazon SQS or EventBridge) carry a summary without the buyer or the money. So a poller
(or the relay that receives those notifications) reads each new or changed order with the
seller's authorization: ``GET /orders/v0/orders/{orderId}`` (getOrder) with a Restricted Data
Token for ``buyerInfo`` and ``shippingAddress``, and ``GET /orders/v0/orders/{orderId}/orderItems``
(getOrderItems), and publishes the ``Order`` to the adapters' broker queue for the platform:
exchange ``<ns>.upstream``, routing key ``platform.amazon.order`` (queue ``<ns>.adapters.amazon``);
an ``ORDER_CHANGE`` notification as it came, ``platform.amazon.ORDER_CHANGE``. The broker's
credentials authenticate the publisher; nothing is signed.

A message is one of:

- the ``Order`` bare, or getOrder's answer ``{"payload": Order}``; the order's items, as
  getOrderItems returns them, in it as ``OrderItems`` (the list, or the answer's ``payload``
  ``{"AmazonOrderId", "OrderItems"}``). Without items the order has no lines, and its totals
  are ``OrderTotal`` alone;
- an ``ORDER_CHANGE`` notification (``{"NotificationType": "ORDER_CHANGE", "EventTime",
  "Payload": {"OrderChangeNotification": {"AmazonOrderId", "OrderChangeType",
  "OrderChangeTrigger", "Summary"}}}``): a status change when its ``OrderChangeType`` is
  ``OrderStatusChange`` and it carries the ``Summary``; a buyer's request or a delivery tip is
  acknowledged and ignored (the poller reads the order again).

An ``Order`` (the poller publishes it again whenever ``LastUpdateDate`` moves):

- ``Pending`` and ``PendingAvailability`` (payment not yet authorized): acknowledged and
  ignored. Amazon gives no buyer, no address and not always a total before ``Unshipped``, and a
  pending order may never become one; the poller publishes it again when it does;
- ``Unshipped``, ``PartiallyShipped``, ``Shipped``, ``InvoiceUnconfirmed``, ``Canceled``,
  ``Unfulfillable`` -> ``OrderPlaced`` (a no-op for an order already received; a new version
  when it changed) and ``OrderStatusChanged`` to ``OrderStatus`` at ``LastUpdateDate``. An order
  cancelled before it had a total (``OrderTotal`` absent) is the status change alone.

No ``OrderShipped`` and no ``PaymentReceived``: an Orders v0 order names no shipment, carrier
or tracking number and no payment (Amazon charges the buyer and settles with the seller), and
Amazon's buyer communication guidelines forbid shipping and payment confirmations outside
Amazon: ``PartiallyShipped`` and ``Shipped`` are statuses.

The order is ``AmazonOrderId`` (3-7-7, what the buyer sees). Amazon names no buyer account: every
order is a ``guest``'s, matched by order-sync on its email, phone, name and address. The email
is ``BuyerInfo.BuyerEmail``, an Amazon relay (``...@marketplace.amazon.de``), kept as the
order's email: order-sync takes a relay address as no evidence either way. The name is
``BuyerInfo.BuyerName`` (else the recipient's, ``ShippingAddress.Name``), one text: the last
word (with ``van``, ``de``... before it) is the last name. The phone is the shipping address's,
as Amazon gives it (a US one often a masked number with an extension, ``ext. 12345``). The
scope is the marketplace (``MarketplaceId``, ``A1PA6795UKMFR9`` for amazon.de) through the
platform's scopes (``scope_for``). Amounts are ``{"CurrencyCode", "Amount"}`` with decimal
strings; an item's ``ItemPrice`` is its price for all its units. Prices include VAT in
Europe and the UK (``ItemTax`` is the part of them that is tax) and not in the US (tax on
top): ``taxes_included`` is whichever way the items add up to ``OrderTotal``. Times are ISO
8601 UTC (``2024-03-14T09:21:45Z``). Field errors name Amazon's fields
(``OrderItems[1].ItemPrice.Amount``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderLine

from . import amazon_2026, customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    Ignored,
    MappingError,
    PlatformConfig,
    Problems,
    blank_none,
    checked_part,
    currency_exponent,
    decimal,
    get,
    identifier,
    in_currency,
    items,
    obj,
)
from .marketplace import amazon_totals, money, placed, postal_address, split_name, status_change, unit_price

PLATFORM = "amazon"
#: An Orders v0 ``Order`` (routing key ``platform.amazon.order``).
ORDER = "order"
#: The notification of an order's change (routing key ``platform.amazon.ORDER_CHANGE``).
ORDER_CHANGE = "ORDER_CHANGE"
EVENTS = (ORDER, ORDER_CHANGE)
#: Payment not yet authorized: nothing to place (see the module's docstring).
PENDING = ("Pending", "PendingAvailability")
CANCELED = "Canceled"
STATUS_CHANGE = "OrderStatusChange"
NOTIFICATION = "Payload.OrderChangeNotification"

ORDER_ORIGINS = {
    "order_number": "AmazonOrderId",
    "account_type": "(Amazon names no buyer account: guest)",
    "scope": "MarketplaceId",
    "email": "BuyerInfo.BuyerEmail",
    "phone": "ShippingAddress.Phone",
    "first_name": "BuyerInfo.BuyerName / ShippingAddress.Name (all but the last name)",
    "last_name": "BuyerInfo.BuyerName / ShippingAddress.Name (the last word, with van, de...)",
    "shipping_address": "ShippingAddress",
    "shipping_address.first_name": "ShippingAddress.Name",
    "shipping_address.last_name": "ShippingAddress.Name",
    "shipping_address.company": "ShippingAddress.CompanyName",
    "shipping_address.line1": "ShippingAddress.AddressLine1",
    "shipping_address.line2": "ShippingAddress.AddressLine2, AddressLine3",
    "shipping_address.city": "ShippingAddress.City",
    "shipping_address.region": "ShippingAddress.StateOrRegion / County",
    "shipping_address.postal_code": "ShippingAddress.PostalCode",
    "shipping_address.country": "ShippingAddress.CountryCode",
    "shipping_address.phone": "ShippingAddress.Phone",
    "lines": "OrderItems (QuantityOrdered above 0)",
    "lines.*.sku": "OrderItems[*].SellerSKU (else ASIN)",
    "lines.*.name": "OrderItems[*].Title",
    "lines.*.quantity": "OrderItems[*].QuantityOrdered",
    "lines.*.unit_price": "OrderItems[*].ItemPrice.Amount / QuantityOrdered",
    "lines.*.total": "OrderItems[*].ItemPrice.Amount",
    "totals.subtotal": "OrderItems[*].ItemPrice.Amount (sum; without items: OrderTotal.Amount)",
    "totals.shipping": "OrderItems[*].ShippingPrice.Amount + BuyerInfo.GiftWrapPrice.Amount (sum)",
    "totals.tax": "OrderItems[*].ItemTax + ShippingTax + BuyerInfo.GiftWrapTax - PromotionDiscountTax - ShippingDiscountTax (sum)",
    "totals.discount": "OrderItems[*].PromotionDiscount + ShippingDiscount (sum)",
    "totals.total": "OrderTotal.Amount",
    "totals.taxes_included": "(the items add up to OrderTotal without their tax: Europe, UK)",
    "currency": "OrderTotal.CurrencyCode",
    "placed_at": "PurchaseDate",
    "status": "OrderStatus",
}
#: Contract line field -> Amazon order item field.
LINE_FIELDS = {
    "sku": "SellerSKU",
    "name": "Title",
    "quantity": "QuantityOrdered",
    "unit_price": "ItemPrice.Amount",
    "total": "ItemPrice.Amount",
}
STATUS_ORIGINS = {
    "order_number": "AmazonOrderId",
    "scope": "MarketplaceId",
    "status": "OrderStatus",
    "changed_at": "LastUpdateDate",
}
NOTIFICATION_ORIGINS = {
    "order_number": f"{NOTIFICATION}.AmazonOrderId",
    "scope": f"{NOTIFICATION}.Summary.MarketplaceId",
    "status": f"{NOTIFICATION}.Summary.OrderStatus",
    "changed_at": f"{NOTIFICATION}.OrderChangeTrigger.TimeOfOrderChange / EventTime",
}


def scope_for(marketplace_id: Any, config: PlatformConfig, path: str = "MarketplaceId") -> str:
    """The scope of a marketplace: ``config.scopes`` keyed by Amazon's ``MarketplaceId``
    (``{"A1PA6795UKMFR9": "de", "A13V1IB3VIYZZH": "fr", "ATVPDKIKX0DER": "us"}``), else the
    platform's default scope; neither is a field error on ``path``."""
    return config.scope_for(blank_none(marketplace_id) if isinstance(marketplace_id, str) else None, path)


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object: an Amazon Order or an ORDER_CHANGE notification")
    named = payload.get("NotificationType")
    event = named.strip() if isinstance(named, str) and named.strip() else topic.strip()
    if event == ORDER_CHANGE or (not event and "NotificationType" in payload):
        return order_change(payload, config)
    if event and event != ORDER:
        customer_topics.not_an_order(PLATFORM, event, payload, config)
        where = "NotificationType" if named else "topic"
        raise UnsupportedTopic.at(where, f"unsupported topic {event!r}; supported: {', '.join(EVENTS)}")
    if amazon_2026.is_this_version(payload):
        return amazon_2026.map_order(payload, config, scope_for)
    order = order_of(payload)
    status = order.get("OrderStatus")
    if status in PENDING:
        raise Ignored(
            f"{status} order: payment not authorized yet; read again when it is Unshipped", kind="pending order"
        )
    if status == CANCELED and order.get("OrderTotal") is None:
        order_id = identifier(order.get("AmazonOrderId"), "AmazonOrderId", required=True)
        return [_status_change(order, order_id, config)]
    placed = order_placed(order, config)
    return placed + [_status_change(order, placed[0].payload.order_number, config)]


def order_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The order of a message: bare, or getOrder's ``payload``."""
    inner = payload.get("payload")
    if inner is not None and "AmazonOrderId" not in payload:
        if not isinstance(inner, dict):
            raise MappingError.at("payload", "must be an object: the Order")
        return inner
    if "AmazonOrderId" not in payload and "OrderTotal" not in payload:
        raise MappingError.at(
            "AmazonOrderId", "required, missing: send the Order as getOrder returns it, bare or as payload"
        )
    return payload


def order_items(order: dict[str, Any]) -> tuple[list[Any], str]:
    """The order's items (getOrderItems' list, or its ``payload`` object) and where they are."""
    found = order.get("OrderItems")
    if isinstance(found, dict):
        return items(found, "OrderItems"), "OrderItems.OrderItems"
    return items(order, "OrderItems"), "OrderItems"


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    lines = [blank_none(raw.get(key)) for key in ("AddressLine2", "AddressLine3")]
    return postal_address(
        raw.get("Name"),
        company=raw.get("CompanyName"),
        line1=raw.get("AddressLine1"),
        line2=", ".join(line for line in lines if isinstance(line, str)) or None,
        city=raw.get("City"),
        region=blank_none(raw.get("StateOrRegion")) or raw.get("County"),
        postal_code=raw.get("PostalCode"),
        country=raw.get("CountryCode"),
        phone=raw.get("Phone"),
    )


def order_placed(order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, order.get("AmazonOrderId"), "AmazonOrderId", required=True, default="?")
    currency = blank_none(get(order, "OrderTotal.CurrencyCode"))
    exponent = problems.check(currency_exponent, currency, "OrderTotal.CurrencyCode", default=2)
    buyer = problems.check(obj, order, "BuyerInfo", default={})
    shipping = problems.check(obj, order, "ShippingAddress", default={})
    total = money(problems, order, "OrderTotal", "Amount")
    listed, at = problems.check(order_items, order, default=([], "OrderItems"))

    sums = dict.fromkeys(("subtotal", "shipping", "tax", "discount"), Decimal(0))
    lines = []
    for index, item in enumerate(listed):
        where = f"{at}[{index}]."
        if not isinstance(item, dict):
            problems.add(f"{at}[{index}]", "must be an object")
            continue

        def part(field: str, item: Any = item, where: str = where) -> Decimal:
            return money(problems, item, field, "Amount", where=where, missing="0")

        quantity = problems.check(decimal, item.get("QuantityOrdered"), f"{where}QuantityOrdered", default=Decimal(1))
        if quantity == 0:
            continue  # an item cancelled before it shipped: no line, no price
        price = money(problems, item, "ItemPrice", "Amount", where=where)
        wrap = part("BuyerInfo.GiftWrapPrice")
        sums["subtotal"] += price
        sums["shipping"] += part("ShippingPrice") + wrap
        sums["tax"] += (
            part("ItemTax")
            + part("ShippingTax")
            + part("BuyerInfo.GiftWrapTax")
            - part("PromotionDiscountTax")
            - part("ShippingDiscountTax")
        )
        sums["discount"] += part("PromotionDiscount") + part("ShippingDiscount")
        line = {
            "sku": problems.check(
                identifier, blank_none(item.get("SellerSKU")) or blank_none(item.get("ASIN")), f"{where}SellerSKU"
            ),
            "name": item.get("Title"),
            "quantity": quantity,
            "unit_price": unit_price(in_currency(price, exponent), quantity, exponent),
            "total": in_currency(price, exponent),
        }
        if checked_part(OrderLine, line, where, LINE_FIELDS, problems):
            lines.append(line)
    first, last = split_name(blank_none(buyer.get("BuyerName")) or shipping.get("Name"))
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": None,
        "account_type": "guest",
        "scope": problems.check(scope_for, order.get("MarketplaceId"), config, default="?"),
        "email": blank_none(buyer.get("BuyerEmail")),
        "phone": blank_none(shipping.get("Phone")),
        "first_name": first,
        "last_name": last,
        "shipping_address": _address(shipping),
        "lines": lines,
        "totals": amazon_totals(sums, total, exponent, items_read=bool(listed)),
        "currency": currency,
        "placed_at": order.get("PurchaseDate"),
        "status": blank_none(order.get("OrderStatus")),
    }
    return placed(PLATFORM, config, order, payload, ORDER_ORIGINS, problems)


def _status_change(order: dict[str, Any], order_id: str, config: PlatformConfig) -> Envelope[Any]:
    changed_at = order.get("LastUpdateDate") or order.get("PurchaseDate")
    scope = scope_for(order.get("MarketplaceId"), config)
    return status_change(PLATFORM, config, order_id, order.get("OrderStatus"), changed_at, scope, STATUS_ORIGINS)


def order_change(notification: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    """An ``ORDER_CHANGE`` notification: its summary's status, when the status changed."""
    change = obj(notification, NOTIFICATION)
    if not change:
        raise MappingError.at(NOTIFICATION, "required, missing: the notification's order change")
    kind = change.get("OrderChangeType")
    if kind not in (STATUS_CHANGE, None):
        raise Ignored(f"ORDER_CHANGE {kind}: not a status change, nothing to apply")
    summary = obj(change, "Summary") if isinstance(change.get("Summary"), dict) else None
    if summary is None:
        raise MappingError.at(f"{NOTIFICATION}.Summary", "required, missing: subscribe with the order summary")
    status = summary.get("OrderStatus")
    if status in PENDING:
        raise Ignored(f"ORDER_CHANGE to {status}: the order is read when it is Unshipped", kind="pending order")
    order_id = identifier(change.get("AmazonOrderId"), f"{NOTIFICATION}.AmazonOrderId", required=True)
    changed_at = get(change, "OrderChangeTrigger.TimeOfOrderChange") or notification.get("EventTime")
    scope = scope_for(summary.get("MarketplaceId"), config, f"{NOTIFICATION}.Summary.MarketplaceId")
    return [status_change(PLATFORM, config, order_id, status, changed_at, scope, NOTIFICATION_ORIGINS)]


def topic_from_routing(tail: str) -> str:
    """Broker route: ``platform.amazon.order`` carries an Order, ``platform.amazon.ORDER_CHANGE``
    a notification (the body's ``NotificationType`` wins)."""
    return tail


def routing_from_topic(topic: str) -> str:
    return topic or ORDER
