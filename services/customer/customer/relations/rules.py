"""Rules of organizations (C5) and customer groups (C19), free of I/O.

An organization is a customer document of kind ``organization``: the same codes, search keys
and reads as a customer (its name is the record's last name, so name search and sorting
find it; its address is its address book; its manager's phone its phone). What only an
organization has lives under ``doc["organization"]``.

A segment is a list of rules that must all hold. ``compile_segment`` turns it into a MongoDB
filter that indexes serve; ``segment_matches`` evaluates the same rules on one document in
Python (for a customer's record). The two must agree on every document: a unit test runs
both on the same sample documents.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from contracts.customer.records import AccountTemplateView, CustomerState, ScopeView
from contracts.customer.relations import NewGroup, NewOrganization, OrganizationChanges, OrganizationView, SegmentRule
from contracts.envelope import Actor
from plumbing.errors import Rejected
from plumbing.normalize import InvalidValue, fold, normalize_phone, postal_key

from ..records.rules import (
    Customer,
    FieldErrors,
    account_bookkeeping,
    address_document,
    settle_defaults,
    stored_attribute_value,
)

STATES: frozenset[str] = frozenset(CustomerState.__args__)  # type: ignore[attr-defined]


def require_staff(actor: Actor | None) -> None:
    """Organizations and groups are run by CSRs and systems; a customer may only join or leave."""
    if actor is not None and actor.kind == "customer":
        raise Rejected.of("forbidden", "only staff and systems manage organizations and groups")


# --- organizations (C5) -------------------------------------------------------------------


def organization_number_key(number: str) -> str:
    """What two business numbers must share to be the same: 'fr 123-456.78' and 'FR12345678'.
    (The canonical form of postal codes: folded, upper-case, without spaces, dashes, dots.)"""
    return postal_key(number)


def new_organization(new: NewOrganization, *, code: str, scope: ScopeView, at: datetime) -> Customer:
    """The customer document of a new organization, its fields checked."""
    errors = FieldErrors()
    phone = _manager_phone(new.manager_phone, scope, errors, "payload.manager_phone")
    errors.raise_if_any()
    addresses = [address_document(new.address)] if new.address else []
    settle_defaults(addresses, None)
    doc = {
        "_id": code,
        "scope_id": new.scope_id,
        "version": 1,
        "kind": "organization",
        # The customer fields every record has, so that search, reads and merges need no case
        # for organizations. An organization never signs in: no logon id, no email, a "guest".
        "logon_id": None,
        "email": None,
        "email_verified": False,
        "first_name": "",
        "last_name": new.name,
        "phone": phone,
        "work_phone": None,
        "fax": None,
        "phone_extension": None,
        "preferred_language": None,
        "account_type": "guest",
        "state": "active",
        "state_reason": None,
        "attributes": {},
        "tags": [],
        "flag": None,
        "addresses": addresses,
        "channel": "csr",
        "idempotency_key": None,
        **account_bookkeeping(at),
        "organization": {
            "number": new.number,
            "number_key": organization_number_key(new.number),
            "name": new.name,
            "manager": new.manager,
            "manager_phone": phone,
            "price_level": new.price_level,
        },
    }
    organization = Customer(doc)
    organization.refresh_keys()
    return organization


def _manager_phone(raw: str | None, scope: ScopeView, errors: FieldErrors, field: str) -> str | None:
    return errors.check(field, normalize_phone, raw, scope.country) if raw else None


def require_organization(doc: dict[str, Any], field: str = "payload.organization_code") -> None:
    if doc.get("kind") != "organization":
        raise Rejected.invalid(field, f"{doc['_id']} is a customer, not an organization")
    if "organization" not in doc:  # CreateCustomer accepts kind "organization" but sets no organization fields
        raise Rejected.invalid(field, f"{doc['_id']} has no organization fields; create it with CreateOrganization")
    if doc["state"] == "retired":
        raise Rejected.invalid_state(f"organization {doc['_id']} was merged into {doc.get('merged_into')}")


def require_member(doc: dict[str, Any], field: str = "payload.customer_code") -> None:
    """Only a live customer (not an organization, not a retired record) joins an organization or a group."""
    if doc["state"] == "retired":
        raise Rejected.invalid_state(f"customer {doc['_id']} was merged into {doc.get('merged_into')}")
    if problem := member_problem(doc, doc["scope_id"]):
        raise Rejected.invalid(field, problem)


def member_problem(doc: dict[str, Any], scope_id: str) -> str | None:
    """Why a record cannot be a member of a group of ``scope_id``, if it cannot."""
    if doc.get("kind", "customer") != "customer":
        return f"{doc['_id']} is an organization; only customers are members"
    if doc["state"] == "retired":
        return f"customer {doc['_id']} was merged into {doc.get('merged_into')}"
    if doc["scope_id"] != scope_id:
        return f"customer {doc['_id']} is in scope {doc['scope_id']!r}, not {scope_id!r}"
    return None


def change_organization(
    organization: Customer, changes: OrganizationChanges, *, scope: ScopeView, at: datetime
) -> dict[str, Any]:
    """Apply ``changes``; returns the changed fields and their new values (empty: nothing changed)."""
    require_organization(organization.doc)
    given = changes.model_fields_set
    errors = FieldErrors()
    current = organization.doc["organization"]
    updates: dict[str, Any] = {}
    for name in ("number", "name"):
        if name in given:
            if getattr(changes, name) is None:
                errors.add(f"payload.changes.{name}", "required: must not be empty")
            else:
                updates[name] = getattr(changes, name)
    for name in ("manager", "price_level"):
        if name in given:
            updates[name] = getattr(changes, name)
    if "manager_phone" in given:
        updates["manager_phone"] = _manager_phone(changes.manager_phone, scope, errors, "payload.changes.manager_phone")
    errors.raise_if_any()
    changed = {k: v for k, v in updates.items() if current.get(k) != v}
    doc = organization.doc
    if "address" in given:
        addresses = [address_document(changes.address)] if changes.address else []
        settle_defaults(addresses, None)
        if _without_ids(addresses) != _without_ids(doc["addresses"]):
            doc["addresses"] = addresses
            changed["address"] = addresses[0] if addresses else None
    if not changed:
        return {}
    current.update({k: v for k, v in changed.items() if k != "address"})
    if "number" in changed:
        current["number_key"] = organization_number_key(current["number"])
    doc["last_name"] = current["name"]
    doc["phone"] = current["manager_phone"]
    bump(organization, at)
    organization.refresh_keys()
    return changed


def _without_ids(addresses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in a.items() if k != "address_id"} for a in addresses]


def organization_view(doc: dict[str, Any], member_count: int = 0) -> OrganizationView:
    org = doc["organization"]
    return OrganizationView(
        code=doc["_id"],
        scope_id=doc["scope_id"],
        version=doc["version"],
        number=org["number"],
        name=org["name"],
        address=doc["addresses"][0] if doc["addresses"] else None,
        manager=org.get("manager"),
        manager_phone=org.get("manager_phone"),
        price_level=org.get("price_level"),
        state=doc["state"],
        member_count=member_count,
        registered_at=doc["registered_at"],
        updated_at=doc["updated_at"],
    )


# --- membership: organizations and static groups ------------------------------------------


def bump(customer: Customer, at: datetime) -> None:
    """A new version of the record (C12: a concurrent change is detected). Not an activity
    of the customer: ``last_activity_at`` stays."""
    customer.doc["version"] += 1
    customer.doc["updated_at"] = at


def add_membership(customer: Customer, field: str, value: str, at: datetime) -> bool:
    """Add ``value`` to the list ``field`` ("organizations", "groups"); False if it was there."""
    members = list(customer.doc.get(field) or [])
    if value in members:
        return False
    customer.doc[field] = [*members, value]
    customer.changed_fields[field] = customer.doc[field]
    bump(customer, at)
    return True


def remove_membership(customer: Customer, field: str, value: str, at: datetime) -> bool:
    members = list(customer.doc.get(field) or [])
    if value not in members:
        return False
    customer.doc[field] = [m for m in members if m != value]
    customer.changed_fields[field] = customer.doc[field]
    bump(customer, at)
    return True


# --- segments (C19) -----------------------------------------------------------------------

ATTRIBUTE_OPS = {
    "string": ("equals", "one_of"),
    "enum": ("equals", "one_of"),
    "boolean": ("equals", "one_of"),
    # Decimals are stored as exact text ("1500.50" is not "1500.5") and do not order as
    # numbers: no rule can be index-served and right for them until they are stored as numbers.
    "decimal": (),
    "integer": ("equals", "one_of", "greater_than", "less_than"),
    "date": ("equals", "one_of", "greater_than", "less_than"),
}
FIELD_OPS = {
    "tag": ("equals", "one_of"),
    "state": ("equals", "one_of"),
    "order_count": ("at_least", "at_most"),
    "last_order_at": ("before", "after"),
}
MAX_ONE_OF = 100


def check_rules(
    rules: list[SegmentRule], template: AccountTemplateView | None, *, path: str = "payload.rules"
) -> list[dict[str, Any]]:
    """C19: a segment's rules checked (every bad one named) and normalized to the stored form
    of their values; what ``compile_segment`` and ``segment_matches`` take."""
    errors = FieldErrors()
    if not rules:
        errors.add(path, "a segment needs at least one rule")
    fields = {f.name: f for f in (template.fields if template else [])}
    checked = []
    for index, rule in enumerate(rules):
        at = f"{path}.{index}"
        if rule.field.startswith("attributes."):
            field = fields.get(rule.field.removeprefix("attributes."))
            if field is None:
                errors.add(f"{at}.field", "not a field of this scope's account template")
                continue
            allowed = ATTRIBUTE_OPS[field.type]

            convert: Callable[[Any], Any] = partial(stored_attribute_value, field)  # binds this rule's field
        else:
            allowed = FIELD_OPS[rule.field]
            convert = _FIELD_VALUES[rule.field]
        if not allowed:
            errors.add(f"{at}.field", "decimal attributes cannot be used in segment rules yet")
            continue
        if rule.op not in allowed:
            errors.add(f"{at}.op", f"{rule.field} takes {', '.join(allowed)}")
            continue
        value = _checked_value(rule, convert, errors, f"{at}.value")
        if value is not None:
            checked.append({"field": rule.field, "op": rule.op, "value": value})
    errors.raise_if_any()
    return checked


def _checked_value(rule: SegmentRule, convert: Any, errors: FieldErrors, at: str) -> Any:
    if rule.op == "one_of":
        if not isinstance(rule.value, list) or not rule.value:
            errors.add(at, "one_of takes a non-empty list")
            return None
        if len(rule.value) > MAX_ONE_OF:
            errors.add(at, f"at most {MAX_ONE_OF} values")
            return None
        values = [errors.check(f"{at}.{i}", convert, v) for i, v in enumerate(rule.value)]
        return None if any(v is None for v in values) else values
    if isinstance(rule.value, list):
        errors.add(at, f"{rule.op} takes one value, not a list")
        return None
    return errors.check(at, convert, rule.value)


def _tag(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue("must be a tag")
    return value.strip()


def _state(value: Any) -> str:
    if value not in STATES:
        raise InvalidValue(f"must be one of {', '.join(sorted(STATES))}")
    return str(value)


def _order_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue("must be a whole number, 0 or more")
    return value


def _moment(value: Any) -> str:
    """An aware date-time, or a date (its midnight, UTC); stored as ISO text in UTC."""
    if not isinstance(value, str):
        raise InvalidValue("must be a date (YYYY-MM-DD) or a date-time with a time zone")
    try:
        parsed = (
            datetime.fromisoformat(value)
            if "T" in value
            else datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        )
    except ValueError as exc:
        raise InvalidValue("must be a date (YYYY-MM-DD) or a date-time with a time zone") from exc
    if parsed.tzinfo is None:
        raise InvalidValue("a date-time needs a time zone, e.g. 2026-01-31T00:00:00Z")
    return parsed.astimezone(UTC).isoformat()


_FIELD_VALUES: dict[str, Callable[[Any], Any]] = {
    "tag": _tag,
    "state": _state,
    "order_count": _order_count,
    "last_order_at": _moment,
}


def segment_base(scope_id: str) -> dict[str, Any]:
    """Who can be in a segment: live customers (not organizations, not retired) of its scope."""
    return {"scope_id": scope_id, "kind": "customer", "state": {"$ne": "retired"}}


def compile_segment(scope_id: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The MongoDB filter of a segment (its checked rules, ANDed). Indexes serve each rule:
    ``attributes.$**`` (wildcard), ``tags``, ``state_name``, ``segment_order_count``,
    ``segment_last_order_at``; ``scope_name`` serves the base."""
    base = segment_base(scope_id)
    return {"$and": [{k: v} for k, v in base.items()] + [_rule_filter(rule) for rule in rules]}


