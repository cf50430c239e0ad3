"""C18: erasing a customer record (customer/privacy/rules.py ``erase``), without servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.customer.records import AddressInput, NewCustomer, ScopeView
from customer.privacy.rules import ERASED, erase
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
