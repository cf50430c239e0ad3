"""Messages in and out for accounts: passwords, verification and claim, sign-in, acting on
behalf, audit (C14, C15, C16, C20).

Tokens and passwords exist in clear only in the command that carries them; the one event
whose link emails a token carries it sealed for the notification service and otherwise
redacted (``plumbing.sealing``); everything stored is a hash.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from bson import ObjectId
from pydantic import AwareDatetime, StringConstraints, TypeAdapter
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import (
    Accepted,
    AcceptedReply,
    AuditEntry,
    AuditPage,
    AuditReply,
    Authenticate,
    Authenticated,
    AuthenticatedReply,
    CompletePasswordReset,
    CustomerReply,
    CustomerStateChanged,
    CustomerUpdated,
    CustomerUpdatedPayload,
    CustomerView,
    EmailVerified,
    EndOnBehalfSession,
    GetCustomerAudit,
    InviteCustomersWithoutPassword,
    InviteProgress,
    InviteProgressReply,
    OnBehalfPayload,
    OnBehalfReply,
    OnBehalfSession,
    OnBehalfSessionEnded,
    OnBehalfSessionStarted,
    PasswordChanged,
    RecipientPayload,
    RegisterCustomer,
    RequestEmailVerification,
    RequestPasswordReset,
    ScopeView,
    StartOnBehalfSession,
    StateChangedPayload,
    VerifyEmail,
)
from contracts.envelope import Actor
from plumbing import cursors, passwords
from plumbing.errors import Rejected
from plumbing.normalize import email_key
from plumbing.runtime import CommandTable, ServiceRuntime
from plumbing.throttle import Bucket, Limits, retry_after, too_many_attempts
from plumbing.throttle_store import Throttle
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import Acting, audit, authorize
from ..records import store
from ..records.rules import Customer, now
from ..records.service import create_once  # the shared creation path, with its race handling
from ..settings import CustomerRuntime, CustomerSettings
from . import credentials, rules
from . import store as account_store
from .credentials import TokenKind
from .links import AccountsOf, send_link
from .signin import (
    LOCK_EXPIRED_REASON,
    LOCKED_REASON,
    SignInPolicy,
    account_key,
    is_locked,
    lifted_early,
    lock_ended,
    lock_wait_seconds,
    sign_in_email_key,
    source_key,
    source_of,
)

#: A locked account whose password was set again through an emailed link is unlocked (C15).
UNLOCKED_REASON = "password reset with an emailed link"
#: Who locks an account after failed sign-ins, and ends the lock when its time is up (C15).
SIGN_IN_POLICY = Acting(Actor(kind="system", id="sign-in policy"))

# --- tokens and their emails -------------------------------------------------------------------


async def usable_token(
    runtime: ServiceRuntime[CustomerSettings], uow: UnitOfWork, token: str, kinds: tuple[TokenKind, ...], at: datetime
) -> dict[str, Any]:
    doc = await account_store.find_token(uow, credentials.token_id(token))
    return credentials.usable(doc, kinds, at)


def _by_link(customer: Customer) -> Acting:
    """Who acts through an emailed link: the customer, proving the mailbox."""
    return Acting(Actor(kind="customer", id=customer.code, source="emailed link"))


async def _state_changed(
    db: AsyncDatabase[dict[str, Any]],
    uow: UnitOfWork,
    acting: Acting,
    customer: Customer,
    change: tuple[str, str, str],
    at: datetime,
) -> None:
    """Announce and audit an enable or a disable that no CSR asked for: ``change`` is the state
    left, the state entered and the reason."""
    previous, state, reason = change
    payload = StateChangedPayload(
        customer_code=customer.code, version=customer.version, previous=previous, state=state, reason=reason
    )
    uow.publish(
        CustomerStateChanged(**uow.envelope(), payload=payload),
        partition_key=customer.code,
    )
    await audit(uow, acting, customer.code, "enabled" if state == "active" else "disabled", ["state"], at)


# --- passwords (C14) ------------------------------------------------------------------------------


#: Who asks for a reset by email: anyone who knows the address (the email goes to the account's own).
ANONYMOUS = Actor(kind="customer", id="anonymous")


async def request_password_reset(
    cmd: RequestPasswordReset, runtime: CustomerRuntime, accounts: AccountsOf
) -> AcceptedReply:
    """C14. By email, the answer is the same, and takes the same time, whether the account
    exists, was emailed, or reached its limit of reset emails (then nothing is sent and the
    audit and ``oms_reset_emails_withheld`` say so). The wait holds one of the command
    queue's prefetch slots: a worker answers at most about prefetch_count / reset_answer_seconds
    of these a second."""
    p, at = cmd.payload, now()
    whose = credentials.reset_for(p.customer_code, p.scope_id, p.email)
    outcome: dict[str, bool] = {}

    async def work(uow: UnitOfWork) -> Accepted:
        outcome.clear()  # a retried transaction starts over
        if (found := await _reset_account(runtime, uow, cmd, whose, at)) is not None:
            outcome["known"] = True
            outcome["withheld"] = not await _send_reset(runtime, uow, *found, at)
        return Accepted()

    started = time.monotonic()
    try:
        result = await apply_once(runtime, cmd, work, Accepted)
    finally:
        if p.customer_code is None:
            took = time.monotonic() - started
            await asyncio.sleep(accounts.pace.wait(took, known=outcome.get("known", False)))
    if outcome.get("withheld"):
        accounts.withheld.inc()
    return AcceptedReply.success(result)


async def _reset_account(
    runtime: CustomerRuntime, uow: UnitOfWork, cmd: RequestPasswordReset, whose: str | tuple[str, str], at: datetime
) -> tuple[Customer, Acting] | None:
    """The customer a reset is for, and who asks; None for an email no account has."""
    if isinstance(whose, str):
        customer = await store.load(uow, whose, follow_merge=True)
        return customer, await authorize(uow, cmd.actor, customer.code, at)
    scope_id, email = whose
    doc = await store.find_registered(uow, scope_id, email_key(email))
    if doc is None:
        # Part of the work an existing account costs; the pace below covers the rest.
        credentials.token_id(credentials.new_token())
        await account_store.reset_emails_sent(uow, "-")
        return None
    return Customer(doc), Acting(cmd.actor or ANONYMOUS)  # not authorize(): that would answer differently


async def _send_reset(
    runtime: CustomerRuntime, uow: UnitOfWork, customer: Customer, acting: Acting, at: datetime
) -> bool:
    """Email a reset link, unless the customer's limit of reset emails is reached (then the audit
    says so); whether it was sent."""
    settings = runtime.settings
    window = timedelta(minutes=settings.reset_email_window_minutes)
    sent = await account_store.reset_emails_sent(uow, customer.code)
    counted = credentials.next_reset_emails(sent, at, window, settings.reset_emails_per_window)
    if counted is None:
        note = credentials.reset_withheld_note(settings.reset_emails_per_window, settings.reset_email_window_minutes)
        await audit(uow, acting, customer.code, note, [], at)
        return False
    await account_store.record_reset_emails(uow, customer.code, counted, at + window)
    scope = await store.require_scope(uow, customer.scope_id)
    await send_link(runtime, uow, customer, scope, "password_reset", at)
    await audit(uow, acting, customer.code, "password reset requested", [], at)
    return True


async def complete_password_reset(cmd: CompletePasswordReset, runtime: CustomerRuntime) -> AcceptedReply:
    db, at = runtime.db, now()
    password_hash = await asyncio.to_thread(passwords.hash_password, cmd.payload.new_password)
    kinds: list[TokenKind] = ["password_reset", "password_setup"]

    async def work(uow: UnitOfWork) -> Accepted:
        token = await usable_token(runtime, uow, cmd.payload.token, tuple(kinds), at)
        customer = await store.load(uow, token["customer_code"])
        # Locked by failed sign-ins (C15): proving the mailbox unlocks it; a CSR's disable stays.
        unlocks = is_locked(customer.doc)
        customer.set_password(password_hash, proves_email=token["email"] == customer.email, at=at)
        previous = customer.apply_action("enable", UNLOCKED_REASON, at) if unlocks else None
        if not await account_store.spend_replacing(uow, token["_id"], customer.code, kinds, at):
            raise Rejected.invalid("payload.token", "this link was already used")
        await store.save(uow, customer)
        scope = await store.require_scope(uow, customer.scope_id)
        changed = PasswordChanged(**uow.envelope(), payload=RecipientPayload(recipient=customer.recipient(scope)))
        uow.publish(changed, partition_key=customer.code)
        acting = _by_link(customer)
        await audit(uow, acting, customer.code, credentials.password_set_note(token["kind"]), ["password"], at)
        if previous is not None:
            await _state_changed(db, uow, acting, customer, (previous, "active", UNLOCKED_REASON), at)
        return Accepted()

    return AcceptedReply.success(await apply_once(runtime, cmd, work, Accepted))


async def invite_customers_without_password(
    cmd: InviteCustomersWithoutPassword, runtime: CustomerRuntime
) -> InviteProgressReply:
    """'Set empty passwords', one batch: resumable (after_code) and idempotent (invited once)."""
    p, at = cmd.payload, now()

    async def work(uow: UnitOfWork) -> InviteProgress:
        docs = await store.registered_without_password(uow, p.scope_id, p.after_code, p.batch_size)
        scopes: dict[str, ScopeView] = {}
        for doc in docs:
            customer = Customer(doc)
            if customer.scope_id not in scopes:
                scopes[customer.scope_id] = await store.require_scope(uow, customer.scope_id)
            await send_link(runtime, uow, customer, scopes[customer.scope_id], "password_setup", at)
        await store.mark_invited(uow, [d["_id"] for d in docs], at)
        return InviteProgress(
            invited=len(docs), last_code=docs[-1]["_id"] if docs else p.after_code, done=len(docs) < p.batch_size
        )

    return InviteProgressReply.success(await apply_once(runtime, cmd, work, InviteProgress))


# --- email verification and claim (C20) ------------------------------------------------------


async def request_email_verification(cmd: RequestEmailVerification, runtime: CustomerRuntime) -> AcceptedReply:
    at = now()

    async def work(uow: UnitOfWork) -> Accepted:
        customer = await store.load(uow, cmd.payload.customer_code)
        acting = await authorize(uow, cmd.actor, customer.code, at)
        scope = await store.require_scope(uow, customer.scope_id)
        await send_link(
            runtime,
            uow,
            customer,
            scope,
            "email_verification",
            at,
            to=customer.pending_email or customer.email,
        )
        await audit(uow, acting, customer.code, "email verification requested", [], at)
        return Accepted()

    return AcceptedReply.success(await apply_once(runtime, cmd, work, Accepted))


async def verify_email(cmd: VerifyEmail, runtime: CustomerRuntime) -> CustomerReply:
    at = now()

    async def work(uow: UnitOfWork) -> CustomerView:
        token = await usable_token(runtime, uow, cmd.payload.token, ("email_verification",), at)
        customer = await store.load(uow, token["customer_code"])
        claimed = customer.verify_email(token["email"], at)
        await account_store.spend_token(uow, token["_id"], at)
        scope = await store.require_scope(uow, customer.scope_id)
        if claimed:
            await send_link(runtime, uow, customer, scope, "password_setup", at)
            customer.invited(at)
        await store.save(uow, customer)
        changed = rules.verified_changes(customer.changed_fields)
        uow.publish(
            EmailVerified(**uow.envelope(), payload=RecipientPayload(recipient=customer.recipient(scope))),
            partition_key=customer.code,
        )
        updated = CustomerUpdatedPayload(customer_code=customer.code, version=customer.version, changed=changed)
        uow.publish(CustomerUpdated(**uow.envelope(), payload=updated), partition_key=customer.code)
        await audit(uow, _by_link(customer), customer.code, rules.verification_note(claimed), list(changed), at)
        return customer.view()

    return CustomerReply.success(await apply_once(runtime, cmd, work, CustomerView))


async def register_customer(cmd: RegisterCustomer, runtime: CustomerRuntime) -> CustomerReply:
    """Self-registration. A guest record with this email in the scope is claimed, after the
    customer proves the address, instead of being duplicated."""
    p, at = cmd.payload, now()
    key = rules.registration_key(p.email)

    async def claim(uow: UnitOfWork) -> CustomerView | None:
        if await store.find_registered(uow, p.scope_id, key):
            raise rules.already_registered(p.scope_id)
        guest = await store.oldest_guest(uow, p.scope_id, key)
        return None if guest is None else await _start_claim(runtime, uow, cmd, Customer(guest), at)

    claimed = await apply_once(runtime, cmd, claim, CustomerView | None, consumer="customer:register-claim")
    if claimed is not None:
        return CustomerReply.success(claimed)
    view, _ = await create_once(runtime, cmd, rules.new_registered(p))
    return CustomerReply.success(view)


async def _start_claim(
    runtime: CustomerRuntime, uow: UnitOfWork, cmd: RegisterCustomer, customer: Customer, at: datetime
) -> CustomerView:
    """C20: the guest record is claimed once the customer proves the address: a verification link."""
    customer.start_claim(at)
    scope = await store.require_scope(uow, cmd.payload.scope_id)
    await send_link(runtime, uow, customer, scope, "email_verification", at)
    await store.save(uow, customer)
    acting = Acting(cmd.actor or Actor(kind="customer", id=customer.code))
    note = "registration started: guest claim pending verification"
    await audit(uow, acting, customer.code, note, ["claim_pending"], at)
    return customer.view()


# --- sign-in (C15) ---------------------------------------------------------------------------------


async def authenticate(cmd: Authenticate, runtime: CustomerRuntime) -> AuthenticatedReply:
    """C15. A throttled or locked attempt is refused before the password is checked, with the
    same answer either way (``signin.py``); the others are charged to their account's and
    source's buckets before the check, so attempts at once are counted exactly and none slips
    past a limit. Nothing here sleeps: the answer says when to try again."""
    p, db, at = cmd.payload, runtime.db, now()
    policy = SignInPolicy.from_settings(runtime.settings)
    throttle = Throttle(db[account_store.SIGNIN_THROTTLE])
    source, key = source_of(cmd.actor), sign_in_email_key(p.email)
    doc = await _account(runtime, p.scope_id, key, at)
    if (wait := lock_wait_seconds(doc, at)) > 0:
        raise _throttled(wait)
    account = account_key(p.scope_id, key) if key else None
    charged = await _charge(throttle, policy.keys(p.scope_id, key, source), account, doc, at)
    matches = await asyncio.to_thread(passwords.verify_password, doc.get("password_hash") if doc else None, p.password)
    if matches and doc is not None and doc["state"] == "active":  # a password matches only an account's
        return await _signed_in(runtime, throttle, doc, p.password, account, source, at)
    if account and (until := policy.lock_until(charged, at)):
        if doc is not None:
            await _lock(runtime, doc["_id"], at, until)
        await throttle.lock(account, policy.account, until)  # unknown emails answer alike
    raise Rejected.of("unauthenticated", "the email or the password is wrong")


async def _account(runtime: CustomerRuntime, scope_id: str, key: str | None, at: datetime) -> dict[str, Any] | None:
    """The registered account of an attempt's email, its lock ended first if its time is up."""
    doc = await store.find_registered(runtime.db, scope_id, key) if key else None
    if key and doc is not None and lock_ended(doc, at):
        await _unlock(runtime, doc["_id"], at)
        doc = await store.find_registered(runtime.db, scope_id, key)
    return doc


