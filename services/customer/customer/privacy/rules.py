"""Data requests from platforms (C18): the work item's rules, no I/O.

A platform's data request (Shopify's ``customers/data_request``) is kept once per platform,
shop and the platform's request id, whatever the number of deliveries; it names the customers
by ids only (ours where the platform's ids are linked, the platform's otherwise), and is open
until a member of staff has exported their data and handed it over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.customer.privacy import DataRequestInput, DataRequestPayload, DataRequestView
from contracts.envelope import Actor
from plumbing.errors import Rejected

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
