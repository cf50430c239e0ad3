"""Registration and email verification (C8, C14, C20), no I/O: the email a registration is
keyed by, the refusal of a second account for it, the record a new one creates, and what a
verification changes. Tokens and passwords are in ``credentials.py``, sign-in in ``signin.py``."""

from __future__ import annotations

from typing import Any

from contracts.customer.records import NewCustomer, RegisterInput
from plumbing.errors import Rejected
from plumbing.normalize import InvalidValue, email_key, normalize_email


def registration_key(email: str) -> str:
    """The key of the email a registration is for; a malformed one is refused on its field."""
    try:
        return email_key(normalize_email(email))
    except InvalidValue as exc:
        raise Rejected.invalid("payload.email", str(exc)) from exc


def already_registered(scope_id: str) -> Rejected:
    """A scope has one account per email."""
    return Rejected.conflict(f"an account in scope {scope_id!r} is registered with this email", field="payload.email")


def new_registered(p: RegisterInput) -> NewCustomer:
    """The account a registration creates when no guest record has its email."""
    return NewCustomer(
        scope_id=p.scope_id,
        first_name=p.first_name,
        last_name=p.last_name,
        email=p.email,
        preferred_language=p.preferred_language,
        account_type="registered",
        channel="storefront",
    )


def verified_changes(changed_fields: dict[str, Any]) -> dict[str, Any]:
    """What a verification changed, as ``CustomerUpdated`` and the audit say it: not ``invited_at``,
    bookkeeping of the set-password link a claim sends, not a change of the record."""
    return {k: v for k, v in changed_fields.items() if k != "invited_at"}


def verification_note(claimed: bool) -> str:
    """The audit trail's words: a guest who proved the email claimed the record as an account."""
    return "guest account claimed" if claimed else "email verified"
