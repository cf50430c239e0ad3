"""Amazon orders as the Orders API ``2026-01-01`` gives them -> our order contract (O8). Pure:
no I/O. The poller of ``amazon.py`` publishes getOrder's answer ``{"order": Order}`` (or the
``Order`` bare) on the same route, ``platform.amazon.order``, when it reads this version of
the API, which Amazon introduced in 2026 beside the deprecated Orders v0; ``amazon.map_event``
tells the two apart by the id's name (``orderId`` here, ``AmazonOrderId`` in v0).

The same order as v0 reads it, by other names: ``orderId``, ``createdTime``,
``lastUpdatedTime``; the marketplace is ``salesChannel.marketplaceId`` (the platform's scopes,
``amazon.scope_for``); the buyer ``buyer.buyerName`` and ``buyer.buyerEmail`` (an Amazon
relay); the address and phone ``recipient.deliveryAddress``. The status is
``fulfillment.fulfillmentStatus`` (``UNSHIPPED``...), published as v0 names it
(``Unshipped``...) so an order's history reads one way whichever API the poller used;
``PENDING`` and ``PENDING_AVAILABILITY`` are ignored, as in v0. The money is
``proceeds.grandTotal`` (the total and its currency) and each item's
``proceeds.breakdowns`` (``ITEM``, ``SHIPPING``, ``GIFT_WRAP``, ``COD_FEE``, ``OTHER``, ``TAX``,
``DISCOUNT``): an item's line total is its ``ITEM`` part (else its unit price
``product.price.unitPrice`` times its quantity). Like v0, no ``OrderShipped``: Amazon's
guidelines forbid shipping confirmations outside Amazon, and ``packages`` are a status.
Field errors name the API's fields (``order.orderItems[1].product.price.unitPrice.amount``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderLine

from .mapping import (
    Ignored,
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
#: ``amazon.scope_for``: the scope of a marketplace id (passed in: amazon.py imports this module).
ScopeFor = Callable[[Any, PlatformConfig, str], str]
#: The API's statuses, by the names Orders v0 gives them.
STATUSES = {
    "PENDING_AVAILABILITY": "PendingAvailability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
PENDING = ("PENDING", "PENDING_AVAILABILITY")
STATUS = "fulfillment.fulfillmentStatus"
ADDRESS = "recipient.deliveryAddress"
#: Which breakdown of an item's proceeds goes to which of our totals.
PARTS = {"SHIPPING": "shipping", "GIFT_WRAP": "shipping", "COD_FEE": "shipping", "OTHER": "shipping", "TAX": "tax"}

ORDER_ORIGINS = {
    "order_number": "order.orderId",
    "account_type": "(Amazon names no buyer account: guest)",
    "scope": "order.salesChannel.marketplaceId",
    "email": "order.buyer.buyerEmail",
    "phone": f"order.{ADDRESS}.phone",
    "first_name": f"order.buyer.buyerName / {ADDRESS}.name (all but the last name)",
    "last_name": f"order.buyer.buyerName / {ADDRESS}.name (the last word, with van, de...)",
    "shipping_address": f"order.{ADDRESS}",
    "shipping_address.first_name": f"order.{ADDRESS}.name",
    "shipping_address.last_name": f"order.{ADDRESS}.name",
    "shipping_address.company": f"order.{ADDRESS}.companyName",
    "shipping_address.line1": f"order.{ADDRESS}.addressLine1",
    "shipping_address.line2": f"order.{ADDRESS}.addressLine2, addressLine3",
    "shipping_address.city": f"order.{ADDRESS}.city",
    "shipping_address.region": f"order.{ADDRESS}.stateOrRegion / districtOrCounty",
    "shipping_address.postal_code": f"order.{ADDRESS}.postalCode",
    "shipping_address.country": f"order.{ADDRESS}.countryCode",
    "shipping_address.phone": f"order.{ADDRESS}.phone",
    "lines": "order.orderItems (quantityOrdered above 0)",
    "lines.*.sku": "order.orderItems[*].product.sellerSku (else asin)",
    "lines.*.name": "order.orderItems[*].product.title",
    "lines.*.quantity": "order.orderItems[*].quantityOrdered",
    "lines.*.unit_price": "order.orderItems[*].product.price.unitPrice.amount",
    "lines.*.total": "order.orderItems[*].proceeds.breakdowns[ITEM].subtotal.amount",
    "totals.subtotal": "order.orderItems[*].proceeds.breakdowns[ITEM] (sum)",
    "totals.shipping": "order.orderItems[*].proceeds.breakdowns[SHIPPING, GIFT_WRAP, COD_FEE, OTHER] (sum)",
    "totals.tax": "order.orderItems[*].proceeds.breakdowns[TAX] (sum)",
    "totals.discount": "order.orderItems[*].proceeds.breakdowns[DISCOUNT] (sum)",
    "totals.total": "order.proceeds.grandTotal.amount",
    "totals.taxes_included": "(the items add up to the grand total without their tax)",
    "currency": "order.proceeds.grandTotal.currencyCode",
    "placed_at": "order.createdTime",
    "status": f"order.{STATUS}",
}
LINE_FIELDS = {
    "sku": "product.sellerSku",
    "name": "product.title",
    "quantity": "quantityOrdered",
    "unit_price": "product.price.unitPrice.amount",
    "total": "proceeds.breakdowns[ITEM].subtotal.amount",
}
STATUS_ORIGINS = {
    "order_number": "order.orderId",
    "scope": "order.salesChannel.marketplaceId",
    "status": f"order.{STATUS}",
    "changed_at": "order.lastUpdatedTime",
}


def is_this_version(payload: dict[str, Any]) -> bool:
    """getOrder's answer of this version, ``{"order": {"orderId": ...}}``, or its Order bare."""
    inner = payload.get("order")
    return (isinstance(inner, dict) and "orderId" in inner) or "orderId" in payload


