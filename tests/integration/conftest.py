"""Fixtures for integration tests: services running in-process against the real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import CreateCustomer, CreateScope
from customer.app import create_app as customer_app
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ..support import Cleanup, running
from .browser_support import close_shared_chromium

#: Test files that kill, restart or time processes, or count a burst's effects against load:
#: deploy/local/test.sh runs them after the others (and the cluster fault tests), two at a time.
ALONE = {
    "test_platform_faults_rabbitmq_restart",
    "test_platform_faults_mongodb_restart",
    "test_platform_faults_sigkill",
    "test_platform_shutdown",
    "test_platform_outbox_fencing",
    "test_platform_broker_failover",
    "test_service_process",
    "test_notification_batches",
    "test_order_sync_identity",
    # Locks of 2 s and a console sign-in inside one: beside another worker's burst, the lock
    # ran out before the form was posted (a fresh-clone CI, 2026-12-04).
    "test_signin_throttling",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in ALONE:
            item.add_marker(pytest.mark.alone)


@pytest.fixture(scope="session", autouse=True)
async def shared_chromium_closed() -> AsyncIterator[None]:
    """The Chromium the browser tests share (browser_support) is closed when the run ends."""
    yield
    await close_shared_chromium()


@pytest.fixture
async def customer_service(settings: ServiceSettings, cleanup: Cleanup) -> AsyncIterator[None]:
    async with running(customer_app(settings), cleanup=cleanup):
        yield


@pytest.fixture
async def customer_db(settings: ServiceSettings) -> AsyncIterator[AsyncDatabase]:
    """The customer service's own database, for assertions on what it stored."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    yield mongo[settings.database_name("customer")]
    await mongo.close()


async def ok(reply: Any) -> Any:
    """The result of a reply that must have succeeded (shows the error otherwise)."""
    assert reply.ok, reply.error
    return reply.result


async def create_scope(client: OmsClient, scope_id: str = "eu-fr", country: str = "FR", **extra: Any) -> Any:
    return await ok(
        await client.call(CreateScope, {"scope_id": scope_id, "name": scope_id.upper(), "country": country, **extra})
    )


async def create_customer(client: OmsClient, **fields: Any) -> Any:
    payload = {"scope_id": "eu-fr", "first_name": "Chloé", "last_name": "Dubois", "email": "chloe@example.fr", **fields}
    return await ok(await client.call(CreateCustomer, payload))
