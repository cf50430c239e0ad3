"""Data requests from platforms (C18): the work item's rules, no I/O.

A platform's data request (Shopify's ``customers/data_request``) is kept once per platform,
shop and the platform's request id, whatever the number of deliveries; it names the customers
by ids only (ours where the platform's ids are linked, the platform's otherwise), and is open
until a member of staff has exported their data and handed it over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.customer.privacy import (
    CustomerRecordData,
    DataRequestInput,
    DataRequestPayload,
    DataRequestView,
    ErasureReceipt,
)
from contracts.customer.records import AuditEntry
from contracts.envelope import Actor
from plumbing.documents import plain
from plumbing.errors import Rejected

from ..merges.rules import journal_view
from ..records.rules import Customer

OPEN = "open"
COMPLETED = "completed"


def request_key(platform: str, shop: str, request_id: str) -> str:
    """What makes two deliveries the same request: the platform and shop (names that do not
    depend on case) and the platform's id of the request."""
    return f"{platform.strip().lower()}:{shop.strip().lower()}:{request_id.strip()}"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def new_data_request(request: DataRequestInput, at: datetime) -> dict[str, Any]:
    """The stored work item: ids only (the input has no field for an email or a phone)."""
    return {
        "_id": request_key(request.platform, request.shop, request.request_id),
        "platform": request.platform.strip().lower(),
        "shop": request.shop.strip().lower(),
        "request_id": request.request_id.strip(),
        "kind": request.kind,
        "source_system": request.source_system,
        "source_customer_id": request.source_customer_id,
        "order_numbers": _unique(list(request.order_numbers)),
        "customer_codes": sorted(set(request.customer_codes)),
        "received_at": at,
        "state": OPEN,
        "completed_by": None,
        "completed_at": None,
        "note": None,
    }


def check_may_complete(actor: Actor | None) -> None:
    """Staff and systems complete a request; the customer it is about does not."""
    if actor is not None and actor.kind == "customer":
        raise Rejected.of("forbidden", "a customer may not complete a data request")


def completion(doc: dict[str, Any], actor_id: str, note: str | None, at: datetime) -> dict[str, Any] | None:
    """The fields that change when a request is completed; None when it already was (a repeat,
    or a second member of staff: the first completion is the one kept)."""
    if doc["state"] == COMPLETED:
        return None
    return {"state": COMPLETED, "completed_by": actor_id, "completed_at": at, "note": note}


def label(doc: dict[str, Any]) -> str:
    """How the audit trail names a request: 'shopify data request 9999 (shop example.myshopify.com)'."""
    return f"{doc['platform']} data request {doc['request_id']} (shop {doc['shop']})"


def owed(doc: dict[str, Any]) -> str:
    """What staff owe for a request, as the audit trail says it."""
    if doc.get("kind") == "deletion":
        return "deleted on the platform: erase or keep, staff decide (C18)"
    return "export owed"


def view(doc: dict[str, Any]) -> DataRequestView:
    return DataRequestView(request_key=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


def event_payload(doc: dict[str, Any]) -> DataRequestPayload:
    fields = {k: doc.get(k) for k in DataRequestPayload.model_fields if k != "request_key"}
    fields["kind"] = doc.get("kind", "export")  # kept before kinds existed: every one an export
    return DataRequestPayload(request_key=doc["_id"], **fields)


# --- erasure (C18) ---------------------------------------------------------------------------------

ERASED = "(erased)"
#: Keys of a history entry (C7) that may name or locate the person; an entry keeps its order facts.
HISTORY_PERSONAL_KEYS = (
    "email",
    "first_name",
    "last_name",
    "name",
    "phone",
    "address",
    "addresses",
    "billing_address",
    "shipping_address",
    "recipient",
)
#: What the record keeps: its code, scope, kind, account type, dates and order figures.
ERASED_FIELDS: dict[str, object] = {
    "first_name": ERASED,
    "last_name": ERASED,
    "email": None,
    "logon_id": None,
    "pending_email": None,
    "email_verified": False,
    "claim_pending": False,
    "phone": None,
    "work_phone": None,
    "fax": None,
    "phone_extension": None,
    "addresses": [],
    "attributes": {},
    "tags": [],
    "flag": None,
    "notes": None,
    "password_hash": None,
    "idempotency_key": None,
}


def erase(customer: Customer, reason: str, at: datetime) -> list[str]:
    """Empty the record's personal fields and mark it ``erased``; the personal fields that had
    to change (none: a repeat changes nothing, not even the reason, unless something personal
    came back since). The first erasure's time is kept."""
    wanted = {**ERASED_FIELDS, "state": "erased"}
    changed = sorted(k for k, v in wanted.items() if customer.doc.get(k) != v)
    if changed:
        erased_at = customer.doc.get("erased_at") or at
        updates = {k: wanted[k] for k in changed}
        customer.set_fields({**updates, "state_reason": f"erased: {reason}", "erased_at": erased_at}, at)
    return changed


# --- export and erasure in every service (C18) ---------------------------------------------------


def add_erased(total: dict[str, int], part: dict[str, int]) -> dict[str, int]:
    """Another service's counts for one more of the erased records, added to what it said of the others."""
    return {**total, **{kind: total.get(kind, 0) + count for kind, count in part.items()}}


class NoAnswer(Exception):
    """Another service did not answer (a timeout, no queue took the request) or answered an error."""

    def __init__(self, service: str, why: str) -> None:
        super().__init__(f"{service}: {why}")
        self.service = service


def no_export(silent: list[NoAnswer]) -> Rejected:
    """An export is whole or none: a service that did not answer makes it ``unavailable``, naming it."""
    return Rejected.of(
        "unavailable",
        "no export: " + "; ".join(str(s) for s in silent) + "; repeat the request",
        unanswered=[s.service for s in silent],
    )


def erased_in_part(receipt: ErasureReceipt, silent: list[NoAnswer]) -> Rejected:
    """An erasure some service did not answer: ``unavailable``, naming it, with the receipt of the
    others; repeated, it erases what is left."""
    return Rejected.of(
        "unavailable",
        "erased in "
        + ", ".join(r.service for r in receipt.services)
        + "; not answered: "
        + "; ".join(str(s) for s in silent)
        + ". Repeat the request: it erases what is left.",
        unanswered=[s.service for s in silent],
        receipt=receipt.model_dump(mode="json"),
    )


def exported_record(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored record, without what is the service's, not the customer's: search keys and
    the password hash (whether there is one is exported)."""
    hidden = {"s", "registered_email", "password_hash"}
    return {**plain({k: v for k, v in doc.items() if k not in hidden}), "has_password": bool(doc.get("password_hash"))}


def customer_data(
    doc: dict[str, Any], history: list[dict[str, Any]], audit: list[dict[str, Any]], journal: list[dict[str, Any]]
) -> CustomerRecordData:
    """What the customer service holds about a customer, as an export shows it."""
    return CustomerRecordData(
        record=exported_record(doc),
        history=[plain(h) for h in history],
        audit=[AuditEntry(**{k: r[k] for k in AuditEntry.model_fields if k in r}) for r in audit],
        merge_journal=[journal_view(e) for e in journal],
    )
