"""Rules of a customer's history and stores (C6, C7), free of I/O.

A history entry is one document per order, cart, saved payment method, invoice or payment,
identified by its kind and key (never by the customer: a merge moves entries by changing
their ``customer_code`` only). Order-sync's events may arrive twice, late or out of order
(competing workers, retries), so every rule is written to give the same entry whatever the
order of arrival:

- an order is counted on the customer once, the first time any of its events is seen; its
  summary (status, total) comes from the newest event, its shipments accumulate;
- a cart, a payment method or an invoice takes an event only if it is newer than what the
  entry holds (``changed_at``); a removal leaves a tombstone, so a late "saved" cannot bring
  a removed payment method back;
- a payment received stays received when its request arrives late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, StringConstraints, TypeAdapter

from contracts.customer.records import MAX_STORES
from contracts.envelope import Envelope
from contracts.order_sync.linking import OrderSummary
from plumbing import clock, cursors
from plumbing.errors import Rejected

from ..records.rules import Customer

Entry = dict[str, Any]


def entry_id(kind: str, key: str) -> str:
    return f"{kind}|{key}"


def _entry(
    kind: str,
    key: str,
    customer_code: str,
    *,
    at: datetime,
    changed_at: datetime,
    active: bool,
    fields: dict[str, Any],
    now: datetime,
) -> Entry:
    return {
        "_id": entry_id(kind, key),
        "customer_code": customer_code,
        "kind": kind,
        "key": key,
        "at": at,
        "changed_at": changed_at,
        "active": active,
        "fields": fields,
        "updated_at": now,
    }


# --- orders and their shipments (C7, O7) ------------------------------------------------------


@dataclass(frozen=True)
class OrderChange:
    entry: Entry
    #: The first event of this order: count it on the customer (C6, C7).
    new_order: bool


def order_key(summary: dict[str, Any]) -> str:
    return f"{summary['source_system']}|{summary['order_number']}"


def apply_order(
    existing: Entry | None,
    customer_code: str,
    summary: dict[str, Any],
    *,
    event_at: datetime,
    now: datetime,
    shipment: dict[str, Any] | None = None,
) -> OrderChange:
    """The order entry after an event about it: ``summary`` is order-sync's OrderSummary (JSON),
    ``event_at`` when order-sync published it (its summary is the order as it was then).

    A shipment adds itself and leaves the rest alone: order-sync handles an order's events
    side by side, so a shipment's summary may predate a status change published before it."""
    event_at = to_ms(event_at)
    fields = dict(existing["fields"]) if existing else {"shipments": []}
    changed_at = existing["changed_at"] if existing else event_at
    if existing is None or (shipment is None and event_at >= existing["changed_at"]):
        fields.update(
            {
                k: summary.get(k)
                for k in (
                    "source_system",
                    "order_number",
                    "scope_id",
                    "status",
                    "total",
                    "currency",
                    "placed_at",
                    "store_id",
                )
            }
        )
        changed_at = event_at
    if shipment is not None and all(s["shipment_id"] != shipment["shipment_id"] for s in fields["shipments"]):
        fields["shipments"] = sorted([*fields["shipments"], shipment], key=lambda s: s["shipped_at"])
    entry = _entry(
        "order",
        order_key(summary),
        customer_code,
        at=_parse(fields["placed_at"]),
        changed_at=changed_at,
        active=True,
        fields=fields,
        now=now,
    )
    return OrderChange(entry, existing is None)


@dataclass(frozen=True)
class OrderNews:
    """An event about one of a customer's orders: linked, status changed or shipped."""

    message: Envelope[Any]
    code: str
    order: OrderSummary
    shipment: dict[str, Any] | None = None


def order_entry_id(order: OrderSummary) -> str:
    return entry_id("order", order_key(order.model_dump(mode="json")))


@dataclass
class OrderNewsApplied:
    """What a batch of order events changes, each document once."""

    #: Per event, in order: None, or why it applies to no one (its customer is unknown).
    failures: list[Rejected | None] = field(default_factory=list)
    #: The inbox ids of the events applied now (not before, nor earlier in this batch).
    applied: list[str] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)
    #: Per customer: the order counters after the batch's new orders.
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)


def apply_order_news(
    news: list[OrderNews],
    inbox_ids: list[str],
    applied_before: set[str],
    customers: Mapping[str, Customer],
    entries: Mapping[str, Entry],
    *,
    now: datetime,
) -> OrderNewsApplied:
    """Each event once, on the customer it names or its survivor (``customers``, by the code
    named), in arrival order on what the earlier ones left (``entries``, by entry id)."""
    seen, current, out = set(applied_before), dict(entries), OrderNewsApplied()
    for item, inbox_id in zip(news, inbox_ids, strict=True):
        customer = customers.get(item.code)
        if customer is None:
            out.failures.append(Rejected.not_found("customer", item.code, field="payload.customer_code"))
            continue
        out.failures.append(None)
        if inbox_id in seen:
            continue  # applied before, or earlier in this batch
        seen.add(inbox_id)
        out.applied.append(inbox_id)
        entry_key = order_entry_id(item.order)
        summary = item.order.model_dump(mode="json")
        result = apply_order(
            current.get(entry_key),
            customer.code,
            summary,
            event_at=item.message.occurred_at,
            now=now,
            shipment=item.shipment,
        )
        current[entry_key] = out.entries[entry_key] = result.entry
        if result.new_order:
            out.counters[customer.code] = count_order(customer.doc, to_ms(item.order.placed_at), item.order.store_id)
            customer.doc.update(out.counters[customer.code])  # the next order of this customer counts on it
    return out


