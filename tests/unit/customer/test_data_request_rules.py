"""C18, O8: a platform's data request as a work item: its key, what it keeps, its completion
(the rules, no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import privacy, shopify
from adapters.mapping import PrivacyRequested
from adapters.settings import AdapterSettings
from contracts.customer.privacy import DataRequestInput, DataRequestView, RecordDataRequest
from contracts.envelope import Actor
from customer.privacy import rules
from plumbing.errors import Rejected

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "platforms" / "shopify" / "customers-data-request.json"
AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def shopify_request(body: dict[str, object] | None = None) -> dict[str, object]:
    settings = AdapterSettings(shopify_scope="eu-fr", shopify_source_system="shopify:acme")
    with pytest.raises(PrivacyRequested) as caught:
        shopify.map_event(
            "customers/data_request", body or json.loads(FIXTURE.read_text()), settings.platform("shopify")
        )
    return caught.value.request


def test_c18_o8_a_shopify_data_request_becomes_a_record_command_with_ids_only() -> None:
    payload = privacy.data_request(shopify_request(), ["C100001"])
    command = RecordDataRequest(producer="adapters", payload=payload)  # the contract takes it as it is
    assert command.payload.shop == "{shop}.myshopify.com" and command.payload.request_id == "9999"
    assert command.payload.source_customer_id == "191167"
    assert command.payload.order_numbers == ["299938", "280263", "220458"]
    kept = command.payload.model_dump_json()
    assert "john@example.com" not in kept and "555-625-1199" not in kept
    # The contract has no field for personal data: a payload naming an email is refused.
    with pytest.raises(ValueError, match="email"):
        DataRequestInput(**payload, email="john@example.com")


def test_c18_o8_a_request_without_shopifys_id_is_named_by_what_it_asks_for() -> None:
    body = json.loads(FIXTURE.read_text())
    del body["data_request"]
    first = privacy.data_request(shopify_request(body), [])
    body["orders_requested"] = list(reversed(body["orders_requested"]))
    again = privacy.data_request(shopify_request(body), [])
    assert first["request_id"].startswith("unnumbered-") and first["request_id"] == again["request_id"]
    body["customer"]["id"] = 191168
    assert privacy.data_request(shopify_request(body), [])["request_id"] != first["request_id"]


def test_c18_the_same_request_from_the_same_shop_has_one_key_whatever_the_case() -> None:
    assert rules.request_key("Shopify", "Acme.myshopify.com", "9999") == "shopify:acme.myshopify.com:9999"
    assert rules.request_key("shopify", "acme.myshopify.com", "9999") != rules.request_key(
        "shopify", "other.myshopify.com", "9999"
    )


def test_c18_a_new_data_request_is_open_and_keeps_each_id_once() -> None:
    request = DataRequestInput(
        platform="shopify",
        shop="acme.myshopify.com",
        request_id="9999",
        source_customer_id="191167",
        order_numbers=["1", "2", "1"],
        customer_codes=["c2", "C1", "C2"],
    )
    doc = rules.new_data_request(request, AT)
    assert doc["_id"] == "shopify:acme.myshopify.com:9999" and doc["state"] == "open"
    assert doc["order_numbers"] == ["1", "2"] and doc["customer_codes"] == ["C1", "C2"]
    assert doc["received_at"] == AT and doc["completed_by"] is None
    view = rules.view(doc)
    assert isinstance(view, DataRequestView) and view.request_key == doc["_id"]
    assert rules.event_payload(doc).customer_codes == ["C1", "C2"]
    assert (doc["kind"], rules.owed(doc), rules.event_payload(doc).kind) == ("export", "export owed", "export")


def test_c18_a_deletion_on_the_platform_is_a_request_of_its_own_kind() -> None:
    request = DataRequestInput(
        platform="woocommerce", shop="woocommerce", request_id="customer.deleted:12", kind="deletion"
    )
    doc = rules.new_data_request(request, AT)
    assert (rules.view(doc).kind, rules.event_payload(doc).kind) == ("deletion", "deletion")
    assert "erase or keep" in rules.owed(doc) and "export" not in rules.owed(doc)
    legacy = {k: v for k, v in doc.items() if k != "kind"}  # stored before requests had a kind
    assert (rules.view(legacy).kind, rules.event_payload(legacy).kind, rules.owed(legacy)) == (
        "export",
        "export",
        "export owed",
    )


def test_c18_completing_records_who_and_when_once() -> None:
    doc = rules.new_data_request(DataRequestInput(platform="shopify", shop="s", request_id="1"), AT)
    later = datetime(2025, 3, 2, tzinfo=UTC)
    updates = rules.completion(doc, "sam", "ticket 42", later)
    assert updates == {"state": "completed", "completed_by": "sam", "completed_at": later, "note": "ticket 42"}
    assert rules.completion({**doc, **updates}, "alex", None, later) is None  # the first completion stands


def test_c18_a_customer_may_not_complete_a_data_request() -> None:
    with pytest.raises(Rejected) as caught:
        rules.check_may_complete(Actor(kind="customer", id="C1"))
    assert caught.value.error.code == "forbidden"
    rules.check_may_complete(Actor(kind="csr", id="sam"))
    rules.check_may_complete(None)


def test_c18_o8_a_compliance_webhook_that_cannot_be_mapped_is_kept_without_email_or_phone() -> None:
    body = json.loads(FIXTURE.read_text())
    body["customer"]["id"] = {"not": "an id"}
    body["customer"]["first_name"] = "John"
    kept = shopify.privacy_dead_letter_body(json.dumps(body).encode())
    assert b"john@example.com" not in kept and b"555-625-1199" not in kept and b"John" not in kept
    assert json.loads(kept) == {
        "shop_id": 954889,
        "shop_domain": "{shop}.myshopify.com",
        "orders_requested": [299938, 280263, 220458],
        "customer": {"id": {"not": "an id"}},
        "data_request": {"id": 9999},
    }
    fixed = json.loads(kept)
    fixed["customer"]["id"] = 191167  # once fixed, the kept body maps to the request again
    assert shopify_request(fixed)["source_customer_id"] == "191167"
    unreadable = shopify.privacy_dead_letter_body(b'{"customer": {"email": "john@example.com"')
    assert b"john" not in unreadable and b"unreadable_body_sha256" in unreadable
