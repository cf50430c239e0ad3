"""O8: each platform's own payloads become our order contract; signatures are checked.

The payloads are in tests/fixtures/platforms/<platform>/ (README there names each source).
"""

from __future__ import annotations

import base64
import copy
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from adapters import commercetools, medusa, saleor, shopify
from adapters.handlers import PLATFORM_ADAPTERS, translate
from adapters.mapping import Ignored, MappingError, PlatformConfig, PrivacyRequested
from adapters.settings import AdapterSettings
from adapters.signatures import Verifier, hmac_base64, hmac_hex
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"


def fixture(platform: str, name: str) -> Any:
    return json.loads((FIXTURES / platform / name).read_text(encoding="utf-8"), parse_float=Decimal)


def raw(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


def config(platform: str, **extra: Any) -> PlatformConfig:
    return PlatformConfig(platform=platform, source_system=f"{platform}:acme", scope="eu-fr", **extra)


def only(messages: list[Any], kind: type) -> Any:
    assert [type(m) for m in messages] == [kind], messages
    return messages[0]


# --- Shopify ----------------------------------------------------------------------------


def test_o8_shopify_orders_create_becomes_order_placed() -> None:
    order = only(
        shopify.map_event("orders/create", fixture("shopify", "orders-create.json"), config("shopify")), OrderPlaced
    ).payload
    assert (order.order_number, order.source_system, order.scope) == ("450789469", "shopify:acme", "eu-fr")
    assert (order.source_customer_id, order.account_type) == ("207119551", "guest")  # customer.state "disabled"
    assert (order.email, order.first_name, order.last_name) == ("bob.norman@hostmail.com", "Bob", "Norman")
    assert order.billing_address.line1 == "Chestnut Street 92" and order.billing_address.country == "US"
    assert (order.billing_address.region, order.billing_address.postal_code) == ("Kentucky", "40202")
    assert order.shipping_address.phone == "555-625-1199"
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in order.lines][0] == (
        "IPOD2008GREEN",
        1,
        Decimal("199.00"),
        Decimal("199.00"),
    )
    assert len(order.lines) == 3
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.total) == (
        Decimal("398.00"),
        Decimal("0.00"),
        Decimal("11.94"),
        Decimal("409.94"),
    )
    assert order.currency == "USD" and order.placed_at.isoformat() == "2008-01-10T11:00:00-05:00"


@pytest.mark.parametrize("adapter", [shopify, medusa], ids=["shopify", "medusa"])
def test_o8_a_blank_address_field_is_missing_and_an_address_of_blanks_is_none(adapter: Any) -> None:
    """Every platform's address reads through one rule (``mapping.address``): a storefront
    that sends ``""`` for what was not filled in (a digital order's shipping block) gives no
    empty strings to match on, and no address made of nothing."""
    name = "orders-create.json" if adapter is shopify else "order-placed.json"
    payload = fixture(adapter.__name__.split(".")[-1], name)
    body = payload["data"]["order"] if adapter is medusa else payload  # Medusa's event wraps the order
    body["shipping_address"] = {key: "" for key in body["shipping_address"]}
    body["billing_address"] = {**body["billing_address"], "company": " ", "phone": ""}
    topic = "orders/create" if adapter is shopify else "order.placed"
    order = only(adapter.map_event(topic, payload, config(adapter.__name__.split(".")[-1])), OrderPlaced).payload
    assert order.shipping_address is None
    assert order.billing_address is not None and order.billing_address.line1
    assert (order.billing_address.company, order.billing_address.phone) == (None, None)


def test_o8_a_blank_optional_amount_is_missing_and_a_blank_required_one_is_refused_as_missing() -> None:
    """One rule for every platform's amounts (``mapping.amount_of``): ``""`` where a discount
    or a tax was not filled in does not refuse the order; a blank total still does, by name."""
    payload = fixture("shopify", "orders-create.json")
    payload.update(total_discounts="", total_tax=" ", total_line_items_price="")
    order = only(shopify.map_event("orders/create", payload, config("shopify")), OrderPlaced).payload
    assert (order.totals.discount, order.totals.tax) == (Decimal(0), Decimal(0))
    assert order.totals.subtotal == Decimal(payload["subtotal_price"])  # the fallback, as for a null
    payload["total_price"] = ""
    with pytest.raises(MappingError) as refused:
        shopify.map_event("orders/create", payload, config("shopify"))
    assert [(f.field, f.reason) for f in refused.value.fields] == [("total_price", "required, missing")]


