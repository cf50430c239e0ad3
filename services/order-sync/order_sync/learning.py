"""How the identity index learns (O4, O5): a customer's profile grows with every identifier
its record and its orders show, and with every decision a CSR makes; ``Profile.lesson``
says what is new, ``store.learning`` writes it. Used by the intake (orders), the customer
events (records), merges and reviews."""

from __future__ import annotations

from typing import Any

from plumbing.runtime import ServiceRuntime
from plumbing.unit_of_work import Reads, UnitOfWork

from . import store
from .identity import Identity
from .matching import Profile


async def learn_record(reads: Reads, code: str, *, saved: dict[str, Any] | None = None) -> None:
    """The record as it is now (a CSR corrected the email, added an address): its identifiers
    are indexed; those it had stay (orders placed with the old email are still its own).
    ``reads``: a unit of work to learn in its transaction, or the database. ``saved``: the entry as just saved, if the caller has it (no need to read it again)."""
    doc = saved if saved is not None else await store.customer_entry(reads, code)
    if doc is None or doc.get("state") == "erased":
        return
    lesson = Profile.of_customer(code, doc).lesson({})
    if lesson is not None:
        await store.teach(reads, [store.learning(code, doc["scope_id"], *lesson)])


async def learn_records(runtime: ServiceRuntime, docs: list[dict[str, Any]]) -> None:
    """Customer records as their events carry them (the newest version of each is kept),
    saved and indexed together: ``learn_record`` for a batch of new customers."""
    await store.save_customer_entries(runtime.db, docs)
    lessons = []
    for doc in await store.entries(runtime.db, sorted({doc["_id"] for doc in docs})):
        if doc.get("state") != "erased" and (lesson := Profile.of_customer(doc["_id"], doc).lesson({})) is not None:
            lessons.append(store.learning(doc["_id"], doc["scope_id"], *lesson))
    if lessons:
        await store.teach(runtime.db, lessons)


async def learn_decision(uow: UnitOfWork, code: str, identity: Identity) -> None:
    """A CSR tied an order to ``code``: the profile learns the order, and its signature, so
    that the same details on a later order link to this customer."""
    learned = identity.learned()
    if (signature := identity.signature()) is not None:
        learned["taught"] = [signature]
    lesson = Profile.of_customer(code, await store.customer_entry(uow, code)).lesson(learned)
    if lesson is not None:
        await store.teach(uow, [store.learning(code, identity.scope_id, *lesson)])
