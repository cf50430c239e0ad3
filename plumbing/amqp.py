"""Connections to a RabbitMQ cluster: ``OMS_AMQP_URL`` may list every node, comma-separated
(``amqp://u:p@node1:5672/,amqp://u:p@node2:5672/``); one URL is a cluster of one.

aio-pika's robust connection reconnects to the one URL it was given (aio-pika #141), and
FastStream's ``RabbitBroker`` hands it one URL. ``ClusterConnection`` is that robust
connection with the list: the first connection goes to the first node that accepts a TCP
connection, in the order given, and every later attempt, after a connection dropped or an
attempt failed, goes to the next node round the list. Channels, queues and consumers are
restored on the new node as aio-pika restores them on the old one; quorum queues live on
every node, so any node serves them. What was unacknowledged on the lost connection is
redelivered by RabbitMQ, and consumers deduplicate it (plumbing.unit_of_work's inbox).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractRobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aio_pika.robust_connection import RobustConnection
from faststream.rabbit import RabbitBroker
from yarl import URL

log = logging.getLogger("oms.amqp")

#: How long the first connection waits for a node's TCP handshake before trying the next.
PROBE_SECONDS = 2.0


def amqp_urls(value: str) -> list[str]:
    """The broker URLs of ``OMS_AMQP_URL``: comma-separated, in the order to try them."""
    urls = [part.strip() for part in value.split(",") if part.strip()]
    if not urls:
        raise ValueError("no AMQP URL given")
    for url in urls:
        if URL(url).scheme not in ("amqp", "amqps") or not URL(url).host:
            raise ValueError(f"not an AMQP URL: {URL(url).with_password(None) if URL(url).password else url}")
    return urls


async def _accepts(url: URL, timeout: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(url.host, url.port or (5671 if url.scheme == "amqps" else 5672)), timeout
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


class ClusterConnection(RobustConnection):
    """A robust connection that moves to the next node of ``URLS`` when it loses one."""

    URLS: tuple[str, ...] = ()

    def __init__(self, url: URL, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        super().__init__(url, loop=loop, **kwargs)
        # Every node gets the query options given with the first (heartbeat, connection name...).
        given = self.url.query
        self.nodes = [URL(node).update_query({**given, **URL(node).query}) for node in self.URLS] or [self.url]
        self.node = 0
        self._first = True

    def _next_node(self) -> None:
        self.node = (self.node + 1) % len(self.nodes)
        self.url = self.nodes[self.node]

    async def connect(self, timeout: Any = None) -> None:
        if self._first and len(self.nodes) > 1:
            # Fail fast only when no node answers: start with the first that accepts.
            self._first = False
            for index, node in enumerate(self.nodes):
                if await _accepts(node, PROBE_SECONDS):
                    self.node, self.url = index, node
                    break
        await super().connect(timeout)

    async def _on_connection_close(self, closing: asyncio.Future[Any]) -> None:
        # Called when a connection drops and when an attempt fails: the next try, next node.
        if len(self.nodes) > 1 and not self._close_called:
            before = self.url
            self._next_node()
            log.warning("lost RabbitMQ node %s; next attempt on %s", before.with_password(None), self)
        await super()._on_connection_close(closing)


def cluster_connection_class(url: str) -> type[ClusterConnection]:
    """``ClusterConnection`` bound to the nodes of ``url`` (``connect_robust(connection_class=...)``)."""
    return type("ClusterConnection", (ClusterConnection,), {"URLS": tuple(amqp_urls(url))})


async def connect_robust(url: str, **kwargs: Any) -> AbstractRobustConnection:
    """``aio_pika.connect_robust`` over every node of ``url``."""
    connection: AbstractRobustConnection = await aio_pika.connect_robust(
        amqp_urls(url)[0], connection_class=cluster_connection_class(url), **kwargs
    )
    return connection


async def connect(url: str, **kwargs: Any) -> AbstractConnection:
    """``aio_pika.connect`` (not robust) to the first node of ``url`` that takes it."""
    error: BaseException | None = None
    for node in amqp_urls(url):
        try:
            connection: AbstractConnection = await aio_pika.connect(node, **kwargs)
            return connection
        except CONNECTION_EXCEPTIONS as exc:
            error = exc
    assert error is not None
    raise error


class ClusterRabbitBroker(RabbitBroker):
    """FastStream's ``RabbitBroker`` over every node of a comma-separated ``url``."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.amqp_urls: Sequence[str] = amqp_urls(url)
        super().__init__(self.amqp_urls[0], **kwargs)
        # FastStream passes these to aio_pika.connect_robust, which builds the connection
        # with the class given (its URL and options as FastStream built them).
        self._connection_kwargs["connection_class"] = cluster_connection_class(url)
