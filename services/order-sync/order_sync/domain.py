"""Rules of order matching (O2-O6), free of I/O.

An order's *identity* is what it says about its customer, in canonical form. The decision
follows O2's rules in order and never guesses: a rule with two or more candidates sends the
order to review (O5). A new customer is created with an idempotency key derived from the
identity, so two orders of one new customer, handled at once by two workers, still make one
customer (O6): the customer service answers the second creation with the first customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.order_sync import MatchRule, OrderSummary
from contracts.orders import Order, PostalAddress
from plumbing.normalize import InvalidValue, email_key, fold, normalize_email, normalize_phone, postal_key

UNKNOWN_NAME = "(unknown)"


@dataclass(frozen=True)
class Identity:
    scope_id: str
    source_system: str
    source_customer_id: str | None
    email: str | None
    email_key: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    first_key: str | None
    last_key: str | None
    postal_key: str | None
    #: What was unusable and set aside, e.g. an email that is not an address.
    notes: tuple[str, ...] = ()

    @property
    def can_match_by_phone(self) -> bool:
        return bool(self.phone and self.last_key and self.postal_key)

    @property
    def anonymous(self) -> bool:
        return not (self.email or self.phone or self.source_customer_id or self.last_key)


def _address(order: Order) -> PostalAddress | None:
    return order.billing_address or order.shipping_address


def identity_of(order: Order, scope_country: str | None) -> Identity:
    notes: list[str] = []
    email = None
    if order.email:
        try:
            email = normalize_email(order.email)
        except InvalidValue as exc:
            notes.append(f"email {order.email!r} ignored: {exc}")
    address = _address(order)
    phone = None
    for raw in (order.phone, address.phone if address else None):
        if raw and phone is None:
            country = (address.country if address else None) or scope_country
            try:
                phone = normalize_phone(raw, country)
            except InvalidValue as exc:
                notes.append(f"phone {raw!r} ignored: {exc}")
    first = order.first_name or (address.first_name if address else None)
    last = order.last_name or (address.last_name if address else None)
    postal = next((a.postal_code for a in (order.billing_address, order.shipping_address) if a and a.postal_code), None)
    return Identity(
        scope_id=order.scope,
        source_system=order.source_system,
        source_customer_id=order.source_customer_id,
        email=email,
        email_key=email_key(email) if email else None,
        phone=phone,
        first_name=first,
        last_name=last,
        first_key=fold(first) if first else None,
        last_key=fold(last) if last else None,
        postal_key=postal_key(postal) if postal else None,
        notes=tuple(notes),
    )


# --- the decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    kind: Literal["link", "review", "create", "anonymous"]
    rule: MatchRule | None = None
    customer_code: str | None = None
    candidates: tuple[str, ...] = ()


def decide(
    identity: Identity,
    linked_code: str | None,
    email_candidates: list[str],
    phone_candidates: list[str],
) -> Decision:
    """O2's rules in order: known link, email in the scope, phone with name and postal code."""
    if linked_code:
        return Decision("link", "source_customer_id", linked_code)
    if identity.email_key:
        return _by_candidates("email", email_candidates)
    if identity.can_match_by_phone:
        return _by_candidates("phone_name_postal", phone_candidates)
    if identity.anonymous:
        return Decision("anonymous")
    return Decision("create")


def _by_candidates(rule: MatchRule, candidates: list[str]) -> Decision:
    unique = sorted(set(candidates))
    if len(unique) == 1:
        return Decision("link", rule, unique[0])
    if len(unique) > 1:
        return Decision("review", rule, candidates=tuple(unique))  # O5: never guess
    return Decision("create")


def phone_candidates_filter(identity: Identity, docs: list[dict[str, Any]]) -> list[str]:
    """Same phone, last name and postal code; the first name too when the order has one, so
    that family members sharing a phone stay apart."""
    return [
        d["_id"]
        for d in docs
        if d.get("last_key") == identity.last_key
        and identity.postal_key in d.get("postal_keys", [])
        and (identity.first_key is None or d.get("first_key") == identity.first_key)
    ]


def creation_key(identity: Identity, order: Order) -> str:
    """The idempotency key of the customer an order creates: the same for every order of
    the same new customer, whichever worker handles it."""
    if identity.email_key:
        return f"order-email:{identity.email_key}"
    if identity.source_customer_id:
        return f"order-customer:{identity.source_system}:{identity.source_customer_id}"
    if identity.can_match_by_phone:
        return f"order-phone:{identity.phone}:{identity.first_key or ''}:{identity.last_key}:{identity.postal_key}"
    # Only a phone or only a name: too little to tell one person from another; each order
    # gets a record of its own rather than a risk of merging two people.
    return f"order:{order.source_system}:{order.order_number}"


def new_customer(order: Order, identity: Identity) -> dict[str, Any]:
    """O3: the customer an unmatched order creates, with the order's addresses."""
    addresses = []
    for address, default in ((order.billing_address, "billing"), (order.shipping_address, "shipping")):
        if address is None or not (address.line1 and address.city and address.country):
            continue
        entry = {k: getattr(address, k) for k in ("first_name", "last_name", "company", "line1", "line2", "city",
                                                    "region", "postal_code", "country", "phone")}
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
        "idempotency_key": creation_key(identity, order),
    }


def order_key(source_system: str, order_number: str) -> str:
    return f"{source_system}|{order_number}"


def summary(order: Order) -> OrderSummary:
    return OrderSummary(
        source_system=order.source_system,
        order_number=order.order_number,
        scope_id=order.scope,
        status=order.status,
        total=order.totals.total,
        currency=order.currency,
        placed_at=order.placed_at,
        store_id=order.store_id,
    )


# --- the customers order-sync matches against (a projection of customer events) ---------------


TRACKED = ("scope_id", "email", "phone", "work_phone", "first_name", "last_name", "account_type", "state",
           "preferred_language", "addresses")


@dataclass
class CustomerEntry:
    """What order-sync knows of one customer: enough to match orders and address emails."""

    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> CustomerEntry:
        doc = {"_id": view["code"], "version": view["version"], **{k: view.get(k) for k in TRACKED}}
        doc["addresses"] = [{"address_id": a["address_id"], "postal_code": a.get("postal_code")}
                            for a in view.get("addresses", [])]
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
                    value = [{"address_id": a["address_id"], "postal_code": a.get("postal_code")} for a in value]
                self.doc[key] = value
        self.doc["version"] = version
        self.refresh_keys()
        return True

    def apply_address(self, version: int, change: str, address_id: str, address: dict[str, Any] | None) -> bool:
        if version <= self.doc["version"]:
            return False
        addresses = [a for a in self.doc["addresses"] if a["address_id"] != address_id]
        if change != "removed" and address is not None:
            addresses.append({"address_id": address_id, "postal_code": address.get("postal_code")})
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
        d = self.doc
        d["email_key"] = email_key(d["email"]) if d.get("email") else None
        d["phones"] = sorted({p for p in (d.get("phone"), d.get("work_phone")) if p})
        d["first_key"] = fold(d["first_name"]) if d.get("first_name") else None
        d["last_key"] = fold(d["last_name"]) if d.get("last_name") else None
        d["postal_keys"] = sorted({postal_key(a["postal_code"]) for a in d["addresses"] if a.get("postal_code")})
