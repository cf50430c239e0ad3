"""Staff accounts, sign-in sessions and the staff audit (I4), in the gateway's own database.

Collections of ``<ns>_gateway``:

- ``staff``: one document per person: ``_id`` (the username), name, role, argon2id hash, and
  the preferences they chose (time zone, scope), copied into each new session.
- ``sessions``: one per sign-in. The cookie carries a random token; only its SHA-256 is
  stored, so a database leak opens no session. Each holds its CSRF token, the customer
  records open as tabs, and the on-behalf session in progress. Expired ones go (TTL).
- ``staff_audit``: sign-in, sign-out and every staff action, with its outcome.
- ``signin_throttle``: failed sign-ins by account and by client address
  (``plumbing.throttle_store``). After ``signin_free_failures`` failures in a row an account
  waits before each attempt, doubling up to a cap; at ``signin_lock_failures`` it is locked
  for ``signin_lock_minutes`` (audited ``staff.lock``; ``GET /api/staff`` shows it to an
  administrator, who may lift it). A client address has a higher limit across accounts. Unknown
  usernames are throttled alike, so the answers tell nothing about which accounts exist.

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
from typing import Any, TypedDict

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from plumbing import passwords
from plumbing import throttle as throttle_rules
from plumbing.settings import ServiceSettings
from plumbing.throttle import Bucket, retry_after, too_many_attempts
from plumbing.throttle_store import Throttle

from .rights import ROLES
from .settings import GatewaySettings

MIN_PASSWORD = 12
MAX_OPEN_RECORDS = 8


def now() -> datetime:
    return datetime.now(UTC)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def account_key(username: str) -> str:
    return f"account:{username}"


def source_key(address: str) -> str:
    return f"source:{address}"


@dataclass(frozen=True)
class SignInLimits(throttle_rules.SignInLimits):
    """Staff sign-in limits: an account is a username."""

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> SignInLimits:
        limits: SignInLimits = cls.build(settings, lock_after=settings.signin_lock_failures)
        return limits


class SignInThrottled(Exception):
    """Too many failed sign-ins for this account or from this address: refused before the
    password is checked, so the answer is the same whether it was right."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(too_many_attempts(wait_seconds))
        self.retry_after_seconds = retry_after(wait_seconds)


