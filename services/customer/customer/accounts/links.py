"""The emailed links of accounts (C14, C20), below the handlers: the sealer and limits the
service opens at start, and issuing a single-use token whose link the notification service
emails. Records (creation) and accounts (resets, invitations, verification) both send them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from prometheus_client import Counter

from contracts.customer.records import (
    EmailVerificationRequested,
    LinkPayload,
    PasswordResetRequested,
    PasswordSetupInvited,
    ScopeView,
)
from plumbing.errors import Rejected
from plumbing.runtime import Injected, ServiceRuntime
from plumbing.sealing import redact_link, sealer
from plumbing.unit_of_work import UnitOfWork

from ..records.rules import Customer
from ..settings import CustomerSettings
from . import credentials
from . import store as account_store
from .credentials import TokenKind


@dataclass
class Accounts:
    """What the account handlers keep per worker, built once by ``app.py`` (``accounts``)."""

    #: Reset emails not sent because the customer's limit was reached (C14), for operators.
    withheld: Counter  # oms_reset_emails_withheld, labelled with this service
    pace: credentials.ResetPace


def accounts(runtime: ServiceRuntime[CustomerSettings]) -> Accounts:
    withheld = Counter(
        "oms_reset_emails_withheld",
        "Password reset requests answered but not emailed: the customer's limit "
        "of reset emails per window was reached (C14).",
        ["service"],
        registry=runtime.registry,
    )
    return Accounts(
        withheld=withheld.labels(runtime.name),
        pace=credentials.ResetPace(runtime.settings.reset_answer_seconds),
    )


#: The handlers that pace or count reset requests declare ``accounts: AccountsOf``.
AccountsOf = Annotated[Accounts, Injected("accounts")]


async def require_link_key(runtime: ServiceRuntime[CustomerSettings]) -> None:
    """Startup hook: without ``OMS_LINK_KEY`` the service does not start (no link could be emailed)."""
    sealer(runtime.settings)


async def send_link(
    runtime: ServiceRuntime[CustomerSettings],
    uow: UnitOfWork,
    customer: Customer,
    scope: ScopeView,
    kind: TokenKind,
    at: datetime,
    *,
    to: str | None = None,
) -> None:
    """Issue a single-use token of ``kind``, revoking the customer's older ones it replaces, and
    publish the event that emails its link: sealed for the notification service, redacted for
    everyone else (the outbox, the broker, other consumers)."""
    settings = runtime.settings
    hours = {
        "password_setup": settings.setup_token_hours,
        "password_reset": settings.reset_token_hours,
        "email_verification": settings.verification_token_hours,
    }[kind]
    token, expires_at = credentials.new_token(), credentials.expiry(at, hours)
    email = to or customer.email
    if not email:
        raise Rejected.invalid("payload.customer_code", f"customer {customer.code} has no email address")
    await account_store.revoke_open_tokens(uow, customer.code, credentials.replaces(kind), at)
    await account_store.insert_token(uow, credentials.token_id(token), kind, customer.code, email, at, expires_at)
    event = {
        "password_setup": PasswordSetupInvited,
        "password_reset": PasswordResetRequested,
        "email_verification": EmailVerificationRequested,
    }[kind]
    recipient = customer.recipient(scope).model_copy(update={"email": email})
    link = credentials.link(scope.account_url or settings.account_url, kind, token)
    payload = LinkPayload(
        recipient=recipient, link=redact_link(link), sealed_link=sealer(settings).seal(link), expires_at=expires_at
    )
    uow.publish(event(**uow.envelope(), payload=payload), partition_key=customer.code)


async def invite_if_new_registered(
    runtime: ServiceRuntime[CustomerSettings], uow: UnitOfWork, customer: Customer, scope: ScopeView, at: datetime
) -> None:
    """C14: a registered customer created by a CSR or on a storefront is invited to set a
    password. Imports and orders are not: `InviteCustomersWithoutPassword` invites them on purpose."""
    if customer.invited_on_creation:
        await send_link(runtime, uow, customer, scope, "password_setup", at)
        customer.invited(at)
