"""Demo staff accounts for the CSR console, one per role, for ``deploy/local/demo.sh --keep``.

Each password is drawn at random and printed once, when its account is made; only its argon2
hash is stored (as for every staff account). Run again, it makes nothing new and says so: a
forgotten demo password is reset by deleting the account, or by an administrator's Reset.

    python -m tools.demo_staff --console http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from typing import Any

from pymongo import AsyncMongoClient

from gateway.rights import ROLES
from gateway.staff import StaffError, StaffStore
from plumbing.settings import ServiceSettings

#: Demo accounts are named after their role: ``demo-csr``, ``demo-supervisor``...
PREFIX = "demo-"


async def ensure_demo_staff(store: StaffStore) -> list[tuple[str, str, str | None]]:
    """(username, role, password or None when the account was already there) per role."""
    await store.ensure_indexes()
    made: list[tuple[str, str, str | None]] = []
    for role in ROLES:
        username, password = f"{PREFIX}{role}", secrets.token_urlsafe(12)
        try:
            await store.create(username, f"Demo {role}", role, password)
        except StaffError as exc:
            if exc.field != "username":
                raise
            made.append((username, role, None))
            continue
        await store.audit(None, None, "staff.create", username, "ok", f"role {role} (demo)", "demo")
        made.append((username, role, password))
    return made


async def main(console: str) -> int:
    settings = ServiceSettings()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        accounts = await ensure_demo_staff(StaffStore(mongo[settings.database_name("gateway")]))
    finally:
        await mongo.close()
    print(f"\n== the CSR console: {console}  (sign in with one of these)")
    for username, role, password in accounts:
        shown = password if password else "(made by an earlier run; its password was printed then)"
        print(f"   {role:14} {username:18} {shown}")
    print("   Passwords are shown this once; only their hashes are kept.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--console", default="http://127.0.0.1:8080")
    sys.exit(asyncio.run(main(parser.parse_args().console)))