async def _charge(
    throttle: Throttle, keys: list[tuple[str, Limits]], account: str | None, doc: dict[str, Any] | None, at: datetime
) -> Bucket | None:
    """Charge the attempt to its buckets before the password is checked; a throttled one is
    refused. The account's bucket as charged (None when the email is none)."""
    if account and doc is not None and lifted_early(doc, await throttle.bucket(account), at):
        await throttle.clear(account)
    if (wait := await throttle.wait_seconds(keys, at)) > 0:
        raise _throttled(wait)
    charged: dict[str, Bucket] = {}
    for bucket_key, limits in keys:
        wait, bucket = await throttle.charge(bucket_key, limits, at)
        if wait > 0:  # another attempt got there first
            for done in charged:
                await throttle.refund(done)
            raise _throttled(wait)
        charged[bucket_key] = bucket
    return charged[account] if account else None


async def _signed_in(
    runtime: CustomerRuntime,
    throttle: Throttle,
    doc: dict[str, Any],
    password: str,
    account: str | None,
    source: str | None,
    at: datetime,
) -> AuthenticatedReply:
    """The right password of an active account: its failures are forgotten, the source's attempt refunded."""
    rehash = (
        await asyncio.to_thread(passwords.hash_password, password)
        if passwords.needs_rehash(doc["password_hash"])
        else None
    )
    await store.record_sign_in(runtime.db, doc["_id"], at, rehash)
    if account:
        await throttle.clear(account)
    if source:
        await throttle.refund(source_key(source))
    return AuthenticatedReply.success(
        Authenticated(customer_code=doc["_id"], first_name=doc["first_name"], last_name=doc["last_name"])
    )


