"""P2, P3, P5: workers killed with SIGKILL in the middle of a burst (faults_support)."""

from __future__ import annotations

import asyncio
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
async def test_p2_p3_p5_workers_killed_with_sigkill_in_the_middle_of_a_burst(
    kind: str, settings: ServiceSettings, cleanup: Cleanup, tmp_path: Path
) -> None:
    """Workers die with SIGKILL (no shutdown at all), then start again. What they held
    unacknowledged goes back to the queues, the partitions and emails they had claimed pass
    to the survivors when the leases expire, and a transaction a killed worker left open
    expires (TRANSACTION_LIFETIME) instead of blocking the retries."""
    async with private_mongodb(tmp_path / "mongodb") as mongo, burst_of(kind) as workload:

        async def kill(running_workers: list[Worker]) -> None:
            victims = [worker for worker in running_workers if worker.name in workload.victims]
            for worker in victims:
                worker.kill9()
            for worker in victims:
                assert worker.process is not None
                await worker.process.wait()
            await asyncio.sleep(1.0)
            for worker in victims:
                await worker.start()
            await asyncio.gather(*(worker.until_ready() for worker in victims))

        servers = Servers(settings.amqp_url, mongo.url, shared_rabbitmqctl)
        figures = await run_scenario("worker SIGKILL", settings, servers, tmp_path, cleanup, kill, workload)
    assert_exactly_once(figures)