def test_o8_shopify_guest_no_email_and_jpy_with_several_shipping_lines() -> None:
    guest = only(
        shopify.map_event(
            "orders/create", fixture("shopify", "orders-create-guest-no-customer.json"), config("shopify")
        ),
        OrderPlaced,
    ).payload
    assert (guest.source_customer_id, guest.account_type, guest.email) == (None, "guest", "guest@example.com")
    assert (guest.first_name, guest.last_name) == ("Bob", "Norman")  # from the billing address
    no_email = only(
        shopify.map_event("orders/create", fixture("shopify", "orders-create-no-email.json"), config("shopify")),
        OrderPlaced,
    ).payload
    assert no_email.email is None and no_email.phone == "+15556251199"
    jpy_message = only(
        shopify.map_event(
            "orders/create", fixture("shopify", "orders-create-jpy-several-shipping-lines.json"), config("shopify")
        ),
        OrderPlaced,
    )
    jpy = jpy_message.payload
    assert (jpy.currency, jpy.account_type) == ("JPY", "registered")
    assert (jpy.totals.shipping, jpy.totals.total) == (Decimal("1300"), Decimal("4900"))  # 500 + 800
    body = json.loads(jpy_message.model_dump_json())["payload"]
    assert body["totals"]["total"] == "4900" and body["lines"][0]["unit_price"] == "1200"  # no minor unit


def test_o8_shopify_updates_and_fulfillments_become_status_and_shipment() -> None:
    messages = shopify.map_event("orders/updated", fixture("shopify", "orders-updated.json"), config("shopify"))
    assert [type(m) for m in messages] == [OrderPlaced, OrderStatusChanged]  # placed if never received
    status = messages[1].payload
    assert (status.order_number, status.status) == ("450789469", "fulfilled")
    # Shopify's own fulfillment sample is pending: not shipped, so no OrderShipped and no email.
    with pytest.raises(Ignored):
        shopify.map_event("fulfillments/create", fixture("shopify", "fulfillments-create.json"), config("shopify"))
    shipment = only(
        shopify.map_event(
            "fulfillments/update", fixture("shopify", "fulfillments-update-success.json"), config("shopify")
        ),
        OrderShipped,
    ).payload
    assert (shipment.order_number, shipment.shipment_id, shipment.tracking_number) == (
        "450789469",
        "255858046",
        "1Z2345",
    )
    assert shipment.carrier == "UPS" and shipment.lines[0].sku == "IPOD2008GREEN"


def test_o8_a_repeated_webhook_gives_the_same_message_ids() -> None:
    first = shopify.map_event("orders/create", fixture("shopify", "orders-create.json"), config("shopify"))
    again = shopify.map_event("orders/create", fixture("shopify", "orders-create.json"), config("shopify"))
    assert first[0].message_id == again[0].message_id
    other = shopify.map_event("orders/create", fixture("shopify", "orders-create-no-email.json"), config("shopify"))
    assert other[0].message_id != first[0].message_id


def _in_two_currencies(order: dict[str, Any], shop: str, rate: Decimal) -> dict[str, Any]:
    """``order`` (in its presentment currency) as a shop in ``shop`` money records it: each
    amount in the shop's money, the buyer's beside it in ``*_set.presentment_money``."""
    shown = order["currency"]
    order.update(currency=shop, presentment_currency=shown)

    def convert(holder: dict[str, Any], field: str) -> None:
        paid = Decimal(str(holder[field]))
        holder[field] = str((paid * rate).quantize(Decimal("0.01")))
        holder[f"{field}_set"] = {
            "shop_money": {"amount": holder[field], "currency_code": shop},
            "presentment_money": {"amount": str(paid), "currency_code": shown},
        }

    for field in ("total_price", "subtotal_price", "total_line_items_price", "total_tax", "total_discounts"):
        convert(order, field)
    for line in (*order["line_items"], *order["shipping_lines"]):
        convert(line, "price")
    return order


