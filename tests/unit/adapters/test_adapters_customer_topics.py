"""O8, C18: what each platform sends that is not an order. A customer topic is acknowledged
and ignored; a customer deletion becomes a privacy request with ids only, kept as a data
request for staff; an unsupported topic is dead-lettered with its ids only. Never a name, an
email, a phone or an address kept (the rules, no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters import customer_topics, privacy
from adapters.customer_topics import NotAnOrder, UnsupportedTopic, id_skeleton
from adapters.handlers import PLATFORM_ADAPTERS, kept_body, privacy_body, redact_dead_letter, translate
from adapters.mapping import Ignored, MappingError, PrivacyRequested
from adapters.settings import AdapterSettings
from contracts.customer.privacy import RecordDataRequest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"
SETTINGS = AdapterSettings(
    shopify_scope="eu-fr",
    commercetools_scope="eu-fr",
    saleor_scope="eu-fr",
    medusa_scope="eu-fr",
    woocommerce_scope="eu-fr",
    bigcommerce_scope="eu-fr",
)
#: The personal data in the fixtures below: none of it may be kept or passed on.
PERSONAL = (
    "jane.smith@example.com", "Jane", "Smith", "555-0123", "Ferry Building",  # WooCommerce
    "bob@biller.com", "Biller", "+13125551212", "O'Connor",  # Shopify
    "marie.curie@example.fr", "Marie", "Curie", "+33142345678", "Pierre et",  # Saleor
    "ch2f3a-0f9c",  # Saleor's account deletion token
    "lena.meyer@example.de", "Lena", "Meyer", "901820",  # Medusa
    "chloe.dubois@example.fr", "Dubois", "Rivoli", "42 00 00",  # commercetools
)  # fmt: skip


def fixture(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


def no_personal_data(kept: Any) -> None:
    text = kept.decode() if isinstance(kept, bytes) else json.dumps(kept, default=str)
    assert not [p for p in PERSONAL if p in text], text


def outcome(platform: str, topic: str, body: bytes) -> BaseException:
    with pytest.raises((Ignored, PrivacyRequested, MappingError)) as caught:
        translate(SETTINGS, PLATFORM_ADAPTERS[platform], topic, body)
    return caught.value


# Each platform's customer topics that are not deletions: acknowledged, ignored, counted.
CUSTOMER_TOPICS = [
    ("woocommerce", "customer.updated", "customer-updated.json"),
    ("woocommerce", "customer.created", "customer-updated.json"),
    ("shopify", "customers/create", "customers-create.json"),
    ("shopify", "customers/update", "customers-create.json"),
    ("saleor", "CUSTOMER_UPDATED", "customer-updated.json"),
    ("saleor", "customer_created", "customer-updated.json"),  # Saleor-Event as sent: lower case
    ("saleor", "ACCOUNT_DELETE_REQUESTED", "account-delete-requested.json"),  # not confirmed yet
    ("medusa", "", "customer-created-v1.json"),  # the body names its event
    ("commercetools", "", "customer-created.json"),
    ("bigcommerce", "", "store-customer-updated.json"),
]


@pytest.mark.parametrize(("platform", "topic", "name"), CUSTOMER_TOPICS)
def test_o8_c18_a_customer_topic_is_acknowledged_and_ignored_never_read_as_an_order(
    platform: str, topic: str, name: str
) -> None:
    result = outcome(platform, topic, fixture(platform, name))
    assert isinstance(result, Ignored), result
    assert result.kind == "customer topic" and "not an order" in result.reason
    no_personal_data(result.reason)


# Each platform's deletion: (platform, topic, fixture, the platform's customer id, shop).
DELETIONS = [
    ("woocommerce", "customer.deleted", "customer-deleted.json", "12", "woocommerce"),
    ("shopify", "customers/delete", "customers-delete.json", "706405506930370084", "shopify"),
    ("saleor", "", "customer-deleted-data-envelope.json", "VXNlcjoyMQ==", "saleor"),
    ("saleor", "ACCOUNT_DELETED", "customer-updated.json", "VXNlcjoyMQ==", "saleor"),
    ("medusa", "customer.deleted", "customer-deleted.json", "cus_01G2SG30J8C85S4A5CHM2S1NS2", "medusa"),
    ("commercetools", "", "customer-deleted.json", "c8a2e0f4-1b7d-4d2a-9b3e-6f5a4c3b2a10", "acme-eu"),
    ("bigcommerce", "", "store-customer-deleted.json", "32", "stores/{store_hash}"),
]


@pytest.mark.parametrize(("platform", "topic", "name", "customer_id", "shop"), DELETIONS)
def test_c18_o8_a_customer_deletion_becomes_a_data_request_with_ids_only(
    platform: str, topic: str, name: str, customer_id: str, shop: str
) -> None:
    body = fixture(platform, name)
    result = outcome(platform, topic, body)
    assert isinstance(result, PrivacyRequested), result
    request = result.request
    assert (request["platform"], request["kind"], request["source_customer_id"], request["shop"]) == (
        platform,
        "deletion",
        customer_id,
        shop,
    )
    assert request["request_id"] == f"{request['topic']}:{customer_id}"
    command = RecordDataRequest(producer="adapters", payload=privacy.data_request(request, ["C100001"]))
    assert command.payload.request_id == request["request_id"]
    no_personal_data(command.payload.model_dump_json())

    # What travels on (the adapters' own queue) is ids only and maps again to the same
    # request; mapping that again changes nothing, so the broker route handles it at once.
    passed_on = privacy_body(platform, request["topic"], request, body)
    no_personal_data(passed_on)
    again = outcome(platform, request["topic"], passed_on)
    assert isinstance(again, PrivacyRequested) and again.request == request
    assert privacy_body(platform, request["topic"], again.request, passed_on) == passed_on


def test_c18_a_deletion_with_personal_data_in_it_passes_on_its_ids_only() -> None:
    """A relay that sends WooCommerce's whole customer on ``customer.deleted``."""
    body = fixture("woocommerce", "customer-updated.json")
    result = outcome("woocommerce", "customer.deleted", body)
    assert isinstance(result, PrivacyRequested) and result.request["source_customer_id"] == "12"
    passed_on = privacy_body("woocommerce", "customer.deleted", result.request, body)
    no_personal_data(passed_on)
    assert json.loads(passed_on)["id"] == 12


