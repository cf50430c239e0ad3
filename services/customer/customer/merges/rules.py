"""Rules of merging two customers and undoing it (C13), free of I/O.

``RULES`` is the one table that says, field by field, how the merged customer's (B) value
joins the survivor's (A), and how that is taken back by an unmerge. Each rule answers, for
A's and B's values, the survivor's new value, what of B's it took (``moved``: what an
unmerge removes again) and what of B's it did not take (``kept_from_merged``: kept in the
journal, e.g. an attribute where A's value won). A field missing from a document (a record
older than the field) reads as the rule's default. Add a field by adding a row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.customer.merges import (
    CustomersMergedPayload,
    CustomersUnmergedPayload,
    FieldMove,
    MergeCustomers,
    MergeJournalEntry,
)
from contracts.envelope import Actor
from plumbing.errors import Rejected
from plumbing.normalize import fold, postal_key

from ..records.rules import Customer, settle_defaults


@dataclass(frozen=True)
class Merged:
    value: Any
    moved: Any = None
    kept_from_merged: Any = None


@dataclass(frozen=True)
class FieldRule:
    #: (survivor's value, merged's value) -> the survivor's new value and what moved.
    merge: Callable[[Any, Any], Merged]
    #: (survivor's value now, what moved, survivor's value before the merge) -> value after the unmerge.
    unmerge: Callable[[Any, Any, Any], Any]
    #: What a document without the field holds.
    default: Callable[[], Any] = lambda: None
    #: The merged customer gives the field up (a membership, a count): it moved, it is not copied.
    clears_merged: bool = False


# --- lists of codes or ids: organizations, groups ---------------------------------------------


def _union(a: list[Any], b: list[Any]) -> Merged:
    moved = [item for item in b if item not in a]
    return Merged(a + moved, moved)


def _without_moved(current: list[Any], moved: list[Any] | None, before: Any) -> list[Any]:
    return [item for item in current if item not in (moved or [])]


# --- tags: free text, one per case- and accent-folded spelling -----------------------------------


def _union_tags(a: list[str], b: list[str]) -> Merged:
    seen = {fold(t) for t in a}
    moved = [t for t in b if fold(t) not in seen]
    return Merged(a + moved, moved)


def _without_moved_tags(current: list[str], moved: list[str] | None, before: Any) -> list[str]:
    gone = {fold(t) for t in moved or []}
    return [t for t in current if fold(t) not in gone]


# --- addresses: B's join A's, except those A has already ----------------------------------------


def address_key(address: dict[str, Any]) -> tuple[Any, ...]:
    """The same place however it was typed: case, accents, spaces and postal code format aside."""

    def part(name: str) -> str:
        return fold(address.get(name) or "")

    postal = postal_key(address["postal_code"]) if address.get("postal_code") else ""
    return (part("line1"), part("line2"), part("city"), postal, (address.get("country") or "").upper())


def _union_addresses(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> Merged:
    """A's defaults stay the defaults; B's addresses join without theirs."""
    seen = {address_key(x) for x in a}
    taken_ids = {x["address_id"] for x in a}
    moved, dropped = [], []
    for address in b:
        key = address_key(address)
        if key in seen or address["address_id"] in taken_ids:
            dropped.append(address["address_id"])
            continue
        seen.add(key)
        moved.append({**address, "default_shipping": False, "default_billing": False})
    addresses = [dict(x) for x in a] + moved
    settle_defaults(addresses, None)
    return Merged(addresses, [x["address_id"] for x in moved], dropped)


def _without_moved_addresses(
    current: list[dict[str, Any]], moved: list[str] | None, before: Any
) -> list[dict[str, Any]]:
    addresses = [dict(x) for x in current if x["address_id"] not in (moved or [])]
    settle_defaults(addresses, None)
    return addresses


# --- attributes: the survivor's value wins; B's other values are kept in the journal --------------


def _survivor_wins_attributes(a: dict[str, Any], b: dict[str, Any]) -> Merged:
    moved = {k: v for k, v in b.items() if k not in a}
    lost = {k: v for k, v in b.items() if k in a and a[k] != v}
    return Merged({**a, **moved}, moved, lost)


def _without_moved_attributes(current: dict[str, Any], moved: dict[str, Any] | None, before: Any) -> dict[str, Any]:
    # An attribute changed since the merge is the survivor's own now: it stays.
    return {k: v for k, v in current.items() if not (moved and k in moved and moved[k] == v)}


# --- single values ----------------------------------------------------------------------------------


def _fill_gap(a: Any, b: Any) -> Merged:
    """The survivor's value, or B's where the survivor has none."""
    if a is None and b is not None:
        return Merged(b, b)
    return Merged(a, None, b if b is not None and b != a else None)


def _restore_gap(current: Any, moved: Any, before: Any) -> Any:
    return before if moved is not None and current == moved else current


def _survivor_only(a: Any, b: Any) -> Merged:
    return Merged(a, None, b if b is not None and b != a else None)


def _keep(current: Any, moved: Any, before: Any) -> Any:
    return current


# --- order figures (maintained from order events): counts add up, dates take the latest ----------


def _sum(a: int | None, b: int | None) -> Merged:
    return Merged((a or 0) + (b or 0), b or 0)


def _subtract(current: int | None, moved: int | None, before: Any) -> int:
    return max((current or 0) - (moved or 0), 0)


def _latest(a: datetime | None, b: datetime | None) -> Merged:
    if b is not None and (a is None or b > a):
        return Merged(b, b)
    return Merged(a)


def _merge_stores(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> Merged:
    """Stores by store_id: orders add up, the latest order date wins."""
    stores = {s["store_id"]: dict(s) for s in a}
    for theirs in b:
        mine = stores.get(theirs["store_id"])
        if mine is None:
            stores[theirs["store_id"]] = dict(theirs)
            continue
        mine["orders"] = (mine.get("orders") or 0) + (theirs.get("orders") or 0)
        mine["last_order_at"] = _latest(mine.get("last_order_at"), theirs.get("last_order_at")).value
    return Merged(list(stores.values()), [dict(s) for s in b])


def _unmerge_stores(
    current: list[dict[str, Any]], moved: list[dict[str, Any]] | None, before: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Take B's orders back out; a store left without orders goes; a store's latest order date
    that came from B falls back to the survivor's own."""
    theirs = {s["store_id"]: s for s in moved or []}
    mine_before = {s["store_id"]: s for s in before or []}
    stores = []
    for store in current:
        store = dict(store)
        moved_store = theirs.get(store["store_id"])
        if moved_store is not None:
            store["orders"] = (store.get("orders") or 0) - (moved_store.get("orders") or 0)
            own = mine_before.get(store["store_id"])
            if store.get("last_order_at") == moved_store.get("last_order_at"):
                store["last_order_at"] = own.get("last_order_at") if own else None
            if store["orders"] <= 0:
                continue
        stores.append(store)
    return stores


