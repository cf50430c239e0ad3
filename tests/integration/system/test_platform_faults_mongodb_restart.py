"""P2, P5: MongoDB stops and starts again in the middle of a burst (faults_support)."""

from __future__ import annotations

from pathlib import Path

from plumbing.settings import ServiceSettings

from ...support import Cleanup
from .faults_support import (
    BURSTS,
    SKIP_UNDER_TESTCONTAINERS,
    Servers,
    Worker,
    assert_exactly_once,
    burst_of,
    private_mongodb,
    run_scenario,
    shared_rabbitmqctl,
)

pytestmark = SKIP_UNDER_TESTCONTAINERS


@BURSTS
async def test_p2_p5_mongodb_restart_in_the_middle_of_a_burst(
    kind: str, settings: ServiceSettings, cleanup: Cleanup, tmp_path: Path
) -> None:
    """The database stops and starts again; transactions in flight fail and are retried."""
    async with private_mongodb(tmp_path / "mongodb") as mongo:

        async def restart(running_workers: list[Worker]) -> None:
            await mongo.restart(down_seconds=3.0)

        servers = Servers(settings.amqp_url, mongo.url, shared_rabbitmqctl)
        async with burst_of(kind) as workload:
            figures = await run_scenario("MongoDB restart", settings, servers, tmp_path, cleanup, restart, workload)
    assert_exactly_once(figures)
