"""The customer aggregate (customer/records/rules.py ``Customer``) on its own: no server, no store.

Every rule a handler relies on, checked on the document the aggregate keeps: creation
(C1, C10, C17), changes at a version (C12, C20), the address book (C4), the lifecycle (C10,
C15), retired and erased records (C13, C18) and the claim of a guest record (C8, C20); and
the events each change records for the unit of work to publish (P2).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.customer.records import (
    MAX_NOTES,
    AddressInput,
    CustomerAddressChanged,
    CustomerChanges,
    CustomerStateChanged,
    CustomerUpdated,
    NewCustomer,
    ScopeView,
)
from customer.records.rules import TRANSITIONS, Customer
from plumbing.errors import Rejected

AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
LATER = AT + timedelta(minutes=5)
FR = ScopeView(
    scope_id="eu-fr", name="France", country="FR", default_language="fr", requires_approval=False, created_at=AT
)
APPROVING = FR.model_copy(update={"requires_approval": True})
HOME = {"line1": "12 rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}


def create(scope: ScopeView = FR, **fields: object) -> Customer:
    new = NewCustomer(
        **{
            "scope_id": "eu-fr",
            "first_name": "Anna",
            "last_name": "Martin",
            "email": "Anna.Martin@Example.fr",
            **fields,
        }
    )
    return Customer.create(new, code="C100", scope=scope, template=None, at=AT)


def rejected(call: object, *args: object, **kwargs: object) -> Rejected:
    with pytest.raises(Rejected) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def test_c1_a_new_customer_is_active_at_version_1_with_its_email_and_phones_normalized() -> None:
    anna = create(phone="06 12 34 56 78", addresses=[AddressInput(**HOME)])
    doc = anna.doc
    assert (anna.code, anna.version, doc["state"]) == ("C100", 1, "active")
    # The domain is case-folded; the local part is kept as given (search folds it, C11).
    assert doc["email"] == "Anna.Martin@example.fr" and doc["logon_id"] == "Anna.Martin@example.fr"
    assert doc["phone"] == "+33612345678"
    # The first address of a book is its default for shipping and billing.
    assert doc["addresses"][0]["default_shipping"] and doc["addresses"][0]["default_billing"]
    assert doc["registered_at"] == doc["updated_at"] == AT and doc["password_hash"] is None


def test_c1_c17_missing_email_and_bad_phones_are_reported_together_by_field() -> None:
    error = rejected(create, email=None, phone="not a phone", fax="12")
    assert {f.field for f in error.error.fields} == {"payload.email", "payload.phone", "payload.fax"}
    # A guest created from an order may have no email (a POS sale, O3); a CSR's may not.
    guest = create(email=None, channel="order", account_type="guest")
    assert guest.doc["email"] is None and guest.doc["logon_id"] is None


def test_c10_a_storefront_sign_up_waits_for_approval_where_the_scope_requires_it() -> None:
    assert create(APPROVING, channel="storefront").doc["state"] == "waiting_approval"
    assert create(APPROVING, channel="csr").doc["state"] == "active"
    assert create(FR, active=False).doc["state"] == "inactive"


def test_c12_a_change_bumps_the_version_once_and_names_what_changed() -> None:
    anna = create()
    anna.expect_version(1)
    anna.change(CustomerChanges(last_name="Martin-Durand", tags=["vip", "vip"]), scope=FR, template=None, at=LATER)
    assert anna.version == 2 and anna.doc["updated_at"] == LATER
    assert anna.changed_fields == {"last_name": "Martin-Durand", "tags": ["vip"]}
    anna.change(CustomerChanges(last_name="Martin-Durand"), scope=FR, template=None, at=LATER)
    assert anna.version == 2  # the same value again is no change
    conflict = rejected(anna.expect_version, 1)
    assert conflict.error.code == "conflict" and conflict.error.current_version == 2


def test_c9_staff_notes_keep_their_lines_are_bounded_and_clear_when_blank() -> None:
    anna = create()
    typed = "Prefers calls after 5 pm.\r\n\r\nVIP since 2019,\u200b asked for paper invoices.  \n"
    anna.change(CustomerChanges(notes=typed), scope=FR, template=None, at=LATER)
    # Line breaks kept, invisible characters and trailing blanks gone: what the CSR reads back.
    assert anna.doc["notes"] == "Prefers calls after 5 pm.\n\nVIP since 2019, asked for paper invoices."
    assert anna.changed_fields == {"notes": anna.doc["notes"]} and anna.view().notes == anna.doc["notes"]
    with pytest.raises(ValidationError):
        CustomerChanges(notes="x" * (MAX_NOTES + 1))
    anna.change(CustomerChanges(notes="  \n "), scope=FR, template=None, at=LATER)
    assert anna.doc["notes"] is None and anna.version == 3


def test_c12_c20_a_registered_account_keeps_its_email_until_the_new_one_is_proved() -> None:
    anna = create()
    anna.change(CustomerChanges(email="anna@new.example"), scope=FR, template=None, at=LATER)
    assert anna.doc["email"] == "Anna.Martin@example.fr" and anna.doc["pending_email"] == "anna@new.example"
    assert anna.needs_email_verification
    assert anna.verify_email("anna@new.example", LATER) is False  # already registered: nothing to claim
    assert (anna.doc["email"], anna.doc["pending_email"], anna.doc["email_verified"]) == (
        "anna@new.example",
        None,
        True,
    )
    assert rejected(anna.verify_email, "Anna.Martin@example.fr", LATER).error.fields[0].field == "payload.token"
    # A guest's email just changes (nothing to protect), unverified.
    guest = create(account_type="guest")
    guest.change(CustomerChanges(email="g@new.example"), scope=FR, template=None, at=LATER)
    assert guest.doc["email"] == "g@new.example" and not guest.needs_email_verification


def test_c12_clearing_a_required_name_or_registering_without_email_is_refused() -> None:
    anna = create()
    error = rejected(anna.change, CustomerChanges(first_name=None, last_name=None), scope=FR, template=None, at=LATER)
    assert {f.field for f in error.error.fields} == {"payload.changes.first_name", "payload.changes.last_name"}
    guest = create(email=None, channel="order", account_type="guest")
    error = rejected(guest.change, CustomerChanges(account_type="registered"), scope=FR, template=None, at=LATER)
    assert error.error.fields[0].field == "payload.changes.account_type"
    assert guest.version == 1  # nothing was applied


def test_c4_the_newest_default_claim_wins_and_removing_the_default_moves_it() -> None:
    anna = create(addresses=[AddressInput(**HOME)])
    first = anna.doc["addresses"][0]["address_id"]
    chalet = anna.add_address(
        AddressInput(
            **{**HOME, "line1": "1 chemin du Lac", "city": "Annecy", "postal_code": "74000", "default_shipping": True}
        ),
        LATER,
    )
    by_id = {a["address_id"]: a for a in anna.doc["addresses"]}
    assert by_id[chalet["address_id"]]["default_shipping"] and not by_id[first]["default_shipping"]
    assert by_id[first]["default_billing"]  # untouched: the chalet claimed only shipping
    anna.remove_address(chalet["address_id"], LATER)
    assert [a["address_id"] for a in anna.doc["addresses"]] == [first]
    assert anna.doc["addresses"][0]["default_shipping"]  # the book keeps a default
    assert rejected(anna.remove_address, "nope", LATER).error.code == "not_found"


def test_c4_an_address_book_holds_at_most_50_addresses() -> None:
    anna = create(addresses=[AddressInput(**{**HOME, "line1": f"{n} rue X"}) for n in range(50)])
    assert rejected(anna.add_address, AddressInput(**HOME), LATER).error.fields[0].field == "payload.address"


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_c10_c15_each_action_moves_only_from_the_states_it_names(action: str) -> None:
    allowed, target = TRANSITIONS[action]  # type: ignore[index]
    for state in ("active", "inactive", "disabled", "waiting_approval", "rejected"):
        customer = create()
        customer.doc["state"] = state
        if state in allowed:
            assert customer.apply_action(action, "asked by phone", LATER) == state  # type: ignore[arg-type]
            assert (customer.doc["state"], customer.doc["state_reason"], customer.version) == (
                target,
                "asked by phone",
                2,
            )
        else:
            error = rejected(customer.apply_action, action, None, LATER)
            assert error.error.code == "invalid_state" and customer.doc["state"] == state


@pytest.mark.parametrize("state", ["retired", "erased"])
def test_c13_c18_a_merged_away_or_erased_record_takes_no_change(state: str) -> None:
    customer = create()
    customer.doc.update(state=state, merged_into="C200" if state == "retired" else None)
    for call, args in (
        (customer.change, (CustomerChanges(first_name="X"),)),
        (customer.add_address, (AddressInput(**HOME), LATER)),
        (customer.apply_action, ("disable", None, LATER)),
        (customer.set_password, ("hash",)),
    ):
        kwargs = (
            {"scope": FR, "template": None, "at": LATER}
            if call == customer.change
            else ({"proves_email": True, "at": LATER} if call == customer.set_password else {})
        )
        assert rejected(call, *args, **kwargs).error.code == "invalid_state"
    assert customer.version == 1


def test_c8_c20_a_guest_who_proves_the_email_claims_the_record_as_an_account() -> None:
    guest = create(account_type="guest")
    guest.start_claim(LATER)
    guest.set_password("argon2-hash", proves_email=False, at=LATER)
    assert "password_hash" not in guest.changed_fields and guest.changed_fields["password"] is True
    assert guest.verify_email("Anna.Martin@example.fr", LATER) is True
    assert (guest.doc["account_type"], guest.doc["logon_id"], guest.doc["claim_pending"]) == (
        "registered",
        "Anna.Martin@example.fr",
        False,
    )


def test_c2_c11_search_keys_and_the_one_registered_email_follow_every_change() -> None:
    anna = create(phone="06 12 34 56 78", addresses=[AddressInput(**HOME)], tags=["VIP", "Été", "vip"])
    assert anna.doc["s"] == {
        "sn": "martin anna",
        "fl": "anna martin",
        "e": "anna.martin@example.fr",  # folded for search and for the unique key (C2)
        "p": ["+33612345678"],
        "z": ["75002"],
        "t": ["ete", "vip"],
    }
    assert anna.doc["registered_email"] == "anna.martin@example.fr"
    anna.change(CustomerChanges(last_name="Durand", phone=None), scope=FR, template=None, at=LATER)
    assert (anna.doc["s"]["sn"], anna.doc["s"]["fl"], anna.doc["s"]["p"]) == ("durand anna", "anna durand", [])
    anna.remove_address(anna.doc["addresses"][0]["address_id"], LATER)
    assert anna.doc["s"]["z"] == []
    # Guests and merged-away records are outside the one-account-per-email index.
    assert "registered_email" not in create(account_type="guest").doc
    anna.set_fields({"state": "retired", "merged_into": "C200"}, LATER)
    assert "registered_email" not in anna.doc


def test_c4_changing_an_address_keeps_its_id_and_an_unknown_id_is_not_found() -> None:
    anna = create(addresses=[AddressInput(**HOME)])
    first = anna.doc["addresses"][0]["address_id"]
    changed = anna.change_address(first, AddressInput(**{**HOME, "line1": "14 rue de la Paix"}), LATER)
    assert changed["address_id"] == first and anna.doc["addresses"] == [changed] and anna.version == 2
    assert changed["default_shipping"] and changed["default_billing"]  # still the book's only address
    error = rejected(anna.change_address, "nope", AddressInput(**HOME), LATER)
    assert (error.error.code, anna.version) == ("not_found", 2)


# --- the events a change records (P2: published by the unit of work if it commits) ----------


def recorded(customer: Customer) -> list[tuple[str, dict[str, object]]]:
    return [(kind.__name__, payload.model_dump()) for kind, payload in customer.events]


def test_p2_c12_a_change_records_what_it_changed_at_its_version_and_no_change_records_nothing() -> None:
    anna = create()
    assert anna.events == []  # a new record's CustomerCreated is the creation's (bulk.create_each)
    anna.change(CustomerChanges(last_name="Martin-Durand", tags=["vip"]), scope=FR, template=None, at=LATER)
    assert recorded(anna) == [
        (
            CustomerUpdated.__name__,
            {"customer_code": "C100", "version": 2, "changed": {"last_name": "Martin-Durand", "tags": ["vip"]}},
        )
    ]
    anna.events.clear()
    anna.change(CustomerChanges(last_name="Martin-Durand"), scope=FR, template=None, at=LATER)
    assert anna.events == []  # the same value again: no change, no event
    anna.change(CustomerChanges(email="anna@new.example"), scope=FR, template=None, at=LATER)
    # C20: a registered account's new address is pending until proved, and the event says so.
    assert recorded(anna)[0][1]["changed"] == {"pending_email": "anna@new.example"}


def test_p2_c4_each_address_book_change_records_its_kind_address_and_version() -> None:
    anna = create()
    added = anna.add_address(AddressInput(**HOME), LATER)
    anna.change_address(added["address_id"], AddressInput(**{**HOME, "line1": "14 rue de la Paix"}), LATER)
    anna.remove_address(added["address_id"], LATER)
    events = recorded(anna)
    assert [kind for kind, _ in events] == [CustomerAddressChanged.__name__] * 3
    assert [(p["change"], p["version"], p["address_id"]) for _, p in events] == [
        ("added", 2, added["address_id"]),
        ("changed", 3, added["address_id"]),
        ("removed", 4, added["address_id"]),
    ]
    assert events[0][1]["address"]["line1"] == "12 rue de la Paix"  # type: ignore[index]
    assert events[1][1]["address"]["line1"] == "14 rue de la Paix"  # type: ignore[index]
    assert events[2][1]["address"] is None


def test_p2_c10_a_state_change_records_the_states_it_left_and_entered_and_a_refused_one_nothing() -> None:
    anna = create()
    anna.apply_action("disable", "fraud", LATER)
    assert recorded(anna) == [
        (
            CustomerStateChanged.__name__,
            {"customer_code": "C100", "version": 2, "previous": "active", "state": "disabled", "reason": "fraud"},
        )
    ]
    anna.events.clear()
    rejected(anna.apply_action, "approve", None, LATER)
    rejected(anna.change, CustomerChanges(first_name=None), scope=FR, template=None, at=LATER)
    assert anna.events == []


def test_p2_c6_a_preferred_store_records_an_update_only_when_it_changes() -> None:
    anna = create()
    anna.prefer_store("S1", LATER)
    anna.prefer_store("S1", LATER)
    assert recorded(anna) == [
        (CustomerUpdated.__name__, {"customer_code": "C100", "version": 2, "changed": {"preferred_store_id": "S1"}})
    ]
