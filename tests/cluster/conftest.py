"""Fixtures of the cluster fault tests (issue 23): the cluster of deploy/local/cluster.sh,
started once for the session, and settings that point services at it.

These tests are marked ``cluster`` and left out of the normal run (pyproject.toml addopts);
``deploy/local/test.sh`` runs them as a job of their own when OMS_CLUSTER_TESTS=1, or
``pytest -m cluster tests/cluster``. If the cluster cannot start, they fail loudly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ..integration.system.faults_support import Worker
from ..support import new_namespace
from .support import Cluster, run_script, service_workers


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/cluster/" in str(item.fspath):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    run_script("up")  # raises with the script's output if it cannot
    os.environ.setdefault("OMS_LINK_KEY", Fernet.generate_key().decode())  # the services need one
    os.environ.setdefault("OMS_QUEUE_EXPIRES_SECONDS", "600")
    yield Cluster()


@pytest.fixture(scope="module")
def cluster_settings(cluster: Cluster) -> ServiceSettings:
    return ServiceSettings(namespace=new_namespace(), amqp_url=cluster.amqp_url, mongodb_url=cluster.mongodb_url)


@pytest.fixture(scope="module")
def mail() -> Iterator[tuple[CapturedMail, int]]:
    """The SMTP server the notification workers send to, and its port."""
    captured = CapturedMail()
    with smtp_server(captured) as port:
        yield captured, port


@pytest.fixture(scope="module")
async def services(
    cluster: Cluster,
    cluster_settings: ServiceSettings,
    mail: tuple[CapturedMail, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[list[Worker]]:
    """The worker processes, started once: each fault hits services that already lived
    through the ones before it."""
    log_dir = Path(os.environ["OMS_CLUSTER_LOGS"]) if os.environ.get("OMS_CLUSTER_LOGS") else None
    workers = service_workers(cluster_settings, log_dir or tmp_path_factory.mktemp("workers"), mail[1])
    try:
        for worker in workers:
            await worker.start()
        await asyncio.gather(*(worker.until_ready() for worker in workers))
        yield workers
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers))


@pytest.fixture
def healed(cluster: Cluster) -> Cluster:
    """The cluster, with whatever an earlier test left stopped running again, and every
    quorum queue able to lose a node."""
    if not cluster.whole():
        cluster.up()
    cluster.quorum_plus_one()
    return cluster
