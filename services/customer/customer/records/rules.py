"""Rules of customer records (C1-C4, C8-C12, C17), free of I/O.

A customer is held as the MongoDB document it is stored as; the ``Customer`` aggregate
changes it only through methods that check the rules, bump the version and record the
events to publish (cosmicpython's aggregate, with events collected by the unit of work).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from email_validator.syntax import validate_email_local_part

from contracts.customer.records import (
    AccountTemplateView,
    AddressChangedPayload,
    AddressInput,
    AddressView,
    AttributeField,
    CustomerAddressChanged,
    CustomerChanges,
    CustomerStateChanged,
    CustomerSummary,
    CustomerUpdated,
    CustomerUpdatedPayload,
    CustomerView,
    NewCustomer,
    Recipient,
    ScopeView,
    StateAction,
    StateChangedPayload,
)
from contracts.envelope import Event
from contracts.replies import FieldError
from contracts.types import visible_text
from plumbing import clock
from plumbing.errors import Rejected
from plumbing.normalize import InvalidValue, email_key, fold, normalize_email, normalize_phone, postal_key

PHONE_FIELDS = ("phone", "work_phone", "fax")

# action -> (states it applies to, resulting state)
TRANSITIONS: dict[StateAction, tuple[frozenset[str], str]] = {
    "activate": (frozenset({"inactive"}), "active"),
    "deactivate": (frozenset({"active"}), "inactive"),
    "disable": (frozenset({"active", "inactive", "waiting_approval"}), "disabled"),
    "enable": (frozenset({"disabled"}), "active"),
    "approve": (frozenset({"waiting_approval"}), "active"),
    "reject": (frozenset({"waiting_approval"}), "rejected"),
}


now = clock.now  # MongoDB's precision (milliseconds), so a reply and a later read agree


# --- field checks ------------------------------------------------------------------------


# C17: the rows of a file share first names, surnames, household phones and email domains;
# each is checked once per process and remembered. Every function below answers exactly what
# the plumbing.normalize function it stands for answers (tests/unit/customer/test_customer_field_cache.py).

#: One @, nothing before it that quotes, escapes or names (no display name, no quoted local
#: part: email-validator splits such an address at its @ and nowhere else), a hostname after.
_SIMPLE_EMAIL = re.compile(r'([^@"\\<>\s]+)@([A-Za-z0-9.\-]+)')
_MAILBOX_NAMES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)  # lower-cased by email-validator
_EMAIL_MAX_BYTES = 254


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> tuple[str, str] | None:
    """The domain as email-validator normalizes it, and its IDNA ASCII form; None when it
    refuses it (the full check then says why, in its own words)."""
    try:
        checked = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain or checked.domain


def _email_local(local: str) -> tuple[str, str] | None:
    """The part before the @ as email-validator's ``validate_email`` normalizes it (NFC, checked
    again once normalized), and its form for the ASCII address; None when it refuses it or
    would lower-case it (a role mailbox): the full check then answers."""
    options = {
        "allow_smtputf8": email_validator.ALLOW_SMTPUTF8,
        "allow_empty_local": email_validator.ALLOW_EMPTY_LOCAL,
        "strict": email_validator.STRICT,
    }
    try:
        checked = validate_email_local_part(local, **options)
        normal = unicodedata.normalize("NFC", local)
        if normal != local:
            checked = validate_email_local_part(normal, **options)
    except EmailNotValidError:
        return None
    ascii_local = checked["ascii_local_part"]
    if ascii_local is not None and ascii_local.lower() in _MAILBOX_NAMES:
        return None
    return checked["local_part"], ascii_local or checked["local_part"]


def email_of(raw: str) -> str:
    """``normalize_email``, with each domain checked once: only the part before the @ is
    checked for every address, by email-validator's own function."""
    text = visible_text(raw).strip()
    simple = _SIMPLE_EMAIL.fullmatch(text)
    if simple is not None and (domain := _email_domain(simple[2])) and (local := _email_local(simple[1])):
        normalized = f"{local[0]}@{domain[0]}"
        forms = (text, normalized, f"{local[1]}@{domain[1]}")
        if max(len(form.encode()) for form in forms) <= _EMAIL_MAX_BYTES:
            return normalized
    return normalize_email(raw)