def test_o8_a_shopify_markets_order_is_in_the_money_its_buyer_paid() -> None:
    """A shop in AUD selling to a buyer shown USD (Shopify Markets): the order, and its payment,
    in USD as the buyer paid them, every amount from its presentment money; the shop's
    money throughout when any amount lacks the buyer's."""
    accept = config("shopify", test_orders="accept")  # the sample is a test order
    paid_in_usd = fixture("shopify", "orders-create-2025-sample.json")
    in_usd = only(shopify.map_event("orders/create", copy.deepcopy(paid_in_usd), accept), OrderPlaced)
    two = _in_two_currencies(copy.deepcopy(paid_in_usd), "AUD", Decimal("1.5316"))
    order = only(shopify.map_event("orders/create", copy.deepcopy(two), accept), OrderPlaced).payload
    assert (order.currency, order.totals, order.lines) == ("USD", in_usd.payload.totals, in_usd.payload.lines)
    payment = only(shopify.map_event("orders/paid", copy.deepcopy(two), accept), PaymentReceived).payload
    assert (payment.currency, payment.amount) == ("USD", in_usd.payload.totals.total)
    del two["line_items"][1]["price_set"]
    shop = only(shopify.map_event("orders/create", two, accept), OrderPlaced).payload
    assert (shop.currency, shop.totals.total) == ("AUD", Decimal(two["total_price"]))


def test_c6_o8_a_shopify_order_s_location_is_its_store_only_for_a_sale_made_there() -> None:
    """Shopify POS sells at a location (source_name 'pos'): the customer's store (C6). An
    online or draft order's location_id is where it ships from, not a store the buyer visited."""

    def store_of(source_name: str | None) -> Any:
        order = fixture("shopify", "orders-create.json")
        order.update(location_id=48752903, source_name=source_name)
        return only(shopify.map_event("orders/create", order, config("shopify")), OrderPlaced).payload.store_id

    assert store_of("pos") == "48752903"
    assert store_of(None) == "48752903"  # a payload from before source_name: as it was read
    assert store_of("web") is None and store_of("shopify_draft_order") is None


def test_o8_an_unmappable_payload_names_the_platform_field() -> None:
    broken = fixture("shopify", "orders-create.json")
    broken["line_items"][1]["price"] = "lots"
    with pytest.raises(MappingError) as caught:
        shopify.map_event("orders/create", broken, config("shopify"))
    assert [(f.field, f.reason) for f in caught.value.fields] == [
        ("line_items[1].price", "not a decimal amount: 'lots'")
    ]
    bad_date = fixture("shopify", "orders-create.json")
    bad_date["created_at"] = "31 février 2026"  # no such day
    with pytest.raises(MappingError) as caught:
        shopify.map_event("orders/create", bad_date, config("shopify"))
    assert [f.field for f in caught.value.fields] == ["created_at"]
    no_lines = fixture("shopify", "orders-create.json")
    no_lines["line_items"] = []  # an order may come without its lines: placed, totals kept
    assert only(shopify.map_event("orders/create", no_lines, config("shopify")), OrderPlaced).payload.lines == []
    with pytest.raises(MappingError) as caught:
        shopify.map_event("orders/delete", {}, config("shopify"))
    assert caught.value.fields[0].field == "X-Shopify-Topic"
    with pytest.raises(MappingError) as caught:
        translate(AdapterSettings(shopify_scope="eu-fr"), PLATFORM_ADAPTERS["shopify"], "orders/create", b"{not json")
    assert caught.value.fields[0].field == "body"
    with pytest.raises(MappingError) as caught:
        shopify.map_event(
            "orders/create",
            fixture("shopify", "orders-create.json"),
            PlatformConfig(platform="shopify", source_system="shopify"),
        )
    assert caught.value.fields[0].field == "scope"


# --- commercetools ------------------------------------------------------------------------


def test_o8_commercetools_order_created_with_several_shipping_methods() -> None:
    message = fixture("commercetools", "order-created-registered-several-shipping.json")
    cfg = config("commercetools", scopes={"eu-fr-web": "eu-fr-web-scope"})
    order = only(commercetools.map_event("", message, cfg), OrderPlaced).payload
    assert (order.order_number, order.scope) == ("5b1e2f3a-7c4d-4e9f-8a10-2b3c4d5e6f70", "eu-fr-web-scope")
    assert (order.source_customer_id, order.account_type) == ("c8a2e0f4-1b7d-4d2a-9b3e-6f5a4c3b2a10", "registered")
    assert (order.email, order.phone, order.preferred_language) == (
        "chloe.dubois@example.fr",
        "+33 6 12 34 56 78",
        "fr-FR",
    )
    assert order.billing_address.line1 == "Rue de Rivoli 12" and order.billing_address.line2 == "3e étage"
    line = order.lines[0]
    assert (line.sku, line.name, line.quantity, line.unit_price, line.total) == (
        "SHIRT-LIN-M",
        "Chemise en lin",
        3,
        Decimal("19.90"),
        Decimal("59.70"),
    )
    assert (order.totals.subtotal, order.totals.shipping, order.totals.tax, order.totals.total) == (
        Decimal("59.70"),
        Decimal("10.00"),
        Decimal("11.62"),
        Decimal("69.70"),
    )  # 4.90 + 5.10 shipping
    assert order.totals.taxes_included  # taxRate.includedInPrice: 59.70 + 10.00 = 69.70, tax inside
    assert (order.currency, order.status, order.display_number) == ("EUR", "Open", "EU-2026-0042")
    # The bare Order resource gives the same placement (same id) and its state as a change.
    again = commercetools.map_event("", message["order"], cfg)
    assert [type(m) for m in again] == [OrderPlaced, OrderStatusChanged]
    assert again[0].message_id == commercetools.map_event("", message, cfg)[0].message_id


