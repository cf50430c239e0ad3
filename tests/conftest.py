"""Fixtures shared by all tests.

Integration tests talk to the real RabbitMQ and MongoDB that ``deploy/local/test.sh`` starts
(or reuses). Each test gets its own namespace: its own exchanges, queues and databases,
removed when the test ends. If a server is missing the run fails loudly; nothing is skipped.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
from cryptography.fernet import Fernet

from plumbing.passwords import PROFILE_VARIABLE
from plumbing.settings import ServiceSettings

from .support import Cleanup, new_namespace

# argon2-cffi's profile for tests (plumbing.passwords): hashing was a fifth of the integration
# tests' CPU. Service processes the tests start inherit it; a test of what the real cost
# buys (the same time for an unknown account) sets production's profile for itself.
os.environ.setdefault(PROFILE_VARIABLE, "test-only-cheapest")

if TYPE_CHECKING:
    from plumbing.client import OmsClient


def _reachable(url: str, default_port: int) -> tuple[bool, str]:
    parsed = urlparse(url.split(",")[0])
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return True, f"{host}:{port}"
    except OSError:
        return False, f"{host}:{port}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def base_settings() -> Iterator[ServiceSettings]:
    # Every queue a test declares, also in the service processes tests start, expires when
    # unused: a run that is killed cannot leave queues behind to fill the broker.
    os.environ.setdefault("OMS_QUEUE_EXPIRES_SECONDS", "600")
    # The key the customer and notification services seal emailed links with (C14): one per
    # run unless the stack gave one; service processes started by tests inherit it.
    os.environ.setdefault("OMS_LINK_KEY", Fernet.generate_key().decode())
    if os.environ.get("OMS_TESTCONTAINERS") == "1":
        from .containers import container_servers

        with container_servers() as (amqp_url, mongodb_url):
            # Services started as processes by the tests read the same URLs from the environment.
            os.environ.update(OMS_AMQP_URL=amqp_url, OMS_MONGODB_URL=mongodb_url)
            yield ServiceSettings()
        return
    yield _local_stack_settings()


def _local_stack_settings() -> ServiceSettings:
    settings = ServiceSettings()
    for name, url, port in (
        ("RabbitMQ", settings.amqp_url, 5672),
        ("MongoDB", settings.mongodb_url, 27017),
    ):
        ok, where = _reachable(url, port)
        if not ok:
            pytest.fail(
                f"{name} is not reachable at {where}. Run the tests with deploy/local/test.sh, "
                "which starts the local stack.",
                pytrace=False,
            )
    return settings


@pytest.fixture
async def cleanup(base_settings: ServiceSettings) -> AsyncIterator[Cleanup]:
    """What a test declared, removed when the test ends rather than when the run ends: a
    broker holds a few hundred quorum queues at most (each reserves file handles), and a
    whole run's worth of them at once wedges it."""
    tracker = Cleanup()
    yield tracker
    await tracker.run(base_settings.amqp_url, base_settings.mongodb_url)


@pytest.fixture
def settings(base_settings: ServiceSettings, cleanup: Cleanup) -> ServiceSettings:
    """Settings with a namespace of this test's own: a clean database and its own queues."""
    # Short retry back-off (plumbing.retries): a failing handler is retried in a second.
    fresh = base_settings.model_copy(
        update={"namespace": new_namespace(), "max_attempts": 3, "retry_delays_seconds": (0.2, 0.5)}
    )
    cleanup.track(fresh)
    return fresh


@pytest.fixture
async def client(settings: ServiceSettings) -> AsyncIterator[OmsClient]:
    from plumbing.client import OmsClient  # not at import: the unit tests, without servers, need no client

    async with OmsClient(settings, producer="tests") as oms:
        yield oms
