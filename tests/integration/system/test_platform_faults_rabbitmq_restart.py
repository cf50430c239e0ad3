"""P2, P5: RabbitMQ stops and starts again in the middle of a burst (faults_support)."""

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
    private_rabbitmq,
    run_scenario,
)

pytestmark = SKIP_UNDER_TESTCONTAINERS


@BURSTS
async def test_p2_p5_rabbitmq_restart_in_the_middle_of_a_burst(
    kind: str, settings: ServiceSettings, cleanup: Cleanup, tmp_path: Path
) -> None:
    """The broker stops and starts again (every connection drops); services reconnect."""
    async with private_rabbitmq(tmp_path / "rabbitmq") as node:

        async def restart(running_workers: list[Worker]) -> None:
            await node.restart_app(down_seconds=2.0)

        servers = Servers(node.url, settings.mongodb_url, node.ctl)
        async with burst_of(kind) as workload:
            figures = await run_scenario("RabbitMQ restart", settings, servers, tmp_path, cleanup, restart, workload)
    assert_exactly_once(figures)
