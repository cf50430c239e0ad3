"""I5: the README's main job shows the console. ``demo.sh --keep`` makes one demo staff
account per role with ``tools.demo_staff``: each password is printed once and only its hash
is kept; a second run makes nothing new and prints no password."""

from __future__ import annotations

from pymongo import AsyncMongoClient

from gateway.rights import ROLES
from gateway.staff import StaffStore
from plumbing.settings import ServiceSettings
from tools.demo_staff import ensure_demo_staff


async def test_i5_demo_staff_one_per_role_password_printed_once_and_only_its_hash_kept(
    settings: ServiceSettings,
) -> None:
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        db = mongo[settings.database_name("gateway")]
        store = StaffStore(db)
        first = await ensure_demo_staff(store)
        assert [(username, role) for username, role, _ in first] == [(f"demo-{r}", r) for r in ROLES]
        assert all(password and len(password) >= 12 for _, _, password in first)
        assert len({password for _, _, password in first}) == len(ROLES)  # drawn, not a constant
        for username, role, password in first:
            assert password is not None
            signed_in = await store.verify(username, password)
            assert signed_in is not None and signed_in["role"] == role
            stored = await db.staff.find_one({"_id": username})
            assert stored["password_hash"].startswith("$argon2id$") and password not in str(stored)
        again = await ensure_demo_staff(store)
        assert [(username, role, password) for username, role, password in again] == [
            (f"demo-{r}", r, None) for r in ROLES
        ]
        assert await db.staff.count_documents({}) == len(ROLES)
        assert await db.staff_audit.count_documents({"action": "staff.create"}) == len(ROLES)
    finally:
        await mongo.close()
