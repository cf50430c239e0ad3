"""Rules of organizations (C5) and groups (C19), without servers: organization records,
membership, segment rules checked, compiled to MongoDB filters and evaluated in Python."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.customer.records import AccountTemplateView, AddressInput, AttributeField, ScopeView
from contracts.customer.relations import NewGroup, NewOrganization, OrganizationChanges, SegmentRule
from customer.records.rules import Customer
from customer.relations.rules import (
    add_membership,
    check_rules,
    compile_segment,
    customer_groups,
    member_problem,
    new_group,
    new_organization,
    remove_membership,
    replace_rules,
    require_organization,
    segment_matches,
)
from plumbing.errors import Rejected

AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SCOPE = ScopeView(
    scope_id="eu-fr", name="EU FR", country="FR", default_language="fr", requires_approval=False, created_at=AT
)
TEMPLATE = AccountTemplateView(
    scope_id="eu-fr",
    version=1,
    fields=[
        AttributeField(name="tier", type="enum", allowed_values=["silver", "gold"]),
        AttributeField(name="children", type="integer"),
        AttributeField(name="birthday", type="date"),
        AttributeField(name="newsletter", type="boolean"),
        AttributeField(name="credit", type="decimal"),
        AttributeField(name="nickname", type="string"),
    ],
)


def rule(field: str, op: str, value: Any) -> SegmentRule:
    return SegmentRule(field=field, op=op, value=value)


def errors_of(caught: pytest.ExceptionInfo[Rejected]) -> dict[str, str]:
    return {f.field: f.reason for f in caught.value.error.fields}


# --- segments: sample records and segments, shared with the integration test that runs the
# compiled filters on the real MongoDB (tests/integration/customer/test_customer_relations.py) --------


def sample(code: str, **fields: Any) -> dict[str, Any]:
    tags = fields.pop("tags", [])
    return {
        "_id": code,
        "scope_id": "eu-fr",
        "kind": "customer",
        "state": "active",
        "attributes": {},
        "s": {"t": tags},
        **fields,
    }


SAMPLE_DOCS = [
    sample(
        "A",
        attributes={"tier": "gold", "children": 2, "birthday": "1992-05-01", "newsletter": True, "credit": "10.50"},
        tags=["vip"],
        order_count=5,
        last_order_at=datetime(2026, 3, 1, tzinfo=UTC),
    ),
    sample("B", state="inactive", attributes={"tier": "silver", "children": 0, "newsletter": False}),
    sample(
        "C",
        state="disabled",
        attributes={"tier": "gold", "children": 1, "birthday": "1985-12-31"},
        tags=["wholesale"],
        order_count=1,
        last_order_at=datetime(2025, 6, 1, tzinfo=UTC),
    ),
    sample("D", kind="organization", attributes={"tier": "gold"}, order_count=9),
    sample("E", scope_id="de", attributes={"tier": "gold"}, order_count=9),
    sample("F", state="retired", attributes={"tier": "gold"}, order_count=9),
    # Values of other types than the template says (the template changed after they were
    # written): MongoDB compares within a type only, and so must the Python side.
    sample(
        "G",
        attributes={"children": "2", "newsletter": 1, "birthday": 19900101},
        tags=["vip"],
        order_count=3,
        last_order_at=datetime(2026, 1, 1, tzinfo=UTC),
    ),
    sample("H", order_count=0),
]
for _doc in SAMPLE_DOCS[7:]:
    del _doc["attributes"]  # a record from before attributes existed

SEGMENTS: dict[str, tuple[list[SegmentRule], set[str]]] = {
    # name: (rules, the sample codes it selects)
    "gold": ([rule("attributes.tier", "equals", "gold")], {"A", "C"}),
    "any-tier-vip": ([rule("attributes.tier", "one_of", ["silver", "gold"]), rule("tag", "equals", "VIP")], {"A"}),
    "children-over-1": ([rule("attributes.children", "greater_than", "1")], {"A"}),
    "few-children-live": (
        [rule("attributes.children", "less_than", 3), rule("state", "one_of", ["active", "inactive"])],
        {"A", "B"},
    ),
    "born-after-1990": ([rule("attributes.birthday", "greater_than", "1990-01-01")], {"A"}),
    "newsletter": ([rule("attributes.newsletter", "equals", "true")], {"A"}),
    "three-orders": ([rule("order_count", "at_least", 3)], {"A", "G"}),
    "at-most-one-order": ([rule("order_count", "at_most", 1)], {"B", "C", "H"}),
    "everyone": ([rule("order_count", "at_least", 0)], {"A", "B", "C", "G", "H"}),
    "lapsed": ([rule("last_order_at", "before", "2026-01-01")], {"C"}),
    "recent-tagged": (
        [rule("last_order_at", "after", "2025-12-31T23:00:00+00:00"), rule("tag", "one_of", ["Wholesale", "vip"])],
        {"A", "G"},
    ),
    "disabled": ([rule("state", "equals", "disabled")], {"C"}),
}


def test_c19_segment_rules_select_the_expected_records_in_python() -> None:
    for name, (rules, expected) in SEGMENTS.items():
        checked = check_rules(rules, TEMPLATE)
        assert {d["_id"] for d in SAMPLE_DOCS if segment_matches("eu-fr", checked, d)} == expected, name


def _values(doc: dict[str, Any], path: str) -> list[Any]:
    """What MongoDB compares for a dotted path: the value, or each element of an array (and
    the array itself); a missing field is compared as null."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return [None]
        value = value[part]
    return [*value, value] if isinstance(value, list) else [value]