def _empty_list() -> list[Any]:
    return []


RULES: dict[str, FieldRule] = {
    "addresses": FieldRule(_union_addresses, _without_moved_addresses, _empty_list),
    "tags": FieldRule(_union_tags, _without_moved_tags, _empty_list),
    "attributes": FieldRule(_survivor_wins_attributes, _without_moved_attributes, dict),
    "phone": FieldRule(_fill_gap, _restore_gap),
    "work_phone": FieldRule(_fill_gap, _restore_gap),
    "fax": FieldRule(_fill_gap, _restore_gap),
    "phone_extension": FieldRule(_fill_gap, _restore_gap),
    "preferred_language": FieldRule(_fill_gap, _restore_gap),
    "flag": FieldRule(_fill_gap, _restore_gap),
    "notes": FieldRule(_fill_gap, _restore_gap),
    "email": FieldRule(_survivor_only, _keep),
    # C5, C19 (relations): memberships move.
    "organizations": FieldRule(_union, _without_moved, _empty_list, clears_merged=True),
    "groups": FieldRule(_union, _without_moved, _empty_list, clears_merged=True),
    # C6, C7 (history): order figures move.
    "stores": FieldRule(_merge_stores, _unmerge_stores, _empty_list, clears_merged=True),
    "preferred_store_id": FieldRule(_fill_gap, _restore_gap, clears_merged=True),
    "order_count": FieldRule(_sum, _subtract, int, clears_merged=True),
    "last_order_at": FieldRule(_latest, _restore_gap, clears_merged=True),
}