def test_o8_commercetools_guest_jpy_and_the_api_reference_order_without_email() -> None:
    jpy_message = only(
        commercetools.map_event("", fixture("commercetools", "order-created-guest-jpy.json"), config("commercetools")),
        OrderPlaced,
    )
    jpy = jpy_message.payload
    assert (jpy.account_type, jpy.source_customer_id, jpy.email) == ("guest", None, "hanako@example.jp")
    assert (jpy.currency, jpy.totals.total, jpy.totals.shipping, jpy.lines[0].unit_price) == (
        "JPY",
        Decimal("4900"),
        Decimal("1300"),
        Decimal("1200"),
    )
    assert json.loads(jpy_message.model_dump_json())["payload"]["totals"]["total"] == "4900"
    bare = commercetools.map_event("", fixture("commercetools", "order.json"), config("commercetools"))[0].payload
    # A customer id but no email, name or address: linked by the id alone (O2's first rule).
    assert (bare.source_customer_id, bare.account_type) == ("7297c742-d8b0-484b-aadc-1d0ba6769dc9", "registered")
    assert (bare.email, bare.first_name, bare.billing_address) == (None, None, None)
    assert (bare.lines[0].sku, bare.lines[0].name, bare.totals.total) == ("some-sku-123", "MyProduct", Decimal("10.00"))


def test_o8_commercetools_state_change_and_parcel() -> None:
    status = only(
        commercetools.map_event("", fixture("commercetools", "order-state-changed.json"), config("commercetools")),
        OrderStatusChanged,
    ).payload
    assert (status.order_number, status.status) == ("5b1e2f3a-7c4d-4e9f-8a10-2b3c4d5e6f70", "Confirmed")
    shipment = only(
        commercetools.map_event("", fixture("commercetools", "parcel-added-to-delivery.json"), config("commercetools")),
        OrderShipped,
    ).payload
    assert (shipment.shipment_id, shipment.carrier, shipment.tracking_number) == (
        "e4f5a6b7-0000-4000-8000-000000000004",
        "Colissimo",
        "6A12345678901",
    )
    assert shipment.lines[0].quantity == 3


def test_o8_commercetools_subscription_in_the_cloudevents_format_is_its_message() -> None:
    """A Subscription may deliver in the CloudEvents 1.0 format: the message is the event's
    ``data``, read as the plain one is (the same order, the same message ids)."""
    for name in ("order-created-registered-several-shipping.json", "order-state-changed.json"):
        message = fixture("commercetools", name)
        event = {
            "specversion": "1.0",
            "id": message.get("id", "e-1"),
            "type": f"com.commercetools.order.message.{message['type']}",
            "source": "/acme-eu/orders",
            "subject": message["resource"]["id"],
            "time": message.get("createdAt"),
            "sequence": str(message.get("sequenceNumber", 1)),
            "sequencetype": "Integer",
            "dataref": f"/acme-eu/messages/{message.get('id', 'e-1')}",
            "data": message,
        }
        plain = commercetools.map_event("", message, config("commercetools"))
        assert commercetools.map_event("", event, config("commercetools")) == plain


def test_o8_commercetools_bad_money_names_the_field() -> None:
    message = fixture("commercetools", "order-created-registered-several-shipping.json")
    message["order"]["lineItems"][0]["price"]["value"]["centAmount"] = "19,90"
    with pytest.raises(MappingError) as caught:
        commercetools.map_event("", message, config("commercetools"))
    assert caught.value.fields[0].field == "order.lineItems[0].price.value.centAmount"


