"""C10 at ten million customers: the state summary above EXACT_UP_TO customers is the last
count, kept for every worker and recounted in the background, never a count of every key on
every visit of the Customer Manager (issue 22: 2.5 s a visit at 10M). ``exact_up_to=0`` makes
this small collection take the path of a big one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import GetStateSummary
from customer.records import store, summary
from plumbing.client import OmsClient

from ..conftest import create_scope, ok
from .test_customer_search import PEOPLE, load_people

pytestmark = pytest.mark.usefixtures("customer_service")


async def test_c10_a_small_collection_is_counted_at_each_request(client: OmsClient) -> None:
    await create_scope(client)
    await load_people(client)
    before = datetime.now(UTC)
    first = await ok(await client.call(GetStateSummary, {}))
    assert first.counts["active"] == len(PEOPLE) and first.counted_at >= before - timedelta(seconds=1)


async def test_c10_a_large_collection_answers_the_kept_counts_and_recounts_them_once_stale(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    codes = await load_people(client)
    at = datetime.now(UTC).replace(microsecond=0)

    async def read(when: datetime) -> tuple[dict[str, int], datetime]:
        return await summary.state_summary(customer_db, None, when, exact_up_to=0)

    counts, counted_at = await read(at)  # nothing kept: counted while the reader waits
    assert counts["active"] == len(PEOPLE) and counted_at == at
    one = next(iter(codes.values()))
    await customer_db[store.CUSTOMERS].update_one({"_id": one}, {"$set": {"state": "disabled"}})

    counts, counted_at = await read(at + summary.STALE_AFTER / 2)  # fresh enough: no count
    assert counts["active"] == len(PEOPLE) and counted_at == at and not summary._recounts

    stale = at + summary.STALE_AFTER + timedelta(seconds=1)
    counts, counted_at = await read(stale)  # answered at once, recounted behind it by one worker
    assert counts["active"] == len(PEOPLE) and counted_at == at
    assert len(summary._recounts) == 1
    await read(stale)  # another reader meanwhile: the recount is claimed already
    assert len(summary._recounts) == 1
    await next(iter(summary._recounts))

    counts, counted_at = await read(stale + timedelta(seconds=1))
    assert (counts["active"], counts["disabled"], counted_at) == (len(PEOPLE) - 1, 1, stale)

    await customer_db[store.CUSTOMERS].update_one({"_id": one}, {"$set": {"state": "active"}})
    long_after = stale + summary.TOO_OLD + timedelta(seconds=1)
    counts, counted_at = await read(long_after)  # nobody asked for long: counted while waiting
    assert (counts["active"], counts["disabled"], counted_at) == (len(PEOPLE), 0, long_after)