@dataclass(frozen=True)
class MergePlan:
    """The survivor's new fields, B's given-up fields, and the journal's record of each field."""

    survivor_updates: dict[str, Any]
    merged_updates: dict[str, Any]
    #: One per field: field, moved, kept_from_merged, survivor's value before, merged's value before.
    moves: list[dict[str, Any]]


def _read(doc: dict[str, Any], name: str, rule: FieldRule) -> Any:
    value = doc.get(name)
    return rule.default() if value is None else value


def plan_merge(survivor: dict[str, Any], merged: dict[str, Any], rules: dict[str, FieldRule] = RULES) -> MergePlan:
    survivor_updates: dict[str, Any] = {}
    merged_updates: dict[str, Any] = {}
    moves = []
    for name, rule in rules.items():
        a, b = _read(survivor, name, rule), _read(merged, name, rule)
        result = rule.merge(a, b)
        if result.value != a:
            survivor_updates[name] = result.value
        if rule.clears_merged and b != rule.default():
            merged_updates[name] = rule.default()
        moves.append(
            {
                "field": name,
                "moved": result.moved,
                "kept_from_merged": result.kept_from_merged,
                "survivor_before": a,
                "merged_before": b,
            }
        )
    return MergePlan(survivor_updates, merged_updates, moves)


