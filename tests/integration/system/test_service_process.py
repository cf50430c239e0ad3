"""Each service starts with one command, answers over RabbitMQ and HTTP, and stops on SIGTERM (P5)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from customer.app import create_app as customer_app
from notification.app import create_app as notification_app
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import PROCESS_START_SECONDS, Cleanup, eventually

FACTORIES = {
    "customer": ("customer.app:create_app", customer_app),
    "notification": ("notification.app:create_app", notification_app),
    "order-sync": ("order_sync.app:create_app", order_sync_app),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int:
    """The status of a GET, 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_p5_service_starts_with_one_command_and_stops_on_sigterm(
    service: str, settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, tmp_path: Path
) -> None:
    target, factory = FACTORIES[service]
    cleanup.track(settings, factory(settings))  # the queues the process will declare
    port = free_port()
    env = {**os.environ, "OMS_NAMESPACE": settings.namespace}
    log = (tmp_path / "service.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "faststream",
        "run",
        target,
        "--factory",
        "--port",
        str(port),
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await eventually(
            lambda: asyncio.to_thread(lambda: http_status(f"{base}/ready") == 200), timeout=PROCESS_START_SECONDS
        )
        assert http_status(f"{base}/health") == 200
        assert http_status(f"{base}/metrics") == 200
        reply = await client.ping(service)
        assert reply.ok and reply.result.service == service and reply.result.database
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=30)
        log.close()
    output = (tmp_path / "service.log").read_text()
    # uvicorn re-raises SIGTERM after a clean shutdown, so the status is "killed by SIGTERM".
    assert code in (0, -signal.SIGTERM), output
    assert "FastStream app shut down gracefully" in output
