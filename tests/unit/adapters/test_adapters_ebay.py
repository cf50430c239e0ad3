"""O8: eBay Sell Fulfillment API orders, as a poller publishes them to the adapters' queue,
become our order contract: a German buyer paid, a US buyer's order partly shipped (its
shipping fulfillment), a French buyer's cancelled order; O1: a broken order is a field error
naming eBay's field, never a crash; no card number survives. Payloads: platforms/ebay/ (README
there)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from adapters import ebay, rules
from adapters.customer_topics import UnsupportedTopic, id_skeleton
from adapters.handlers import privacy_body
from adapters.mapping import MappingError, PlatformConfig, PrivacyRequested
from adapters.marketplace import without_card_data
from contracts.upstream.cards import card_numbers_in
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

from .platform_samples import sample, sample_bytes

SCOPES = {"EBAY_DE": "de", "EBAY_FR": "fr"}
CARD = "4111 1111 1111 1111"  # Visa's test number: passes the Luhn check


def config(**extra: Any) -> PlatformConfig:
    return PlatformConfig(platform="ebay", source_system="ebay:acme", **{"scope": "intl", "scopes": SCOPES, **extra})


def translate(body: bytes, topic: str = "", **extra: Any) -> list[Any]:
    """As the broker route reads a message: the raw bytes, then the mapper."""
    payload = rules.read_payload(body, max_bytes=5_000_000, max_depth=64)
    return rules.map_payload("ebay", ebay.map_event, topic, payload, config(**extra))


def mapped(name: str, body: Any = None, topic: str = "") -> list[Any]:
    return translate(json.dumps(body, default=str).encode() if body is not None else sample_bytes("ebay", name), topic)


def refused(body: Any, topic: str = "", **extra: Any) -> list[str]:
    with pytest.raises(MappingError) as caught:
        translate(json.dumps(body, default=str).encode(), topic, **extra)
    assert all(f.reason for f in caught.value.fields)
    return [f.field for f in caught.value.fields]


def adds_up(order: Any) -> bool:
    t = order.totals
    return bool(t.subtotal + t.shipping + t.tax - t.discount == t.total)


def test_o8_ebay_order_of_a_german_buyer_paid() -> None:
    messages = mapped("order-de-paid.json")
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged, PaymentReceived]
    order = messages[0].payload
    assert (order.order_number, order.source_customer_id, order.account_type, order.scope) == (
        "07-11234-56789",
        "juergen.weiss_1978",  # buyer.username: every later order of this member links to it
        "registered",
        "de",  # EBAY_DE through the scopes
    )
    assert (order.email, order.phone, order.first_name, order.last_name) == (
        "5f2a9c0d81e7b3a4c6d2@members.ebay.de",  # the relay, kept: order-sync reads it as no evidence
        "+49 89 23456780",
        "Jürgen",
        "Weiß",
    )
    billing, shipping = order.billing_address, order.shipping_address
    assert (billing.line1, billing.city, billing.region, billing.postal_code, billing.country) == (
        "Sendlinger Straße 12",
        "München",
        "Bayern",
        "80331",
        "DE",
    )
    assert (shipping.line1, shipping.line2, shipping.postal_code, shipping.last_name) == (
        "Packstation 118",
        "Postnummer 123456789",
        "80335",
        "Weiß",
    )
    assert [(line.sku, line.name, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("KAF-1150-SW", "Kaffeemühle „Bergland“ aus Buchenholz, Mahlgrad einstellbar", 2, Decimal("29.90"), Decimal("59.80")),
        ("FIL-102-4", "Papierfilter Größe 4, 200 Stück", 1, Decimal("6.49"), Decimal("6.49")),
    ]  # fmt: skip
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("66.29"),
        Decimal("4.95"),
        Decimal("0.00"),
        Decimal("5.00"),  # priceDiscount -5.00
        Decimal("66.24"),
        False,
    )
    assert adds_up(order)
    assert (order.currency, order.placed_at.isoformat(), order.status) == (
        "EUR",
        "2024-03-14T09:21:45+00:00",
        "NOT_STARTED",
    )
    status = messages[1].payload
    assert (status.status, status.changed_at.isoformat(), status.scope) == (
        "NOT_STARTED",
        "2024-03-14T09:23:02+00:00",
        "de",
    )
    paid = messages[2].payload
    assert (paid.payment_id, paid.amount, paid.currency, paid.method, paid.paid_at.isoformat()) == (
        "4F7A21C9D03E5B18",
        Decimal("66.24"),  # what the buyer paid, not what eBay pays the seller (58.57)
        "EUR",
        "EBAY",
        "2024-03-14T09:21:47.316000+00:00",
    )


def test_o8_ebay_ship_to_a_company_is_the_address_s_company_not_a_person() -> None:
    """A business buyer ships to 'ML Bau & Energie GmbH' (a real eBay order's ship-to): the
    address's company, with no first name 'ML Bau & Energie' and last name 'GmbH'; the buyer
    is still the registered member."""
    body = sample("ebay", "order-de-paid.json")
    ship_to = body["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]
    ship_to["fullName"] = "ML Bau & Energie GmbH"
    order = mapped("", body)[0].payload
    shipping = order.shipping_address
    assert (shipping.company, shipping.first_name, shipping.last_name) == ("ML Bau & Energie GmbH", None, None)
    assert (order.first_name, order.last_name) == ("Jürgen", "Weiß")
    body["buyer"]["buyerRegistrationAddress"]["fullName"] = "Weiß Haustechnik GmbH & Co. KG"
    order = mapped("", body)[0].payload
    assert (order.first_name, order.last_name) == (None, None)  # a company is no person's name


def test_o7_o8_ebay_partially_shipped_order_with_its_shipping_fulfillment() -> None:
    messages = mapped("order-us-partially-shipped.json")
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged, PaymentReceived, OrderShipped]
    order = messages[0].payload
    assert (order.scope, order.first_name, order.last_name, order.phone) == (
        "intl",  # EBAY_US has no scope of its own: the default
        "Mary-Kate",
        "O'Neill",
        "2065550147",  # the registration's phone; the ship-to contact's is on the address
    )
    shipping = order.shipping_address
    assert (shipping.company, shipping.line1, shipping.line2, shipping.region, shipping.phone) == (
        "Fremont Print Co",
        "3501 Fremont Ave N",
        "Suite 200",
        "WA",
        "2065550198",
    )
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("LED-STRIP-5M-RGB", 3, Decimal("14.99")),
        ("PSU-12V-5A", 1, Decimal("12.99")),
    ]
    totals = order.totals
    # Free shipping (deliveryDiscount -8.50); the sales tax eBay collects and remits is not in the total.
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total) == (
        Decimal("57.96"),
        Decimal("8.50"),
        Decimal("0.00"),
        Decimal("8.50"),
        Decimal("57.96"),
    )
    assert adds_up(order) and order.currency == "USD"
    assert messages[1].payload.status == "IN_PROGRESS"
    shipment = messages[3].payload
    assert (shipment.order_number, shipment.shipment_id, shipment.carrier, shipment.tracking_number) == (
        "26-10482-77315",
        "1Z999AA10123456784",
        "UPS",
        "1Z999AA10123456784",
    )
    assert [(line.sku, line.name, line.quantity) for line in shipment.lines] == [
        ("LED-STRIP-5M-RGB", "LED Strip Lights 5m RGB, Remote Control", 3)  # only the line item shipped
    ]
    assert shipment.shipped_at.isoformat() == "2024-05-04T13:02:44+00:00"
    # The bare order (no fulfillments read): its status only, no shipment.
    bare = sample("ebay", "order-us-partially-shipped.json")["order"]
    assert [type(m) for m in mapped("", bare)] == [OrderPlaced, OrderStatusChanged, PaymentReceived]


def test_o7_o8_ebay_cancelled_order_of_a_french_buyer() -> None:
    messages = mapped("order-fr-cancelled.json")
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]  # refunded: no payment
    order = messages[0].payload
    assert (order.first_name, order.last_name, order.email, order.scope) == (
        "Amélie",
        "de La Fontaine",  # the particles go with the family name
        "a91c3e7f05d2b8e4f6a1@members.ebay.fr",
        "fr",
    )
    assert (order.shipping_address.line1, order.shipping_address.line2, order.billing_address.region) == (
        "12 rue des Écoles",
        "Bâtiment B, 3e étage",
        "Île-de-France",
    )
    assert [line.name for line in order.lines] == ["Théière en fonte « Sakura » 0,8 L"]
    assert (order.totals.shipping, order.totals.total, order.status) == (Decimal("6.90"), Decimal("41.80"), "CANCELED")
    change = messages[1].payload
    assert (change.status, change.changed_at.isoformat()) == ("CANCELED", "2024-04-09T07:45:12+00:00")


def test_o8_ebay_ids_follow_the_order_s_state_and_routing_keys() -> None:
    first = mapped("order-de-paid.json")
    assert [m.message_id for m in first] == [m.message_id for m in mapped("order-de-paid.json")]
    body = sample("ebay", "order-de-paid.json")
    body["orderFulfillmentStatus"] = "FULFILLED"
    body["lastModifiedDate"] = "2024-03-15T08:00:00.000Z"
    again = mapped("", body)
    assert again[0].message_id != first[0].message_id  # a new version of the order
    assert again[0].correlation_id == first[0].correlation_id
    assert again[1].message_id != first[1].message_id and again[1].payload.status == "FULFILLED"
    assert again[2].message_id == first[2].message_id  # paid once per order
    shipped = sample("ebay", "order-us-partially-shipped.json")
    tracked = mapped("order-us-partially-shipped.json")[3].message_id
    shipped["fulfillments"][0]["shipmentTrackingNumber"] = "1Z999AA10123456785"
    assert mapped("", shipped)[3].message_id == tracked  # one shipment per fulfillment
    assert ebay.routing_from_topic("") == "order" and ebay.topic_from_routing("order") == "order"
    assert [type(m) for m in mapped("order-de-paid.json", topic="order")][0] is OrderPlaced


def test_o1_o8_ebay_broken_order_is_a_field_error_naming_ebay_s_field() -> None:
    assert refused([{"orderId": "1"}]) == ["body"]
    assert refused({"orders": [sample("ebay", "order-de-paid.json")], "total": 1}) == ["orders"]
    assert refused({"href": "https://api.ebay.com/sell/fulfillment/v1/order"}) == ["orderId"]
    assert refused({"order": "07-11234-56789"}) == ["order"]
    assert refused({"order": sample("ebay", "order-de-paid.json"), "fulfillments": {"fulfillmentId": "1"}}) == [
        "fulfillments"
    ]
    with pytest.raises(UnsupportedTopic) as unsupported:
        translate(sample_bytes("ebay", "order-de-paid.json"), "item.sold")
    assert unsupported.value.fields[0].field == "topic"
    # Every bad field of one order, by its eBay name.
    body = sample("ebay", "order-de-paid.json")
    body["lineItems"][0]["quantity"] = 0
    body["lineItems"][1]["lineItemCost"]["value"] = "lots"
    body["buyer"]["username"] = {"id": 5}
    body["creationDate"] = "2026-02-31T10:00:00Z"  # no such day
    del body["pricingSummary"]["total"]
    assert refused(body) == [
        "pricingSummary.total.currency",
        "lineItems[0].quantity",
        "lineItems[1].lineItemCost.value",
        "buyer.username",
        "pricingSummary.total.value",
        "creationDate",
    ]
    # No scope for the marketplace, and no default: named where the marketplace is.
    assert refused(sample("ebay", "order-fr-cancelled.json"), scope=None, scopes={}) == [
        "lineItems[0].purchaseMarketplaceId"
    ]
    # A value of a type nobody expected is kept as a dead letter, never a crash.
    odd = sample("ebay", "order-de-paid.json")
    odd["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]["contactAddress"] = ["Packstation 118"]
    assert refused(odd) == [f"{ebay.SHIP_TO}.contactAddress"]


def test_o8_ebay_no_card_number_survives() -> None:
    body = sample("ebay", "order-us-partially-shipped.json")
    order = body["order"]
    order["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]["contactAddress"]["addressLine2"] = CARD
    order["buyer"]["buyerRegistrationAddress"]["fullName"] = f"Mary-Kate O'Neill {CARD.replace(' ', '')}"
    order["lineItems"][1]["title"] = f"12V 5A Power Supply Adapter (card {CARD})"
    order["buyerCheckoutNotes"] = f"please charge {CARD.replace(' ', '-')}"
    order["lineItems"][0]["lineItemId"] = "4111111111111111"  # an id that passes Luhn: not a card number
    body["fulfillments"][0]["lineItems"][0]["lineItemId"] = "4111111111111111"
    raw = json.dumps(body, default=str).encode()
    assert card_numbers_in(raw.decode())
    # As every platform's order: a card number in a field the contract reads is that field's
    # error (contracts.upstream.cards), and the order is dead-lettered, not published.
    with pytest.raises(MappingError) as refused_order:
        translate(raw)
    assert {"lineItems[1].title"} <= {f.field for f in refused_order.value.fields}
    # What the dead letter keeps: masked, ids as they were; replayed, it maps, masked.
    kept = without_card_data(raw)
    assert CARD not in kept.decode() and kept.decode().count("4111111111111111") == 2, kept  # the two ids
    assert json.loads(kept)["order"]["lineItems"][0]["lineItemId"] == "4111111111111111"
    messages = translate(kept)
    assert not card_numbers_in("\n".join(m.model_dump_json() for m in messages))
    assert messages[0].payload.shipping_address.line2 == "**** **** **** 1111"
    assert (messages[0].payload.first_name, messages[0].payload.last_name) == ("Mary-Kate O'Neill", "************1111")
    assert messages[3].payload.lines[0].sku == "LED-STRIP-5M-RGB"  # the line item still found by its id
    clean = sample_bytes("ebay", "order-de-paid.json")
    assert without_card_data(clean) == clean  # no card number: byte for byte


def test_c18_o8_ebay_marketplace_account_deletion_asks_to_erase_the_buyer_by_username() -> None:
    """C18: eBay's Marketplace Account Deletion notification (which every application keeping
    eBay data must honour) becomes a deletion request for the buyer its orders name, ids only."""
    notification = {
        "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0", "deprecated": False},
        "notification": {
            "notificationId": "49feeaeb-4982-42d9-a377-9645b8479411_33f7e043-fed8-442b-9d44-791923bd9a6d",
            "eventDate": "2026-11-28T20:43:59.462Z",
            "publishDate": "2026-11-28T20:43:59.679Z",
            "publishAttemptCount": 1,
            "data": {
                "username": "amelie_fontaine75",
                "userId": "ma8vp1jySJC",
                "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6w",
            },
        },
    }
    with pytest.raises(PrivacyRequested) as deleted:
        translate(json.dumps(notification).encode(), "MARKETPLACE_ACCOUNT_DELETION")
    request = deleted.value.request
    assert (request["kind"], request["source_customer_id"]) == ("deletion", "amelie_fontaine75")


def test_c18_o8_ebay_deletion_kept_as_its_ids_maps_again_to_the_same_request() -> None:
    """C18: what travels on and is kept of the deletion is its ids: the username (eBay's account
    id) and the notification's, no more; another platform's username is not kept."""
    body = json.dumps(
        {
            "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION"},
            "notification": {"notificationId": "n-1", "data": {"username": "amelie_fontaine75", "userId": "u1"}},
            "note": "Amélie de La Fontaine, amelie@example.fr",
        }
    ).encode()
    with pytest.raises(PrivacyRequested) as deleted:
        translate(body, "MARKETPLACE_ACCOUNT_DELETION")
    kept = privacy_body("ebay", "MARKETPLACE_ACCOUNT_DELETION", deleted.value.request, body)
    assert b"Fontaine," not in kept and b"example.fr" not in kept
    with pytest.raises(PrivacyRequested) as again:
        translate(kept, "MARKETPLACE_ACCOUNT_DELETION")
    assert again.value.request == deleted.value.request
    assert b"amelie_fontaine75" not in id_skeleton(body, "woocommerce")