def _rule_filter(rule: dict[str, Any]) -> dict[str, Any]:
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field == "tag":
        return {"s.t": {"$in": [fold(v) for v in value]} if op == "one_of" else fold(value)}
    if field == "order_count":
        bound = {"$gte": value} if op == "at_least" else {"$lte": value}
        # No order_count yet means no orders: 0, which the null branch stands for.
        if _compare(0, op, value):
            return {"$or": [{"order_count": bound}, {"order_count": None}]}
        return {"order_count": bound}
    if field == "last_order_at":
        return {"last_order_at": {"$lt" if op == "before" else "$gt": datetime.fromisoformat(value)}}
    # attributes.<name> and state
    if op == "one_of":
        return {field: {"$in": value}}
    if op == "equals":
        return {field: value}
    return {field: {"$gt" if op == "greater_than" else "$lt": value}}


def segment_matches(scope_id: str, rules: list[dict[str, Any]], doc: dict[str, Any]) -> bool:
    """What ``compile_segment`` selects, decided for one document in Python."""
    if doc.get("scope_id") != scope_id or doc.get("kind") != "customer" or doc.get("state") == "retired":
        return False
    return all(_rule_holds(rule, doc) for rule in rules)


def _rule_holds(rule: dict[str, Any], doc: dict[str, Any]) -> bool:
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field == "tag":
        tags = set((doc.get("s") or {}).get("t") or [])
        wanted = [fold(v) for v in value] if op == "one_of" else [fold(value)]
        return any(t in tags for t in wanted)
    if field == "order_count":
        count = doc.get("order_count")
        return _compare(0 if count is None else count, op, value) if _is_number(count) or count is None else False
    if field == "last_order_at":
        at = doc.get("last_order_at")
        if not isinstance(at, datetime):
            return False
        at = at if at.tzinfo else at.replace(tzinfo=UTC)  # a client without tz_aware reads UTC as naive
        bound = datetime.fromisoformat(value)
        return at < bound if op == "before" else at > bound
    if field == "state":
        actual = doc.get("state")
    else:
        actual = (doc.get("attributes") or {}).get(field.removeprefix("attributes."))
    if op == "one_of":
        return any(_same(actual, v) for v in value)
    if op == "equals":
        return _same(actual, value)
    return _orderable(actual, value) and (actual > value if op == "greater_than" else actual < value)


