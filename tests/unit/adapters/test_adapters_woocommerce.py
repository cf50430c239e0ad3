"""O8: WooCommerce webhooks (REST API v3 orders) become our order contract; signatures and
the creation ping are handled. Payloads: tests/fixtures/platforms/woocommerce/ (README there)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters import woocommerce
from adapters.handlers import PLATFORM_ADAPTERS, routing_key, translate
from adapters.mapping import Ignored, MappingError, PlatformConfig
from adapters.settings import AdapterSettings
from adapters.signatures import Verifier
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms" / "woocommerce"
SECRET = "wc-webhook-secret"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def config(**extra: Any) -> PlatformConfig:
    return PlatformConfig(platform="woocommerce", source_system="woocommerce:acme", scope="eu-fr", **extra)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    # As WooCommerce computes it: base64_encode(hash_hmac('sha256', $payload, $secret, true)).
    return {
        "x-wc-webhook-signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode(),
        "x-wc-webhook-topic": "order.created",
    }


def test_o8_woocommerce_signature_is_the_base64_hmac_of_the_raw_body() -> None:
    body = (FIXTURES / "order-created.json").read_bytes()
    verifier = Verifier(AdapterSettings(woocommerce_secret=SECRET))
    assert verifier.verify("woocommerce", body, signed(body))
    assert not verifier.verify("woocommerce", body, signed(body, secret="another-secret"))
    assert not verifier.verify("woocommerce", body + b" ", signed(body))  # one byte more
    assert not verifier.verify("woocommerce", body, {"x-wc-webhook-topic": "order.created"})  # unsigned
    # No secret configured: nothing is accepted, however it is signed.
    assert not Verifier(AdapterSettings()).verify("woocommerce", body, signed(body, secret=""))


def test_o8_woocommerce_ping_is_acknowledged_and_never_read_as_an_order() -> None:
    ping = (FIXTURES / "ping.txt").read_bytes()
    assert ping == b"webhook_id=42" and woocommerce.is_ping(ping)
    assert not woocommerce.is_ping(b"webhook_id=42&evil=1") and not woocommerce.is_ping(b'{"webhook_id": 42}')
    assert not woocommerce.is_ping((FIXTURES / "order-created.json").read_bytes())
    # Through the broker route (or a replay) too: ignored, not dead-lettered as malformed.
    with pytest.raises(Ignored, match="ping"):
        translate(AdapterSettings(woocommerce_scope="eu-fr"), PLATFORM_ADAPTERS["woocommerce"], "", ping)


def test_o8_woocommerce_docs_order_is_a_guest_order_with_tax_on_top() -> None:
    message = woocommerce.map_event("order.created", fixture("order-created.json"), config())
    order = message[0].payload
    assert [type(m) for m in message] == [OrderPlaced, PaymentReceived]  # date_paid set: paid
    assert (order.order_number, order.display_number, order.source_customer_id, order.account_type) == (
        "727",
        "727",
        None,
        "guest",
    )  # customer_id 0
    assert (order.email, order.phone, order.first_name) == ("john.doe@example.com", "(555) 555-5555", "John")
    assert order.billing_address.line2 is None and order.billing_address.region == "CA"
    assert [(line.sku, line.quantity, line.unit_price, line.total) for line in order.lines] == [
        (None, 2, Decimal("3.00"), Decimal("6.00")),
        ("Bar3", 1, Decimal("12.00"), Decimal("12.00")),
    ]
    assert order.lines[1].name == "Ship Your Idea – Color: Black, Size: M Test"  # &ndash; decoded
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("18.00"),
        Decimal("10.00"),
        Decimal("1.35"),
        Decimal("0.00"),
        Decimal("29.35"),
        False,
    )
    assert order.placed_at.isoformat() == "2017-03-22T19:28:02+00:00"  # date_created_gmt, UTC


def test_o8_woocommerce_registered_no_email_jpy_and_tax_inclusive_orders() -> None:
    registered = woocommerce.map_event("order.created", fixture("order-created-registered.json"), config())[0].payload
    assert (registered.source_customer_id, registered.account_type) == ("12", "registered")
    no_email = woocommerce.map_event("order.created", fixture("order-created-guest-no-email.json"), config())[0].payload
    assert (no_email.email, no_email.phone, no_email.shipping_address) == (None, "+1 415 555 0199", None)
    jpy = woocommerce.map_event("order.created", fixture("order-created-jpy-registered.json"), config())[0]
    body = json.loads(jpy.model_dump_json())["payload"]
    assert (body["currency"], body["totals"]["total"], body["lines"][0]["unit_price"]) == ("JPY", "3190", "1200")
    inclusive = woocommerce.map_event("order.created", fixture("order-created-tax-inclusive-eur.json"), config())[
        0
    ].payload
    totals = inclusive.totals
    # prices_include_tax: published with their tax, as the customer saw them; 60 + 6 - 6 = 60.
    assert totals.taxes_included and (totals.subtotal, totals.shipping, totals.discount, totals.tax, totals.total) == (
        Decimal("60.00"),
        Decimal("6.00"),
        Decimal("6.00"),
        Decimal("10.00"),
        Decimal("60.00"),
    )
    assert [(line.unit_price, line.total) for line in inclusive.lines] == [
        (Decimal("21.60"), Decimal("43.20")),
        (Decimal("10.80"), Decimal("10.80")),
    ]
    assert inclusive.lines[1].name == "Torchon lin & coton"


def test_o8_woocommerce_completed_is_shipped_only_with_shipment_tracking() -> None:
    plain = woocommerce.map_event("order.updated", fixture("order-updated-completed.json"), config())
    assert [type(m) for m in plain] == [OrderPlaced, OrderStatusChanged, PaymentReceived]
    assert (plain[1].payload.status, plain[1].payload.changed_at.isoformat()) == (
        "completed",
        "2017-03-23T09:12:40+00:00",
    )
    tracked = woocommerce.map_event("order.updated", fixture("order-updated-completed-tracking.json"), config())
    assert [type(m) for m in tracked] == [OrderPlaced, OrderStatusChanged, PaymentReceived, OrderShipped]
    shipment = tracked[3].payload
    assert (shipment.shipment_id, shipment.carrier, shipment.tracking_number) == (
        "5a0d4e2b8c7f1a3e9b6d2c4f8e1a7b3c",
        "usps",
        "9400111899223817576391",
    )
    assert shipment.shipped_at.isoformat() == "2017-03-23T00:00:00+00:00"  # date_shipped 1490227200
    # The same tracking on a cancelled order is no shipment (no shipping email for it).
    cancelled = fixture("order-updated-completed-tracking.json")
    cancelled["status"] = "cancelled"
    assert OrderShipped not in [type(m) for m in woocommerce.map_event("order.updated", cancelled, config())]


def test_o8_woocommerce_deleted_is_ignored_and_unknown_topics_are_refused() -> None:
    with pytest.raises(Ignored, match="order 727 deleted"):
        woocommerce.map_event("order.deleted", fixture("order-deleted.json"), config())
    with pytest.raises(MappingError) as caught:
        woocommerce.map_event("product.created", {"id": 1}, config())
    assert caught.value.fields[0].field == "X-WC-Webhook-Topic"


def test_o8_woocommerce_every_bad_field_is_reported_together_by_its_woocommerce_name() -> None:
    broken = fixture("order-created.json")
    broken["line_items"][1]["total"] = "lots"
    broken["customer_id"] = {"id": 5}  # an id must be a string or an integer
    broken["shipping_total"] = 10.5  # a float would not be exact (bodies are read with Decimal)
    broken["date_created_gmt"] = "2026-02-31T10:00:00"  # no such day
    broken["billing"]["country"] = "Atlantis"  # set aside (O1), not refused
    with pytest.raises(MappingError) as caught:
        woocommerce.map_event("order.created", broken, config())
    fields = [f.field for f in caught.value.fields]
    assert fields == ["line_items[1].total", "customer_id", "shipping_total", "date_created_gmt"], fields
    with pytest.raises(MappingError) as caught:
        woocommerce.map_event(
            "order.created",
            fixture("order-created.json"),
            PlatformConfig(platform="woocommerce", source_system="woocommerce"),
        )
    assert [f.field for f in caught.value.fields] == ["scope"]


def test_o8_woocommerce_webhooks_of_older_api_versions_keep_the_order_s_time_or_say_what_to_change() -> None:
    """A webhook keeps the API version it was made with. WP REST API v1 sends the shop's own
    times without their *_gmt twins: the order was placed then (read as UTC), not when it was
    published, so the same order sent again is the same version. A Legacy REST API body
    ({"order": {...}}) is refused naming the setting to change, not the fields it lacks."""
    current = woocommerce.map_event("order.created", fixture("order-created.json"), config())
    v1 = fixture("order-created.json")
    for name in [key for key in v1 if key.endswith("_gmt")]:
        v1[name.removesuffix("_gmt")] = v1.pop(name)
    messages = woocommerce.map_event("order.created", v1, config())
    assert messages[0].payload.placed_at == current[0].payload.placed_at
    again = woocommerce.map_event("order.created", copy.deepcopy(v1), config())
    assert again[0].message_id == messages[0].message_id
    changed = woocommerce.map_event("order.updated", v1, config())
    assert [m.payload.changed_at for m in changed if isinstance(m, OrderStatusChanged)] == [
        m.payload.changed_at
        for m in woocommerce.map_event("order.updated", fixture("order-created.json"), config())
        if isinstance(m, OrderStatusChanged)
    ]
    legacy = {"order": {"id": 727, "order_number": "727", "created_at": "2017-03-22T16:28:02Z", "total": "29.35"}}
    with pytest.raises(MappingError) as caught:
        woocommerce.map_event("order.created", legacy, config())
    [error] = caught.value.fields
    assert error.field == "order" and "WP REST API Integration v3" in error.reason


def test_o8_woocommerce_message_ids_follow_the_order_state() -> None:
    first = woocommerce.map_event("order.updated", fixture("order-created.json"), config())
    again = woocommerce.map_event("order.updated", fixture("order-created.json"), config())
    assert [m.message_id for m in first] == [m.message_id for m in again]  # a retried delivery
    completed = woocommerce.map_event("order.updated", fixture("order-updated-completed.json"), config())
    changed = [m for m in completed if not isinstance(m, PaymentReceived)]
    assert {m.message_id for m in changed}.isdisjoint(m.message_id for m in first)  # an update is new
    # ... but its payment is the one already received: one PaymentReceived per order (O7).
    paid = [m.message_id for m in (*first, *completed) if isinstance(m, PaymentReceived)]
    assert len(paid) == 2 and len(set(paid)) == 1
    platform = PLATFORM_ADAPTERS["woocommerce"]
    assert routing_key(platform, "order.created") == "platform.woocommerce.order.created"
    assert platform.topic_from_routing("order.updated") == "order.updated"


def test_o7_o8_woocommerce_payment_is_received_when_date_paid_is_set() -> None:
    paid = woocommerce.map_event("order.created", fixture("order-created-tax-inclusive-eur.json"), config())[1]
    assert isinstance(paid, PaymentReceived)
    assert (paid.payload.payment_id, paid.payload.amount, paid.payload.currency, paid.payload.method) == (
        "731:paid",
        Decimal("60.00"),
        "EUR",
        "Carte bancaire",  # the title the customer saw, not the gateway's id
    )
    assert paid.payload.paid_at.isoformat() == "2017-03-22T19:28:08+00:00"  # date_paid_gmt is UTC
    # A gateway's transaction id is the payment's; an unpaid order (bank transfer on hold) has none.
    body = {**fixture("order-created.json"), "transaction_id": "ch_3Nxyz", "payment_method_title": ""}
    paid = woocommerce.map_event("order.created", body, config())[1]
    assert (paid.payload.payment_id, paid.payload.method) == ("ch_3Nxyz", "bacs")
    unpaid = {**fixture("order-created.json"), "status": "on-hold", "date_paid": None, "date_paid_gmt": None}
    assert [type(m) for m in woocommerce.map_event("order.created", unpaid, config())] == [OrderPlaced]
