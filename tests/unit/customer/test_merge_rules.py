"""C13: the per-field merge rules and their undo, without servers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.customer.merges import CustomersMerged, CustomersUnmerged, MergeCustomers
from contracts.customer.records import NewCustomer, ScopeView
from contracts.envelope import Actor
from customer.merges.rules import (
    RULES,
    MergeTerms,
    address_key,
    audit_notes,
    check_asked_by_csr,
    check_email_free,
    check_mergeable,
    check_undoable,
    found,
    merge,
    merge_terms,
    merged_event,
    plan_merge,
    plan_unmerge,
    undone,
    unmerge,
    unmerged_event,
)
from customer.records.rules import Customer
from plumbing.errors import Rejected

MAY, JUNE = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


def address(address_id: str, line1: str, postal: str = "75001", **flags: bool) -> dict:
    return {
        "address_id": address_id,
        "line1": line1,
        "line2": None,
        "city": "Paris",
        "postal_code": postal,
        "country": "FR",
        "default_shipping": False,
        "default_billing": False,
        **flags,
    }


def customer(code: str, **fields) -> dict:
    return {
        "_id": code,
        "scope_id": "eu-fr",
        "kind": "customer",
        "state": "active",
        "email": f"{code}@x.fr",
        "addresses": [],
        "tags": [],
        "attributes": {},
        **fields,
    }


def test_c13_addresses_join_without_duplicates_and_the_survivors_defaults_stay() -> None:
    a = customer("A", addresses=[address("a1", "1 rue de Rivoli", default_shipping=True, default_billing=True)])
    b = customer(
        "B",
        addresses=[
            address("b1", "1  RUE DE RIVOLI", "75 001", default_billing=True),
            address("b2", "9 quai Voltaire", default_shipping=True),
        ],
    )
    plan = plan_merge(a, b)
    merged = plan.survivor_updates["addresses"]
    assert [x["address_id"] for x in merged] == ["a1", "b2"]
    assert merged[0]["default_shipping"] and merged[0]["default_billing"]
    assert not merged[1]["default_shipping"] and not merged[1]["default_billing"]
    move = next(m for m in plan.moves if m["field"] == "addresses")
    assert (move["moved"], move["kept_from_merged"]) == (["b2"], ["b1"])
    assert address_key(b["addresses"][0]) == address_key(a["addresses"][0])


def test_c13_attributes_survivor_wins_and_the_merged_value_is_kept_for_the_journal() -> None:
    plan = plan_merge(
        customer("A", attributes={"size": "M", "club": "gold"}),
        customer("B", attributes={"size": "L", "newsletter": True}),
    )
    assert plan.survivor_updates["attributes"] == {"size": "M", "club": "gold", "newsletter": True}
    move = next(m for m in plan.moves if m["field"] == "attributes")
    assert move["moved"] == {"newsletter": True} and move["kept_from_merged"] == {"size": "L"}


def test_c13_tags_union_ignores_case_and_accents() -> None:
    plan = plan_merge(customer("A", tags=["VIP", "Été"]), customer("B", tags=["vip", "ete", "wholesale"]))
    assert plan.survivor_updates["tags"] == ["VIP", "Été", "wholesale"]


def test_c13_order_figures_add_up_and_memberships_move() -> None:
    a = customer(
        "A",
        order_count=2,
        last_order_at=MAY,
        groups=["g1"],
        stores=[{"store_id": "s1", "orders": 2, "last_order_at": MAY}],
    )
    b = customer(
        "B",
        order_count=3,
        last_order_at=JUNE,
        groups=["g1", "g2"],
        organizations=["ORG1"],
        stores=[
            {"store_id": "s1", "orders": 1, "last_order_at": JUNE},
            {"store_id": "s2", "orders": 2, "last_order_at": MAY},
        ],
    )
    plan = plan_merge(a, b)
    up = plan.survivor_updates
    assert (up["order_count"], up["last_order_at"], up["groups"], up["organizations"]) == (
        5,
        JUNE,
        ["g1", "g2"],
        ["ORG1"],
    )
    assert up["stores"] == [
        {"store_id": "s1", "orders": 3, "last_order_at": JUNE},
        {"store_id": "s2", "orders": 2, "last_order_at": MAY},
    ]
    # B gives up what moved: counts and memberships are not copied, they move.
    assert plan.merged_updates == {
        "order_count": 0,
        "last_order_at": None,
        "groups": [],
        "organizations": [],
        "stores": [],
    }


def test_c13_a_record_without_the_new_fields_merges() -> None:
    plan = plan_merge(customer("A"), customer("B", order_count=4))
    assert plan.survivor_updates["order_count"] == 4
    assert "groups" not in plan.survivor_updates and "stores" not in plan.survivor_updates


def test_c13_unmerge_takes_back_what_moved_and_keeps_what_arrived_since() -> None:
    a = customer(
        "A",
        phone=None,
        order_count=2,
        last_order_at=MAY,
        tags=["VIP"],
        attributes={"size": "M"},
        addresses=[address("a1", "1 rue de Rivoli")],
        stores=[{"store_id": "s1", "orders": 2, "last_order_at": MAY}],
    )
    b = customer(
        "B",
        phone="+33600000000",
        order_count=3,
        last_order_at=JUNE,
        tags=["wholesale"],
        attributes={"size": "L", "newsletter": True},
        addresses=[address("b2", "9 quai Voltaire")],
        stores=[{"store_id": "s1", "orders": 1, "last_order_at": JUNE}],
        groups=["g2"],
    )
    plan = plan_merge(a, b)
    survivor = {**a, **plan.survivor_updates}
    # Since the merge: A got a new tag, an order at s1 and an address of its own.
    survivor["tags"] = survivor["tags"] + ["new"]
    survivor["order_count"] += 1
    survivor["stores"] = [{**survivor["stores"][0], "orders": survivor["stores"][0]["orders"] + 1}]
    survivor["addresses"] = survivor["addresses"] + [address("a9", "3 rue du Bac")]
    updates, restores = plan_unmerge(survivor, plan.moves)
    after = {**survivor, **updates}
    assert after["tags"] == ["VIP", "new"]
    assert after["attributes"] == {"size": "M"}
    assert [x["address_id"] for x in after["addresses"]] == ["a1", "a9"]
    assert after["phone"] is None
    assert after["order_count"] == 3 and after["last_order_at"] == MAY
    assert after["stores"] == [{"store_id": "s1", "orders": 3, "last_order_at": MAY}]
    assert restores["order_count"] == 3 and restores["groups"] == ["g2"] and restores["stores"] == b["stores"]


def test_c13_an_attribute_the_survivor_changed_since_stays_on_unmerge() -> None:
    plan = plan_merge(customer("A"), customer("B", attributes={"newsletter": True}))
    updates, _ = plan_unmerge(customer("A", attributes={"newsletter": False}), plan.moves)
    assert "attributes" not in updates


@pytest.mark.parametrize(
    ("a", "b", "code", "field"),
    [
        (customer("A"), customer("A"), "validation", "payload.merged_code"),
        (customer("A"), customer("B", state="retired", merged_into="C"), "invalid_state", None),
        (customer("A", state="erased"), customer("B"), "invalid_state", None),
        (customer("A"), customer("B", scope_id="de"), "validation", "payload.merged_code"),
        (customer("A"), customer("B", kind="organization"), "validation", "payload.merged_code"),
    ],
)
def test_c13_merging_a_retired_customer_itself_or_across_scopes_is_refused(a, b, code, field) -> None:  # noqa: ANN001
    with pytest.raises(Rejected) as refused:
        check_mergeable(a, b)
    assert refused.value.error.code == code
    assert [f.field for f in refused.value.error.fields] == ([field] if field else [])


def test_c13_every_rule_has_a_default_and_both_directions() -> None:
    for name, rule in RULES.items():
        value = rule.default()
        assert rule.unmerge(rule.merge(value, value).value, rule.merge(value, value).moved, value) == value, name


# --- the merge and its undoing on two customer aggregates (what the handlers call) ---------------


def aggregates() -> tuple[Customer, Customer]:
    scope = ScopeView(
        scope_id="eu-fr", name="France", country="FR", default_language="fr", requires_approval=False, created_at=MAY
    )

    def new(code: str, email: str, phone: str | None, tags: list[str]) -> Customer:
        fields = {"first_name": "Anna", "last_name": "Martin", "email": email, "phone": phone, "tags": tags}
        return Customer.create(NewCustomer(scope_id="eu-fr", **fields), code=code, scope=scope, template=None, at=MAY)

    return new("C1", "anna@x.fr", None, ["vip"]), new("C2", "anna.m@y.fr", "06 12 34 56 78", ["b2b"])


def terms(a: Customer, b: Customer, at: datetime = JUNE, **changes: object) -> MergeTerms:
    window = timedelta(days=30)
    return replace(MergeTerms("M1", a.version, b.version, "same person", "csr:ines", at, at + window), **changes)


def test_c13_a_merge_retires_b_into_a_and_journals_every_field_it_moved() -> None:
    a, b = aggregates()
    entry = merge(a, b, terms(a, b))
    assert (b.state, b.merged_into, a.version, b.version) == ("retired", "C1", 2, 2)
    assert a.doc["phone"] == "+33612345678" and set(a.doc["tags"]) == {"vip", "b2b"}
    assert a.doc["email"] == "anna@x.fr"  # the survivor's email stays
    moves = {m["field"]: m for m in entry["moves"]}
    assert moves["phone"]["moved"] == "+33612345678" and moves["tags"]["moved"] == ["b2b"]
    assert (entry["merge_id"], entry["state"], entry["merged_previous"]) == (
        "M1",
        "merged",
        {"state": "active", "state_reason": None},
    )


def test_c13_a_merge_at_a_version_the_csr_did_not_see_is_a_conflict_and_changes_nothing() -> None:
    a, b = aggregates()
    with pytest.raises(Rejected) as refused:
        merge(a, b, terms(a, b, merged_version=b.version + 1))
    assert refused.value.error.code == "conflict"
    assert (a.version, b.version, b.state) == (1, 1, "active")


def test_c13_an_unmerge_gives_b_back_what_moved_and_its_state() -> None:
    a, b = aggregates()
    entry = merge(a, b, terms(a, b))
    check_undoable(entry, JUNE)
    unmerge(a, b, entry, JUNE)
    assert (b.state, b.merged_into, a.doc["phone"], a.doc["tags"]) == ("active", None, None, ["vip"])


@pytest.mark.parametrize(
    ("change", "at", "words"),
    [
        ({}, JUNE + timedelta(days=31), "window closed"),
        ({"state": "unmerged", "unmerged_at": JUNE}, JUNE, "undone already"),
        ({"erased": True}, JUNE, "was erased"),
    ],
)
def test_c13_a_merge_is_undone_once_within_its_window_while_both_customers_exist(change, at, words) -> None:  # noqa: ANN001
    a, b = aggregates()
    entry = {**merge(a, b, terms(a, b)), **change}
    with pytest.raises(Rejected) as refused:
        check_undoable(entry, at)
    assert refused.value.error.code == "invalid_state" and words in refused.value.error.message


def test_c13_a_survivor_merged_away_since_must_be_unmerged_first() -> None:
    a, b = aggregates()
    entry = merge(a, b, terms(a, b))
    a.set_fields({"state": "retired", "merged_into": "C9"}, JUNE)
    with pytest.raises(Rejected) as refused:
        unmerge(a, b, entry, JUNE)
    assert "undo that merge first" in refused.value.error.message


def test_c13_only_a_csr_or_a_system_merges() -> None:
    check_asked_by_csr(Actor(kind="csr", id="ines"), "customers are merged")
    check_asked_by_csr(None, "customers are merged")
    with pytest.raises(Rejected) as refused:
        check_asked_by_csr(Actor(kind="customer", id="C1"), "customers are merged")
    assert refused.value.error.code == "forbidden"


def test_c13_a_merge_is_the_commands_own_undoable_for_the_window_and_says_who_asked() -> None:
    payload = {"survivor_code": "C1", "survivor_version": 4, "merged_code": "C2", "merged_version": 7, "reason": "twin"}
    cmd = MergeCustomers(producer="tests", payload=payload, actor=Actor(kind="csr", id="ines"))
    t = merge_terms(cmd, JUNE, 30)
    assert (t.merge_id, t.survivor_version, t.merged_version, t.reason) == (cmd.message_id, 4, 7, "twin")
    assert (t.merged_by, t.at, t.undo_until) == ("csr:ines", JUNE, JUNE + timedelta(days=30))
    assert merge_terms(cmd.model_copy(update={"actor": None}), JUNE, 0.5).merged_by == "system"


def test_c13_the_merge_and_unmerge_events_carry_both_customers_as_left_and_what_moved() -> None:
    a, b = aggregates()
    t = terms(a, b)
    entry = merge(a, b, t)
    merged = CustomersMerged(producer="tests", payload=merged_event(t, a, b, entry)).payload
    assert (merged.merge_id, merged.survivor_code, merged.merged_code, merged.merged_at) == ("M1", "C1", "C2", JUNE)
    assert merged.merged.state == "retired" and {m.field for m in merged.moves} >= {"phone", "tags"}
    unmerge(a, b, entry, JUNE + timedelta(days=1))
    back = CustomersUnmerged(producer="tests", payload=unmerged_event(entry, a, b, JUNE + timedelta(days=1))).payload
    assert (back.merge_id, back.merged_at, back.unmerged_at) == ("M1", JUNE, JUNE + timedelta(days=1))
    assert back.restored.state == "active" and back.survivor.phone is None


def test_c13_the_audit_says_who_took_whom_and_the_merge_undone_on_both() -> None:
    assert audit_notes("C1", "C2", "M1") == ("merged C2 into it (merge M1)", "merged into C1 (merge M1)")
    assert audit_notes("C1", "C2", "M1", undone=True) == ("unmerged (merge M1)", "unmerged (merge M1)")
    assert undone("csr:ines", "wrong twin", JUNE) == {
        "state": "unmerged",
        "unmerged_at": JUNE,
        "unmerged_by": "csr:ines",
        "unmerge_reason": "wrong twin",
    }


def test_c13_an_unknown_merge_is_not_found() -> None:
    assert found({"_id": "M1"}, "M1") == {"_id": "M1"}
    with pytest.raises(Rejected) as refused:
        found(None, "M9")
    assert refused.value.error.code == "not_found" and refused.value.error.fields[0].field == "payload.merge_id"


def test_c13_b_comes_back_only_if_no_other_registered_account_took_its_email() -> None:
    a, b = aggregates()
    check_email_free(b, None)
    check_email_free(b, {"_id": "C2"})  # its own
    with pytest.raises(Rejected) as refused:
        check_email_free(b, {"_id": "C7"})
    assert refused.value.error.code == "conflict" and "registered email of C7" in refused.value.error.message
