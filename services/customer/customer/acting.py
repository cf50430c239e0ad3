"""Who acts on a customer, and the audit trail of it (C16).

Every change to a customer records the actor; a CSR acting for a customer names an open
on-behalf session, which must be theirs, for that customer, and not ended or expired. A
customer acting for themselves may touch only their own record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from contracts.envelope import Actor
from plumbing.errors import Rejected
from plumbing.unit_of_work import Reads, UnitOfWork

from .accounts import store as account_store

SYSTEM = Actor(kind="system", id="system")


@dataclass(frozen=True)
class Acting:
    actor: Actor
    on_behalf_reason: str | None = None


async def authorize(reads: Reads, actor: Actor | None, customer_code: str, at: datetime) -> Acting:
    """Who acts: ``reads`` is the unit of work of the change (or the database, for a read)."""
    actor = actor or SYSTEM
    if actor.kind == "customer" and actor.id != customer_code:
        raise Rejected.of("forbidden", "a customer may act only on their own record")
    if actor.on_behalf_session is None:
        return Acting(actor)
    session = await account_store.find_session(reads, actor.on_behalf_session)
    if (
        session is None
        or session["csr_id"] != actor.id
        or session["customer_code"] != customer_code
        or session["ended_at"] is not None
        or session["expires_at"] <= at
    ):
        raise Rejected.of(
            "forbidden", f"no open on-behalf session {actor.on_behalf_session!r} of {actor.id} for {customer_code}"
        )
    return Acting(actor, session["reason"])


async def audit(
    uow: UnitOfWork, acting: Acting, customer_code: str, action: str, changed: list[str], at: datetime
) -> None:
    """Write who did what to the customer, in the transaction of the change."""
    await audit_each(uow, acting, [(customer_code, action)], changed, at)


async def audit_each(
    uow: UnitOfWork, acting: Acting, actions: list[tuple[str, str]], changed: list[str], at: datetime
) -> None:
    """``audit`` for several customers (code, what was done to it) of one change, in one write."""
    await account_store.record_audits(
        uow,
        [
            {
                "_id": ObjectId(),
                "customer_code": code,
                "at": at,
                "action": action,
                "actor_kind": acting.actor.kind,
                "actor_id": acting.actor.id,
                "on_behalf_session": acting.actor.on_behalf_session,
                "on_behalf_reason": acting.on_behalf_reason,
                "changed": sorted(changed),
            }
            for code, action in actions
        ],
    )
