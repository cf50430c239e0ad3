"""Where a Docker engine runs, the tests start their own servers with testcontainers.

``deploy/local/test.sh`` sets ``OMS_TESTCONTAINERS=1`` when ``docker info`` answers; otherwise
the tests use the local stack it starts. The containers run the versions production runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import MongoClient

RABBITMQ_IMAGE = "rabbitmq:4.1-management"
MONGODB_IMAGE = "mongo:8.0"


@contextmanager
def container_servers() -> Iterator[tuple[str, str]]:
    """Start RabbitMQ and a single-node MongoDB replica set; yield their URLs."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    rabbitmq = DockerContainer(RABBITMQ_IMAGE).with_exposed_ports(5672)
    mongodb = (
        DockerContainer(MONGODB_IMAGE)
        .with_command("--replSet rs0 --bind_ip_all --setParameter transactionLifetimeLimitSeconds=15")
        .with_exposed_ports(27017)
    )
    with rabbitmq, mongodb:
        wait_for_logs(rabbitmq, "Server startup complete", timeout=180)
        wait_for_logs(mongodb, "Waiting for connections", timeout=180)
        amqp_url = f"amqp://guest:guest@{rabbitmq.get_container_host_ip()}:{rabbitmq.get_exposed_port(5672)}/"
        # The member is known as localhost:27017 inside the container; the tests connect
        # directly to the mapped port, which is all transactions need.
        mongodb_url = (
            f"mongodb://{mongodb.get_container_host_ip()}:{mongodb.get_exposed_port(27017)}/?directConnection=true"
        )
        client = MongoClient(mongodb_url, serverSelectionTimeoutMS=30000)
        client.admin.command("replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": "localhost:27017"}]})
        deadline = time.monotonic() + 60
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline:
                raise RuntimeError("the MongoDB container did not become primary")
            time.sleep(0.3)
        client.close()
        yield amqp_url, mongodb_url
