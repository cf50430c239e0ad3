"""O8: Adobe Commerce / Magento 2 orders (REST entity, Commerce Webhooks, Adobe I/O Events)
become our order contract; the forwarding relay's signature is checked; card data is never
published or kept. Payloads: platforms/magento/ (README there)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from adapters import magento
from adapters.customer_topics import NotAnOrder, UnsupportedTopic
from adapters.handlers import PLATFORM_ADAPTERS, kept_body, privacy_body, redact_dead_letter, routing_key, translate
from adapters.mapping import Ignored, MappingError, PlatformConfig, PrivacyRequested
from adapters.settings import AdapterSettings
from adapters.signatures import Verifier, hmac_base64
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

from .platform_samples import sample, sample_bytes

SECRET = "magento-relay-secret"
SETTINGS = AdapterSettings(magento_scope="eu-fr", magento_source_system="magento:acme")
PLATFORM = PLATFORM_ADAPTERS["magento"]
#: The card data of order-registered-rest.json's payment: never in a message or a dead letter.
CARD_DATA = ("cc_last4", "1111", "cc_exp", "2027", "cc_owner", "cc_type", "xxxx", "cc_number", "Visa", "cc_trans_id")


def config(**extra: Any) -> PlatformConfig:
    return PlatformConfig(platform="magento", source_system="magento:acme", scope="eu-fr", **extra)


def mapped(name: str, topic: str = "", **extra: Any) -> list[Any]:
    return magento.map_event(topic, sample("magento", name), config(**extra))


def published(messages: list[Any]) -> str:
    return "\n".join(m.model_dump_json() for m in messages)


def test_o8_magento_signature_is_the_relay_s_base64_hmac_of_the_raw_body() -> None:
    body = sample_bytes("magento", "order-registered-rest.json")
    verifier = Verifier(AdapterSettings(magento_secret=SECRET))
    assert verifier.verify("magento", body, {"x-magento-hmac-sha256": hmac_base64(SECRET, body)})
    assert not verifier.verify("magento", body, {"x-magento-hmac-sha256": hmac_base64("another", body)})
    assert not verifier.verify("magento", body + b" ", {"x-magento-hmac-sha256": hmac_base64(SECRET, body)})
    assert not verifier.verify("magento", body, {"x-magento-event": "sales_order_place_after"})  # unsigned: 401
    # No secret configured: nothing is accepted, however it is signed.
    assert not Verifier(AdapterSettings()).verify("magento", body, {"x-magento-hmac-sha256": hmac_base64("", body)})


def test_o8_magento_rest_order_of_a_registered_customer_paid_by_card() -> None:
    messages = mapped("order-registered-rest.json", "observer.checkout_submit_all_after")
    assert [type(m) for m in messages] == [OrderPlaced, PaymentReceived]  # total_paid = grand_total
    order = messages[0].payload
    assert (order.order_number, order.display_number, order.source_customer_id, order.account_type) == (
        "12",
        "000000012",
        "1",
        "registered",
    )
    assert (order.email, order.phone, order.first_name, order.last_name) == (
        "roni_cost@example.com",
        "(555) 229-3326",
        "Veronica",
        "Costello",
    )
    assert order.preferred_language is None  # a Magento order names no locale: the scope's applies
    billing, shipping = order.billing_address, order.shipping_address
    assert (billing.line1, billing.line2, billing.city, billing.region, billing.postal_code, billing.country) == (
        "6146 Honey Bluff Parkway",
        None,
        "Calder",
        "Michigan",
        "49628-7978",
        "US",
    )
    # The shipping address of the first shipping assignment; street lines 2+ are line2.
    assert (shipping.line1, shipping.line2, shipping.city, shipping.phone) == (
        "3 Cherry Lane",
        "Apt 2",
        "Ann Arbor",
        "(555) 229-3327",
    )
    assert [(line.sku, line.name, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        ("24-MB01", "Joust Duffle Bag", 2, Decimal("34.00"), Decimal("68.00")),
        ("24-WG02", "Didi Sport Watch", 1, Decimal("92.00"), Decimal("92.00")),
    ]
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("160.00"),
        Decimal("10.00"),
        Decimal("13.20"),
        Decimal("0.00"),
        Decimal("183.20"),
        False,
    )
    assert (order.currency, order.placed_at.isoformat(), order.status) == (
        "USD",
        "2024-03-14T09:21:45+00:00",  # created_at is UTC without an offset
        "processing",
    )
    paid = messages[1].payload
    assert (paid.payment_id, paid.amount, paid.currency, paid.method, paid.paid_at.isoformat()) == (
        "7f3k2m9q",  # the gateway's transaction
        Decimal("183.20"),
        "USD",
        "Credit Card (Braintree)",  # the method's title, not its card
        "2024-03-14T09:23:02+00:00",
    )


def test_o8_magento_guest_order_as_commerce_webhooks_send_the_model_s_data() -> None:
    messages = mapped("order-guest-webhook-observer.json", scopes={"2": "fr-store"})
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]  # saved; not paid
    order = messages[0].payload
    assert (order.order_number, order.display_number, order.source_customer_id, order.account_type) == (
        "31",
        "200000031",
        None,
        "guest",
    )
    assert order.scope == "fr-store"  # store_id "2"
    assert (order.email, order.first_name, order.phone) == ("chloe.martin@example.fr", "Chloé", "+33 1 42 00 00 00")
    # addresses[] by address_type; the street's line break splits line1 and line2.
    assert (order.billing_address.line1, order.billing_address.line2, order.billing_address.country) == (
        "12 rue de Rivoli",
        "Bâtiment B",
        "FR",
    )
    assert order.shipping_address is not None and order.shipping_address.postal_code == "75004"
    # The database's "43.3300" and "1.0000" as the currency writes them.
    body = json.loads(messages[0].model_dump_json())["payload"]
    assert body["lines"] == [
        {
            "sku": "MH01-XS-Black",
            "name": "Chaz Kangeroo Hoodie",
            "quantity": "1",
            "unit_price": "43.33",
            "total": "43.33",
        }
    ]
    assert body["totals"] == {
        "subtotal": "43.33",
        "shipping": "4.17",
        "tax": "9.50",
        "discount": "0.00",
        "total": "57.00",
        "taxes_included": False,
    }
    change = messages[1].payload
    assert (change.status, change.changed_at.isoformat(), change.scope) == (
        "pending",
        "2024-03-14T17:05:13+00:00",
        "fr-store",
    )


def test_o8_magento_configurable_product_is_one_line_and_gift_cards_are_part_of_the_total() -> None:
    messages = mapped("order-configurable-io-event.json")  # the CloudEvent's type names the event
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged, PaymentReceived]
    order = messages[0].payload
    assert (order.source_customer_id, order.account_type, order.billing_address.company) == (
        "7",
        "registered",
        "Lopez & Hijos SL",
    )
    # The configurable parent (price, chosen variant's sku) once; its child item left out.
    assert [(line.sku, line.name, line.quantity, line.total) for line in order.lines] == [
        ("MH01-M-Gray", "Chaz Kangeroo Hoodie", 1, Decimal("52.00")),
        ("24-UG06", "Affirm Water Bottle", 2, Decimal("14.00")),
    ]
    totals = order.totals
    # grand_total 59.15 is what remained after the 10.00 gift card: the order cost 69.15.
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total) == (
        Decimal("66.00"),
        Decimal("5.00"),
        Decimal("4.75"),
        Decimal("6.60"),
        Decimal("69.15"),
    )
    assert totals.subtotal + totals.shipping + totals.tax - totals.discount == totals.total
    paid = messages[2].payload
    assert (paid.payment_id, paid.amount, paid.method) == ("5XJ02917KD4406238", Decimal("59.15"), "paypal_express")


def test_o8_magento_configurable_child_sent_without_its_parent_item_id_is_no_line_of_its_own() -> None:
    """An Adobe I/O subscription's field list may leave parent_item_id (and product_type) out:
    the child, priced nothing under its parent's sku, is still the parent's line. An item priced
    nothing under a sku of its own (a free gift) stays a line."""
    body = sample("magento", "order-configurable-io-event.json")
    order = body["data"]["value"]
    order["items"] = [
        {k: v for k, v in i.items() if k not in ("parent_item_id", "product_type")} for i in order["items"]
    ]
    order["items"].append({"item_id": "204", "sku": "GIFT-BAG", "name": "Gift bag", "qty_ordered": "1.0000",
                           "price": "0.0000", "row_total": "0.0000"})  # fmt: skip
    lines = magento.map_event("", body, config())[0].payload.lines
    assert [(line.sku, line.quantity, line.total) for line in lines] == [
        ("MH01-M-Gray", 1, Decimal("52.00")),
        ("24-UG06", 2, Decimal("14.00")),
        ("GIFT-BAG", 1, Decimal("0.00")),
    ]


def test_o8_magento_bundle_priced_by_its_parts_is_its_parts() -> None:
    body = sample("magento", "order-registered-rest.json")
    body["items"] = [
        {"item_id": 50, "product_type": "bundle", "sku": "24-WG080", "name": "Sprite Yoga Companion Kit",
         "qty_ordered": 1, "price": 0, "row_total": 0},
        {"item_id": 51, "parent_item_id": 50, "product_type": "simple", "sku": "24-WG084", "name": "Sprite Foam Yoga Brick",
         "qty_ordered": 1, "price": 5, "row_total": 5},
        {"item_id": 52, "parent_item_id": 50, "product_type": "simple", "sku": "24-WG086", "name": "Sprite Yoga Strap 8 foot",
         "qty_ordered": 1, "price": 17, "row_total": 17},
    ]  # fmt: skip
    order = magento.map_event("", body, config())[0].payload
    assert [(line.sku, line.total) for line in order.lines] == [
        ("24-WG084", Decimal("5.00")),
        ("24-WG086", Decimal("17.00")),
    ]


def test_o8_magento_every_shape_of_one_order_gives_the_same_messages() -> None:
    order = sample("magento", "order-registered-rest.json")
    event = "sales_order_save_commit_after"
    shapes = [
        ({**order}, "observer." + event),  # bare, the header names the event
        ({"eventName": event, "data": {"order": order}}, ""),  # Commerce Webhooks / a module's observer
        ({"type": f"com.adobe.commerce.observer.{event}", "data": {"value": order}}, ""),  # Adobe I/O Events
        ({"event": event, "data": {"order": order}}, ""),
        ({"order": {"increment_id": order["increment_id"]}, "result": order}, event),  # an after plugin
    ]
    ids = [[m.message_id for m in magento.map_event(topic, body, config())] for body, topic in shapes]
    assert all(len(found) == 3 for found in ids) and all(found == ids[0] for found in ids), ids
    # A retried delivery is the same; a changed order a new version, its payment the same one.
    changed = {**order, "status": "complete", "updated_at": "2024-03-16 08:00:00"}
    again = [m.message_id for m in magento.map_event(event, changed, config())]
    assert again[0] != ids[0][0] and again[1] != ids[0][1] and again[2] == ids[0][2]


def test_o8_magento_shipment_is_shipped_once_with_its_first_track() -> None:
    [shipped] = mapped("shipment-created-observer.json")
    assert isinstance(shipped, OrderShipped)
    payload = shipped.payload
    assert (payload.order_number, payload.shipment_id, payload.carrier, payload.tracking_number) == (
        "12",  # the order's entity_id, as the REST order's
        "5",
        "United Parcel Service",
        "1Z999AA10123456784",
    )
    assert [(line.sku, line.quantity) for line in payload.lines] == [("24-MB01", 2), ("24-WG02", 1)]
    assert payload.shipped_at.isoformat() == "2024-03-15T10:02:11+00:00"
    assert shipped.correlation_id == mapped("order-registered-rest.json")[0].correlation_id
    # Saved again with a second track: the same shipment, never a second shipping email.
    body = sample("magento", "shipment-created-observer.json")
    body["eventName"] = "sales_order_shipment_save_commit_after"
    body["data"]["shipment"]["tracks"].append({"track_number": "1Z999AA10123456799", "title": "UPS"})
    assert magento.map_event("", body, config())[0].message_id == shipped.message_id


def test_o8_magento_order_not_saved_yet_names_the_events_to_subscribe() -> None:
    body = sample("magento", "order-guest-webhook-observer.json")
    body["eventName"] = "sales_order_place_after"
    order = body["data"]["order"]
    del order["entity_id"]  # Magento saves the order after this event: its parts name no order yet
    for part in (*order["items"], order["payment"], *order["addresses"]):
        part["order_id" if "order_id" in part else "parent_id"] = None
    with pytest.raises(MappingError) as caught:
        magento.map_event("", body, config())
    [error] = caught.value.fields
    assert error.field == "entity_id" and "sales_order_save_commit_after" in error.reason


def test_o8_magento_saved_order_whose_event_left_its_entity_id_out_is_named_by_its_parts() -> None:
    """An Adobe I/O subscription lists the fields its events carry; one without ``entity_id``
    still names the saved order in its items' ``order_id`` and its payment's and addresses'
    ``parent_id``: the same order as with it. Magento's JSON writes an empty
    ``extension_attributes`` as ``[]``: no attributes, no error."""
    whole = mapped("order-guest-webhook-observer.json")
    body = sample("magento", "order-guest-webhook-observer.json")
    del body["data"]["order"]["entity_id"]
    body["data"]["order"]["extension_attributes"] = []
    messages = magento.map_event("", body, config())
    assert messages[0].payload.order_number == whole[0].payload.order_number == "31"
    assert messages[0].payload == whole[0].payload


def test_o8_magento_body_of_the_wrong_shape_is_a_dead_letter_naming_the_field() -> None:
    def refused(body: Any, topic: str = "") -> list[tuple[str, str]]:
        with pytest.raises(MappingError) as caught:
            translate(SETTINGS, PLATFORM, topic, json.dumps(body).encode())
        return [(f.field, f.reason) for f in caught.value.fields]

    assert refused([]) == [("body", "must be a JSON object")]
    assert refused({"eventName": "sales_order_save_after", "data": {"order": [1, 2]}})[0][0] == "data.order"
    assert refused({"eventName": "sales_order_save_after", "data": {}})[0][0] == "entity_id"
    assert refused({"eventName": "catalog_product_save_after", "data": {"product": {"sku": "x"}}}) == [
        ("event", f"unsupported event 'catalog_product_save_after'; supported: {', '.join(magento.EVENTS)}")
    ]
    # Every bad field of one order, by its Magento name (items counted as Magento counts them).
    body = sample("magento", "order-configurable-io-event.json")
    order = body["data"]["value"]
    order["items"][2]["price"] = "lots"  # the third item, the second line
    order["customer_id"] = {"id": 5}
    order["created_at"] = "2026-02-31 10:00:00"  # no such day
    order["addresses"][0]["street"] = {"line": 1}
    order["order_currency_code"] = "EURO"
    assert [field for field, _ in refused(body)] == [
        "order_currency_code",
        "items[2].price",
        "customer_id",
        "addresses[0].street",
        "created_at",
    ]


def test_o8_magento_card_data_is_never_published_nor_kept_in_a_dead_letter() -> None:
    raw = sample_bytes("magento", "order-registered-rest.json")
    assert all(card in raw.decode() for card in ("cc_last4", "1111", "xxxx-1111"))  # the sample has them
    messages = translate(SETTINGS, PLATFORM, "sales_order_save_after", raw)
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged, PaymentReceived]
    text = published(messages)
    assert not [card for card in CARD_DATA if card in text], text
    # Not mappable (no scope for it yet): the dead letter keeps the order without card data...
    unscoped = AdapterSettings(magento_source_system="magento:acme")
    with pytest.raises(MappingError) as caught:
        translate(unscoped, PLATFORM, "sales_order_save_after", raw)
    assert [f.field for f in caught.value.fields] == ["store_id"]
    kept = kept_body("magento", "sales_order_save_after", raw, caught.value)
    assert not [card for card in CARD_DATA if card in kept.decode()], kept
    assert json.loads(kept)["payment"] == {
        "amount_authorized": 183.2,
        "amount_ordered": 183.2,
        "amount_paid": 183.2,
        "base_amount_ordered": 183.2,
        "base_amount_paid": 183.2,
        "base_shipping_amount": 10,
        "entity_id": 12,
        "last_trans_id": "7f3k2m9q",
        "method": "braintree",
        "parent_id": 12,
        "shipping_amount": 10,
    }
    assert b'"grand_total": 183.2' in kept  # numbers written as they came
    # ... and replayed once the scope is set, it publishes what the original would have.
    assert [m.message_id for m in translate(SETTINGS, PLATFORM, "sales_order_save_after", kept)] == [
        m.message_id for m in messages
    ]
    # Plumbing's dead letters on the broker route (retries exhausted) the same way.
    assert redact_dead_letter("platform.magento.sales_order_save_after", raw) == kept
    # A body with no card data is kept byte for byte; one that is not JSON as it came.
    shipment = sample_bytes("magento", "shipment-created-observer.json")
    assert kept_body("magento", "", shipment) == shipment
    # The empty card fields Magento keeps for a check / money order go too.
    guest = kept_body("magento", "", sample_bytes("magento", "order-guest-webhook-observer.json"))
    assert json.loads(guest)["data"]["order"]["payment"] == {
        "entity_id": "31",
        "parent_id": "31",
        "method": "checkmo",
        "amount_ordered": "57.0000",
    }
    assert kept_body("magento", "", b'{"payment": {"cc_last4": "1111"') == b'{"payment": {"cc_last4": "1111"'


def test_o8_magento_unknown_events_and_customer_topics() -> None:
    with pytest.raises(UnsupportedTopic) as unsupported:
        translate(
            SETTINGS,
            PLATFORM,
            "observer.sales_order_invoice_pay",
            sample_bytes("magento", "order-registered-rest.json"),
        )
    kept = kept_body(
        "magento",
        "observer.sales_order_invoice_pay",
        sample_bytes("magento", "order-registered-rest.json"),
        unsupported.value,
    )
    assert "roni_cost" not in kept.decode() and not [c for c in CARD_DATA if c in kept.decode()]
    customer = json.dumps(
        {"eventName": "customer_save_after", "data": {"customer": {"entity_id": "1", "email": "roni_cost@example.com"}}}
    )
    with pytest.raises(Ignored) as ignored:
        translate(SETTINGS, PLATFORM, "", customer.encode())
    assert ignored.value.kind == "customer topic"
    body = sample_bytes("magento", "customer-deleted-observer.json")
    with pytest.raises(PrivacyRequested) as deletion:
        translate(SETTINGS, PLATFORM, "", body)
    request = deletion.value.request
    assert (request["kind"], request["source_customer_id"], request["request_id"], request["shop"]) == (
        "deletion",
        "1",
        "customer_delete_commit_after:1",
        "magento:acme",
    )
    passed_on = privacy_body("magento", request["topic"], request, body)
    assert not [p for p in ("roni_cost", "Veronica", "Costello", "1973") if p in passed_on.decode()]
    with pytest.raises(PrivacyRequested) as again:  # the ids passed on map to the same request
        translate(SETTINGS, PLATFORM, magento.topic_from_routing(request["topic"]), passed_on)
    assert again.value.request == request
    # A customer posted with no event named is not read as an order: its ids only are kept.
    bare = json.dumps({"entity_id": "1", "email": "roni_cost@example.com", "firstname": "Veronica"}).encode()
    with pytest.raises(NotAnOrder) as not_an_order:
        translate(SETTINGS, PLATFORM, "", bare)
    assert json.loads(kept_body("magento", "", bare, not_an_order.value)) == {"entity_id": "1"}
    # The header's plugin name is the same deletion.
    plugin = json.dumps({"customerId": 1}).encode()
    with pytest.raises(PrivacyRequested) as by_plugin:
        translate(SETTINGS, PLATFORM, "plugin.magento.customer.api.customer_repository.delete_by_id", plugin)
    assert by_plugin.value.request["source_customer_id"] == "1"


def test_o8_magento_routing_keys_carry_the_event_without_its_origin() -> None:
    assert routing_key(PLATFORM, "observer.sales_order_save_after") == "platform.magento.sales_order_save_after"
    assert routing_key(PLATFORM, "com.adobe.commerce.observer.sales_order_save_commit_after") == (
        "platform.magento.sales_order_save_commit_after"
    )
    assert routing_key(PLATFORM, "") == "platform.magento.entity"
    assert PLATFORM.topic_from_routing("entity") == "" and PLATFORM.topic_from_routing("sales_order_save_after") == (
        "sales_order_save_after"
    )
    # A shipment posted bare, no event named: read by its shape.
    shipment = sample("magento", "shipment-created-observer.json")["data"]["shipment"]
    assert [type(m) for m in magento.map_event("", copy.deepcopy(shipment), config())] == [OrderShipped]
