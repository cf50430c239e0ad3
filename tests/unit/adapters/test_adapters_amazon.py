"""O8: Amazon Selling Partner API orders (Orders v0 getOrder with its restricted buyer data and
getOrderItems), as a poller publishes them to the adapters' queue, become our order contract:
a German buyer's order (VAT in the prices), a French buyer's gift, a US buyer with a phone
extension partly shipped (tax on top), a cancelled order, ORDER_CHANGE notifications; the
marketplace picks the scope; O1: a broken order is a field error naming Amazon's field, never
a crash; no card number survives. Payloads: platforms/amazon/ (README there)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from adapters import amazon, rules
from adapters.customer_topics import UnsupportedTopic
from adapters.mapping import Ignored, MappingError, PlatformConfig
from adapters.marketplace import without_card_data
from contracts.upstream.cards import card_numbers_in
from contracts.upstream.orders import OrderPlaced, OrderStatusChanged

from .platform_samples import sample, sample_bytes

#: amazon.de and amazon.fr have scopes of their own; the rest take the default.
SCOPES = {"A1PA6795UKMFR9": "de", "A13V1IB3VIYZZH": "fr"}
CARD = "5555 5555 5555 4444"  # Mastercard's test number: passes the Luhn check


def config(**extra: Any) -> PlatformConfig:
    return PlatformConfig(
        platform="amazon", source_system="amazon:acme", **{"scope": "intl", "scopes": SCOPES, **extra}
    )


def translate(body: bytes, topic: str = "", **extra: Any) -> list[Any]:
    """As the broker route reads a message: the raw bytes, then the mapper."""
    payload = rules.read_payload(body, max_bytes=5_000_000, max_depth=64)
    return rules.map_payload("amazon", amazon.map_event, topic, payload, config(**extra))


def mapped(name: str, body: Any = None, topic: str = "", **extra: Any) -> list[Any]:
    raw = json.dumps(body, default=str).encode() if body is not None else sample_bytes("amazon", name)
    return translate(raw, topic, **extra)


def refused(body: Any, topic: str = "", **extra: Any) -> list[str]:
    with pytest.raises(MappingError) as caught:
        mapped("", body, topic, **extra)
    assert all(f.reason for f in caught.value.fields)
    return [f.field for f in caught.value.fields]


def adds_up(order: Any) -> bool:
    t = order.totals
    if t.taxes_included:
        return bool(t.subtotal + t.shipping - t.discount == t.total)
    return bool(t.subtotal + t.shipping + t.tax - t.discount == t.total)


def test_o8_amazon_getorder_of_a_german_buyer_with_vat_in_the_prices() -> None:
    messages = mapped("getorder-de-unshipped.json")
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]
    order = messages[0].payload
    assert (order.order_number, order.display_number, order.source_customer_id, order.account_type) == (
        "302-6938471-5520317",
        None,  # the buyer sees AmazonOrderId itself
        None,  # Amazon names no buyer account
        "guest",
    )
    assert (order.scope, order.email, order.phone, order.first_name, order.last_name) == (
        "de",  # MarketplaceId A1PA6795UKMFR9 (amazon.de)
        "3x7qk2m9f1d8w5c@marketplace.amazon.de",  # the relay, kept: order-sync reads it as no evidence
        "0211 98765432",
        "Hans-Jürgen",
        "Köhler",
    )
    shipping = order.shipping_address
    assert (shipping.line1, shipping.line2, shipping.city, shipping.region, shipping.postal_code) == (
        "Königsallee 27",
        "3. OG",
        "Düsseldorf",
        "Nordrhein-Westfalen",
        "40212",
    )
    assert (shipping.country, order.billing_address) == ("DE", None)  # Amazon gives no billing address
    assert [(line.sku, line.name, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("DE-WKZ-4410", "Werkzeugkoffer 108-teilig, Chrom-Vanadium", 1, Decimal("79.99"), Decimal("79.99")),
        ("DE-BIT-T7", "Bit-Satz Torx T10–T40, 7-teilig", 2, Decimal("12.99"), Decimal("25.98")),
    ]
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("105.97"),
        Decimal("4.99"),
        Decimal("16.44"),  # ItemTax + ShippingTax - PromotionDiscountTax: the VAT in the prices
        Decimal("8.00"),
        Decimal("102.96"),
        True,
    )
    assert adds_up(order)
    assert (order.currency, order.placed_at.isoformat(), order.status) == (
        "EUR",
        "2024-03-14T09:21:45+00:00",
        "Unshipped",
    )
    change = messages[1].payload
    assert (change.status, change.changed_at.isoformat(), change.scope) == (
        "Unshipped",
        "2024-03-14T09:52:10+00:00",
        "de",
    )


def test_o8_amazon_orders_api_2026_reads_the_same_order_by_its_new_names() -> None:
    """The Orders API 2026-01-01 (Amazon's successor to v0, which it deprecates): getOrder's
    ``{"order": ...}`` with ``orderId``, ``buyer``, ``recipient.deliveryAddress``, each item's
    proceeds broken down. The same contract, and v0's status names, whichever the poller reads."""
    messages = mapped("orders-2026-getorder-de-unshipped.json")
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]
    order = messages[0].payload
    assert (order.order_number, order.scope, order.account_type, order.source_customer_id) == (
        "305-4419827-6630118",
        "de",  # salesChannel.marketplaceId A1PA6795UKMFR9
        "guest",
        None,
    )
    assert (order.email, order.phone, order.first_name, order.last_name) == (
        "7mqxkz2v4tb0hn8@marketplace.amazon.de",
        "+49 341 2286410",
        "Katharina",
        "von Wedel",
    )
    shipping = order.shipping_address
    assert (shipping.line1, shipping.line2, shipping.city, shipping.region, shipping.postal_code, shipping.country) == (
        "Lindenstraße 14",
        "Hinterhaus",
        "Leipzig",
        "Sachsen",
        "04109",
        "DE",
    )
    # The cancelled item (quantity 0) is no line; one without a seller SKU is its ASIN.
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("TK-GUSS-09", 2, Decimal("24.95"), Decimal("49.90")),
        ("B07QH1Z9WD", 1, Decimal("12.98"), Decimal("12.98")),
    ]
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("62.88"),
        Decimal("3.99"),
        Decimal("9.88"),
        Decimal("5.00"),
        Decimal("61.87"),
        True,  # the items' ITEM, SHIPPING and DISCOUNT parts make the grand total: VAT in the prices
    )
    assert adds_up(order)
    assert (order.currency, order.placed_at.isoformat(), order.status) == (
        "EUR",
        "2026-11-28T16:42:09+00:00",
        "Unshipped",
    )
    change = messages[1].payload
    assert (change.status, change.changed_at.isoformat()) == ("Unshipped", "2026-11-28T17:05:51+00:00")
    # The Order bare is read alike.
    bare = sample("amazon", "orders-2026-getorder-de-unshipped.json")["order"]
    assert mapped("", bare)[0].payload == order