def _bracket(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _condition(actual: Any, op: str, operand: Any) -> bool:
    if op == "$in":
        return any(_condition(actual, "$eq", o) for o in operand)
    if op == "$eq":
        return _bracket(actual) == _bracket(operand) and actual == operand
    if op == "$ne":
        return not _condition(actual, "$eq", operand)
    if _bracket(actual) != _bracket(operand):
        return False
    return {"$gt": actual > operand, "$gte": actual >= operand, "$lt": actual < operand, "$lte": actual <= operand}[op]


def mongo_matches(query: dict[str, Any], doc: dict[str, Any]) -> bool:
    """A small MongoDB query matcher for the operators segments compile to."""
    for key, condition in query.items():
        if key == "$and":
            ok = all(mongo_matches(q, doc) for q in condition)
        elif key == "$or":
            ok = any(mongo_matches(q, doc) for q in condition)
        elif isinstance(condition, dict):
            values = _values(doc, key)
            ok = all(
                not any(_condition(v, "$eq", operand) for v in values)
                if op == "$ne"
                else any(_condition(v, op, operand) for v in values)
                for op, operand in condition.items()
            )
        else:
            ok = any(_condition(v, "$eq", condition) for v in _values(doc, key))
        if not ok:
            return False
    return True


def test_c19_compiled_filter_and_python_evaluation_agree_on_sample_records() -> None:
    for name, (rules, _) in SEGMENTS.items():
        checked = check_rules(rules, TEMPLATE)
        query = compile_segment("eu-fr", checked)
        for doc in SAMPLE_DOCS:
            assert mongo_matches(query, doc) == segment_matches("eu-fr", checked, doc), (name, doc["_id"])


def test_c19_each_rule_kind_compiles_to_an_indexed_field() -> None:
    checked = check_rules(
        [
            rule("attributes.children", "greater_than", 2),
            rule("tag", "one_of", ["VIP", "Grossiste"]),
            rule("state", "equals", "active"),
            rule("order_count", "at_least", 2),
            rule("last_order_at", "after", "2026-01-01"),
        ],
        TEMPLATE,
    )
    query = compile_segment("eu-fr", checked)
    assert query["$and"][:3] == [{"scope_id": "eu-fr"}, {"kind": "customer"}, {"state": {"$ne": "retired"}}]
    assert query["$and"][3:] == [
        {"attributes.children": {"$gt": 2}},
        {"s.t": {"$in": ["vip", "grossiste"]}},
        {"state": "active"},
        {"order_count": {"$gte": 2}},
        {"last_order_at": {"$gt": datetime(2026, 1, 1, tzinfo=UTC)}},
    ]
    # At most N orders includes those who never ordered (no order_count yet).
    (at_most,) = check_rules([rule("order_count", "at_most", 2)], TEMPLATE)
    assert compile_segment("eu-fr", [at_most])["$and"][3] == {
        "$or": [{"order_count": {"$lte": 2}}, {"order_count": None}]
    }


def test_c19_invalid_rules_are_refused_field_by_field() -> None:
    with pytest.raises(Rejected) as caught:
        check_rules(
            [
                rule("attributes.shoe_size", "equals", 42),  # not in the template
                rule("attributes.tier", "greater_than", "gold"),  # an enum does not order
                rule("attributes.credit", "equals", "10"),  # decimals are exact text
                rule("attributes.children", "equals", "two"),  # not a whole number
                rule("tag", "one_of", "vip"),  # one_of takes a list
                rule("state", "one_of", ["active", "sleeping"]),  # not a state
                rule("order_count", "at_least", -1),
                rule("order_count", "before", 3),
                rule("last_order_at", "after", "2026-01-01T00:00:00"),  # no time zone
                rule("attributes.tier", "equals", ["gold"]),  # equals takes one value
            ],
            TEMPLATE,
        )
    errors = errors_of(caught)
    assert set(errors) == {
        "payload.rules.0.field",
        "payload.rules.1.op",
        "payload.rules.2.field",
        "payload.rules.3.value",
        "payload.rules.4.value",
        "payload.rules.5.value.1",
        "payload.rules.6.value",
        "payload.rules.7.op",
        "payload.rules.8.value",
        "payload.rules.9.value",
    }
    assert errors["payload.rules.0.field"] == "not a field of this scope's account template"
    assert "at_least, at_most" in errors["payload.rules.7.op"]
    with pytest.raises(Rejected) as caught:
        check_rules([], TEMPLATE)
    assert set(errors_of(caught)) == {"payload.rules"}
    with pytest.raises(Rejected) as caught:
        check_rules([rule("attributes.tier", "equals", "gold")], None)  # the scope has no template
    assert set(errors_of(caught)) == {"payload.rules.0.field"}


def test_c19_values_are_stored_in_the_attribute_form() -> None:
    checked = check_rules(
        [
            rule("attributes.newsletter", "equals", "TRUE"),
            rule("attributes.children", "one_of", ["1", 2]),
            rule("last_order_at", "before", "2026-02-01T01:00:00+01:00"),
        ],
        TEMPLATE,
    )
    assert [r["value"] for r in checked] == [True, [1, 2], "2026-02-01T00:00:00+00:00"]


def test_c19_groups_static_and_segment() -> None:
    static = new_group(NewGroup(group_id="VIP-Paris", scope_id="eu-fr", name="VIP Paris"), TEMPLATE, AT)
    assert static["_id"] == "vip-paris" and static["rules"] == [] and static["version"] == 1
    with pytest.raises(Rejected) as caught:
        new_group(
            NewGroup(group_id="x", scope_id="eu-fr", name="X", rules=[rule("state", "equals", "active")]), TEMPLATE, AT
        )
    assert set(errors_of(caught)) == {"payload.rules"}
    segment = new_group(
        NewGroup(
            group_id="gold",
            scope_id="eu-fr",
            name="Gold",
            kind="segment",
            rules=[rule("attributes.tier", "equals", "gold")],
        ),
        TEMPLATE,
        AT,
    )
    replace_rules(segment, 1, [rule("order_count", "at_least", 3)], TEMPLATE, AT)
    assert segment["version"] == 2 and segment["rules"] == [{"field": "order_count", "op": "at_least", "value": 3}]
    with pytest.raises(Rejected) as caught:
        replace_rules(segment, 1, [rule("order_count", "at_least", 3)], TEMPLATE, AT)
    assert caught.value.error.code == "conflict" and caught.value.error.current_version == 2
    with pytest.raises(Rejected) as caught:
        replace_rules(static, 1, [rule("order_count", "at_least", 3)], TEMPLATE, AT)
    assert caught.value.error.code == "invalid_state"

    doc = {**SAMPLE_DOCS[0], "groups": ["vip-paris"]}
    assert customer_groups(doc, [{**segment, "scope_id": "eu-fr"}]) == ["vip-paris", "gold"]
    assert customer_groups(SAMPLE_DOCS[1], [segment]) == []


# --- organizations (C5) -------------------------------------------------------------------


def organization() -> Customer:
    return new_organization(
        NewOrganization(
            scope_id="eu-fr",
            number=" fr 123-456 ",
            name="Société Générale des Crêpes",
            manager="Anne Roy",
            manager_phone="01 23 45 67 89",
            price_level="wholesale-2",
            address=AddressInput(line1="1 rue X", city="Paris", postal_code="75002", country="FR"),
        ),
        code="C10017",
        scope=SCOPE,
        at=AT,
    )


def test_c5_an_organization_is_a_customer_record_with_search_keys() -> None:
    org = organization()
    doc = org.doc
    assert doc["kind"] == "organization" and doc["account_type"] == "guest" and doc["email"] is None
    assert doc["organization"]["number_key"] == "FR123456" and doc["organization"]["number"] == "fr 123-456"
    assert doc["organization"]["manager_phone"] == doc["phone"] == "+33123456789"
    assert doc["s"]["sn"] == "societe generale des crepes" and doc["s"]["z"] == ["75002"]
    assert "registered_email" not in doc
    assert doc["addresses"][0]["default_billing"] and doc["addresses"][0]["default_shipping"]
    view = org.view()  # reads as any customer record
    assert view.kind == "organization" and view.last_name == "Société Générale des Crêpes"

    with pytest.raises(Rejected) as caught:
        new_organization(
            NewOrganization(scope_id="eu-fr", number="1", name="X", manager_phone="12"), code="C1", scope=SCOPE, at=AT
        )
    assert set(errors_of(caught)) == {"payload.manager_phone"}


def test_c5_changing_an_organization() -> None:
    from customer.relations.rules import change_organization

    org = organization()
    assert change_organization(org, OrganizationChanges(manager="Anne Roy"), scope=SCOPE, at=AT) == {}
    assert org.version == 1
    changed = change_organization(
        org, OrganizationChanges(name="Crêpes SA", number="FR-999", price_level=None), scope=SCOPE, at=AT
    )
    assert changed == {"name": "Crêpes SA", "number": "FR-999", "price_level": None}
    assert org.version == 2 and org.doc["s"]["sn"] == "crepes sa" and org.doc["organization"]["number_key"] == "FR999"
    with pytest.raises(Rejected) as caught:
        change_organization(org, OrganizationChanges(name=None), scope=SCOPE, at=AT)
    assert set(errors_of(caught)) == {"payload.changes.name"}


def test_c5_membership_is_a_list_on_the_record_and_joining_twice_changes_nothing() -> None:
    customer = Customer({"_id": "C1", "version": 3, "scope_id": "eu-fr", "kind": "customer", "state": "active"})
    assert add_membership(customer, "organizations", "C10017", AT) and customer.version == 4
    assert not add_membership(customer, "organizations", "C10017", AT) and customer.version == 4
    assert customer.doc["organizations"] == ["C10017"]
    assert remove_membership(customer, "organizations", "C10017", AT) and customer.doc["organizations"] == []
    assert not remove_membership(customer, "organizations", "C10017", AT) and customer.version == 5

    assert member_problem(organization().doc, "eu-fr") is not None  # an organization is not a member
    require_organization(organization().doc)
    for not_one in ({"_id": "C1", "kind": "customer"}, {"_id": "C2", "kind": "organization", "state": "active"}):
        with pytest.raises(Rejected) as caught:
            require_organization(not_one)
        assert set(errors_of(caught)) == {"payload.organization_code"}
    assert "merged" in member_problem(
        {"_id": "C2", "scope_id": "eu-fr", "state": "retired", "merged_into": "C1"}, "eu-fr"
    )
    assert "scope" in member_problem({"_id": "C3", "scope_id": "de", "state": "active"}, "eu-fr")
