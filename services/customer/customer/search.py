"""C11 search as MongoDB queries (no I/O): filters on the derived search keys, keyset pages.

Every criterion matches a key an index serves: names and emails by prefix of their folded
form (anchored regexes on an ordinary index scan a key range), phones as E.164, postal codes
without spaces, tags folded. Pages are keyset pages: the cursor holds the sort key and code
of the last row, so page 500 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

from contracts.customer import SearchInput
from plumbing.errors import Rejected

from .normalize import InvalidValue, email_key, fold, normalize_phone, postal_key

SORT_FIELDS = {"name": "s.sn", "created": "registered_at", "last_activity": "last_activity_at"}
DATE_SORTS = {"created", "last_activity"}
#: Totals are counted exactly up to this many matches; above it a page says "10000+".
TOTAL_CAP = 10_000

SUMMARY_PROJECTION = {
    "scope_id": 1, "first_name": 1, "last_name": 1, "email": 1, "phone": 1, "kind": 1, "state": 1,
    "account_type": 1, "flag": 1, "tags": 1, "registered_at": 1, "last_activity_at": 1,
    "addresses.postal_code": 1, "addresses.default_billing": 1, "s.sn": 1,
}


def _prefix(value: str) -> dict[str, str]:
    return {"$regex": "^" + re.escape(value)}


def criteria(query: SearchInput, scope_country: str | None) -> dict[str, Any]:
    """The filter for ``query``'s criteria, combined with AND."""
    parts: list[dict[str, Any]] = []
    if query.scope_id:
        parts.append({"scope_id": query.scope_id})
    if query.code:
        code = query.code.strip().upper()
        parts.append({"_id": _prefix(code)})
    if query.name:
        name = fold(query.name)
        parts.append({"$or": [{"s.sn": _prefix(name)}, {"s.fl": _prefix(name)}]})
    if query.email:
        parts.append({"s.e": _prefix(email_key(query.email.strip()))})
    if query.phone:
        try:
            parts.append({"s.p": normalize_phone(query.phone, scope_country)})
        except InvalidValue as exc:
            hint = "" if scope_country else "; without a scope, start with + and the country code"
            raise Rejected.invalid("payload.phone", f"{exc}{hint}") from exc
    if query.postal_code:
        parts.append({"s.z": _prefix(postal_key(query.postal_code))})
    if query.tag:
        parts.append({"s.t": fold(query.tag)})
    if query.kind:
        parts.append({"kind": query.kind})
    if query.flag:
        parts.append({"flag": query.flag})
    # Merged-away records answer as their survivor; they show only when asked for by state.
    parts.append({"state": query.state} if query.state else {"state": {"$ne": "retired"}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def sort_spec(query: SearchInput) -> list[tuple[str, int]]:
    direction = -1 if query.descending else 1
    return [(SORT_FIELDS[query.sort], direction), ("_id", direction)]


def _sort_value(doc: dict[str, Any], query: SearchInput) -> Any:
    if query.sort == "name":
        return doc["s"]["sn"]
    return doc[SORT_FIELDS[query.sort]]


def encode_cursor(doc: dict[str, Any], query: SearchInput) -> str:
    value = _sort_value(doc, query)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([query.sort, query.descending, value, doc["_id"]], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def after_cursor(query: SearchInput) -> dict[str, Any] | None:
    """The keyset condition for the page after ``query.cursor``."""
    if not query.cursor:
        return None
    try:
        padded = query.cursor + "=" * (-len(query.cursor) % 4)
        sort, descending, value, code = json.loads(base64.urlsafe_b64decode(padded))
        if sort != query.sort or descending != query.descending:
            raise ValueError("the cursor belongs to another sort order")
        if sort in DATE_SORTS:
            value = datetime.fromisoformat(value)
    except (ValueError, TypeError) as exc:
        raise Rejected.invalid("payload.cursor", f"not a cursor of this search: {exc}") from exc
    field, op = SORT_FIELDS[query.sort], "$lt" if query.descending else "$gt"
    return {"$or": [{field: {op: value}}, {field: value, "_id": {op: code}}]}
