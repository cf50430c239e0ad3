"""C11 search as MongoDB queries (no I/O): filters on the derived search keys, keyset pages.

Every criterion matches a key an index serves: names and emails by prefix of their folded
form (an anchored regex on an ordinary index scans a key range), phones as E.164, postal
codes without spaces, tags folded. Pages are keyset pages: the cursor holds the sort key and
code of the last row, so page 500 costs what page 1 costs.

A name matches the last name first ("dubois ch") or the first name first ("chloe du").
Sorted by name, the rows come in two runs, each read in index order: the customers whose
last name matches, by last name; then those whose first name matches, by first name. A
single sorted list of both would need an in-memory sort of every match, which a common
prefix ("mar") makes too slow at a million customers.

For the same reason, a search that matches more than ``TOTAL_CAP`` customers lists them
in an order an index gives (the page says so in ``sorted_by``): a code or email prefix in
the order of that key, one sorted by creation or last activity with any criterion by name
(``runs``); a narrower one is sorted as asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from contracts.customer.records import SearchInput
from plumbing import cursors
from plumbing.errors import Rejected
from plumbing.normalize import InvalidValue, email_key, fold, normalize_phone, postal_key

SORT_FIELDS = {"name": "s.sn", "created": "registered_at", "last_activity": "last_activity_at"}
DATE_FIELDS = {"registered_at", "last_activity_at"}
#: How the rows of a run are ordered, as the page reports it.
SORTED_BY = {
    "s.sn": "name",
    "s.fl": "name",
    "registered_at": "created",
    "last_activity_at": "last_activity",
    "_id": "code",
    "s.e": "email",
}
#: Totals are counted exactly up to this many matches; above it a page says "more than 200":
#: a CSR refines a search that broad rather than paging through it (the seeds: "refine").
TOTAL_CAP = 200

SUMMARY_PROJECTION = {
    "scope_id": 1,
    "first_name": 1,
    "last_name": 1,
    "email": 1,
    "phone": 1,
    "kind": 1,
    "state": 1,
    "account_type": 1,
    "flag": 1,
    "tags": 1,
    "registered_at": 1,
    "last_activity_at": 1,
    "addresses.postal_code": 1,
    "addresses.default_billing": 1,
    "s.sn": 1,
    "s.fl": 1,
    "s.e": 1,
}


@dataclass(frozen=True)
class Run:
    """One index-ordered run of a search: its filter and its sort key."""

    filter: dict[str, Any]
    sort_field: str


def _prefix(value: str) -> dict[str, str]:
    return {"$regex": "^" + re.escape(value)}


def phone_criterion(raw: str, countries: tuple[str, ...]) -> str | dict[str, list[str]]:
    """The stored E.164 forms a typed phone can be: written with its country code, one number;
    written nationally ('06 12 34 56 78'), the number it is in each country searched (the
    scope's, or every scope's when none is chosen)."""
    numbers: set[str] = set()
    for country in countries or (None,):
        try:
            numbers.add(normalize_phone(raw, country))
        except InvalidValue:
            continue
    if not numbers:
        where = f" of {', '.join(countries)}" if countries else ""
        raise Rejected.invalid(
            "payload.phone", f"not a phone number{where}: type it as on a bill, or with + and the country code"
        )
    return numbers.pop() if len(numbers) == 1 else {"$in": sorted(numbers)}


def criteria(query: SearchInput, countries: tuple[str, ...], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every criterion but the name, combined with AND (retired records live elsewhere).
    ``extra``: a filter resolved from the database, such as a group's members (C19)."""
    parts: list[dict[str, Any]] = [extra] if extra else []
    if query.scope_id:
        parts.append({"scope_id": query.scope_id})
    if query.code:
        parts.append({"_id": _prefix(query.code.strip().upper())})
    if query.email:
        parts.append({"s.e": _prefix(email_key(query.email.strip()))})
    if query.phone:
        parts.append({"s.p": phone_criterion(query.phone, countries)})
    if query.postal_code:
        parts.append({"s.z": _prefix(postal_key(query.postal_code))})
    if query.tag:
        parts.append({"s.t": fold(query.tag)})
    for field in ("kind", "state", "flag"):
        if getattr(query, field):
            parts.append({field: getattr(query, field)})
    if query.organization:  # C5: its members
        parts.append({"organizations": query.organization.strip().upper()})
    return _and(parts)