def test_o7_o8_amazon_orders_api_2026_pending_is_ignored_and_a_cancelled_order_without_money_is_its_status() -> None:
    body = sample("amazon", "orders-2026-getorder-de-unshipped.json")
    body["order"]["fulfillment"]["fulfillmentStatus"] = "PENDING"
    with pytest.raises(Ignored):
        mapped("", body)
    body["order"]["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    del body["order"]["proceeds"]
    (change,) = mapped("", body)
    assert isinstance(change, OrderStatusChanged) and change.payload.status == "Canceled"
    body = sample("amazon", "orders-2026-getorder-de-unshipped.json")
    body["order"]["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] = "lots"
    body["order"]["proceeds"]["grandTotal"]["currencyCode"] = None
    assert refused(body) == [
        "order.proceeds.grandTotal.currencyCode",
        "order.orderItems[0].product.price.unitPrice.amount",
    ]


def test_o8_amazon_us_buyer_with_a_phone_extension_partly_shipped_tax_on_top() -> None:
    messages = mapped("order-us-partially-shipped.json")
    # No OrderShipped, no PaymentReceived: Orders v0 names no shipment or payment.
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]
    order = messages[0].payload
    assert (order.scope, order.phone, order.shipping_address.phone) == (
        "intl",  # ATVPDKIKX0DER has no scope of its own: the default
        "+1 480-555-0177 ext. 50813",  # as Amazon gives it, the extension kept
        "+1 480-555-0177 ext. 50813",
    )
    assert (order.first_name, order.last_name, order.email) == (
        "Robert J.",
        "Whitfield",
        "q8r5w1x2k7m3n9d@marketplace.amazon.com",
    )
    assert (order.shipping_address.region, order.shipping_address.postal_code, order.shipping_address.line2) == (
        "AZ",
        "85286-1580",
        "Unit 14",
    )
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("US-MUG-CER-12", 1, Decimal("18.99"), Decimal("18.99")),
        ("US-POUR-OVER-02", 2, Decimal("15.99"), Decimal("31.98")),
    ]
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("50.97"),
        Decimal("4.99"),
        Decimal("4.62"),
        Decimal("3.20"),
        Decimal("57.38"),
        False,  # US prices are net: the tax on top
    )
    assert adds_up(order) and order.currency == "USD"
    assert (order.status, messages[1].payload.status) == ("PartiallyShipped", "PartiallyShipped")