def count_order(customer: dict[str, Any], placed_at: datetime, store_id: str | None) -> dict[str, Any]:
    """The customer's order count, last order and stores once a new order is seen."""
    last = customer.get("last_order_at")
    return {
        "order_count": customer.get("order_count", 0) + 1,
        "last_order_at": placed_at if last is None or placed_at > last else last,
        "stores": rank_stores(customer.get("stores", []), store_id, placed_at),
    }


def recount_orders(orders: list[Entry]) -> dict[str, Any]:
    """The customer's order count, last order and stores from its order entries, for when
    orders change hands (an unmerge gives some back) and adding one at a time cannot say."""
    counters: dict[str, Any] = {"order_count": 0, "last_order_at": None, "stores": []}
    for order in sorted(orders, key=lambda entry: entry["at"]):
        counters = count_order(counters, to_ms(order["at"]), order["fields"].get("store_id"))
    return counters


def rank_stores(
    stores: list[dict[str, Any]], store_id: str | None, placed_at: datetime, cap: int = MAX_STORES
) -> list[dict[str, Any]]:
    """C6: one more order at ``store_id``: most used first, then most recently used, at most
    ``cap`` (a store pushed out starts again from one order if it comes back)."""
    if store_id is None:
        return list(stores)
    ranked = [dict(s) for s in stores]
    use = next((s for s in ranked if s["store_id"] == store_id), None)
    if use is None:
        ranked.append({"store_id": store_id, "orders": 1, "last_order_at": placed_at})
    else:
        use["orders"] += 1
        use["last_order_at"] = max(use["last_order_at"], placed_at)
    ranked.sort(key=lambda s: (-s["orders"], -s["last_order_at"].timestamp(), s["store_id"]))
    return ranked[:cap]


# --- payments (C7, O7) ------------------------------------------------------------------------------


def apply_payment(
    existing: Entry | None,
    customer_code: str,
    order: dict[str, Any],
    payment: dict[str, Any],
    *,
    received: bool,
    now: datetime,
) -> Entry:
    """A payment request or receipt; ``payment`` is the event's payload (JSON). Received is
    final: a request arriving after it adds its URL and date, not its status."""
    fields = dict(existing["fields"]) if existing else {}
    fields.update(
        {
            "source_system": order["source_system"],
            "order_number": order["order_number"],
            "payment_id": payment["payment_id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
        }
    )
    if received:
        fields.update(status="received", method=payment.get("method"), paid_at=payment["at"])
    else:
        fields.update(payment_url=payment.get("payment_url"), due_at=payment.get("due_at"), requested_at=payment["at"])
        fields.setdefault("status", "requested")
    at = min(_parse(t) for t in (fields.get("requested_at"), fields.get("paid_at")) if t)
    return _entry(
        "payment",
        f"{order['source_system']}|{payment['payment_id']}",
        customer_code,
        at=at,
        changed_at=now,
        active=True,
        fields=fields,
        now=now,
    )


# --- carts, payment methods, invoices (C7) ----------------------------------------------------------


def apply_dated(
    existing: Entry | None,
    kind: str,
    key: str,
    customer_code: str,
    *,
    changed_at: datetime,
    at: datetime | None,
    active: bool,
    fields: dict[str, Any],
    now: datetime,
) -> Entry | None:
    """An entry whose source says when it changed: the newer change wins, an older one is
    dropped (None). ``at`` None keeps the entry's sort time (a removal)."""
    changed_at = to_ms(changed_at)
    if existing is not None and changed_at < existing["changed_at"]:
        return None
    merged = {**existing["fields"], **fields} if existing else fields
    return _entry(
        kind,
        key,
        customer_code,
        at=at or (existing["at"] if existing else changed_at),
        changed_at=changed_at,
        active=active,
        fields=merged,
        now=now,
    )


def payment_method_key(source_system: str, token: str) -> str:
    return f"{source_system}|{token}"


def delete_payment_method(
    existing: Entry | None, customer_code: str, key: str, *, deleted_by: str, reason: str | None, at: datetime
) -> Entry:
    """C7: a CSR deletes a saved payment method of this customer: a tombstone that says who, when
    and why (a late 'saved' from upstream cannot bring it back). Only an active one of theirs."""
    if existing is None or existing["customer_code"] != customer_code or not existing["active"]:
        raise Rejected.not_found("saved payment method", key, field="payload.token")
    deleted = apply_dated(
        existing,
        "payment_method",
        key,
        customer_code,
        changed_at=at,
        at=None,
        active=False,
        fields={"deleted_by": deleted_by, "deleted_at": at.isoformat(), "reason": reason},
        now=at,
    )
    if deleted is None:  # the entry says it changed after now: a clock elsewhere is ahead
        raise Rejected.conflict("the saved payment method changed meanwhile; try again", field="payload.token")
    return deleted


# --- pages, newest first (keyset) ---------------------------------------------------------------------


#: A history cursor, read back strictly (plumbing.cursors): the last entry's time and id.
_CURSOR = TypeAdapter(tuple[AwareDatetime, Annotated[str, StringConstraints(min_length=1, max_length=600)]])


def encode_cursor(entry: Entry) -> str:
    return cursors.encode_cursor([entry["at"], entry["_id"]])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    return cursors.decode_cursor(cursor, _CURSOR)


def _parse(value: datetime | str) -> datetime:
    return to_ms(value if isinstance(value, datetime) else datetime.fromisoformat(value))


to_ms = clock.to_ms  # MongoDB keeps milliseconds: compare times as they will read back
