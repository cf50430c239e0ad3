"""C18: erasing a customer record (customer/privacy/rules.py ``erase``), and how an export or an
erasure in every service is put together and refused when a service is silent, without servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId

from contracts.customer.privacy import ErasureReceipt
from contracts.customer.records import AddressInput, NewCustomer, ScopeView
from contracts.service import ServiceErasure
from customer.privacy.rules import (
    ERASED,
    NoAnswer,
    add_erased,
    customer_data,
    erase,
    erased_in_part,
    exported_record,
    no_export,
)
from customer.records.rules import Customer

AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LATER = AT + timedelta(days=1)
FR = ScopeView(
    scope_id="eu-fr", name="France", country="FR", default_language="fr", requires_approval=False, created_at=AT
)


def anna() -> Customer:
    new = NewCustomer(
        scope_id="eu-fr",
        first_name="Anna",
        last_name="Martin",
        email="anna@example.fr",
        phone="06 12 34 56 78",
        tags=["vip"],
        addresses=[AddressInput(line1="12 rue de la Paix", city="Paris", postal_code="75002", country="FR")],
    )
    return Customer.create(new, code="C100", scope=FR, template=None, at=AT)


def test_c18_an_erased_record_keeps_its_code_and_dates_but_nothing_that_names_or_locates_the_person() -> None:
    customer = anna()
    changed = erase(customer, "GDPR request 17", AT)
    doc = customer.doc
    assert {"first_name", "last_name", "email", "phone", "addresses", "tags", "state"} <= set(changed)
    assert (doc["first_name"], doc["last_name"], doc["email"], doc["phone"]) == (ERASED, ERASED, None, None)
    assert (doc["addresses"], doc["tags"], doc["state"], doc["erased_at"]) == ([], [], "erased", AT)
    assert (customer.code, customer.version, doc["state_reason"]) == ("C100", 2, "erased: GDPR request 17")
    assert "anna" not in str(customer.view().model_dump()).lower()


def test_c18_a_repeated_erasure_changes_nothing_unless_something_personal_came_back() -> None:
    customer = anna()
    erase(customer, "first", AT)
    assert erase(customer, "second", LATER) == []
    assert (customer.version, customer.doc["state_reason"]) == (2, "erased: first")
    customer.set_fields({"phone": "+33612345678"}, LATER)  # e.g. an order that arrived meanwhile
    assert erase(customer, "again", LATER) == ["phone"]
    assert (customer.doc["phone"], customer.doc["erased_at"]) == (None, AT)  # the first erasure's time stays


def test_c18_another_services_counts_for_each_erased_record_add_up() -> None:
    total = add_erased({}, {"orders": 2, "addresses": 1})
    total = add_erased(total, {"orders": 3, "emails": 4})
    assert total == {"orders": 5, "addresses": 1, "emails": 4}


def test_c18_an_export_never_shows_the_password_hash_or_search_keys_only_whether_there_is_a_password() -> None:
    customer = anna()
    customer.doc["password_hash"] = "$argon2id$v=19$secret"
    record = exported_record(customer.doc)
    assert "password_hash" not in record and "s" not in record and "registered_email" not in record
    assert (record["has_password"], record["first_name"]) == (True, "Anna")
    assert exported_record({**customer.doc, "password_hash": None})["has_password"] is False
    entry_id = ObjectId()
    audit = [
        {"_id": entry_id, "customer_code": "C100", "at": AT, "action": "created", "actor_kind": "csr", "actor_id": "u1"}
    ]
    data = customer_data(customer.doc, [{"_id": "h1", "ref": entry_id}], audit, [])
    assert data.history == [{"_id": "h1", "ref": str(entry_id)}]  # ObjectIds as strings
    assert [a.action for a in data.audit] == ["created"] and data.merge_journal == []


def test_c18_a_silent_service_makes_an_export_unavailable_naming_it() -> None:
    refusal = no_export([NoAnswer("notification", "timed out")])
    assert refusal.error.code == "unavailable"
    assert refusal.error.message == "no export: notification: timed out; repeat the request"
    assert refusal.error.details["unanswered"] == ["notification"]


def test_c18_an_erasure_a_service_did_not_answer_is_unavailable_with_the_receipt_so_far() -> None:
    mine = ServiceErasure(service="customer", customer_code="C100", erased={"records": 1}, at=AT)
    receipt = ErasureReceipt(erasure_id="e1", customer_code="C100", reason="r", erased_at=AT, services=[mine])
    refusal = erased_in_part(receipt, [NoAnswer("order-sync", "busy")])
    assert refusal.error.code == "unavailable"
    assert refusal.error.message.startswith("erased in customer; not answered: order-sync: busy. Repeat")
    assert refusal.error.details["unanswered"] == ["order-sync"]
    assert refusal.error.details["receipt"]["services"][0]["erased"] == {"records": 1}