def test_o8_amazon_french_buyer_s_gift_with_the_items_as_getorderitems_returns_them() -> None:
    [placed, change] = mapped("order-fr-shipped-gift.json")
    order = placed.payload
    assert (order.scope, order.first_name, order.last_name, order.phone) == (
        "fr",
        "Élodie",
        "Lefèvre",
        "+33 4 78 12 34 56",
    )
    assert (order.shipping_address.line1, order.shipping_address.line2) == (
        "8 place Bellecour",
        "Escalier C, Digicode 4821",  # AddressLine2, AddressLine3
    )
    assert [(line.sku, line.name) for line in order.lines] == [
        ("FR-THE-JH12", "Coffret de thés « Jardin d'hiver », 12 sachets")
    ]
    totals = order.totals
    # The gift wrap is charged like shipping; its VAT is in the tax.
    assert (totals.subtotal, totals.shipping, totals.tax, totals.total, totals.taxes_included) == (
        Decimal("39.90"),
        Decimal("3.99"),
        Decimal("7.32"),
        Decimal("43.89"),
        True,
    )
    assert adds_up(order)
    assert (change.payload.status, change.payload.changed_at.isoformat()) == ("Shipped", "2024-04-03T10:18:54+00:00")
    # Without its items: no lines, the total alone.
    body = sample("amazon", "order-fr-shipped-gift.json")
    del body["OrderItems"]
    bare = mapped("", body)[0].payload
    assert (bare.lines, bare.totals.subtotal, bare.totals.total) == ([], Decimal("43.89"), Decimal("43.89"))


def test_o7_o8_amazon_cancelled_order_is_a_status_change() -> None:
    [change] = mapped("order-uk-canceled.json")  # cancelled before it had a total: nothing to place
    assert isinstance(change, OrderStatusChanged)
    assert (change.payload.order_number, change.payload.status, change.payload.changed_at.isoformat()) == (
        "203-4419982-6371545",
        "Canceled",
        "2024-02-11T20:02:48+00:00",
    )
    # Cancelled after it was placed (a total, an item cancelled with QuantityOrdered 0 left out).
    body = sample("amazon", "order-us-partially-shipped.json")
    body["OrderStatus"] = "Canceled"
    body["OrderItems"][1]["QuantityOrdered"] = 0
    messages = mapped("", body)
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]
    assert [line.sku for line in messages[0].payload.lines] == ["US-MUG-CER-12"]
    assert messages[1].payload.status == "Canceled"
    for status in ("Pending", "PendingAvailability"):
        body["OrderStatus"] = status
        with pytest.raises(Ignored) as ignored:
            mapped("", body)
        assert ignored.value.kind == "pending order"


def test_o7_o8_amazon_order_change_notification_is_a_status_change() -> None:
    [change] = mapped("order-change-status.json", topic="ORDER_CHANGE")
    assert isinstance(change, OrderStatusChanged)
    assert (change.payload.order_number, change.payload.status, change.payload.scope) == (
        "114-3941689-8772232",
        "Shipped",
        "intl",
    )
    assert change.payload.changed_at.isoformat() == "2024-05-23T18:04:57.106000+00:00"  # TimeOfOrderChange
    assert change.correlation_id == mapped("order-us-partially-shipped.json")[0].correlation_id
    body = sample("amazon", "order-change-status.json")
    notification = body["Payload"]["OrderChangeNotification"]
    notification["OrderChangeType"] = "BuyerRequestedChange"
    with pytest.raises(Ignored):
        mapped("", body)
    notification["OrderChangeType"] = "OrderStatusChange"
    notification["Summary"]["OrderStatus"] = "Pending"
    with pytest.raises(Ignored):
        mapped("", body)
    del notification["Summary"]
    assert refused(body) == ["Payload.OrderChangeNotification.Summary"]
    del body["Payload"]
    assert refused(body) == ["Payload.OrderChangeNotification"]
    with pytest.raises(UnsupportedTopic) as unsupported:
        mapped("", {"NotificationType": "ANY_OFFER_CHANGED", "Payload": {}})
    assert unsupported.value.fields[0].field == "NotificationType"


def test_o8_amazon_marketplace_picks_the_scope() -> None:
    assert amazon.scope_for("A1PA6795UKMFR9", config()) == "de"
    assert amazon.scope_for("A1F83G8C2ARO7P", config()) == "intl"  # amazon.co.uk: the default
    with pytest.raises(MappingError) as caught:
        amazon.scope_for("A1F83G8C2ARO7P", config(scope=None))
    assert [f.field for f in caught.value.fields] == ["MarketplaceId"]
    assert refused(sample("amazon", "getorder-de-unshipped.json"), scope=None, scopes={}) == ["MarketplaceId"]
    [change] = mapped("order-change-status.json", scopes={"ATVPDKIKX0DER": "us"})
    assert change.payload.scope == "us"