def _and(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


def prefix_key(query: SearchInput) -> str | None:
    """The indexed key of the query's code or email prefix, if it has one. (Postal codes are
    a list per customer, one per address: a list cannot order keyset pages.)"""
    return "_id" if query.code else "s.e" if query.email else None


def runs(
    query: SearchInput, countries: tuple[str, ...], *, broad: bool = False, extra: dict[str, Any] | None = None
) -> list[Run]:
    """The index-ordered runs that make up the result, in order. ``broad``: the criteria
    match more than TOTAL_CAP customers, so the rows come in an order an index gives with
    them: a code or email prefix's own, else by name where creation or last activity was
    asked. No index serves a criterion and those dates together (each would be one more
    index that every order's activity rewrites), so they cost an in-memory sort of every
    match: 28 ms for the 5,000 organizations of a million customers, ten times more at ten
    million; a page in name order costs its own rows."""
    base = criteria(query, countries, extra)
    sort = query.sort
    if broad:
        key = prefix_key(query)
        if key and not query.name:
            return [Run(base, key)]
        if base or query.name:
            sort = "name"
    sort_field = SORT_FIELDS[sort]
    if not query.name:
        return [Run(base, sort_field)]
    name = fold(query.name)
    by_last = {"s.sn": _prefix(name)}
    by_first = {"s.fl": _prefix(name)}
    if sort != "name":
        return [Run(_and([base, {"$or": [by_last, by_first]}]), sort_field)]
    only_first = {**by_first, "s.sn": {"$not": re.compile("^" + re.escape(name))}}
    return [Run(_and([base, by_last]), "s.sn"), Run(_and([base, only_first]), "s.fl")]


def sort_spec(run: Run, query: SearchInput) -> list[tuple[str, int]]:
    direction = -1 if query.descending else 1
    return [(run.sort_field, direction), ("_id", direction)]


def _sort_value(doc: dict[str, Any], field: str) -> Any:
    value: Any = doc
    for part in field.split("."):
        value = value[part]
    return value


@dataclass(frozen=True)
class Position:
    """Where the previous page ended: its run, that run's sort field, and the last row."""

    run_index: int
    field: str
    value: Any
    code: str


#: What a search cursor holds, read back strictly (plumbing.cursors): the search's sort and
#: direction, the run, that run's sort field, the last row's sort value (text, or a time
#: written as text) and its code. Never a dict: a value there would reach the query as an
#: operator ({"$gt": ""}, {"$where": ...}).
CursorValues = tuple[
    Literal["name", "created", "last_activity"],
    bool,
    Annotated[int, Field(ge=0, le=1)],
    Literal["s.sn", "s.fl", "registered_at", "last_activity_at", "_id", "s.e"],
    Annotated[str, StringConstraints(max_length=600)] | None,
    Annotated[str, StringConstraints(min_length=1, max_length=40)],
]
_CURSOR = TypeAdapter(CursorValues)
_NOT_OURS = "a cursor of this search"


def encode_cursor(doc: dict[str, Any], run_index: int, run: Run, query: SearchInput) -> str:
    value = _sort_value(doc, run.sort_field)
    return cursors.encode_cursor([query.sort, query.descending, run_index, run.sort_field, value, doc["_id"]])


def decode_cursor(query: SearchInput) -> Position | None:
    if not query.cursor:
        return None
    sort, descending, run_index, field, value, code = cursors.decode_cursor(query.cursor, _CURSOR, what=_NOT_OURS)
    if sort != query.sort or descending != query.descending:
        raise Rejected.invalid("payload.cursor", f"not {_NOT_OURS}: it belongs to another search")
    if field not in DATE_FIELDS:
        return Position(run_index, field, value, code)
    try:
        moment = datetime.fromisoformat(value) if value is not None else None
    except ValueError:
        moment = None
    if moment is None:
        raise Rejected.invalid("payload.cursor", f"not {_NOT_OURS}")
    return Position(run_index, field, moment, code)


def after(run: Run, query: SearchInput, value: Any, code: str) -> dict[str, Any]:
    """Rows of ``run`` after (value, code) in the sort order."""
    op = "$lt" if query.descending else "$gt"
    return {"$or": [{run.sort_field: {op: value}}, {run.sort_field: value, "_id": {op: code}}]}
