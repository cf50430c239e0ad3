"""Saleor webhooks -> our order contract (O8). Pure: no I/O.

Events (the ``Saleor-Event`` header, e.g. ``order_created``, or the envelope's own name):
``ORDER_CREATED`` -> ``OrderPlaced``; ``ORDER_UPDATED``, ``ORDER_CONFIRMED``,
``ORDER_CANCELLED`` -> ``OrderPlaced`` (a no-op for an order already received) and
``OrderStatusChanged``; ``ORDER_FULLY_PAID`` -> ``PaymentReceived``; ``ORDER_FULFILLED`` ->
``OrderShipped`` per fulfillment and ``OrderStatusChanged``; ``NOTIFY_USER`` order
confirmations (``order_confirmation``, ``order_confirmed``) -> ``OrderPlaced``,
``order_canceled`` -> ``OrderStatusChanged`` (other notifications are not orders: ignored).

Every shape Saleor 3.x sends for them is read:

- the subscription payload as Saleor 3.20+ sends it, the event object itself:
  ``{"order": {...}, "issuedAt": ..., "version": ...}``;
- the GraphQL envelope (filterable subscriptions, Saleor's docs, relays that forward the
  whole answer): ``{"data": {"orderCreated": {"order": {...}}}}`` (any ``data.<event>``);
- the legacy (deprecated, still sent by webhooks without a query) payload: a JSON array of
  one order in snake case (``[{"type": "Order", "user_email", "lines": [...]}]``);
- ``NOTIFY_USER``: ``{"notify_event": "order_confirmation", "payload": {"order": {...}}}``.

For the subscription shapes, register ``SUBSCRIPTION_QUERY`` below with the webhook;
amounts are GraphQL ``Float`` values, read exactly as Decimal from the JSON text. Saleor's
gross amounts are read everywhere, so ``taxes_included`` is true: the tax is part of the
total. The order is identified by ``number`` (``id`` when the query did not select it).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from contracts.envelope import Envelope
from contracts.upstream.orders import OrderPlaced, OrderShipped, PaymentReceived

from . import customer_topics
from .customer_topics import UnsupportedTopic
from .mapping import (
    Ignored,
    MappingError,
    PlatformConfig,
    Problems,
    address,
    build,
    decimal,
    get,
    identifier,
    items,
    language,
    message_id,
    obj,
    status_changed,
    version_of,
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

#: Register this query with the webhook (ORDER_CREATED, ORDER_UPDATED, ORDER_CONFIRMED,
#: ORDER_CANCELLED, ORDER_FULLY_PAID, ORDER_FULFILLED).
SUBSCRIPTION_QUERY = (
    "subscription { event { issuedAt version ... on OrderCreated { order { ...Order } } "
    "... on OrderUpdated { order { ...Order } } ... on OrderConfirmed { order { ...Order } } "
    "... on OrderCancelled { order { ...Order } } "
    "... on OrderFullyPaid { order { ...Order } } ... on OrderFulfilled { order { ...Order } } } }\n"
    f"fragment Order on Order {{{_ORDER_FIELDS}}}\n"
    "fragment Address on Address { firstName lastName companyName streetAddress1 streetAddress2 "
    "city cityArea postalCode country { code } countryArea phone }"
)

ORDER_ORIGINS = {
    "order_number": "order.number (or order.id)",
    "display_number": "order.number",
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
    "totals.taxes_included": "(gross amounts: true)",
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


#: ``data.<name>`` of the GraphQL envelope -> the event.
_ENVELOPE_EVENTS = {
    "orderCreated": "ORDER_CREATED",
    "orderUpdated": "ORDER_UPDATED",
    "orderConfirmed": "ORDER_CONFIRMED",
    "orderCancelled": "ORDER_CANCELLED",
    "orderFullyPaid": "ORDER_FULLY_PAID",
    "orderPaid": "ORDER_PAID",
    "orderFulfilled": "ORDER_FULFILLED",
}
#: NOTIFY_USER notifications that are about an order we take.
_NOTIFY_EVENTS = {
    "order_confirmation": "ORDER_CREATED",
    "order_confirmed": "ORDER_CREATED",
    "order_canceled": "ORDER_CANCELLED",
}


def map_event(topic: str, payload: Any, config: PlatformConfig) -> list[Envelope[Any]]:
    event_name = (topic or "").upper()
    # Customer events first: their bodies are never read as an order (nor kept, C18).
    envelope = payload.get("data") if isinstance(payload, dict) else None
    named, inner = event_name, payload
    if isinstance(envelope, dict) and len(envelope) == 1:
        (name, inner), *_ = envelope.items()
        named = customer_topics.saleor_event(name) if named in ("", "ANY_EVENTS") else named
    if customer_topics.is_customer_topic(PLATFORM, named):
        customer_topics.not_an_order(PLATFORM, named, inner, config)
    if event_name and event_name not in (*EVENTS, "ANY_EVENTS", "NOTIFY_USER"):
        raise UnsupportedTopic.at("Saleor-Event", f"unsupported event {event_name!r}; supported: {', '.join(EVENTS)}")
    if isinstance(payload, list):
        # Legacy payload: an array of one order, in snake case.
        if len(payload) != 1 or not isinstance(payload[0], dict):
            raise MappingError.at("body", "a legacy payload is an array of one order")
        return _dispatch(event_name or "ORDER_CREATED", {}, from_snake(payload[0]), config)
    if not isinstance(payload, dict):
        raise MappingError.at("body", "must be a JSON object")
    if isinstance(payload.get("data"), dict) and len(payload["data"]) == 1:
        name, inner = next(iter(payload["data"].items()))
        if isinstance(inner, dict) and name in _ENVELOPE_EVENTS:
            if not event_name or event_name in ("", "ANY_EVENTS"):
                event_name = _ENVELOPE_EVENTS[name]
            payload = inner
    if "notify_event" in payload:
        notify = payload.get("notify_event")
        if notify not in _NOTIFY_EVENTS:
            raise Ignored(f"NOTIFY_USER {notify!r} is not about an order we take")
        order = get(payload, "payload.order")
        if not isinstance(order, dict) or not order:
            raise MappingError.at("payload.order", "required, missing")
        return _dispatch(
            _NOTIFY_EVENTS[notify], {}, from_snake(order, email=get(payload, "payload.recipient_email")), config
        )
    if event_name == "NOTIFY_USER":
        raise MappingError.at("notify_event", "required, missing")
    order = obj(payload, "order")
    if not order:
        raise MappingError.at(
            "order",
            "required, missing: register the webhook with the subscription query (adapters.saleor.SUBSCRIPTION_QUERY)",
        )
    return _dispatch(event_name, payload, order, config)


def _dispatch(
    event_name: str, event: dict[str, Any], order: dict[str, Any], config: PlatformConfig
) -> list[Envelope[Any]]:
    handler = EVENTS.get(event_name)
    if handler is None:
        raise UnsupportedTopic.at("Saleor-Event", f"unsupported event {event_name!r}; supported: {', '.join(EVENTS)}")
    return handler(event, order, config)


def _snake_money(amount: Any, currency: Any) -> dict[str, Any] | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def _snake_address(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not raw:
        return None
    return {
        "firstName": raw.get("first_name"),
        "lastName": raw.get("last_name"),
        "companyName": raw.get("company_name"),
        "streetAddress1": raw.get("street_address_1"),
        "streetAddress2": raw.get("street_address_2"),
        "city": raw.get("city"),
        "cityArea": raw.get("city_area"),
        "postalCode": raw.get("postal_code"),
        "country": {"code": raw.get("country")},
        "countryArea": raw.get("country_area"),
        "phone": raw.get("phone"),
    }


def from_snake(order: dict[str, Any], *, email: Any = None) -> dict[str, Any]:
    """A legacy or NOTIFY_USER order (snake case, amounts as decimal strings) in the shape
    of the subscription answer, so one mapping reads them all."""
    currency = order.get("currency") or get(order, "channel.currency_code")
    lines = []
    for line in order.get("lines") or []:
        if line is None:
            continue  # no line (mapping.items)
        if not isinstance(line, dict):
            lines.append(line)
            continue
        line_currency = line.get("currency") or currency
        currency = currency or line_currency
        lines.append(
            {
                "productName": line.get("product_name"),
                "variantName": line.get("variant_name"),
                "productSku": line.get("product_sku"),
                "quantity": line.get("quantity"),
                "unitPrice": {"gross": _snake_money(line.get("unit_price_gross_amount"), line_currency)},
                "totalPrice": {
                    "gross": _snake_money(
                        line.get("total_gross_amount", line.get("total_price_gross_amount")), line_currency
                    )
                },
            }
        )
    subtotal = order.get("subtotal_gross_amount")
    if subtotal is None and lines:
        # The legacy payload has no subtotal: the lines' gross totals are it.
        try:
            subtotal = str(sum(Decimal(str(get(line, "totalPrice.gross.amount"))) for line in lines))
        except (ArithmeticError, ValueError, TypeError):
            subtotal = None
    total_gross, total_net = order.get("total_gross_amount"), order.get("total_net_amount")
    tax = order.get("tax_amount")
    if tax is None and total_gross is not None and total_net is not None:
        try:
            tax = str(Decimal(str(total_gross)) - Decimal(str(total_net)))
        except (ArithmeticError, ValueError, TypeError):
            tax = None  # the gross total's own reading names what is wrong with it
    discounts = order.get("discounts") or []
    if order.get("discount_amount") not in (None, 0, "0", "0.00"):
        discounts = [{"amount_value": order["discount_amount"]}]
    return {
        "id": order.get("id"),
        "number": order.get("number"),
        "created": order.get("created"),
        "updatedAt": order.get("last_change") or order.get("updated_at"),
        "status": (order.get("status") or "").upper() or None,
        "userEmail": order.get("user_email") or order.get("email") or email,
        "languageCodeEnum": order.get("language_code"),
        "shippingMethodName": order.get("shipping_method_name"),
        "user": {"id": order["user_id"]} if order.get("user_id") else None,
        "channel": {"slug": order.get("channel_slug") or get(order, "channel.slug")},
        "billingAddress": _snake_address(order.get("billing_address")),
        "shippingAddress": _snake_address(order.get("shipping_address")),
        "lines": lines,
        "subtotal": {"gross": _snake_money(subtotal, currency)},
        "shippingPrice": {"gross": _snake_money(order.get("shipping_price_gross_amount"), currency)},
        "total": {"gross": _snake_money(total_gross, currency), "tax": _snake_money(tax, currency)},
        "discounts": [
            {"amount": {"amount": d.get("amount_value"), "currency": currency}}
            for d in discounts
            if isinstance(d, dict)
        ],
        "fulfillments": [],
    }


def _amount(data: Any, path: str, problems: Problems, where: str = "order.") -> Decimal:
    value = get(data, path)
    if value is None:
        return Decimal(0)
    return problems.check(decimal, value, f"{where}{path}", default=Decimal(0))


def _address(raw: dict[str, Any]) -> dict[str, Any] | None:
    return address(
        first_name=raw.get("firstName"),
        last_name=raw.get("lastName"),
        company=raw.get("companyName"),
        line1=raw.get("streetAddress1"),
        line2=raw.get("streetAddress2"),
        city=raw.get("city"),
        region=raw.get("countryArea"),
        postal_code=raw.get("postalCode"),
        country=get(raw, "country.code") if isinstance(raw.get("country"), dict) else raw.get("country"),
        phone=raw.get("phone"),
    )


def _strict(read: Any, *args: Any, default: Any = None, **kwargs: Any) -> Any:
    """``Problems.check`` without a Problems: the first error is raised."""
    return read(*args, **kwargs)


def _key(order: dict[str, Any], problems: Problems | None = None) -> str:
    """The order's identity: its ``number``, or its ``id`` when the query did not select it."""
    read = problems.check if problems else _strict
    number = read(identifier, order.get("number"), "order.number")
    if number:
        return number
    return read(identifier, order.get("id"), "order.number", required=True, default="?") or "?"