# --- Saleor -------------------------------------------------------------------------------


def test_o8_saleor_order_created_registered_and_guest_without_email() -> None:
    order = only(
        saleor.map_event("order_created", fixture("saleor", "order-created.json"), config("saleor")), OrderPlaced
    ).payload
    assert (order.order_number, order.source_customer_id, order.account_type) == ("1042", "VXNlcjo0Mg==", "registered")
    assert (order.email, order.preferred_language, order.phone) == ("anna.schmidt@example.de", "de", "+4915123456789")
    assert order.billing_address.line1 == "Torstraße 1" and order.billing_address.country == "DE"
    assert [(l.sku, l.name, l.unit_price, l.total) for l in order.lines] == [
        ("JUICE-1L", "Apple Juice - 1l", Decimal("2.99"), Decimal("5.98")),
        ("TEE-M", "Monospace Tee - M", Decimal("19.9"), Decimal("19.9")),
    ]
    assert (order.totals.subtotal, order.totals.shipping, order.totals.tax, order.totals.total) == (
        Decimal("25.88"),
        Decimal("4.9"),
        Decimal("4.91"),
        Decimal("30.78"),
    )
    guest = only(
        saleor.map_event("ORDER_CREATED", fixture("saleor", "order-created-guest-no-email.json"), config("saleor")),
        OrderPlaced,
    ).payload
    assert (guest.account_type, guest.source_customer_id, guest.email) == ("guest", None, None)
    assert (guest.first_name, guest.phone, guest.preferred_language) == ("Paul", "+49 30 1234567", "en-US")


def test_o8_saleor_fully_paid_and_fulfilled() -> None:
    paid = only(
        saleor.map_event("order_fully_paid", fixture("saleor", "order-fully-paid.json"), config("saleor")),
        PaymentReceived,
    ).payload
    assert (paid.order_number, paid.amount, paid.currency) == ("1042", Decimal("30.78"), "EUR")
    messages = saleor.map_event("order_fulfilled", fixture("saleor", "order-fulfilled.json"), config("saleor"))
    assert [type(m) for m in messages] == [OrderShipped, OrderShipped, OrderStatusChanged]
    assert [m.payload.tracking_number for m in messages[:2]] == ["00340434161094042557", "00340434161094042558"]
    assert messages[2].payload.status == "FULFILLED"
    with pytest.raises(MappingError) as caught:  # a legacy payload is read, and what it lacks named
        saleor.map_event("order_created", [{"type": "Order"}], config("saleor"))
    assert {"order.number", "order.total.gross.amount"} <= {f.field for f in caught.value.fields}


# --- Medusa -------------------------------------------------------------------------------


def test_o8_medusa_order_placed_registered_guest_and_jpy() -> None:
    order = only(
        medusa.map_event("order.placed", fixture("medusa", "order-placed.json"), config("medusa")), OrderPlaced
    ).payload
    assert (order.order_number, order.source_customer_id, order.account_type) == (
        "order_01JD2X8Y9Z0A1B2C3D4E5F6G7H",
        "cus_01JD2X7ABCDEF",
        "registered",
    )
    assert (order.email, order.first_name, order.shipping_address.country) == ("chloe.dubois@example.fr", "Chloé", "FR")
    assert (order.lines[0].sku, order.lines[0].unit_price, order.lines[0].total) == (
        "SHIRT-M-BLACK",
        Decimal("19.95"),
        Decimal("39.9"),
    )
    assert (order.totals.shipping, order.totals.total, order.currency) == (Decimal("7.5"), Decimal("47.4"), "EUR")
    guest = only(
        medusa.map_event("", fixture("medusa", "order-placed-guest.json"), config("medusa")), OrderPlaced
    ).payload
    assert (guest.account_type, guest.source_customer_id) == ("guest", "cus_01GUEST")
    jpy = only(
        medusa.map_event(
            "",
            fixture("medusa", "order-placed-jpy-no-customer-no-email.json"),
            config("medusa", scopes={"sc_01JPWEB": "jp"}),
        ),
        OrderPlaced,
    )
    payload = jpy.payload
    assert (payload.source_customer_id, payload.email, payload.scope, payload.currency) == (None, None, "jp", "JPY")
    assert json.loads(jpy.model_dump_json())["payload"]["totals"]["total"] == "4900"
    assert payload.phone == "03-1234-5678" and payload.billing_address is None
    with pytest.raises(MappingError) as caught:
        medusa.map_event("order.placed", {"event": "order.placed", "data": {"id": "order_1"}}, config("medusa"))
    assert caught.value.fields[0].field == "order"