def test_o1_o8_amazon_broken_order_is_a_field_error_naming_amazon_s_field() -> None:
    assert refused(["302-6938471-5520317"]) == ["body"]
    assert refused({"payload": "302-6938471-5520317"}) == ["payload"]
    assert refused({"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}) == ["AmazonOrderId"]
    with pytest.raises(UnsupportedTopic) as unsupported:
        mapped("getorder-de-unshipped.json", topic="FEED_PROCESSING_FINISHED")
    assert unsupported.value.fields[0].field == "topic"
    # Every bad field of one order, by its Amazon name.
    body = sample("amazon", "getorder-de-unshipped.json")
    order = body["payload"]
    order["OrderItems"][0]["ItemPrice"]["Amount"] = "lots"
    order["OrderItems"][1]["QuantityOrdered"] = -1
    order["OrderItems"][1]["SellerSKU"] = ["DE-BIT-T7"]
    order["PurchaseDate"] = "2026-02-31T10:00:00Z"  # no such day
    del order["OrderTotal"]
    assert refused(body) == [
        "OrderTotal.CurrencyCode",
        "OrderTotal.Amount",
        "OrderItems[0].ItemPrice.Amount",
        "OrderItems[1].SellerSKU",
        "OrderItems[1].QuantityOrdered",
        "PurchaseDate",
    ]
    no_items = sample("amazon", "order-fr-shipped-gift.json")
    no_items["OrderItems"] = {"AmazonOrderId": "403-1178265-9904319", "OrderItems": "none"}
    assert refused(no_items) == ["OrderItems"]
    # A value of a type nobody expected is kept as a dead letter, never a crash.
    odd = sample("amazon", "order-us-partially-shipped.json")
    odd["ShippingAddress"] = ["2250 E Germann Rd"]
    assert refused(odd) == ["ShippingAddress"]


def test_o8_amazon_ids_follow_the_order_s_state_and_routing_keys() -> None:
    first = mapped("order-us-partially-shipped.json")
    assert [m.message_id for m in first] == [m.message_id for m in mapped("order-us-partially-shipped.json")]
    body = sample("amazon", "order-us-partially-shipped.json")
    body["OrderStatus"], body["LastUpdateDate"] = "Shipped", "2024-05-23T18:04:57Z"
    again = mapped("", body)
    assert again[0].message_id != first[0].message_id and again[0].correlation_id == first[0].correlation_id
    assert again[1].message_id != first[1].message_id and again[1].payload.status == "Shipped"
    # getOrder's answer and the Order bare are one order, the same ids.
    wrapped = mapped("", {"payload": sample("amazon", "order-us-partially-shipped.json")})
    assert [m.message_id for m in wrapped] == [m.message_id for m in first]
    assert amazon.routing_from_topic("") == "order" and amazon.topic_from_routing("ORDER_CHANGE") == "ORDER_CHANGE"
    assert [type(m) for m in mapped("order-us-partially-shipped.json", topic="order")] == [
        OrderPlaced,
        OrderStatusChanged,
    ]


def test_o8_amazon_no_card_number_survives() -> None:
    body = sample("amazon", "getorder-de-unshipped.json")
    order = body["payload"]
    order["ShippingAddress"]["AddressLine2"] = CARD
    order["OrderItems"][0]["Title"] = f"Werkzeugkoffer (Karte {CARD.replace(' ', '')})"
    order["OrderItems"][0]["BuyerInfo"] = {"GiftMessageText": f"Zahlung: {CARD}"}
    order["BuyerInfo"]["PurchaseOrderNumber"] = CARD.replace(" ", "-")
    order["OrderItems"][1]["OrderItemId"] = "5555555555554444"  # an id that passes Luhn: not a card number
    raw = json.dumps(body, default=str, ensure_ascii=False).encode()
    assert card_numbers_in(raw.decode())
    # As every platform's order: a card number in a field the contract reads is that field's
    # error (contracts.upstream.cards), and the order is dead-lettered, not published.
    with pytest.raises(MappingError) as refused_order:
        translate(raw)
    assert refused_order.value.fields
    # What the dead letter keeps: masked, ids as they were; replayed, it maps, masked.
    kept = without_card_data(raw)
    assert CARD not in kept.decode() and kept.decode().count("5555555555554444") == 1, kept
    items = json.loads(kept)["payload"]["OrderItems"]
    # The sample's own OrderItemId passes the Luhn check too, starting with 5: an id, kept.
    assert [item["OrderItemId"] for item in items] == ["53091487226081", "5555555555554444"]
    messages = translate(kept)
    assert not card_numbers_in("\n".join(m.model_dump_json() for m in messages))
    assert messages[0].payload.shipping_address.line2 == "**** **** **** 4444"
    assert messages[0].payload.lines[0].name == "Werkzeugkoffer (Karte ************4444)"
    clean = sample_bytes("amazon", "order-us-partially-shipped.json")
    assert without_card_data(clean) == clean  # no card number: byte for byte
