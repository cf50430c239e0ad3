"""O8: Shopware 6 app webhooks become our order contract: orders placed (registered, guest;
gross and net prices), order states, paid transactions, shipped deliveries; the shop's
signature is checked. Payloads: platforms/shopware/ (README there)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from adapters import shopware
from adapters.customer_topics import UnsupportedTopic
from adapters.handlers import PLATFORM_ADAPTERS, kept_body, privacy_body, routing_key, translate
from adapters.mapping import Ignored, MappingError, PlatformConfig, PrivacyRequested
from adapters.settings import AdapterSettings
from adapters.signatures import Verifier, hmac_hex
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

from .platform_samples import sample, sample_bytes

SECRET = "shopware-shop-secret"
SETTINGS = AdapterSettings(shopware_scope="eu-de", shopware_source_system="shopware:acme")
PLATFORM = PLATFORM_ADAPTERS["shopware"]
ORDER_ID = "0191e3c9f8a27b4e9d5a1c2b3d4e5f60"
DEFAULT_CURRENCY = "b7d2554b0ce847cd82f3ac9bd1c0dfca"


def config(**extra: Any) -> PlatformConfig:
    return PlatformConfig(platform="shopware", source_system="shopware:acme", scope="eu-de", **extra)


def mapped(name: str, body: Any = None, **extra: Any) -> list[Any]:
    return shopware.map_event("", body if body is not None else sample("shopware", name), config(**extra))


def adds_up(order: Any) -> bool:
    t = order.totals
    if t.taxes_included:
        return bool(t.subtotal + t.shipping - t.discount == t.total)
    return bool(t.subtotal + t.shipping + t.tax - t.discount == t.total)


def test_o8_shopware_signature_is_the_hex_hmac_of_the_raw_body_with_the_shop_secret() -> None:
    body = sample_bytes("shopware", "checkout-order-placed-registered.json")
    verifier = Verifier(AdapterSettings(shopware_secret=SECRET))
    assert verifier.verify("shopware", body, {"shopware-shop-signature": hmac_hex(SECRET, body)})
    assert verifier.verify("shopware", body, {"shopware-shop-signature": hmac_hex(SECRET, body).upper()})
    assert not verifier.verify("shopware", body, {"shopware-shop-signature": hmac_hex("another", body)})
    assert not verifier.verify("shopware", body[:-1], {"shopware-shop-signature": hmac_hex(SECRET, body)})
    assert not verifier.verify("shopware", body, {})  # unsigned: 401
    assert not Verifier(AdapterSettings()).verify("shopware", body, {"shopware-shop-signature": hmac_hex("", body)})


def test_o8_shopware_order_placed_by_a_registered_customer_with_gross_prices() -> None:
    [placed] = mapped("checkout-order-placed-registered.json")
    order = placed.payload
    assert (order.order_number, order.display_number, order.source_customer_id, order.account_type) == (
        ORDER_ID,
        "10042",
        "f3c1a2b4d5e6478899aabbccddeeff00",
        "registered",
    )
    assert (order.email, order.phone, order.first_name, order.last_name, order.preferred_language) == (
        "max.mustermann@example.de",
        "+49 2555 928850",
        "Max",
        "Mustermann",
        "de-DE",
    )
    billing, shipping = order.billing_address, order.shipping_address
    assert (billing.line1, billing.city, billing.region, billing.postal_code, billing.country) == (
        "Ebbinghoff 10",
        "Schöppingen",
        "North Rhine-Westphalia",
        "48624",
        "DE",
    )
    assert (shipping.line1, shipping.line2, shipping.city, shipping.phone) == (
        "Kurze Straße 3",
        "c/o Musterfirma GmbH",
        "Münster",
        None,
    )
    # The promotion line is the discount, not a line.
    assert [(line.sku, line.name, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("SW10003", "Aerodynamic Cotton Sweat Pants", 2, Decimal("29.99"), Decimal("59.98")),
        ("SW10011", "Lightweight Steel Cup", 1, Decimal("19.95"), Decimal("19.95")),
    ]
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("79.93"),
        Decimal("4.99"),
        Decimal("12.28"),
        Decimal("7.99"),
        Decimal("76.93"),
        True,  # taxStatus gross: the prices include the 19 % VAT
    )
    assert adds_up(order)
    assert (order.currency, order.placed_at.isoformat(), order.status) == (
        "EUR",
        "2024-03-14T09:21:45.123000+00:00",
        "open",
    )


def test_o8_shopware_guest_order_with_net_prices() -> None:
    [placed] = mapped("checkout-order-placed-guest-net.json")
    order = placed.payload
    assert (order.display_number, order.source_customer_id, order.account_type) == ("10043", None, "guest")
    # The billing address has no phone: the delivery address's.
    assert (order.email, order.phone, order.preferred_language) == (
        "olivia.brown@example.co.uk",
        "+44 20 7946 0958",
        "en-GB",
    )
    assert (order.billing_address.company, order.billing_address.line2, order.billing_address.country) == (
        "Brown Studio Ltd",
        "Flat 3",
        "GB",
    )
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.total, totals.taxes_included) == (
        Decimal("30.00"),
        Decimal("5.00"),
        Decimal("6.65"),
        Decimal("41.65"),
        False,  # taxStatus net: tax on top
    )
    assert adds_up(order)


def test_o8_shopware_guest_is_told_by_the_customer_record_else_by_no_customer_number() -> None:
    body = sample("shopware", "checkout-order-placed-registered.json")
    order_customer = body["data"]["payload"]["order"]["orderCustomer"]
    del order_customer["customer"]  # the association not loaded: the customer number says
    assert mapped("", body)[0].payload.account_type == "registered"
    order_customer["customerNumber"] = None
    guest = mapped("", body)[0].payload
    assert (guest.account_type, guest.source_customer_id) == ("guest", None)


def test_o8_shopware_currency_by_id_only_is_read_from_the_settings() -> None:
    body = sample("shopware", "checkout-order-placed-guest-net.json")
    del body["data"]["payload"]["order"]["currency"]
    with pytest.raises(MappingError) as caught:
        mapped("", body)
    assert [f.field for f in caught.value.fields] == ["currencyId"]
    assert "OMS_ADAPTERS_SHOPWARE_CURRENCIES" in caught.value.fields[0].reason
    settings = AdapterSettings(shopware_scope="eu-de", shopware_currencies={DEFAULT_CURRENCY: "EUR"})
    [placed] = translate(settings, PLATFORM, "", json.dumps(body, default=str).encode())
    assert placed.payload.currency == "EUR"


def test_o7_o8_shopware_paid_transaction_is_a_payment_once_per_order() -> None:
    messages = mapped("state-enter-transaction-paid.json")
    assert [type(m) for m in messages] == [OrderPlaced, PaymentReceived]
    paid = messages[1].payload
    assert (paid.order_number, paid.payment_id, paid.amount, paid.currency, paid.method) == (
        ORDER_ID,
        "018e3a1btransaction0000000000t01",
        Decimal("76.93"),
        "EUR",
        "Kreditkarte",  # the payment method as the shop names it
    )
    assert paid.paid_at.isoformat() == "2024-03-14T09:25:10.388000+00:00"
    # The order again: the same correlation; a new version of it (its transaction changed).
    [first] = mapped("checkout-order-placed-registered.json")
    assert messages[0].correlation_id == first.correlation_id and messages[0].message_id != first.message_id
    body = sample("shopware", "state-enter-transaction-paid.json")
    for state in ("authorized", "refunded", "paid_partially"):
        body["data"]["event"] = f"state_enter.order_transaction.state.{state}"
        with pytest.raises(Ignored):
            mapped("", body)


def test_o7_o8_shopware_shipped_delivery_with_its_tracking_code_and_positions() -> None:
    messages = mapped("state-enter-delivery-shipped.json")
    assert [type(m) for m in messages] == [OrderPlaced, OrderShipped]
    shipment = messages[1].payload
    assert (shipment.order_number, shipment.shipment_id, shipment.carrier, shipment.tracking_number) == (
        ORDER_ID,
        "018e3a1bdelivery0000000000000d01",
        "Standard",
        "00340434161094042557",
    )
    assert shipment.tracking_url.endswith("piececode=00340434161094042557")
    assert [(line.sku, line.name, line.quantity) for line in shipment.lines] == [
        ("SW10003", "Aerodynamic Cotton Sweat Pants", 2),
        ("SW10011", "Lightweight Steel Cup", 1),
    ]
    assert shipment.shipped_at.isoformat() == "2024-03-15T14:02:00.874000+00:00"
    assert messages[0].payload.status == "in_progress"
    body = sample("shopware", "state-enter-delivery-shipped.json")
    body["data"]["event"] = "state_enter.order_delivery.state.returned"
    with pytest.raises(Ignored):
        mapped("", body)


def test_o7_o8_shopware_order_state_is_a_status_change() -> None:
    body = sample("shopware", "state-enter-delivery-shipped.json")
    body["data"]["event"] = "state_enter.order.state.cancelled"
    messages = mapped("", body)
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]
    change = messages[1].payload
    assert (change.status, change.changed_at.isoformat(), change.scope) == (
        "cancelled",
        "2024-03-15T14:02:00.901000+00:00",  # the order's updatedAt
        "eu-de",
    )
    body["data"]["payload"]["order"]["updatedAt"] = None  # else the webhook's timestamp
    assert mapped("", body)[1].payload.changed_at.isoformat() == "2024-03-15T14:02:00+00:00"


def test_o8_shopware_entity_events_are_ignored_and_other_events_refused() -> None:
    with pytest.raises(Ignored) as ignored:
        translate(SETTINGS, PLATFORM, "", sample_bytes("shopware", "order-written.json"))
    assert "checkout.order.placed" in ignored.value.reason
    product = {"data": {"payload": [{"entity": "product", "primaryKey": "abc"}], "event": "product.written"}}
    with pytest.raises(UnsupportedTopic) as unsupported:
        translate(SETTINGS, PLATFORM, "", json.dumps(product).encode())
    assert unsupported.value.fields[0].field == "data.event"


def test_o8_shopware_body_of_the_wrong_shape_is_a_dead_letter_naming_the_field() -> None:
    def refused(body: Any, topic: str = "") -> list[str]:
        with pytest.raises(MappingError) as caught:
            translate(SETTINGS, PLATFORM, topic, json.dumps(body, default=str).encode())
        assert all(f.reason for f in caught.value.fields)
        return [f.field for f in caught.value.fields]

    assert refused([{"order": {}}]) == ["body"]
    assert refused({"payload": {"order": {}}, "event": "checkout.order.placed"}) == ["data"]  # not in data
    assert refused({"data": {"payload": {}}}) == ["data.event"]
    assert refused({"data": {"payload": "order", "event": "checkout.order.placed"}}) == ["data.payload"]
    assert refused({"data": {"payload": {"orderId": "x"}, "event": "checkout.order.placed"}}) == ["data.payload.order"]
    ids_only = {"data": {"payload": [{"entity": "order", "primaryKey": ORDER_ID}], "event": "checkout.order.placed"}}
    assert refused(ids_only) == ["data.payload"]
    # Every bad field of one order, by its Shopware name (lines counted as Shopware counts them).
    body = sample("shopware", "checkout-order-placed-registered.json")
    order = body["data"]["payload"]["order"]
    order["lineItems"][1]["unitPrice"] = "lots"
    order["lineItems"][0]["quantity"] = 0
    order["orderCustomer"]["customerId"] = {"id": 5}
    order["orderDateTime"] = "2026-02-31T10:00:00.000+00:00"  # no such day
    assert refused(body) == [
        "lineItems[0].quantity",
        "lineItems[1].unitPrice",
        "orderCustomer.customerId",
        "orderDateTime",
    ]
    no_scope = AdapterSettings(shopware_source_system="shopware:acme")
    with pytest.raises(MappingError) as caught:
        translate(no_scope, PLATFORM, "", sample_bytes("shopware", "checkout-order-placed-registered.json"))
    assert [f.field for f in caught.value.fields] == ["salesChannelId"]
    assert (
        translate(
            AdapterSettings(shopware_scopes={"98432def39fc4624b33213a56b8c944d": "de"}),
            PLATFORM,
            "",
            sample_bytes("shopware", "checkout-order-placed-registered.json"),
        )[0].payload.scope
        == "de"
    )


def test_c18_o8_shopware_customer_topics_and_deletions_keep_ids_only() -> None:
    personal = ("max.mustermann", "Max", "Mustermann")
    body = sample_bytes("shopware", "checkout-customer-deleted.json")
    with pytest.raises(PrivacyRequested) as deleted:
        translate(SETTINGS, PLATFORM, "", body)
    request = deleted.value.request
    assert (request["kind"], request["source_customer_id"], request["shop"], request["request_id"]) == (
        "deletion",
        "f3c1a2b4d5e6478899aabbccddeeff00",
        "dgrH7nLU6tlE",  # source.shopId
        "checkout.customer.deleted:f3c1a2b4d5e6478899aabbccddeeff00",
    )
    passed_on = privacy_body("shopware", request["topic"], request, body)
    assert not [p for p in personal if p in passed_on.decode()], passed_on
    with pytest.raises(PrivacyRequested) as again:
        translate(SETTINGS, PLATFORM, request["topic"], passed_on)
    assert again.value.request == request
    # The entity deleted (ids only): the same request by its primaryKey.
    entity = {
        "data": {"payload": [{"entity": "customer", "operation": "delete", "primaryKey": request["source_customer_id"]}], "event": "customer.deleted"},
        "source": {"shopId": "dgrH7nLU6tlE", "url": "https://shop.example.de"},
        "timestamp": 1710600000,
    }  # fmt: skip
    raw = json.dumps(entity).encode()
    with pytest.raises(PrivacyRequested) as by_entity:
        translate(SETTINGS, PLATFORM, "", raw)
    assert by_entity.value.request["source_customer_id"] == request["source_customer_id"]
    assert (
        json.loads(privacy_body("shopware", "customer.deleted", by_entity.value.request, raw))["data"] == entity["data"]
    )
    for event in ("checkout.customer.register", "customer.written", "customer_address.written"):
        registered = {"data": {"payload": {"customer": {"email": "max.mustermann@example.de"}}, "event": event}}
        with pytest.raises(Ignored) as ignored:
            translate(SETTINGS, PLATFORM, "", json.dumps(registered).encode())
        assert ignored.value.kind == "customer topic"
    # A deletion without its customer: dead-lettered with its ids only.
    nobody = json.dumps(
        {"data": {"payload": {"customerEmail": "max.mustermann@example.de"}, "event": "checkout.customer.deleted"}}
    )
    with pytest.raises(MappingError) as caught:
        translate(SETTINGS, PLATFORM, "", nobody.encode())
    assert not [p for p in personal if p in kept_body("shopware", "", nobody.encode(), caught.value).decode()]


def test_o8_shopware_ids_and_routing_keys() -> None:
    first = mapped("checkout-order-placed-registered.json")
    assert [m.message_id for m in first] == [m.message_id for m in mapped("checkout-order-placed-registered.json")]
    shipped = mapped("state-enter-delivery-shipped.json")
    again = sample("shopware", "state-enter-delivery-shipped.json")
    again["data"]["payload"]["order"]["deliveries"][0]["trackingCodes"] = ["00340434161094042558"]
    assert mapped("", again)[1].message_id == shipped[1].message_id  # one shipment per delivery
    assert routing_key(PLATFORM, "checkout.order.placed") == "platform.shopware.checkout.order.placed"
    assert routing_key(PLATFORM, "") == "platform.shopware.event"
    assert PLATFORM.topic_from_routing("event") == "" and PLATFORM.topic_from_routing("checkout.order.placed") == (
        "checkout.order.placed"
    )
    # On the broker route the routing key names the event when the body does not.
    body = sample("shopware", "checkout-order-placed-guest-net.json")
    del body["data"]["event"]
    assert [
        type(m) for m in translate(SETTINGS, PLATFORM, "checkout.order.placed", json.dumps(body, default=str).encode())
    ] == [OrderPlaced]