@lru_cache(maxsize=65536)
def _phone(raw: str, country: str | None) -> tuple[str, bool]:
    try:
        return normalize_phone(raw, country), True
    except InvalidValue as exc:
        return str(exc), False


def phone_of(raw: str, country: str | None) -> str:
    """``normalize_phone``, once per number and scope country (a household shares one)."""
    value, valid = _phone(raw, country)
    if not valid:
        raise InvalidValue(value)
    return value


#: ``fold`` of a name or a tag: few distinct ones, read for every record.
folded = lru_cache(maxsize=65536)(fold)


def name_key(first: str, second: str) -> str:
    """``fold(f"{first} {second}")`` from the two names folded apart: folding reads a space
    as a boundary (no character composes across it), so the parts fold alone; an empty part
    leaves no space behind, as ``fold`` strips it."""
    return " ".join(part for part in (folded(first), folded(second)) if part)


class FieldErrors:
    """Collects every bad field of a command, so one reply names them all."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, reason: str) -> None:
        self.errors.append(FieldError(field=field, reason=reason))

    def check(self, field: str, func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except InvalidValue as exc:
            self.add(field, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise Rejected.invalid_fields(self.errors)


def check_attributes(
    template: AccountTemplateView | None,
    attributes: dict[str, Any],
    *,
    current: dict[str, Any] | None,
    errors: FieldErrors,
    path: str,
) -> dict[str, Any]:
    """C3: attribute values checked against the scope's account template; returns the new set.

    ``current`` is None at creation (every required field must be given); on a change the
    given values are merged into ``current`` and a null value removes one.
    """
    fields = {f.name: f for f in (template.fields if template else [])}
    merged = dict(current or {})
    for name, value in attributes.items():
        field = fields.get(name)
        if field is None:
            errors.add(f"{path}.{name}", "not a field of this scope's account template")
            continue
        if value is None:
            merged.pop(name, None)
            continue
        try:
            merged[name] = stored_attribute_value(field, value)
        except InvalidValue as exc:
            errors.add(f"{path}.{name}", str(exc))
    for field in fields.values():
        # A change may leave alone a required field the record predates; it may not clear it.
        if field.required and merged.get(field.name) is None and (current is None or field.name in attributes):
            errors.add(f"{path}.{field.name}", "required by the account template")
    return merged


def stored_attribute_value(field: AttributeField, value: Any) -> Any:
    """The stored form of a value: str, int, bool, a decimal as a string, a date as ISO."""
    kind = field.type
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidValue("must be text")
        if len(value) > 1000:
            raise InvalidValue("at most 1000 characters")
        return value
    if kind == "enum":
        if value not in field.allowed_values:
            raise InvalidValue(f"must be one of {', '.join(field.allowed_values)}")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidValue("must be true or false")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidValue("must be a whole number")
        try:
            return int(value)
        except ValueError as exc:
            raise InvalidValue("must be a whole number") from exc
    if kind == "decimal":
        if isinstance(value, bool):
            raise InvalidValue("must be a decimal number")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise InvalidValue("must be a decimal number") from exc
        if not number.is_finite():
            raise InvalidValue("must be a decimal number")
        return format(number, "f")
    if kind == "date":
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise InvalidValue("must be a date, YYYY-MM-DD") from exc
    raise InvalidValue(f"unknown attribute type {kind}")  # pragma: no cover - contract forbids it


def check_template_fields(fields: list[AttributeField]) -> None:
    errors = FieldErrors()
    seen: set[str] = set()
    for index, field in enumerate(fields):
        if field.name in seen:
            errors.add(f"payload.fields.{index}.name", "appears twice")
        seen.add(field.name)
        if field.type == "enum" and not field.allowed_values:
            errors.add(f"payload.fields.{index}.allowed_values", "an enum needs allowed values")
        if field.type != "enum" and field.allowed_values:
            errors.add(f"payload.fields.{index}.allowed_values", "only an enum has allowed values")
    errors.raise_if_any()


# --- addresses -----------------------------------------------------------------------------


def address_document(address: AddressInput, address_id: str | None = None) -> dict[str, Any]:
    doc = address.model_dump()
    doc["address_id"] = address_id or uuid.uuid4().hex[:12]
    return doc


def settle_defaults(addresses: list[dict[str, Any]], preferred_id: str | None) -> None:
    """One default shipping and one default billing address: the newest claim wins, and the
    first address of a book that has none becomes the default."""
    for flag in ("default_shipping", "default_billing"):
        claimants = [a for a in addresses if a.get(flag)]
        if len(claimants) > 1:
            keep = next((a for a in claimants if a["address_id"] == preferred_id), claimants[-1])
            for a in claimants:
                a[flag] = a is keep
        if addresses and not any(a.get(flag) for a in addresses):
            addresses[0][flag] = True


# --- the aggregate -----------------------------------------------------------------------


def account_bookkeeping(at: datetime) -> dict[str, Any]:
    """What every new record starts with for accounts (C8, C14, C15, C20) and merges (C13)."""
    return {
        "password_hash": None,
        "invited_at": None,
        "failed_signins": 0,
        "pending_email": None,
        "claim_pending": False,
        "merged_into": None,
        "registered_at": at,
        "last_login_at": None,
        "last_activity_at": at,
        "last_password_reset_at": None,
        "updated_at": at,
    }


class Customer:
    """One customer document, changed only through these methods. Each change records the
    event it causes in ``events`` (its message class and payload); the unit of work gives them
    their envelopes (``UnitOfWork.collect``) and they are published if the change commits."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.loaded_version: int = doc["version"]
        self.changed_fields: dict[str, Any] = {}
        self.events: list[tuple[type[Event[Any]], Any]] = []

    @property
    def scope_id(self) -> str:
        return str(self.doc["scope_id"])

    @property
    def code(self) -> str:
        return str(self.doc["_id"])

    @property
    def version(self) -> int:
        return int(self.doc["version"])

    # What other capabilities read of a customer, named (the document's keys stay in here).

    @property
    def state(self) -> str:
        return str(self.doc["state"])

    @property
    def state_reason(self) -> str | None:
        reason: str | None = self.doc.get("state_reason")
        return reason

    @property
    def email(self) -> str | None:
        email: str | None = self.doc.get("email")
        return email

    @property
    def pending_email(self) -> str | None:
        """C20: an address asked for and not verified yet."""
        pending: str | None = self.doc.get("pending_email")
        return pending

    @property
    def registered_email(self) -> str | None:
        """The email a registered account holds, unique in its scope (absent otherwise)."""
        registered: str | None = self.doc.get("registered_email")
        return registered

    @property
    def merged_into(self) -> str | None:
        survivor: str | None = self.doc.get("merged_into")
        return survivor

    @property
    def organization_number_key(self) -> str:
        """C5: an organization's registration number as compared (relations.rules)."""
        return str(self.doc["organization"]["number_key"])

    @property
    def invited_on_creation(self) -> bool:
        """C14: a registered customer created by a CSR or on a storefront is invited to set a
        password (imports and orders are not: ``InviteCustomersWithoutPassword`` does that)."""
        return bool(self.doc["account_type"] == "registered" and self.doc["channel"] in ("csr", "storefront"))

    def numbered(self, code: str) -> None:
        """A new customer takes the code reserved for it (records.bulk)."""
        self.doc["_id"] = code

    def invited(self, at: datetime) -> None:
        """C14: a set-password link went out. Bookkeeping, not a change of the record: no
        version, no ``CustomerUpdated``."""
        self.doc["invited_at"] = at

    def locked(self, until: datetime) -> None:
        """C15: when a lock for failed sign-ins ends (``apply_action`` disabled the customer)."""
        self.doc["locked_until"] = until

    @classmethod
    def create(
        cls,
        new: NewCustomer,
        *,
        code: str,
        scope: ScopeView,
        template: AccountTemplateView | None,
        at: datetime,
    ) -> Customer:
        errors = FieldErrors()
        email = errors.check("payload.email", email_of, new.email) if new.email else None
        if new.email is None and (new.channel != "order" or new.account_type == "registered"):
            errors.add("payload.email", "required: must not be empty")
        phones = {
            name: errors.check(f"payload.{name}", phone_of, getattr(new, name), scope.country)
            if getattr(new, name)
            else None
            for name in PHONE_FIELDS
        }
        attributes = check_attributes(template, new.attributes, current=None, errors=errors, path="payload.attributes")
        errors.raise_if_any()

        if new.active:
            state = "waiting_approval" if scope.requires_approval and new.channel == "storefront" else "active"
        else:
            state = "inactive"
        addresses = [address_document(a) for a in new.addresses]
        settle_defaults(addresses, None)
        doc = {
            "_id": code,
            "scope_id": new.scope_id,
            "version": 1,
            "logon_id": email if new.account_type == "registered" else None,
            "email": email,
            "email_verified": False,
            "first_name": new.first_name,
            "last_name": new.last_name,
            **phones,
            "phone_extension": new.phone_extension,
            "preferred_language": new.preferred_language,
            "account_type": new.account_type,
            "kind": new.kind,
            "state": state,
            "state_reason": None,
            "attributes": attributes,
            "tags": _clean_tags(new.tags),
            "flag": new.flag,
            "addresses": addresses,
            "channel": new.channel,
            "idempotency_key": new.idempotency_key,
            **account_bookkeeping(at),
        }
        customer = cls(doc)
        customer.refresh_keys()
        return customer

    # --- changes (C12) ---

    def expect_version(self, expected: int) -> None:
        if expected != self.version:
            raise Rejected.conflict(
                f"customer {self.code} was changed by someone else: it is at version {self.version}, "
                f"not {expected}; read it again",
                current_version=self.version,
            )

    def ensure_not_retired(self) -> None:
        if self.doc["state"] == "retired":
            raise Rejected.invalid_state(f"customer {self.code} was merged into {self.doc['merged_into']}")
        if self.doc["state"] == "erased":  # C18
            raise Rejected.invalid_state(f"customer {self.code} was erased")

    def change(
        self, changes: CustomerChanges, *, scope: ScopeView, template: AccountTemplateView | None, at: datetime
    ) -> None:
        self.ensure_not_retired()
        given = changes.model_fields_set
        errors = FieldErrors()
        updates: dict[str, Any] = {}
        for name in ("first_name", "last_name"):
            if name in given:
                if getattr(changes, name) is None:
                    errors.add(f"payload.changes.{name}", "required: must not be empty")
                else:
                    updates[name] = getattr(changes, name)
        if "email" in given:
            if changes.email is None:
                errors.add("payload.changes.email", "required: must not be empty")
            else:
                email = errors.check("payload.changes.email", email_of, changes.email)
                if email is not None and email != self.doc["email"]:
                    if self.doc["account_type"] == "registered":
                        # C20: a registered account keeps its address until the new one is proved.
                        updates["pending_email"] = email
                    else:
                        updates["email"] = email
                        updates["email_verified"] = False
        for name in PHONE_FIELDS:
            if name in given:
                raw = getattr(changes, name)
                updates[name] = errors.check(f"payload.changes.{name}", phone_of, raw, scope.country) if raw else None
        for name in ("phone_extension", "preferred_language", "flag", "notes"):
            if name in given:
                updates[name] = getattr(changes, name)
        if "account_type" in given and changes.account_type is not None:
            updates["account_type"] = changes.account_type
            if changes.account_type == "registered" and not self.doc.get("logon_id"):
                updates["logon_id"] = updates.get("email", self.doc["email"])
                if not updates["logon_id"]:
                    errors.add("payload.changes.account_type", "a registered account needs an email")
        if "tags" in given:
            updates["tags"] = _clean_tags(changes.tags or [])
        if "attributes" in given and changes.attributes is not None:
            updates["attributes"] = check_attributes(
                template,
                changes.attributes,
                current=self.doc["attributes"],
                errors=errors,
                path="payload.changes.attributes",
            )
        errors.raise_if_any()
        real = {k: v for k, v in updates.items() if self.doc.get(k) != v}
        if real:
            self.doc.update(real)
            self.changed_fields.update(real)
            self._touch(at)
            self._updated(real)

    def add_address(self, address: AddressInput, at: datetime) -> dict[str, Any]:
        self.ensure_not_retired()
        if len(self.doc["addresses"]) >= 50:
            raise Rejected.invalid("payload.address", "an address book holds at most 50 addresses")
        doc = address_document(address)
        self.doc["addresses"].append(doc)
        settle_defaults(self.doc["addresses"], doc["address_id"])
        self._addresses_changed(at, "added", doc["address_id"], doc)
        return doc

    def change_address(self, address_id: str, address: AddressInput, at: datetime) -> dict[str, Any]:
        self.ensure_not_retired()
        index = self._address_index(address_id)
        doc = address_document(address, address_id)
        self.doc["addresses"][index] = doc
        settle_defaults(self.doc["addresses"], address_id)
        self._addresses_changed(at, "changed", address_id, doc)
        return doc

    def remove_address(self, address_id: str, at: datetime) -> None:
        self.ensure_not_retired()
        del self.doc["addresses"][self._address_index(address_id)]
        settle_defaults(self.doc["addresses"], None)
        self._addresses_changed(at, "removed", address_id, None)

    def _address_index(self, address_id: str) -> int:
        for index, address in enumerate(self.doc["addresses"]):
            if address["address_id"] == address_id:
                return index
        raise Rejected.not_found("address", address_id, field="payload.address_id")

    def prefer_store(self, store_id: str | None, at: datetime) -> None:
        """C6: the customer's preferred store (None: no preference)."""
        self.ensure_not_retired()
        if self.doc.get("preferred_store_id") != store_id:
            self._set(preferred_store_id=store_id)
            self._touch(at)
            self._updated({"preferred_store_id": store_id})

    def _addresses_changed(
        self,
        at: datetime,
        change: Literal["added", "changed", "removed"],
        address_id: str,
        address: dict[str, Any] | None,
    ) -> None:
        self.changed_fields["addresses"] = self.doc["addresses"]
        self._touch(at)
        payload = AddressChangedPayload(
            customer_code=self.code,
            version=self.version,
            change=change,
            address_id=address_id,
            address=AddressView.model_validate(address) if address is not None else None,
        )
        self.events.append((CustomerAddressChanged, payload))

    def _updated(self, changed: dict[str, Any]) -> None:
        payload = CustomerUpdatedPayload(customer_code=self.code, version=self.version, changed=changed)
        self.events.append((CustomerUpdated, payload))

    @property
    def needs_email_verification(self) -> bool:
        return "pending_email" in self.changed_fields and self.doc["pending_email"] is not None

    # --- accounts (C14, C15, C20) ---

    def set_password(self, password_hash: str, *, proves_email: bool, at: datetime) -> None:
        self.ensure_not_retired()
        updates = {"password_hash": password_hash, "last_password_reset_at": at, "failed_signins": 0}
        if proves_email:
            updates["email_verified"] = True
        self.doc.update(updates)
        self.changed_fields.update({k: v for k, v in updates.items() if k != "password_hash"}, password=True)
        self._touch(at)

    def verify_email(self, email: str, at: datetime) -> bool:
        """The customer proved they own ``email``: adopt it if it was pending, finish a guest's
        claim. Returns whether the record became a registered account."""
        self.ensure_not_retired()
        doc = self.doc
        if doc.get("pending_email") == email:
            self._set(email=email, pending_email=None, email_verified=True)
        elif doc["email"] == email:
            self._set(email_verified=True)
        else:
            raise Rejected.invalid("payload.token", "this link is for an address the account no longer uses")
        claimed = bool(doc.get("claim_pending")) and doc["account_type"] == "guest"
        if claimed:
            self._set(account_type="registered", logon_id=doc["email"], claim_pending=False)
        self._touch(at)
        return claimed

    def start_claim(self, at: datetime) -> None:
        self._set(claim_pending=True)
        self._touch(at)

    def set_fields(self, updates: dict[str, Any], at: datetime) -> None:
        """Merge, unmerge and erasure (C13, C18): fields their own rules decided on."""
        if updates:
            self._set(**updates)
            self._touch(at)

    def _set(self, **updates: Any) -> None:
        self.doc.update(updates)
        self.changed_fields.update(updates)

    # --- lifecycle (C10, C15) ---

    def apply_action(self, action: StateAction, reason: str | None, at: datetime) -> str:
        """Move to the state ``action`` leads to; returns the previous state."""
        self.ensure_not_retired()
        allowed, target = TRANSITIONS[action]
        previous = str(self.doc["state"])
        if previous not in allowed:
            raise Rejected.invalid_state(f"cannot {action} customer {self.code}: it is {previous.replace('_', ' ')}")
        self.doc["state"] = target
        self.doc["state_reason"] = reason
        self.changed_fields.update(state=target, state_reason=reason)
        self._touch(at)
        payload = StateChangedPayload(
            customer_code=self.code, version=self.version, previous=previous, state=target, reason=reason
        )
        self.events.append((CustomerStateChanged, payload))
        return previous

    def _touch(self, at: datetime) -> None:
        self.doc["version"] += 1
        self.doc["updated_at"] = at
        self.doc["last_activity_at"] = at
        self.refresh_keys()

    # --- derived fields ---

    def refresh_keys(self) -> None:
        """Derived fields that indexes serve: search keys and the registered-email key."""
        doc = self.doc
        phones = [doc.get(name) for name in PHONE_FIELDS]
        doc["s"] = {
            "sn": name_key(doc["last_name"], doc["first_name"]),
            "fl": name_key(doc["first_name"], doc["last_name"]),
            "e": email_key(doc["email"]) if doc["email"] else None,
            "p": sorted({p for p in phones if p}),
            "z": sorted({postal_key(a["postal_code"]) for a in doc["addresses"] if a.get("postal_code")}),
            "t": sorted({folded(t) for t in doc["tags"]}),
        }
        # Within a scope, one registered account per email (C2); guests and retired records
        # are outside the unique index.
        if doc["account_type"] == "registered" and doc["state"] != "retired" and doc["email"]:
            doc["registered_email"] = doc["s"]["e"]
        else:
            doc.pop("registered_email", None)

    # --- views ---

    def view(self) -> CustomerView:
        return customer_view(self.doc)

    def recipient(self, scope: ScopeView | None) -> Recipient:
        d = self.doc
        return Recipient(
            customer_code=d["_id"],
            scope_id=d["scope_id"],
            email=d["email"],
            first_name=d["first_name"],
            last_name=d["last_name"],
            preferred_language=d.get("preferred_language"),
            scope_language=scope.default_language if scope else None,
        )


