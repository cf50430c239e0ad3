"""Unit tests run without servers (issue 20): each one sees RabbitMQ, MongoDB and the SMTP
server at a port nothing listens on, so a test that reaches for one fails at once instead of
quietly using the local stack that the integration tests start."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    """A port just released by the system: nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CLOSED = _closed_port()
NO_SERVERS = {
    "OMS_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{CLOSED}/",
    "OMS_MONGODB_URL": f"mongodb://127.0.0.1:{CLOSED}/?replicaSet=rs0&serverSelectionTimeoutMS=1000",
    "OMS_SMTP_HOST": "127.0.0.1",
    "OMS_SMTP_PORT": str(CLOSED),
}


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in NO_SERVERS.items():
        monkeypatch.setenv(name, value)