def _ref(order: dict[str, Any], config: PlatformConfig, problems: Problems | None = None) -> dict[str, Any]:
    read = problems.check if problems else _strict
    return {
        "source_system": config.source_system,
        "order_number": _key(order, problems),
        "scope": read(config.scope_for, get(order, "channel.slug"), "order.channel.slug", default="?"),
    }


def _correlation(order: dict[str, Any]) -> str:
    try:
        key = identifier(order.get("id"), "order.id") or _key(order)
    except MappingError:
        key = "?"  # the order's own errors are reported by the message being built
    return message_id(PLATFORM, "order", key)


def order_created(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    user = problems.check(obj, order, "user", default={})
    billing = problems.check(obj, order, "billingAddress", default={})
    lines = []
    for index, line in enumerate(problems.check(items, order, "lines", default=[])):
        where = f"order.lines[{index}]."
        if not isinstance(line, dict):
            problems.add(f"order.lines[{index}]", "must be an object")
            continue
        name = " - ".join(p for p in (line.get("productName"), line.get("variantName")) if isinstance(p, str) and p)
        lines.append(
            {
                "sku": problems.check(identifier, line.get("productSku"), f"{where}productSku"),
                "name": name,
                "quantity": line.get("quantity"),
                "unit_price": problems.check(
                    decimal, get(line, "unitPrice.gross.amount"), f"{where}unitPrice.gross.amount", default=Decimal(0)
                ),
                "total": problems.check(
                    decimal, get(line, "totalPrice.gross.amount"), f"{where}totalPrice.gross.amount", default=Decimal(0)
                ),
            }
        )
    discount = sum(
        (
            problems.check(decimal, get(d, "amount.amount"), f"order.discounts[{i}].amount.amount", default=Decimal(0))
            for i, d in enumerate(problems.check(items, order, "discounts", default=[]))
        ),
        Decimal(0),
    )
    ref = _ref(order, config, problems)
    payload = {
        **ref,
        "display_number": problems.check(identifier, order.get("number"), "order.number"),
        "source_customer_id": problems.check(identifier, user.get("id"), "order.user.id"),
        "account_type": "registered" if user else "guest",
        "email": order.get("userEmail") or user.get("email"),
        "phone": billing.get("phone") or get(order, "shippingAddress.phone"),
        "first_name": user.get("firstName") or billing.get("firstName"),
        "last_name": user.get("lastName") or billing.get("lastName"),
        "preferred_language": language(order.get("languageCodeEnum")),
        "billing_address": _address(billing),
        "shipping_address": _address(problems.check(obj, order, "shippingAddress", default={})),
        "lines": lines,
        "totals": {
            "subtotal": _amount(order, "subtotal.gross.amount", problems),
            "shipping": _amount(order, "shippingPrice.gross.amount", problems),
            "tax": _amount(order, "total.tax.amount", problems),
            "discount": discount,
            "total": problems.check(
                decimal, get(order, "total.gross.amount"), "order.total.gross.amount", default=Decimal(0)
            ),
            # Gross amounts are read everywhere: the tax is inside them.
            "taxes_included": True,
        },
        "currency": get(order, "total.gross.currency"),
        "placed_at": order.get("created"),
        "status": order.get("status"),
    }
    return [
        build(
            OrderPlaced,
            config=config,
            message_id=message_id(PLATFORM, "order-placed", ref["order_number"], version_of(order)),
            correlation_id=_correlation(order),
            occurred_at=order.get("created"),
            payload=payload,
            origins=ORDER_ORIGINS,
            problems=problems,
        )
    ]


def _status_change(
    event: dict[str, Any], order: dict[str, Any], config: PlatformConfig, default_status: str, event_name: str
) -> Envelope[Any]:
    changed_at = event.get("issuedAt") or order.get("updatedAt") or order.get("created")
    status = order.get("status") or default_status
    ref = _ref(order, config)
    return status_changed(
        config,
        message_id=message_id(PLATFORM, event_name, ref["order_number"], status, changed_at),
        correlation_id=_correlation(order),
        order_number=ref["order_number"],
        scope=ref["scope"],
        status=status,
        changed_at=changed_at,
        origins=STATUS_ORIGINS,
    )


#: One Saleor event's mapper: (the event, its order, the platform's config) -> messages.
EventMapper = Callable[[dict[str, Any], dict[str, Any], PlatformConfig], list[Envelope[Any]]]


def order_changed(event_name: str, default_status: str) -> EventMapper:
    """ORDER_UPDATED, ORDER_CONFIRMED, ORDER_CANCELLED: the whole order again; placed if it
    was never received, and its status applied as a change."""

    def handle(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
        placed = order_created(event, order, config) if order.get("lines") or order.get("total") else []
        return placed + [_status_change(event, order, config, default_status, event_name)]

    return handle


def order_fully_paid(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    problems = Problems()
    charged = problems.check(obj, order, "totalCharged", default={})
    amount_path = "totalCharged.amount" if charged.get("amount") is not None else "total.gross.amount"
    paid_at = event.get("issuedAt") or order.get("updatedAt")
    order_id = problems.check(identifier, order.get("id"), "order.id", required=True, default="?")
    return [
        build(
            PaymentReceived,
            config=config,
            message_id=message_id(PLATFORM, "ORDER_FULLY_PAID", order_id),
            correlation_id=_correlation(order),
            occurred_at=paid_at,
            payload={
                **_ref(order, config, problems),
                "payment_id": f"{order_id}:fully-paid",
                "amount": problems.check(decimal, get(order, amount_path), f"order.{amount_path}", default=Decimal(0)),
                "currency": charged.get("currency") or get(order, "total.gross.currency"),
                "paid_at": paid_at,
            },
            origins=PAYMENT_ORIGINS,
            problems=problems,
        )
    ]


def order_fulfilled(event: dict[str, Any], order: dict[str, Any], config: PlatformConfig) -> list[Envelope[Any]]:
    ref = _ref(order, config)
    messages: list[Envelope[Any]] = []
    for index, fulfillment in enumerate(items(order, "fulfillments")):
        fulfillment_id = identifier(fulfillment.get("id"), f"order.fulfillments[{index}].id", required=True)
        if fulfillment.get("status") not in (None, "FULFILLED", "fulfilled"):
            continue  # a fulfillment waiting for approval, cancelled or returned has not shipped
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
                        {
                            "sku": get(line, "orderLine.productSku"),
                            "name": get(line, "orderLine.productName"),
                            "quantity": line.get("quantity"),
                        }
                        for line in items(fulfillment, "lines")
                    ],
                    "shipped_at": fulfillment.get("created"),
                },
                origins=SHIPMENT_ORIGINS,
            )
        )
    if not messages:
        raise MappingError.at("order.fulfillments", "required, missing: a fulfilled order has a fulfilled fulfillment")
    messages.append(_status_change(event, order, config, "FULFILLED", "ORDER_FULFILLED"))
    return messages


EVENTS: dict[str, EventMapper] = {
    "ORDER_CREATED": order_created,
    "ORDER_UPDATED": order_changed("ORDER_UPDATED", "UNFULFILLED"),
    "ORDER_CONFIRMED": order_changed("ORDER_CONFIRMED", "UNFULFILLED"),
    "ORDER_CANCELLED": order_changed("ORDER_CANCELLED", "CANCELED"),
    "ORDER_FULLY_PAID": order_fully_paid,
    "ORDER_FULFILLED": order_fulfilled,
}


def topic_from_routing(tail: str) -> str:
    return tail.upper()


def routing_from_topic(topic: str) -> str:
    return (topic or "order_created").lower()