def customer_view(doc: dict[str, Any]) -> CustomerView:
    return CustomerView(
        code=doc["_id"],
        has_password=bool(doc.get("password_hash")),
        addresses=[AddressView(**a) for a in doc["addresses"]],
        **{k: doc[k] for k in CustomerView.model_fields if k in doc and k not in ("code", "has_password", "addresses")},
    )


def customer_summary(doc: dict[str, Any]) -> CustomerSummary:
    postal = next((a.get("postal_code") for a in doc.get("addresses", []) if a.get("default_billing")), None)
    return CustomerSummary(
        code=doc["_id"],
        postal_code=postal,
        **{k: doc.get(k) for k in CustomerSummary.model_fields if k not in ("code", "postal_code")},
    )


def _clean_tags(tags: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(folded(tag), tag.strip())
    return list(seen.values())


# --- creating several at once (C1, C17, O3) ---------------------------------------------------


def import_parts(rows: int, part_rows: int | None) -> list[tuple[int, int]]:
    """C17: the parts of an import batch of ``rows`` rows, (start, stop) in order, each applied
    in its own transaction. A batch of more than ``part_rows`` rows goes in parts of that many,
    the last with the rest; the last part's transaction keeps the whole answer with the inbox
    record. A batch redelivered after a crash between two parts applies them again: the rows
    of the parts applied before answer "unchanged", found by their idempotency keys. None: one
    part (a batch applied before answers what it kept)."""
    if part_rows is None or rows <= part_rows:
        return [(0, rows)]
    before_last = range(0, rows - part_rows, part_rows)
    last = before_last[-1] + part_rows
    return [(start, start + part_rows) for start in before_last] + [(last, rows)]


def creation_attempts(one_event: bool) -> tuple[bool, ...]:
    """C1, C17, O3: for each attempt at a batch of creations, whether it reads the idempotency
    keys and registered emails already taken first (``bulk.create_each``'s ``look_first``).
    A second attempt follows a concurrent writer's commit, which its reads then see. An import
    (``one_event``) first tries without the reads: its rows are new, most often; if not, the
    attempt costs one aborted insert."""
    return (False, True, True) if one_event else (True, True)
