"""C18 over the real servers: one request exports, or erases, a customer in every service."""

from __future__ import annotations

import json
from typing import Any

from contracts.customer.privacy import EraseCustomerData, ExportCustomerData
from contracts.customer.records import FindAccountsByEmail, GetCustomer, UpdateCustomer
from customer.app import create_app as customer_app
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, running
from ..conftest import create_customer, create_scope, ok
from ..merge_support import CSR, activities_of, linked_to, placed, shipped, three_services
from .test_customer_import import omsctl

EMAIL = "Chloé.Dubois@example.fr"  # the example order's customer


async def privacy(client: OmsClient, command: Any, code: str) -> Any:
    return await client.call(command, {"customer_code": code, "reason": "GDPR request #4711"}, actor=CSR)


async def test_c18_export_holds_the_record_addresses_order_links_emails_and_audit(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with three_services(settings, client, cleanup):
        customer = await create_customer(
            client,
            email=EMAIL,
            addresses=[{"line1": "12 rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}],
        )
        await activities_of(client, customer.code, 1)  # the welcome email
        await client.publish_upstream(placed("EU-1", source_customer_id="shop-77"))
        await linked_to(client, "EU-1", customer.code)
        await client.publish_upstream(shipped("EU-1"))
        await activities_of(client, customer.code, 2)
        export = await ok(await privacy(client, ExportCustomerData, customer.code))
        status, printed = await omsctl(settings, "customer", "export", customer.code, "--reason", "ticket 12")

    record = export.customer.record
    assert (record["_id"], record["email"], record["first_name"]) == (customer.code, EMAIL, "Chloé")
    assert record["addresses"][0]["line1"] == "12 rue de la Paix" and "password_hash" not in record
    assert [e.action for e in export.customer.audit] == ["created (csr)"]
    assert [(link["source_system"], link["source_customer_id"]) for link in export.order_sync.source_links] == [
        ("storefront:eu", "shop-77")
    ]
    assert [o["order_number"] for o in export.order_sync.orders] == ["EU-1"]
    assert export.order_sync.match_entry["email"] == EMAIL
    emails = {a.template: a for a in export.notification.activities}
    assert set(emails) == {"welcome", "shipping-confirmation"}
    assert "Chloé" in emails["welcome"].html and "6A12345678901" in emails["shipping-confirmation"].text
    assert status == 0, printed
    document = json.loads(printed)  # one JSON document, ready for `> file.json`
    assert document["customer"]["record"]["_id"] == customer.code and document["reason"] == "ticket 12"
    assert len(document["notification"]["activities"]) == 2


async def test_c18_erase_anonymizes_in_every_service_keeps_order_links_and_a_later_order_finds_someone_new(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with three_services(settings, client, cleanup):
        customer = await create_customer(
            client,
            email=EMAIL,
            phone="06 12 34 56 78",
            tags=["VIP"],
            addresses=[{"line1": "12 rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}],
        )
        await activities_of(client, customer.code, 1)
        await client.publish_upstream(placed("EU-1", source_customer_id="shop-77"))
        await linked_to(client, "EU-1", customer.code)
        noted = {
            "customer_code": customer.code,
            "expected_version": customer.version,
            "changes": {"notes": "Calls at 5"},
        }
        await ok(await client.call(UpdateCustomer, noted, actor=CSR))  # staff notes may name the person too

        receipt = await ok(await privacy(client, EraseCustomerData, customer.code))
        erased = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))
        accounts = await ok(await client.call(FindAccountsByEmail, {"email": EMAIL}))
        after = await ok(await privacy(client, ExportCustomerData, customer.code))
        change = await client.call(
            UpdateCustomer,
            {"customer_code": customer.code, "expected_version": erased.version, "changes": {"first_name": "Back"}},
            actor=CSR,
        )
        status, printed = await omsctl(settings, "customer", "erase", customer.code, "--reason", "repeat", "--yes")
        # A later order with the erased email (and the erased source id) is someone new.
        await client.publish_upstream(placed("EU-2", source_customer_id="shop-77"))
        newcomer = await linked_to(client, "EU-2")
        assert await linked_to(client, "EU-1") == customer.code  # the order link stays consistent

    assert [s.service for s in receipt.services] == ["customer", "order-sync", "notification"]
    counts = {s.service: s.erased for s in receipt.services}
    assert counts["customer"]["records"] == 1
    # Its identity index: email, phone, source id, street, name and last name with the postal
    # code, and the whole name alone (asked by orders with a mailbox: a slip in it).
    assert counts["order-sync"] == {
        "match_entries": 1,
        "identifiers": 7,
        "creation_claims": 0,
        "source_links": 1,
        "orders": 1,
        "reviews": 0,
    }
    assert counts["notification"]["activities"] == 1
    assert (erased.first_name, erased.email, erased.phone, erased.addresses, erased.tags, erased.state) == (
        "(erased)",
        None,
        None,
        [],
        [],
        "erased",
    )
    assert erased.notes is None
    assert accounts.accounts == []
    assert after.customer.record["logon_id"] is None and after.order_sync.source_links == []
    assert after.order_sync.match_entry["state"] == "erased" and after.order_sync.match_entry["record"] == {}
    assert [o["order_number"] for o in after.order_sync.orders] == ["EU-1"]
    assert all(a.to == "(erased)" and "Chloé" not in a.html + a.text for a in after.notification.activities)
    assert change.error.code == "invalid_state"
    assert status == 0, printed
    again = json.loads(printed)  # the receipt of a repeat: safe, nothing was left to erase
    assert {s["service"]: sum(s["erased"].values()) for s in again["services"]} == {
        "customer": 0,
        "order-sync": 0,
        "notification": 0,
    }
    assert newcomer != customer.code


async def test_c18_erase_names_a_service_that_does_not_answer_and_can_be_repeated(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    quick = settings.model_copy(update={"request_timeout_seconds": 1.5})
    async with running(customer_app(quick), order_sync_app(quick), cleanup=cleanup):  # no notification service
        await create_scope(client)
        customer = await create_customer(client, email=EMAIL)
        refused = await privacy(client, EraseCustomerData, customer.code)
        erased = await ok(await client.call(GetCustomer, {"customer_code": customer.code}))

    assert refused.error.code == "unavailable" and refused.error.details["unanswered"] == ["notification"]
    assert [s["service"] for s in refused.error.details["receipt"]["services"]] == ["customer", "order-sync"]
    assert "notification" in refused.error.message and "Repeat" in refused.error.message
    assert erased.state == "erased"
