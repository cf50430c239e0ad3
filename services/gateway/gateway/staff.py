"""Staff accounts, sign-in sessions and the staff audit (I4), in the gateway's own database.

Collections of ``<ns>_gateway``:

- ``staff``: one document per person: ``_id`` (the username), name, role, argon2id hash.
- ``sessions``: one per sign-in. The cookie carries a random token; only its SHA-256 is
  stored, so a database leak opens no session. Each holds its CSRF token, the customer
  records open as tabs, and the on-behalf session in progress. Expired ones go (TTL).
- ``staff_audit``: sign-in, sign-out and every staff action, with its outcome.

Bootstrap the first administrator: ``python -m gateway.staff create admin --role administrator``
(password from ``OMS_GATEWAY_PASSWORD`` or asked for).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import os
import secrets
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from plumbing.settings import ServiceSettings

from .rights import ROLES

_hasher = PasswordHasher()
# Verified for an unknown username, so that it answers as slowly as a wrong password.
_DUMMY_HASH = _hasher.hash("no such staff member, same time spent")
MIN_PASSWORD = 12
MAX_OPEN_RECORDS = 8


def now() -> datetime:
    return datetime.now(UTC)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffError(ValueError):
    """A staff account that cannot be created as asked (field, reason)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class StaffSession:
    """A signed-in staff member, as a request sees them."""

    session_id: str  # the token's hash
    username: str
    name: str
    role: str
    csrf_token: str
    expires_at: datetime
    open_records: list[dict[str, str]] = field(default_factory=list)
    on_behalf: dict[str, Any] | None = None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StaffSession:
        return cls(
            session_id=doc["_id"], username=doc["username"], name=doc["name"], role=doc["role"],
            csrf_token=doc["csrf_token"], expires_at=doc["expires_at"],
            open_records=doc.get("open_records", []), on_behalf=doc.get("on_behalf"),
        )


class StaffStore:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await self.db.sessions.create_index("expires_at", expireAfterSeconds=0)
        await self.db.staff_audit.create_index([("at", DESCENDING)])
        await self.db.staff_audit.create_index([("username", ASCENDING), ("at", DESCENDING)])

    # --- accounts ---------------------------------------------------------------------

    async def create(self, username: str, name: str, role: str, password: str) -> dict[str, Any]:
        username = username.strip().lower()
        if not username or len(username) > 100 or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise StaffError("username", "letters, digits, dots, dashes and underscores, at most 100")
        if role not in ROLES:
            raise StaffError("role", f"one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise StaffError("password", f"at least {MIN_PASSWORD} characters")
        doc = {
            "_id": username, "name": name.strip() or username, "role": role,
            "password_hash": _hasher.hash(password), "created_at": now(), "disabled": False,
        }
        try:
            await self.db.staff.insert_one(doc)
        except DuplicateKeyError:
            raise StaffError("username", "already taken") from None
        return {k: v for k, v in doc.items() if k != "password_hash"}

    async def verify(self, username: str, password: str) -> dict[str, Any] | None:
        doc = await self.db.staff.find_one({"_id": username.strip().lower()})
        try:
            good = _hasher.verify(doc["password_hash"] if doc else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            good = False
        if not good or doc is None or doc.get("disabled"):
            return None
        if _hasher.check_needs_rehash(doc["password_hash"]):
            await self.db.staff.update_one({"_id": doc["_id"]}, {"$set": {"password_hash": _hasher.hash(password)}})
        return doc

    # --- sessions ---------------------------------------------------------------------

    async def open_session(self, staff: dict[str, Any], minutes: int) -> tuple[str, StaffSession]:
        """A new session; returns the cookie token (given out once) and the session."""
        token = secrets.token_urlsafe(32)
        doc = {
            "_id": token_id(token), "username": staff["_id"], "name": staff["name"], "role": staff["role"],
            "csrf_token": secrets.token_urlsafe(32), "created_at": now(),
            "expires_at": now() + timedelta(minutes=minutes), "open_records": [], "on_behalf": None,
        }
        await self.db.sessions.insert_one(doc)
        return token, StaffSession.from_document(doc)

    async def session(self, token: str | None) -> StaffSession | None:
        if not token or len(token) > 200:
            return None
        doc = await self.db.sessions.find_one({"_id": token_id(token), "expires_at": {"$gt": now()}})
        return StaffSession.from_document(doc) if doc else None

    async def close_session(self, session: StaffSession) -> None:
        await self.db.sessions.delete_one({"_id": session.session_id})

    async def remember_record(self, session: StaffSession, code: str, label: str) -> None:
        """Keep a customer record open as a tab (the most recent last, at most MAX_OPEN_RECORDS)."""
        records = ([r for r in session.open_records if r["code"] != code] + [{"code": code, "label": label}])[
            -MAX_OPEN_RECORDS:
        ]
        if records != session.open_records:
            await self.db.sessions.update_one({"_id": session.session_id}, {"$set": {"open_records": records}})
            session.open_records = records

    async def forget_record(self, session: StaffSession, code: str) -> None:
        session.open_records = [r for r in session.open_records if r["code"] != code]
        await self.db.sessions.update_one({"_id": session.session_id}, {"$set": {"open_records": session.open_records}})

    async def set_on_behalf(self, session: StaffSession, on_behalf: dict[str, Any] | None) -> None:
        session.on_behalf = on_behalf
        await self.db.sessions.update_one({"_id": session.session_id}, {"$set": {"on_behalf": on_behalf}})

    # --- audit ------------------------------------------------------------------------

    async def audit(self, username: str | None, role: str | None, action: str, target: str | None,
                    outcome: str, detail: str | None = None, source: str | None = None) -> None:
        await self.db.staff_audit.insert_one(
            {"at": now(), "username": username, "role": role, "action": action, "target": target,
             "outcome": outcome, "detail": detail, "source": source}
        )

    async def audit_trail(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self.db.staff_audit.find({}, {"_id": 0}).sort("at", DESCENDING).limit(limit).to_list()


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.staff", description="Staff accounts of the CSR console.")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a staff account (the first administrator, say)")
    create.add_argument("username")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--name", default="")
    args = parser.parse_args(argv)

    password = os.environ.get("OMS_GATEWAY_PASSWORD") or getpass.getpass(f"password for {args.username}: ")

    async def go() -> int:
        settings = ServiceSettings()
        mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        try:
            store = StaffStore(mongo[settings.database_name("gateway")])
            await store.ensure_indexes()
            try:
                created = await store.create(args.username, args.name, args.role, password)
            except StaffError as exc:
                print(f"{exc.field}: {exc.reason}", file=sys.stderr)
                return 1
            await store.audit(None, None, "staff.create", created["_id"], "ok", f"role {args.role}", "cli")
            print(f"created {created['_id']} ({created['role']})")
            return 0
        finally:
            await mongo.close()

    return asyncio.run(go())


if __name__ == "__main__":
    sys.exit(_main())
