"""The inbox of apply_once over the real MongoDB replica set (P2)."""

from __future__ import annotations

import asyncio

from pymongo import AsyncMongoClient

from contracts.service import Ping
from plumbing.service import build_runtime
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import UnitOfWork, apply_once

from ...support import Cleanup


async def test_p2_a_message_applied_in_turn_or_concurrently_runs_its_work_once(
    settings: ServiceSettings, cleanup: Cleanup
) -> None:
    cleanup.track(settings)
    runtime = build_runtime("order-sync", settings)[0]
    runtime.mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    runs: list[str] = []

    async def work(uow: UnitOfWork) -> str:
        runs.append(uow.cause.message_id)
        await runtime.db["effects"].insert_one({"message": uow.cause.message_id}, session=uow.session)
        await asyncio.sleep(0.05)  # keep the transaction open while its twins arrive
        return "done"

    try:
        first = Ping(producer="tests")
        assert await apply_once(runtime, first, work, str) == "done"
        # Redelivered later: answered from the inbox at once, the work not run again.
        assert await asyncio.wait_for(apply_once(runtime, first, work, str), 5) == "done"
        # Delivered to five consumers at the same moment.
        twin = Ping(producer="tests")
        results = await asyncio.wait_for(asyncio.gather(*(apply_once(runtime, twin, work, str) for _ in range(5))), 10)
        effects = await runtime.db["effects"].count_documents({})
    finally:
        await runtime.mongo.close()

    assert results == ["done"] * 5
    assert effects == 2, "each message changed the database once"
    assert set(runs) == {first.message_id, twin.message_id}