class StaffError(ValueError):
    """A staff account that cannot be created as asked (field, reason)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class OnBehalf(TypedDict):
    """The customer a staff member acts for (C16), kept on their session for the banner and
    for naming the on-behalf session on each change of that customer."""

    session_id: str
    customer_code: str
    name: str
    reason: str
    expires_at: str  # ISO 8601, as stored


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
    on_behalf: OnBehalf | None = None
    #: What the staff member chose for their pages (``/preferences``): ``time_zone``, ``scope_id``.
    preferences: dict[str, str] = field(default_factory=dict)

    @property
    def time_zone(self) -> str:
        return self.preferences.get("time_zone") or "UTC"

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StaffSession:
        return cls(
            session_id=doc["_id"],
            username=doc["username"],
            name=doc["name"],
            role=doc["role"],
            csrf_token=doc["csrf_token"],
            expires_at=doc["expires_at"],
            open_records=doc.get("open_records", []),
            on_behalf=doc.get("on_behalf"),
            preferences=doc.get("preferences") or {},
        )


class StaffStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.throttle = Throttle(db.signin_throttle)

    async def ensure_indexes(self) -> None:
        await self.db.sessions.create_index("expires_at", expireAfterSeconds=0)
        await self.throttle.ensure_indexes()
        await self.db.staff_audit.create_index([("at", DESCENDING)])
        await self.db.staff_audit.create_index([("username", ASCENDING), ("at", DESCENDING)])

    # --- accounts ---------------------------------------------------------------------

    async def create(self, username: str, name: str, role: str, password: str) -> dict[str, Any]:
        username = username.strip().lower()
        if (
            not username
            or len(username) > 100
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            raise StaffError("username", "letters, digits, dots, dashes and underscores, at most 100")
        if role not in ROLES:
            raise StaffError("role", f"one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise StaffError("password", f"at least {MIN_PASSWORD} characters")
        doc = {
            "_id": username,
            "name": name.strip() or username,
            "role": role,
            "password_hash": passwords.hash_password(password),
            "created_at": now(),
            "disabled": False,
        }
        try:
            await self.db.staff.insert_one(doc)
        except DuplicateKeyError:
            raise StaffError("username", "already taken") from None
        return {k: v for k, v in doc.items() if k != "password_hash"}

    async def verify(
        self, username: str, password: str, *, source: str | None = None, limits: SignInLimits | None = None
    ) -> dict[str, Any] | None:
        """The staff member if the password is right, else None; raises SignInThrottled when the
        account or the client address ``source`` must wait. Each attempt is counted before the
        hash is checked (``plumbing.throttle_store``): attempts at once cannot pass a limit."""
        limits = limits or SignInLimits.from_settings(GatewaySettings())
        name, at = username.strip().lower()[:100], now()
        keys = [(account_key(name), limits.account)] + ([(source_key(source), limits.source)] if source else [])
        if (wait := await self.throttle.wait_seconds(keys, at)) > 0:
            raise SignInThrottled(wait)
        charged: dict[str, Bucket] = {}
        for key, key_limits in keys:
            wait, bucket = await self.throttle.charge(key, key_limits, at)
            if wait > 0:  # another attempt got there first
                for done in charged:
                    await self.throttle.refund(done)
                raise SignInThrottled(wait)
            charged[key] = bucket

        doc = await self.db.staff.find_one({"_id": name})
        # argon2 takes tens of milliseconds of CPU: off the event loop, other requests go on.
        # An unknown username is checked against a dummy hash: it answers as slowly as a wrong password.
        good = await asyncio.to_thread(passwords.verify_password, doc["password_hash"] if doc else None, password)
        if good and doc is not None and not doc.get("disabled"):
            await self.throttle.clear(account_key(name))
            if source:
                await self.throttle.refund(source_key(source))
            if passwords.needs_rehash(doc["password_hash"]):
                new_hash = await asyncio.to_thread(passwords.hash_password, password)
                await self.db.staff.update_one({"_id": doc["_id"]}, {"$set": {"password_hash": new_hash}})
            return doc
        failures = charged[account_key(name)].failures
        if limits.account.locks(failures):
            until = at + limits.account.lock_for
            await self.throttle.lock(account_key(name), limits.account, until)
            await self.audit(
                None,
                None,
                "staff.lock",
                name,
                "locked",
                f"{failures} failed sign-ins in a row; locked until {until:%Y-%m-%d %H:%M:%S} UTC",
                source,
            )
        return None

    async def accounts(self, limits: SignInLimits) -> list[dict[str, Any]]:
        """Every staff account with its sign-in state: failures in a row, and a lock in force."""
        at = now()
        docs = await self.db.staff.find({}, {"password_hash": 0}).sort("_id", ASCENDING).to_list()
        buckets = await self.throttle.buckets([account_key(d["_id"]) for d in docs])
        for doc in docs:
            bucket = buckets[account_key(doc["_id"])].current(limits.account, at)
            doc["failed_sign_ins"] = bucket.failures
            doc["locked_until"] = bucket.locked_until if bucket.locked_until and bucket.locked_until > at else None
        return docs

    async def unlock(self, username: str) -> bool:
        """Lift a staff account's lock and forget its failures; False if there is no such account."""
        name = username.strip().lower()
        if await self.db.staff.count_documents({"_id": name}, limit=1) == 0:
            return False
        await self.throttle.clear(account_key(name))
        return True

    async def set_role(self, username: str, role: str) -> bool:
        """Change a staff member's role; their open sessions take it at once. False: no such account."""
        if role not in ROLES:
            raise StaffError("role", f"one of {', '.join(ROLES)}")
        name = username.strip().lower()
        if (await self.db.staff.update_one({"_id": name}, {"$set": {"role": role}})).matched_count == 0:
            return False
        await self.db.sessions.update_many({"username": name}, {"$set": {"role": role}})
        return True

    async def set_preferences(self, username: str, preferences: dict[str, str]) -> None:
        """Remember a staff member's choices on their account (the next sign-in has them) and in
        their open sessions (the next page has them)."""
        name = username.strip().lower()
        await self.db.staff.update_one({"_id": name}, {"$set": {"preferences": preferences}})
        await self.db.sessions.update_many({"username": name}, {"$set": {"preferences": preferences}})

    async def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or enable again) a staff account; disabling ends its open sessions at once."""
        name = username.strip().lower()
        if (await self.db.staff.update_one({"_id": name}, {"$set": {"disabled": disabled}})).matched_count == 0:
            return False
        if disabled:
            await self.db.sessions.delete_many({"username": name})
        return True

    async def reset_password(self, username: str) -> str | None:
        """A new random password for the account (given out once, to hand over), its sessions
        ended and its failed sign-ins forgotten; None: no such account."""
        name = username.strip().lower()
        password = secrets.token_urlsafe(12)  # 16 characters, above MIN_PASSWORD
        new_hash = await asyncio.to_thread(passwords.hash_password, password)
        if (await self.db.staff.update_one({"_id": name}, {"$set": {"password_hash": new_hash}})).matched_count == 0:
            return None
        await self.db.sessions.delete_many({"username": name})
        await self.throttle.clear(account_key(name))
        return password

    # --- sessions ---------------------------------------------------------------------

    async def open_session(self, staff: dict[str, Any], minutes: int) -> tuple[str, StaffSession]:
        """A new session; returns the cookie token (given out once) and the session."""
        token = secrets.token_urlsafe(32)
        doc = {
            "_id": token_id(token),
            "username": staff["_id"],
            "name": staff["name"],
            "role": staff["role"],
            "csrf_token": secrets.token_urlsafe(32),
            "created_at": now(),
            "expires_at": now() + timedelta(minutes=minutes),
            "open_records": [],
            "on_behalf": None,
            "preferences": staff.get("preferences") or {},
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

    async def set_on_behalf(self, session: StaffSession, on_behalf: OnBehalf | None) -> None:
        session.on_behalf = on_behalf
        await self.db.sessions.update_one({"_id": session.session_id}, {"$set": {"on_behalf": on_behalf}})

    # --- audit ------------------------------------------------------------------------

    async def audit(
        self,
        username: str | None,
        role: str | None,
        action: str,
        target: str | None,
        outcome: str,
        detail: str | None = None,
        source: str | None = None,
    ) -> None:
        await self.db.staff_audit.insert_one(
            {
                "at": now(),
                "username": username,
                "role": role,
                "action": action,
                "target": target,
                "outcome": outcome,
                "detail": detail,
                "source": source,
            }
        )

    async def audit_trail(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self.db.staff_audit.find({}, {"_id": 0}).sort("at", DESCENDING).limit(limit).to_list()

    async def audit_page(
        self, *, username: str | None = None, action: str | None = None, before: str | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Who did what, newest first, filtered by staff member and action, ``limit`` a page;
        with the cursor of the next page (the last entry's id), or None."""
        query: dict[str, Any] = {}
        if username:
            query["username"] = username.strip().lower()
        if action:
            query["action"] = action
        if before and ObjectId.is_valid(before):
            query["_id"] = {"$lt": ObjectId(before)}
        found = await self.db.staff_audit.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()
        more = len(found) > limit
        found = found[:limit]
        return found, str(found[-1]["_id"]) if more else None

    async def audited_actions(self) -> list[str]:
        return sorted(await self.db.staff_audit.distinct("action"))


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
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
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