def plan_unmerge(
    survivor: dict[str, Any], moves: list[dict[str, Any]], rules: dict[str, FieldRule] = RULES
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The survivor's fields without what moved from B, and B's given-up fields back."""
    survivor_updates: dict[str, Any] = {}
    merged_restores: dict[str, Any] = {}
    for move in moves:
        rule = rules.get(move["field"])
        if rule is None:
            continue  # a field this version no longer merges
        current = _read(survivor, move["field"], rule)
        value = rule.unmerge(current, move["moved"], move["survivor_before"])
        if value != current:
            survivor_updates[move["field"]] = value
        if rule.clears_merged:
            merged_restores[move["field"]] = move["merged_before"]
    return survivor_updates, merged_restores


# --- who may be merged -------------------------------------------------------------------------------


UNMERGEABLE_STATES = {"retired": "was merged into {merged_into}", "erased": "was erased"}


def check_mergeable(survivor: dict[str, Any], merged: dict[str, Any]) -> None:
    """Two live customers of one scope and kind; never one into itself."""
    if survivor["_id"] == merged["_id"]:
        raise Rejected.invalid("payload.merged_code", "a customer cannot be merged into itself")
    for doc, field in ((survivor, "payload.survivor_code"), (merged, "payload.merged_code")):
        why = UNMERGEABLE_STATES.get(doc["state"])
        if why:
            raise Rejected.invalid_state(
                f"customer {doc['_id']} {why.format(merged_into=doc.get('merged_into'))}: it cannot take part "
                f"in a merge ({field})"
            )
    if survivor["scope_id"] != merged["scope_id"]:
        raise Rejected.invalid(
            "payload.merged_code",
            f"is in scope {merged['scope_id']!r}, the survivor in {survivor['scope_id']!r}: only customers "
            "of one scope merge",
        )
    if survivor.get("kind") != merged.get("kind"):
        raise Rejected.invalid(
            "payload.merged_code", f"is a {merged.get('kind')}, the survivor a {survivor.get('kind')}"
        )


def check_asked_by_csr(actor: Actor | None, what: str) -> None:
    """A customer may not merge their own records, nor undo a merge: CSRs (and systems) do."""
    if actor is not None and actor.kind == "customer":
        raise Rejected.of("forbidden", f"{what} by a CSR")


def actor_id(actor: Actor | None) -> str:
    return f"{actor.kind}:{actor.id}" if actor else "system"


# --- the merge and its undoing, on the two aggregates -----------------------------------------------


@dataclass(frozen=True)
class MergeTerms:
    """What was asked (the command's id is the merge's: the versions the CSR saw, why), by
    whom, when, and until when it may be undone."""

    merge_id: str
    survivor_version: int
    merged_version: int
    reason: str | None
    merged_by: str
    at: datetime
    undo_until: datetime


def merge_terms(cmd: MergeCustomers, at: datetime, window_days: float) -> MergeTerms:
    """The terms of the merge a command asks for at ``at``, undoable for ``window_days``."""
    p = cmd.payload
    # The command's id is the merge's: a repeated command answers the first merge (inbox),
    # and the journal's unique id makes any other replay a conflict, not a second merge.
    undo_until = at + timedelta(days=window_days)
    return MergeTerms(
        cmd.message_id, p.survivor_version, p.merged_version, p.reason, actor_id(cmd.actor), at, undo_until
    )


def merge(survivor: Customer, merged: Customer, terms: MergeTerms) -> dict[str, Any]:
    """Take ``merged`` (B) into ``survivor`` (A) field by field (``RULES``); B is retired and
    points at A. Returns the journal entry an unmerge reads (its ``history_ids`` are the
    store's to fill: the history entries that moved)."""
    check_mergeable(survivor.doc, merged.doc)
    survivor.expect_version(terms.survivor_version)
    merged.expect_version(terms.merged_version)
    plan = plan_merge(survivor.doc, merged.doc)
    previous_state = {"state": merged.state, "state_reason": merged.state_reason}
    survivor.set_fields(plan.survivor_updates, terms.at)
    if survivor.version == survivor.loaded_version:
        survivor.set_fields({"last_activity_at": terms.at}, terms.at)  # the survivor's version says it took B
    merged.set_fields(
        {
            **plan.merged_updates,
            "state": "retired",
            "state_reason": f"merged into {survivor.code}",
            "merged_into": survivor.code,
        },
        terms.at,
    )
    return {
        "_id": terms.merge_id,
        "merge_id": terms.merge_id,
        "scope_id": survivor.scope_id,
        "survivor_code": survivor.code,
        "merged_code": merged.code,
        "reason": terms.reason,
        "state": "merged",
        "merged_at": terms.at,
        "merged_by": terms.merged_by,
        "undo_until": terms.undo_until,
        "moves": plan.moves,
        "merged_previous": previous_state,
        "history_ids": [],
    }


def merged_event(
    terms: MergeTerms, survivor: Customer, merged: Customer, entry: dict[str, Any]
) -> CustomersMergedPayload:
    """The payload of ``CustomersMerged``: both customers as the merge left them, what moved."""
    return CustomersMergedPayload(
        merge_id=terms.merge_id,
        scope_id=survivor.scope_id,
        survivor_code=survivor.code,
        merged_code=merged.code,
        survivor=survivor.view(),
        merged=merged.view(),
        moves=journal_view(entry).moves,
        merged_at=terms.at,
    )


def audit_notes(survivor_code: str, merged_code: str, merge_id: str, *, undone: bool = False) -> tuple[str, str]:
    """What the audit of the survivor and of the merged customer says of a merge, or of its undoing."""
    if undone:
        return f"unmerged (merge {merge_id})", f"unmerged (merge {merge_id})"
    return f"merged {merged_code} into it (merge {merge_id})", f"merged into {survivor_code} (merge {merge_id})"


def found(entry: dict[str, Any] | None, merge_id: str) -> dict[str, Any]:
    """The journal entry of ``merge_id``; a merge that is not in the journal is not found."""
    if entry is None:
        raise Rejected.not_found("merge", merge_id, field="payload.merge_id")
    return entry


def check_undoable(entry: dict[str, Any], at: datetime) -> None:
    """A merge is undone once, within its window, while both of its customers exist."""
    merge_id = entry["merge_id"]
    if entry["state"] != "merged":
        raise Rejected.invalid_state(f"merge {merge_id} was undone already, at {entry['unmerged_at']:%Y-%m-%d %H:%M}")
    if at > entry["undo_until"]:
        raise Rejected.invalid_state(
            f"merge {merge_id} can no longer be undone: its window closed at {entry['undo_until']:%Y-%m-%d %H:%M}"
        )
    if entry.get("erased"):
        raise Rejected.invalid_state(f"merge {merge_id} cannot be undone: a customer of it was erased")


def unmerge(survivor: Customer, merged: Customer, entry: dict[str, Any], at: datetime) -> None:
    """Give B back what moved from it (the journal's ``moves``) and its state before the merge;
    A keeps what was its own and what arrived for it since."""
    if survivor.state == "retired":
        raise Rejected.invalid_state(
            f"customer {survivor.code} was merged into {survivor.merged_into} since; undo that merge first"
        )
    if merged.doc.get("merged_into") != survivor.code:
        raise Rejected.invalid_state(f"customer {merged.code} is not merged into {survivor.code}")
    survivor_updates, merged_restores = plan_unmerge(survivor.doc, entry["moves"])
    survivor.set_fields(survivor_updates, at)
    if survivor.version == survivor.loaded_version:
        survivor.set_fields({"last_activity_at": at}, at)
    merged.set_fields({**merged_restores, **entry["merged_previous"], "merged_into": None}, at)


def check_email_free(merged: Customer, holder: dict[str, Any] | None) -> None:
    """B's email is a registered one again: the scope's unique index must take it back
    (``holder``: the registered account of the scope that has B's email now, if any)."""
    if holder is not None and holder["_id"] != merged.code:
        raise Rejected.conflict(
            f"{merged.code} cannot come back: its email {merged.email} is now the registered email of {holder['_id']}",
            field="payload.merge_id",
        )


def undone(unmerged_by: str, reason: str | None, at: datetime) -> dict[str, Any]:
    """What the journal entry of a merge undone says: when, by whom, why."""
    return {"state": "unmerged", "unmerged_at": at, "unmerged_by": unmerged_by, "unmerge_reason": reason}


def unmerged_event(
    entry: dict[str, Any], survivor: Customer, merged: Customer, at: datetime
) -> CustomersUnmergedPayload:
    """The payload of ``CustomersUnmerged``: the survivor and B as the undoing left them."""
    return CustomersUnmergedPayload(
        merge_id=entry["merge_id"],
        scope_id=survivor.scope_id,
        survivor_code=survivor.code,
        merged_code=merged.code,
        survivor=survivor.view(),
        restored=merged.view(),
        merged_at=entry["merged_at"],
        unmerged_at=at,
    )


def journal_view(doc: dict[str, Any]) -> MergeJournalEntry:
    moves = [
        FieldMove(field=m["field"], moved=m["moved"], kept_from_merged=m["kept_from_merged"])
        for m in doc["moves"]
        if m["moved"] not in (None, [], {}, 0) or m["kept_from_merged"] not in (None, [], {})
    ]
    return MergeJournalEntry(
        moves=moves,
        history_entries=len(doc.get("history_ids", [])),
        **{k: doc.get(k) for k in MergeJournalEntry.model_fields if k not in ("moves", "history_entries")},
    )