def map_order(payload: dict[str, Any], config: PlatformConfig, scope_for: ScopeFor) -> list[Envelope[Any]]:
    order = payload["order"] if isinstance(payload.get("order"), dict) else payload
    status = blank_none(get(order, STATUS))
    if status in PENDING:
        raise Ignored(
            f"{status} order: payment not authorized yet; read again when it is UNSHIPPED", kind="pending order"
        )
    if status == "CANCELLED" and get(order, "proceeds.grandTotal") is None:
        order_id = identifier(order.get("orderId"), "order.orderId", required=True)
        return [_status_change(order, order_id, config, scope_for)]
    orders = order_placed(order, config, scope_for)
    return orders + [_status_change(order, orders[0].payload.order_number, config, scope_for)]


def order_placed(order: dict[str, Any], config: PlatformConfig, scope_for: ScopeFor) -> list[Envelope[Any]]:
    problems = Problems()
    order_id = problems.check(identifier, order.get("orderId"), "order.orderId", required=True, default="?")
    currency = blank_none(get(order, "proceeds.grandTotal.currencyCode"))
    exponent = problems.check(currency_exponent, currency, "order.proceeds.grandTotal.currencyCode", default=2)
    buyer = problems.check(obj, order, "buyer", default={})
    delivery = problems.check(obj, order, ADDRESS, default={})
    total = money(problems, order, "proceeds.grandTotal", "amount", where="order.")
    listed = problems.check(items, order, "orderItems", default=[])

    sums = dict.fromkeys(("subtotal", "shipping", "tax", "discount"), Decimal(0))
    lines = []
    for index, item in enumerate(listed):
        where = f"order.orderItems[{index}]."
        if not isinstance(item, dict):
            problems.add(f"order.orderItems[{index}]", "must be an object")
            continue
        quantity = problems.check(decimal, item.get("quantityOrdered"), f"{where}quantityOrdered", default=Decimal(1))
        if quantity == 0:
            continue  # an item cancelled before it shipped: no line, no price
        price = money(problems, item, "product.price.unitPrice", "amount", where=where, missing="0")
        line_total = None
        for part_index, part in enumerate(problems.check(items, item, "proceeds.breakdowns", default=[])):
            if not isinstance(part, dict):
                continue
            amount = money(problems, part, "subtotal", "amount", where=f"{where}proceeds.breakdowns[{part_index}].")
            kind = part.get("type")
            if kind == "ITEM":
                line_total = (line_total or Decimal(0)) + amount
            elif kind == "DISCOUNT":
                sums["discount"] += abs(amount)
            elif kind in PARTS:
                sums[PARTS[kind]] += amount
        if line_total is None:
            line_total = price * quantity
        sums["subtotal"] += line_total
        given = item.get("product")
        product: dict[str, Any] = given if isinstance(given, dict) else {}
        line = {
            "sku": problems.check(
                identifier,
                blank_none(product.get("sellerSku")) or blank_none(product.get("asin")),
                f"{where}product.sellerSku",
            ),
            "name": product.get("title"),
            "quantity": quantity,
            "unit_price": in_currency(price, exponent) if price else unit_price(line_total, quantity, exponent),
            "total": in_currency(line_total, exponent),
        }
        if checked_part(OrderLine, line, where, LINE_FIELDS, problems):
            lines.append(line)
    first, last = split_name(blank_none(buyer.get("buyerName")) or delivery.get("name"))
    address_lines = [blank_none(delivery.get(key)) for key in ("addressLine2", "addressLine3")]
    payload = {
        "order_number": order_id,
        "source_system": config.source_system,
        "source_customer_id": None,
        "account_type": "guest",
        "scope": problems.check(
            scope_for, get(order, "salesChannel.marketplaceId"), config, "order.salesChannel.marketplaceId", default="?"
        ),
        "email": blank_none(buyer.get("buyerEmail")),
        "phone": blank_none(delivery.get("phone")),
        "first_name": first,
        "last_name": last,
        "shipping_address": postal_address(
            delivery.get("name"),
            company=delivery.get("companyName"),
            line1=delivery.get("addressLine1"),
            line2=", ".join(line for line in address_lines if isinstance(line, str)) or None,
            city=delivery.get("city"),
            region=blank_none(delivery.get("stateOrRegion")) or delivery.get("districtOrCounty"),
            postal_code=delivery.get("postalCode"),
            country=delivery.get("countryCode"),
            phone=delivery.get("phone"),
        ),
        "lines": lines,
        "totals": amazon_totals(sums, total, exponent, items_read=bool(lines)),
        "currency": currency,
        "placed_at": order.get("createdTime"),
        "status": _status(get(order, STATUS)),
    }
    return placed(PLATFORM, config, order, payload, ORDER_ORIGINS, problems)


def _status(status: Any) -> Any:
    return STATUSES.get(status, blank_none(status)) if isinstance(status, str) else status


def _status_change(order: dict[str, Any], order_id: str, config: PlatformConfig, scope_for: ScopeFor) -> Envelope[Any]:
    changed_at = order.get("lastUpdatedTime") or order.get("createdTime")
    scope = scope_for(get(order, "salesChannel.marketplaceId"), config, "order.salesChannel.marketplaceId")
    return status_change(PLATFORM, config, order_id, _status(get(order, STATUS)), changed_at, scope, STATUS_ORIGINS)