def _throttled(wait_seconds: float) -> Rejected:
    return Rejected.of("rate_limited", too_many_attempts(wait_seconds), retry_after_seconds=retry_after(wait_seconds))


async def _lock(runtime: ServiceRuntime[CustomerSettings], code: str, at: datetime, until: datetime) -> None:
    db = runtime.db

    async def work(uow: UnitOfWork) -> None:
        customer = await store.load(uow, code)
        if customer.state != "active":
            return
        previous = customer.apply_action("disable", LOCKED_REASON, at)
        customer.locked(until)
        await store.save(uow, customer)
        await _state_changed(db, uow, SIGN_IN_POLICY, customer, (previous, "disabled", LOCKED_REASON), at)

    await apply_once(runtime, None, work)


async def _unlock(runtime: ServiceRuntime[CustomerSettings], code: str, at: datetime) -> None:
    """End a lock whose time is up; attempts at once find it ended by the first one."""
    db = runtime.db

    async def work(uow: UnitOfWork) -> None:
        customer = await store.load(uow, code)
        if not lock_ended(customer.doc, at):
            return
        previous = customer.apply_action("enable", LOCK_EXPIRED_REASON, at)
        await store.save(uow, customer)
        await _state_changed(db, uow, SIGN_IN_POLICY, customer, (previous, "active", LOCK_EXPIRED_REASON), at)

    await apply_once(runtime, None, work)