def test_c18_a_saleor_legacy_customer_payload_is_not_read_as_a_legacy_order() -> None:
    user = json.loads(fixture("saleor", "customer-updated.json"))["user"]
    legacy = json.dumps([{"type": "User", "id": user["id"], "email": user["email"]}]).encode()
    assert isinstance(outcome("saleor", "CUSTOMER_CREATED", legacy), Ignored)
    deleted = outcome("saleor", "CUSTOMER_DELETED", legacy)
    assert isinstance(deleted, PrivacyRequested) and deleted.request["source_customer_id"] == user["id"]


def test_c18_a_commercetools_change_notification_of_a_customer_is_a_customer_topic() -> None:
    resource = {"typeId": "customer", "id": "c8a2e0f4-1b7d-4d2a-9b3e-6f5a4c3b2a10"}
    deleted = json.dumps({"notificationType": "ResourceDeleted", "projectKey": "acme-eu", "resource": resource})
    result = outcome("commercetools", "", deleted.encode())
    assert isinstance(result, PrivacyRequested) and result.request["topic"] == "CustomerDeleted"
    updated = json.dumps({"notificationType": "ResourceUpdated", "resource": resource, "version": 4})
    assert isinstance(outcome("commercetools", "", updated.encode()), Ignored)


@pytest.mark.parametrize(
    ("platform", "topic", "body"),
    [
        ("woocommerce", "customer.deleted", {"email": "jane.smith@example.com", "first_name": "Jane"}),
        (
            "medusa",
            "customer.deleted",
            {"event": "customer.deleted", "data": {"id": {"email": "lena.meyer@example.de"}}},
        ),
        ("saleor", "CUSTOMER_DELETED", {"user": {"email": "marie.curie@example.fr", "firstName": "Marie"}}),
    ],
)
def test_c18_a_deletion_that_names_no_customer_is_dead_lettered_with_ids_only_and_a_reason(
    platform: str, topic: str, body: dict[str, Any]
) -> None:
    raw = json.dumps(body).encode()
    result = outcome(platform, topic, raw)
    assert isinstance(result, NotAnOrder), result
    assert result.fields[0].reason in ("required, missing", "must be a string or an integer id, not an object")
    kept = kept_body(platform, topic, raw, result)
    no_personal_data(kept)
    no_personal_data(str(result))