def _compare(actual: Any, op: str, bound: Any) -> bool:
    return bool(actual >= bound if op == "at_least" else actual <= bound)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """MongoDB equality: numbers equal across int and float; a boolean equals only a boolean
    (Python's True == 1 does not hold in MongoDB); otherwise same type, same value."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _orderable(a: Any, b: Any) -> bool:
    """MongoDB's $gt/$lt compare within a type bracket only: numbers with numbers, text with text."""
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def customer_groups(doc: dict[str, Any], segments: list[dict[str, Any]]) -> list[str]:
    """The groups of a customer: its static groups, then the segments (group documents) it matches."""
    matched = [s["_id"] for s in segments if segment_matches(s["scope_id"], s["rules"], doc)]
    return list(doc.get("groups") or []) + sorted(matched)


def new_group(new: NewGroup, template: AccountTemplateView | None, at: datetime) -> dict[str, Any]:
    """The document of a new group: a static group has no rules; a segment's are checked."""
    if new.kind == "static":
        if new.rules:
            raise Rejected.invalid("payload.rules", "a static group has no rules; its members are added")
        rules: list[dict[str, Any]] = []
    else:
        rules = check_rules(new.rules, template)
    return {
        "_id": new.group_id,
        "scope_id": new.scope_id,
        "name": new.name,
        "kind": new.kind,
        "rules": rules,
        "version": 1,
        "created_at": at,
        "updated_at": at,
    }


def replace_rules(
    group: dict[str, Any],
    expected_version: int,
    rules: list[SegmentRule],
    template: AccountTemplateView | None,
    at: datetime,
) -> None:
    if group["version"] != expected_version:
        raise Rejected.conflict(
            f"group {group['_id']} is at version {group['version']}, not {expected_version}; read it again",
            current_version=group["version"],
        )
    if group["kind"] != "segment":
        raise Rejected.invalid_state(f"group {group['_id']} is static: its members are added, it has no rules")
    group.update(rules=check_rules(rules, template), version=group["version"] + 1, updated_at=at)


def require_static(group: dict[str, Any]) -> None:
    if group["kind"] != "static":
        raise Rejected.invalid_state(f"group {group['_id']} is a segment: its members follow its rules")