# --- acting on behalf (C16) ----------------------------------------------------------------------


def _session_view(doc: dict[str, Any]) -> OnBehalfSession:
    return OnBehalfSession(session_id=doc["_id"], **{k: doc[k] for k in OnBehalfSession.model_fields if k in doc})


async def start_on_behalf_session(cmd: StartOnBehalfSession, runtime: CustomerRuntime) -> OnBehalfReply:
    p, at, csr = cmd.payload, now(), cmd.actor
    if csr is None or csr.kind != "csr":
        raise Rejected.of("forbidden", "only a CSR acts on behalf of a customer")
    if p.minutes > runtime.settings.on_behalf_max_minutes:
        raise Rejected.invalid("payload.minutes", f"at most {runtime.settings.on_behalf_max_minutes} minutes")

    async def work(uow: UnitOfWork) -> OnBehalfSession:
        customer = await store.load(uow, p.customer_code)
        customer.ensure_not_retired()
        doc = {
            "_id": uuid.uuid4().hex,
            "csr_id": csr.id,
            "customer_code": customer.code,
            "reason": p.reason,
            "started_at": at,
            "expires_at": at + timedelta(minutes=p.minutes),
            "ended_at": None,
        }
        await account_store.insert_session(uow, doc)
        session = _session_view(doc)
        uow.publish(
            OnBehalfSessionStarted(**uow.envelope(), payload=OnBehalfPayload(session=session)),
            partition_key=customer.code,
        )
        await audit(uow, Acting(csr, p.reason), customer.code, "on-behalf session started", [], at)
        return session

    return OnBehalfReply.success(await apply_once(runtime, cmd, work, OnBehalfSession))