# --- signatures ---------------------------------------------------------------------------


def test_o8_shopify_and_medusa_hmac_signatures() -> None:
    body = raw("shopify", "orders-create.json")
    verifier = Verifier(AdapterSettings(shopify_secret="shpss_test", medusa_secret="medusa-test"))
    good = base64.b64encode(hmac.new(b"shpss_test", body, "sha256").digest()).decode()  # as Shopify documents
    assert good == hmac_base64("shpss_test", body)
    assert verifier.verify("shopify", body, {"x-shopify-hmac-sha256": good})
    assert not verifier.verify("shopify", body + b" ", {"x-shopify-hmac-sha256": good})
    assert not verifier.verify("shopify", body, {"x-shopify-hmac-sha256": hmac_base64("other", body)})
    assert not verifier.verify("shopify", body, {})
    assert verifier.verify("medusa", body, {"x-medusa-hmac-sha256": hmac_base64("medusa-test", body)})
    assert not verifier.verify("medusa", body, {"x-medusa-hmac-sha256": good})
    # No secret configured: nothing is accepted.
    assert not Verifier(AdapterSettings()).verify("shopify", body, {"x-shopify-hmac-sha256": good})


def test_o8_commercetools_authorization_header() -> None:
    verifier = Verifier(AdapterSettings(commercetools_authorization="Bearer ct-destination-secret"))
    assert verifier.verify("commercetools", b"{}", {"authorization": "Bearer ct-destination-secret"})
    assert not verifier.verify("commercetools", b"{}", {"authorization": "Bearer guess"})
    assert not verifier.verify("commercetools", b"{}", {})