@pytest.mark.parametrize(
    ("platform", "topic", "body", "field"),
    [
        ("woocommerce", "product.created", {"id": 794, "name": "Jane Smith's portrait", "sku": "P-1"}, "X-WC-Webhook-Topic"),
        ("shopify", "products/create", {"id": 632910392, "title": "Bob Biller"}, "X-Shopify-Topic"),
        ("medusa", "product.created", {"event": "product.created", "data": {"id": "prod_1", "title": "Lena"}}, "event"),
        ("saleor", "PRODUCT_CREATED", {"product": {"id": "UHJvZHVjdDox", "name": "Marie Curie"}}, "Saleor-Event"),
        ("commercetools", "", {"type": "ProductCreated", "resource": {"typeId": "product", "id": "p-1"}, "productProjection": {"name": {"en": "Chloé Dubois"}}}, "type"),
        ("bigcommerce", "", {"scope": "store/product/created", "data": {"type": "product", "id": 77, "name": "Jane Smith"}}, "scope"),
    ],
)  # fmt: skip
def test_o8_c18_an_unsupported_topic_is_dead_lettered_with_its_ids_and_a_readable_reason(
    platform: str, topic: str, body: dict[str, Any], field: str
) -> None:
    raw = json.dumps(body).encode()
    result = outcome(platform, topic, raw)
    assert isinstance(result, UnsupportedTopic), result
    assert result.fields[0].field == field and result.fields[0].reason.startswith("unsupported")
    kept = json.loads(kept_body(platform, topic, raw, result))
    no_personal_data(kept)
    assert kept  # the ids are there: an operator sees what came


def test_c18_the_skeleton_keeps_ids_and_types_and_drops_every_text() -> None:
    body = {
        "id": 5,
        "type": "CustomerCreated",
        "customer_id": "c-1",
        "email": "jane.smith@example.com",
        "name": "Jane",
        "user_id": "jane.smith@example.com",  # an email used as an id: not kept either
        "vat_id": "DE123456789",  # a person's tax number: not kept
        "lines": [{"id": 1, "title": "Smith"}, {"sku": "x"}],
        "flag": True,
    }
    assert json.loads(id_skeleton(json.dumps(body).encode())) == {
        "id": 5,
        "type": "CustomerCreated",
        "customer_id": "c-1",
        "lines": [{"id": 1}],
    }
    assert json.loads(id_skeleton(b"not json jane.smith@example.com"))["unreadable_body_sha256"]
    deep = b"[" * 5000 + b"]" * 5000  # too deep for any parser: its digest alone
    assert list(json.loads(id_skeleton(deep))) == ["unreadable_body_sha256"]


@pytest.mark.parametrize(
    ("routing_key", "name"),
    [
        ("platform.woocommerce.customer.updated", "woocommerce/customer-updated.json"),
        ("platform.shopify.customers.create", "shopify/customers-create.json"),
        ("platform.saleor.customer_updated", "saleor/customer-updated.json"),
        ("platform.medusa.customer.created", "medusa/customer-created-v1.json"),
        ("platform.commercetools.CustomerCreated", "commercetools/customer-created.json"),
        ("platform.shopify.customers.redact", "shopify/customers-redact.json"),
        ("platform.shopify.customers.data_request", "shopify/customers-data-request.json"),
    ],
)
def test_c18_a_broker_dead_letter_of_a_personal_topic_keeps_its_ids_whatever_failed(
    routing_key: str, name: str
) -> None:
    body = (FIXTURES / name).read_bytes()
    kept = redact_dead_letter(routing_key, body)
    assert kept != body
    for personal in ("john@example.com", "555-625-1199", *PERSONAL):
        assert personal not in kept.decode(), (personal, kept)


def test_o8_a_broker_dead_letter_of_an_order_keeps_the_payload_as_sent() -> None:
    order = fixture("woocommerce", "order-created-registered.json")
    assert redact_dead_letter("platform.woocommerce.order.created", order) == order
    assert redact_dead_letter("somewhere.else", b"{}") == b"{}"


def test_o8_every_platform_has_its_customer_topics_and_deletions() -> None:
    assert set(customer_topics.CUSTOMER_PREFIXES) == set(PLATFORM_ADAPTERS) == set(customer_topics.DELETIONS)
    for platform, deletions in customer_topics.DELETIONS.items():
        assert all(customer_topics.is_customer_topic(platform, topic) for topic in deletions)
