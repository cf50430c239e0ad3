"""MongoDB access for accounts: single-use tokens, sign-in throttling, on-behalf sessions, and
the audit trail of who changed a customer, and for whom (C14, C15, C16, C20)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from plumbing.indexes import ensure_index
from plumbing.throttle_store import Throttle
from plumbing.unit_of_work import Reads, UnitOfWork, where

from .credentials import TokenKind

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

TOKENS = "tokens"
#: When each customer was last sent reset emails, for the per-customer limit (C14).
RESET_EMAILS = "reset_emails"
#: Sign-in throttle buckets by account and by source (C15, plumbing.throttle_store).
SIGNIN_THROTTLE = "signin_throttle"
SESSIONS = "on_behalf_sessions"
AUDIT = "audit"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    db = runtime.db
    await ensure_index(db[TOKENS], [("customer_code", ASCENDING), ("kind", ASCENDING)], name="by_customer")
    # Spent and expired tokens are deleted a day after they expire.
    await ensure_index(db[TOKENS], "expires_at", name="expiry", expireAfterSeconds=24 * 3600)
    await ensure_index(db[RESET_EMAILS], "keep_until", name="expiry", expireAfterSeconds=0)
    await Throttle(db[SIGNIN_THROTTLE]).ensure_indexes()
    await ensure_index(db[SESSIONS], [("customer_code", ASCENDING), ("started_at", DESCENDING)], name="by_customer")
    await ensure_index(
        db[AUDIT], [("customer_code", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)], name="by_customer"
    )


# --- tokens ---------------------------------------------------------------------------------


async def insert_token(
    uow: UnitOfWork,
    token_id: str,
    kind: TokenKind,
    customer_code: str,
    email: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await uow.db[TOKENS].insert_one(
        {
            "_id": token_id,
            "kind": kind,
            "customer_code": customer_code,
            "email": email,
            "created_at": created_at,
            "expires_at": expires_at,
            "used_at": None,
            "revoked_at": None,
        },
        session=uow.session,
    )


async def find_token(uow: UnitOfWork, token_id: str) -> dict[str, Any] | None:
    return await uow.db[TOKENS].find_one({"_id": token_id}, session=uow.session)


async def spend_token(uow: UnitOfWork, token_id: str, at: datetime) -> bool:
    """Mark a token used, once: False if it was used or revoked in the meantime."""
    result = await uow.db[TOKENS].update_one(
        {"_id": token_id, "used_at": None, "revoked_at": None}, {"$set": {"used_at": at}}, session=uow.session
    )
    return result.modified_count == 1


async def spend_replacing(
    uow: UnitOfWork,
    token_id: str,
    customer_code: str,
    kinds: list[TokenKind],
    at: datetime,
) -> bool:
    """Mark a token used, once, and revoke the customer's other open tokens of ``kinds``: False,
    and nothing revoked, if it was used or revoked in the meantime."""
    if not await spend_token(uow, token_id, at):
        return False
    await revoke_open_tokens(uow, customer_code, kinds, at)
    return True


async def revoke_open_tokens(uow: UnitOfWork, customer_code: str, kinds: list[TokenKind], at: datetime) -> None:
    await uow.db[TOKENS].update_many(
        {"customer_code": customer_code, "kind": {"$in": kinds}, "used_at": None, "revoked_at": None},
        {"$set": {"revoked_at": at}},
        session=uow.session,
    )


async def reset_emails_sent(uow: UnitOfWork, customer_code: str) -> list[datetime]:
    doc = await uow.db[RESET_EMAILS].find_one({"_id": customer_code}, session=uow.session)
    return doc["sent_at"] if doc else []


async def record_reset_emails(
    uow: UnitOfWork,
    customer_code: str,
    sent_at: list[datetime],
    keep_until: datetime,
) -> None:
    """Every reset email of a customer writes this one document, in the transaction that sends
    it: two requests at once conflict and one is retried after the other, so the limit holds."""
    await uow.db[RESET_EMAILS].update_one(
        {"_id": customer_code},
        {"$set": {"sent_at": sent_at, "keep_until": keep_until}},
        upsert=True,
        session=uow.session,
    )


# --- on-behalf sessions (C16) ----------------------------------------------------------------


async def insert_session(uow: UnitOfWork, doc: dict[str, Any]) -> None:
    await uow.db[SESSIONS].insert_one(doc, session=uow.session)


async def find_session(reads: Reads, session_id: str) -> dict[str, Any] | None:
    db, session = where(reads)
    return await db[SESSIONS].find_one({"_id": session_id}, session=session)


async def end_session(uow: UnitOfWork, session_id: str, at: datetime) -> dict[str, Any] | None:
    return await uow.db[SESSIONS].find_one_and_update(
        {"_id": session_id, "ended_at": None},
        {"$set": {"ended_at": at}},
        return_document=ReturnDocument.AFTER,
        session=uow.session,
    )


# --- audit (C16) --------------------------------------------------------------------------------


async def record_audits(uow: UnitOfWork, entries: list[dict[str, Any]]) -> None:
    if entries:
        await uow.db[AUDIT].insert_many(entries, session=uow.session)


async def audit_page(
    db: AsyncDatabase[dict[str, Any]], customer_code: str, limit: int, before: tuple[datetime, Any] | None
) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"customer_code": customer_code}
    if before is not None:
        at, entry_id = before
        query["$or"] = [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": entry_id}}]
    cursor = db[AUDIT].find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1)
    return await cursor.to_list()


async def audit_of(db: AsyncDatabase[dict[str, Any]], customer_code: str) -> list[dict[str, Any]]:
    """The whole audit trail of a customer, oldest first: a privacy export (C18)."""
    return await db[AUDIT].find({"customer_code": customer_code}).sort("at", ASCENDING).to_list()


async def delete_tokens(uow: UnitOfWork, codes: list[str]) -> int:
    """Erasure (C18): every token of these customers, spent or not."""
    return (await uow.db[TOKENS].delete_many({"customer_code": {"$in": codes}}, session=uow.session)).deleted_count