@pytest.fixture(scope="module")
def saleor_keys() -> tuple[Any, dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return key, {"keys": [{**public, "kid": "saleor-1", "use": "sig", "alg": "RS256"}]}


def saleor_signature(body: bytes, key: Any, kid: str = "saleor-1") -> str:
    # As Saleor signs (saleor/core/jwt_manager.py): RS256, payload detached and unencoded.
    return jwt.api_jws.encode(body, key, algorithm="RS256", headers={"kid": kid}, is_payload_detached=True)


def test_o8_saleor_jws_and_legacy_hmac_signatures(saleor_keys: tuple[Any, dict[str, Any]]) -> None:
    key, jwks = saleor_keys
    body = raw("saleor", "order-created.json")
    signature = saleor_signature(body, key)
    assert ".." in signature  # compact JWS with the payload detached
    verifier = Verifier(AdapterSettings(saleor_jwks=json.dumps(jwks), saleor_secret="legacy-secret"))
    assert verifier.verify("saleor", body, {"saleor-signature": signature})
    assert not verifier.verify("saleor", body.replace(b"1042", b"1043"), {"saleor-signature": signature})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not verifier.verify("saleor", body, {"saleor-signature": saleor_signature(body, stranger)})
    assert not verifier.verify("saleor", body, {"saleor-signature": saleor_signature(body, stranger, kid="other")})
    assert not verifier.verify("saleor", body, {"saleor-signature": "not..a-jws"})
    assert verifier.verify("saleor", body, {"saleor-signature": hmac_hex("legacy-secret", body)})
    assert not verifier.verify("saleor", body, {"saleor-signature": hmac_hex("wrong", body)})
    assert not Verifier(AdapterSettings()).verify("saleor", body, {"saleor-signature": signature})


def test_o8_settings_come_from_the_environment_and_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_ADAPTERS_SHOPIFY_SECRET", "shpss_env")
    monkeypatch.setenv("OMS_ADAPTERS_SALEOR_SCOPES", '{"default-channel": "de"}')
    settings = AdapterSettings()
    assert settings.shopify_secret.get_secret_value() == "shpss_env"
    assert "shpss_env" not in repr(settings) and "shpss_env" not in str(settings.model_dump())
    assert settings.platform("saleor").scope_for("default-channel", "order.channel.slug") == "de"


# --- step 14 field findings ---------------------------------------------------------------


def test_o8_shopify_a_cancelled_order_is_cancelled_on_every_topic_and_carries_its_display_number() -> None:
    sample = fixture("shopify", "orders-create-2025-sample.json")  # Shopify's own sample: cancelled, test
    accept = config("shopify", test_orders="accept")
    created = only(shopify.map_event("orders/create", sample, accept), OrderPlaced).payload
    updated = shopify.map_event("orders/updated", sample, accept)
    assert created.status == updated[0].payload.status == updated[1].payload.status == "cancelled"  # not "voided"
    assert created.display_number == "#9999" and created.order_number == "820982911946154508"


def test_o8_shopify_test_orders_are_ignored_unless_accepted() -> None:
    sample = fixture("shopify", "orders-create-2025-sample.json")
    for topic in ("orders/create", "orders/updated", "orders/paid"):
        with pytest.raises(Ignored) as caught:
            shopify.map_event(topic, sample, config("shopify"))
        assert "test order #9999" in caught.value.reason
    settings = AdapterSettings(shopify_scope="eu-fr", shopify_test_orders="accept")
    assert shopify.map_event("orders/create", sample, settings.platform("shopify"))


def test_o8_shopify_compliance_topics_become_privacy_requests_without_personal_data() -> None:
    for topic, name, kind in (
        ("customers/redact", "customers-redact.json", "erase"),
        ("customers/data_request", "customers-data-request.json", "export"),
        ("shop/redact", "shop-redact.json", "shop-erase"),
    ):
        with pytest.raises(PrivacyRequested) as caught:
            shopify.map_event(topic, fixture("shopify", name), config("shopify"))
        request = caught.value.request
        assert request["kind"] == kind
        kept = json.dumps(shopify.redacted_body(request))
        assert "john@example.com" not in kept and "555-625-1199" not in kept
        with pytest.raises(PrivacyRequested) as again:  # the redacted body maps to the same request
            shopify.map_event(topic, json.loads(kept), config("shopify"))
        assert again.value.request == request
    assert request["source_customer_id"] is None


def test_o8_ids_must_be_strings_or_integers_and_every_bad_field_is_reported_at_once() -> None:
    order = fixture("shopify", "orders-create.json")
    order["id"] = {"id": 5}
    order["customer"]["id"] = ["207119551"]
    order["line_items"][0]["price"] = "cheap"
    order["total_price"] = "lots"
    with pytest.raises(MappingError) as caught:
        shopify.map_event("orders/create", order, config("shopify"))
    assert sorted(f.field for f in caught.value.fields) == ["customer.id", "id", "line_items[0].price", "total_price"]
    assert caught.value.fields[0].reason == "must be a string or an integer id, not an object"


def test_o8_a_changed_body_under_the_same_order_id_is_a_new_message() -> None:
    first = fixture("shopify", "orders-updated.json")
    changed = fixture("shopify", "orders-updated.json")
    changed.update(updated_at="2008-01-11T09:00:00-05:00", fulfillment_status="partial")
    one = shopify.map_event("orders/updated", first, config("shopify"))
    two = shopify.map_event("orders/updated", changed, config("shopify"))
    assert one[0].message_id != two[0].message_id and one[1].message_id != two[1].message_id
    assert two[1].payload.status == "partial"
    again = shopify.map_event("orders/updated", first, config("shopify"))
    assert [m.message_id for m in one] == [m.message_id for m in again]  # a retry is the same message


def test_o8_commercetools_order_without_type_plain_money_missing_digits_and_no_lines() -> None:
    bare = commercetools.map_event("", fixture("commercetools", "order-without-type.json"), config("commercetools"))
    assert [type(m) for m in bare] == [OrderPlaced, OrderStatusChanged]  # over HTTP too (no routing key)
    jpy = commercetools.map_event(
        "", fixture("commercetools", "order-created-plain-money-jpy-no-fraction-digits.json"), config("commercetools")
    )[0].payload
    assert (jpy.lines[0].unit_price, jpy.totals.total) == (Decimal("1200"), Decimal("4900"))  # JPY: 0 digits
    kwd = {"type": "centPrecision", "currencyCode": "KWD", "centAmount": 1200}
    assert commercetools.money(kwd, "totalPrice") == Decimal("1.200")  # ISO 4217: 3 digits
    with pytest.raises(MappingError) as caught:
        commercetools.money({"centAmount": 1200, "currencyCode": "XXX"}, "totalPrice")
    assert caught.value.fields[0].field == "totalPrice.currencyCode"
    none = commercetools.map_event("", fixture("commercetools", "order-created-no-lines.json"), config("commercetools"))
    assert none[0].payload.lines == [] and none[0].payload.totals.total == Decimal("49.90")


def test_o8_saleor_envelopes_legacy_list_and_notify_user_are_unwrapped() -> None:
    data = only(
        saleor.map_event("", fixture("saleor", "order-created-data-envelope.json"), config("saleor")), OrderPlaced
    ).payload
    assert data.order_number == "1042"
    legacy = only(
        saleor.map_event("order_created", fixture("saleor", "order-created-legacy.json"), config("saleor")), OrderPlaced
    ).payload
    assert (legacy.email, legacy.lines[0].sku, legacy.totals.total) == (
        "test@example.com",
        "43226647",
        Decimal("44.00"),
    )
    notify = only(
        saleor.map_event("notify_user", fixture("saleor", "notify-user-order-confirmation.json"), config("saleor")),
        OrderPlaced,
    ).payload
    assert (notify.email, notify.totals.total, notify.currency) == ("admin@example.com", Decimal("240.82"), "USD")
    with pytest.raises(Ignored):
        saleor.map_event("notify_user", {"notify_event": "account_confirmation", "payload": {}}, config("saleor"))
    # The docs' own sample selects only ids: every field it lacks that the order cannot do
    # without is named, in one dead letter (not its creation time: the publication's is taken).
    with pytest.raises(MappingError) as caught:
        saleor.map_event("", fixture("saleor", "order-created-docs-data-envelope.json"), config("saleor"))
    fields = [f.field for f in caught.value.fields]
    assert "order.total.gross.amount" in fields and "order.created" not in fields and len(fields) >= 4


def test_o8_medusa_v1_amounts_in_minor_units_are_divided_by_the_currency_exponent() -> None:
    v1 = only(medusa.map_event("", fixture("medusa", "order-placed-v1.json"), config("medusa")), OrderPlaced).payload
    assert (v1.totals.total, v1.totals.subtotal, v1.lines[0].unit_price) == (
        Decimal("256.21"),
        Decimal("228.00"),
        Decimal("99.50"),
    )
    assert (v1.display_number, v1.lines[0].sku) == ("2", "SWEATSHIRT-M")
    jpy = only(
        medusa.map_event("", fixture("medusa", "order-placed-v1-jpy.json"), config("medusa")), OrderPlaced
    ).payload
    assert (jpy.totals.total, jpy.lines[0].unit_price) == (Decimal("2900"), Decimal("1200"))  # JPY: exponent 0
    v2 = only(medusa.map_event("", fixture("medusa", "order-placed.json"), config("medusa")), OrderPlaced).payload
    assert v2.totals.total == Decimal("47.4")  # v2: main units, untouched


def test_o8_shopify_wrapped_and_eventbridge_bodies_give_the_same_messages_as_the_bare_webhook() -> None:
    """Shopify's resource as the webhook sends it, wrapped in its name as the REST Admin API
    and the SDKs' fixtures hold it (``{"order": ...}``, ``{"fulfillment": ...}``), and as an
    Amazon EventBridge event of Shopify's partner source (``detail.payload``, the topic in
    ``detail.metadata``): the same messages, the same ids, so one order is placed once."""
    config = PlatformConfig(platform="shopify", source_system="shopify:acme", scope="eu-fr")
    order = json.loads((FIXTURES / "shopify" / "orders-create.json").read_text(), parse_float=Decimal)
    fulfillment = json.loads(
        (FIXTURES / "shopify" / "fulfillments-update-success.json").read_text(), parse_float=Decimal
    )

    def ids(topic: str, body: Any) -> list[tuple[str, str]]:
        return [(m.routing_key(), m.message_id) for m in shopify.map_event(topic, body, config)]

    bare = ids("orders/create", order)
    assert bare[0][0] == "order.order-placed.v1"
    assert ids("orders/create", {"order": order}) == bare
    eventbridge = {
        "version": "0",
        "id": "4c9f3f2e-0000-4000-8000-000000000001",
        "detail-type": "shopifyWebhook",
        "source": "aws.partner/shopify.com/1234567/acme",
        "detail": {"metadata": {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-SHA256": "x"}, "payload": order},
    }
    assert ids("", eventbridge) == ids("orders/create", eventbridge) == bare
    shipped = ids("fulfillments/update", fulfillment)
    assert shipped[0][0] == "order.order-shipped.v1"
    assert ids("fulfillments/update", {"fulfillment": fulfillment}) == shipped
    # A wrapper under another topic family is not unwrapped: named, not guessed.
    with pytest.raises(MappingError):
        shopify.map_event("fulfillments/update", {"order": order}, config)
