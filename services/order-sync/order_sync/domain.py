"""Rules of order-sync that are not matching (``matching`` decides who placed an order), free
of I/O: the customer an unmatched order creates (O3), the order's key and summary, and the
projection of customer events that orders are matched against and emails addressed from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from contracts.order_sync.linking import OrderSummary
from contracts.upstream.orders import PLACED_AT_PUBLISHED, Order
from plumbing.errors import Rejected

from .identity import Identity, lines_street_key
from .keys import canonical_email, first_name_key, last_name_key, name_script, postal_key

UNKNOWN_NAME = "(unknown)"


def new_customer(order: Order, identity: Identity, idempotency_key: str) -> dict[str, Any]:
    """O3: the customer an unmatched order creates, with the order's addresses."""
    addresses: list[dict[str, Any]] = []
    for address, default in ((order.billing_address, "billing"), (order.shipping_address, "shipping")):
        if address is None or not (address.line1 and address.city and address.country):
            continue
        entry = {
            k: getattr(address, k)
            for k in (
                "first_name",
                "last_name",
                "company",
                "line1",
                "line2",
                "city",
                "region",
                "postal_code",
                "country",
                "phone",
            )
        }
        same = next((a for a in addresses if {k: a[k] for k in entry} == entry), None)
        if same is not None:
            same[f"default_{default}"] = True
            continue
        addresses.append({**entry, f"default_{default}": True})
    return {
        "scope_id": order.scope,
        "first_name": identity.first_name or UNKNOWN_NAME,
        "last_name": identity.last_name or UNKNOWN_NAME,
        "email": identity.email,
        "phone": identity.phone,
        "preferred_language": order.preferred_language,
        "account_type": order.account_type if identity.email else "guest",
        "channel": "order",
        "addresses": addresses,
        "idempotency_key": idempotency_key,
    }


def check_resolution(
    review: dict[str, Any] | None, review_id: str, action: str, customer_code: str | None
) -> dict[str, Any]:
    """O5: a review is resolved once, by linking one of its own candidates or creating; the
    review, when it may be."""
    if review is None:
        raise Rejected.not_found("review", review_id, field="payload.review_id")
    if review["status"] != "open":
        raise Rejected.invalid_state(f"review {review_id} was resolved already")
    if action == "link" and (customer_code is None or customer_code not in review["candidates"]):
        raise Rejected.invalid("payload.customer_code", "pick one of the review's candidates")
    return review


def order_key(source_system: str, order_number: str) -> str:
    return f"{source_system}|{order_number}"


def number_key(number: str) -> str:
    """An order number as a caller types it: '#1001', ' 1001', 'ABC-12' and 'abc-12' alike."""
    return number.strip().lstrip("#").strip().casefold()


def number_keys(order: Order) -> list[str]:
    """What FindOrders looks an order up by: its number and the number its customer reads."""
    return sorted({number_key(n) for n in (order.order_number, order.display_number) if n and number_key(n)})


def content_hash(order: Order) -> str:
    """What the source system says of the order, its status aside (status events own that):
    two deliveries of one order with the same hash are the same version of it (O8). A time of
    placing the order did not say (its publication's, ``PLACED_AT_PUBLISHED``) is no content:
    the same order published again is no new version for it."""
    unsaid = {"placed_at"} if PLACED_AT_PUBLISHED in order.set_aside else set()
    content = order.model_dump(mode="json", exclude={"status", *unsaid})
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def summary(order: Order) -> OrderSummary:
    return OrderSummary(
        source_system=order.source_system,
        order_number=order.order_number,
        display_number=order.display_number,
        scope_id=order.scope,
        status=order.status,
        total=order.totals.total,
        currency=order.currency,
        placed_at=order.placed_at,
        store_id=order.store_id,
    )


# --- the customers order-sync matches against (a projection of customer events) ---------------


TRACKED = (
    "scope_id",
    "email",
    "phone",
    "work_phone",
    "first_name",
    "last_name",
    "account_type",
    "state",
    "preferred_language",
    "addresses",
)


@dataclass
class CustomerEntry:
    """What order-sync knows of one customer: enough to match orders and address emails."""

    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> CustomerEntry:
        doc = {"_id": view["code"], "version": view["version"], **{k: view.get(k) for k in TRACKED}}
        doc["addresses"] = [_matched_address(a) for a in view.get("addresses", [])]
        entry = cls(doc)
        entry.refresh_keys()
        return entry

    def apply_changes(self, version: int, changed: dict[str, Any]) -> bool:
        """Apply a CustomerUpdated; False if this entry already is at that version or later."""
        if version <= self.doc["version"]:
            return False
        for key in TRACKED:
            if key in changed:
                value = changed[key]
                if key == "addresses":
                    value = [_matched_address(a) for a in value]
                self.doc[key] = value
        self.doc["version"] = version
        self.refresh_keys()
        return True

    def apply_address(self, version: int, change: str, address_id: str, address: dict[str, Any] | None) -> bool:
        if version <= self.doc["version"]:
            return False
        addresses = [a for a in self.doc["addresses"] if a["address_id"] != address_id]
        if change != "removed" and address is not None:
            addresses.append(_matched_address({**address, "address_id": address_id}))
        self.doc["addresses"] = addresses
        self.doc["version"] = version
        self.refresh_keys()
        return True

    def apply_state(self, version: int, state: str) -> bool:
        if version <= self.doc["version"]:
            return False
        self.doc["state"] = state
        self.doc["version"] = version
        return True

    def refresh_keys(self) -> None:
        """The record's identifiers, in the form matching compares (matching.Profile)."""
        d = self.doc
        first = first_name_key(d["first_name"]) if d.get("first_name") not in (None, UNKNOWN_NAME) else None
        script = name_script(f"{d.get('first_name') or ''} {d.get('last_name') or ''}")
        last = last_name_key(d["last_name"]) if d.get("last_name") not in (None, UNKNOWN_NAME) else None
        postals = {
            id(a): postal_key(a["postal_code"], a.get("country")) for a in d["addresses"] if a.get("postal_code")
        }
        d["record"] = {
            "emails": [canonical_email(d["email"])] if d.get("email") else [],
            "phones": sorted({p for p in (d.get("phone"), d.get("work_phone")) if p}),
            "names": [[first, last]] if first or last else [],
            "scripted_names": [[first, last]] if (first or last) and script else [],
            "postals": sorted({p for p in postals.values() if p}),
            "streets": sorted(
                {
                    (postals[id(a)], a["street_key"])
                    for a in d["addresses"]
                    if postals.get(id(a)) and a.get("street_key")
                }
            ),
        }


def _matched_address(address: dict[str, Any]) -> dict[str, Any]:
    return {
        "address_id": address["address_id"],
        "postal_code": address.get("postal_code"),
        "country": address.get("country"),
        "street_key": lines_street_key(address.get("line1"), address.get("line2")),
    }