async def end_on_behalf_session(cmd: EndOnBehalfSession, runtime: CustomerRuntime) -> OnBehalfReply:
    at = now()

    async def work(uow: UnitOfWork) -> OnBehalfSession:
        found = await account_store.find_session(uow, cmd.payload.session_id)
        if found is None:
            raise Rejected.not_found("on-behalf session", cmd.payload.session_id, field="payload.session_id")
        if cmd.actor is None or cmd.actor.id != found["csr_id"]:
            raise Rejected.of("forbidden", "only the CSR who started a session ends it")
        ended = await account_store.end_session(uow, found["_id"], at) or found
        session = _session_view(ended)
        uow.publish(
            OnBehalfSessionEnded(**uow.envelope(), payload=OnBehalfPayload(session=session)),
            partition_key=found["customer_code"],
        )
        await audit(uow, Acting(cmd.actor, found["reason"]), found["customer_code"], "on-behalf session ended", [], at)
        return session

    return OnBehalfReply.success(await apply_once(runtime, cmd, work, OnBehalfSession))


#: An audit cursor: the last row's time and ObjectId (24 hex digits), nothing else.
_AUDIT_CURSOR = TypeAdapter(tuple[AwareDatetime, Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]])


async def get_customer_audit(cmd: GetCustomerAudit, runtime: CustomerRuntime) -> AuditReply:
    """C16: who changed the record, and who acted for the customer and why; newest first."""
    p = cmd.payload
    await store.load(runtime.db, p.customer_code)
    before = None
    if p.cursor:
        at, entry_id = cursors.decode_cursor(p.cursor, _AUDIT_CURSOR, what="a cursor of this audit trail")
        before = (at, ObjectId(entry_id))
    rows = await account_store.audit_page(runtime.db, p.customer_code, p.limit, before)
    cursor = None
    if len(rows) > p.limit:
        last = rows[p.limit - 1]
        cursor = cursors.encode_cursor([last["at"], str(last["_id"])])
    items = [AuditEntry(**{k: r[k] for k in AuditEntry.model_fields if k in r}) for r in rows[: p.limit]]
    return AuditReply.success(AuditPage(items=items, next_cursor=cursor))


HANDLERS: CommandTable = {
    RequestPasswordReset: request_password_reset,
    CompletePasswordReset: complete_password_reset,
    InviteCustomersWithoutPassword: invite_customers_without_password,
    RequestEmailVerification: request_email_verification,
    VerifyEmail: verify_email,
    RegisterCustomer: register_customer,
    Authenticate: authenticate,
    StartOnBehalfSession: start_on_behalf_session,
    EndOnBehalfSession: end_on_behalf_session,
    GetCustomerAudit: get_customer_audit,
}
