"""P2 on a replica set (issue 23): a unit of work whose transaction meets a failover is
retried whole, or its commit retried, and applied exactly once (plumbing.unit_of_work's
``with_transaction``). The errors a failover causes are injected by the primary itself
(MongoDB's ``failCommand`` fail point; the cluster's mongods run with test commands on),
for this test's client only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient

from contracts.service import Ping
from plumbing.runtime import ServiceRuntime
from plumbing.service import build_runtime
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import INBOX, UnitOfWork, apply_once

from ..support import new_namespace
from .support import Cluster, fail_once

pytestmark = pytest.mark.cluster

APP = "uow-failover-probe"


@pytest.fixture
async def runtime(healed: Cluster) -> AsyncIterator[ServiceRuntime]:
    settings = ServiceSettings(namespace=new_namespace(), amqp_url=healed.amqp_url, mongodb_url=healed.mongodb_url)
    runtime = build_runtime("probe", settings)[0]
    runtime.mongo = AsyncMongoClient(settings.mongodb_url, appname=APP, tz_aware=True)
    yield runtime
    await runtime.mongo.drop_database(runtime.db.name)
    await runtime.mongo.close()


async def apply_counting(runtime: ServiceRuntime) -> tuple[int, Ping]:
    """apply_once with work that counts its runs and increments a counter document."""
    runs = 0

    async def work(uow: UnitOfWork) -> None:
        nonlocal runs
        runs += 1
        await runtime.db["counters"].update_one({"_id": "c"}, {"$inc": {"n": 1}}, upsert=True, session=uow.session)

    message = Ping(producer="tests")
    await apply_once(runtime, message, work)
    return runs, message


async def test_p2_a_transient_transaction_error_reruns_the_work_and_applies_it_once(
    healed: Cluster, runtime: ServiceRuntime
) -> None:
    """A write in the transaction fails as on a primary that stepped down (the server labels
    it TransientTransactionError): the whole transaction runs again, and applies once."""
    await runtime.db["counters"].insert_one({"_id": "c", "n": 0})
    fail_once(healed, APP, "update", errorCode=10107, errorLabels=["TransientTransactionError"])  # NotWritablePrimary
    runs, message = await apply_counting(runtime)
    assert runs == 2
    assert (await runtime.db["counters"].find_one({"_id": "c"}))["n"] == 1
    assert await runtime.db[INBOX].count_documents({"_id": f"probe:{message.message_id}"}) == 1


async def test_p2_an_unknown_commit_result_retries_the_commit_not_the_work(
    healed: Cluster, runtime: ServiceRuntime
) -> None:
    """The commit's answer is lost (the connection closes as the primary dies): the driver
    labels it UnknownTransactionCommitResult and commits again; the work ran once, applied once."""
    await runtime.db["counters"].insert_one({"_id": "c", "n": 0})
    fail_once(healed, APP, "commitTransaction", closeConnection=True)
    runs, message = await apply_counting(runtime)
    assert runs == 1
    assert (await runtime.db["counters"].find_one({"_id": "c"}))["n"] == 1
    assert await runtime.db[INBOX].count_documents({"_id": f"probe:{message.message_id}"}) == 1
