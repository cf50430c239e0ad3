"""P5 on a cluster: a service's broker connection moves to the next node of OMS_AMQP_URL when
its node goes away, and its consumers go on there (plumbing.amqp).

The "nodes" are the one real RabbitMQ reached through TCP forwarders of the test's own: a
forwarder that stops is a node lost (every connection through it drops, none is accepted),
without stopping the broker other tests share. The full cluster runs in tests/cluster.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

import aiormq.exceptions
from faststream.rabbit import RabbitQueue
from yarl import URL

from plumbing.amqp import ClusterRabbitBroker
from plumbing.settings import ServiceSettings

from ...support import eventually


class Forwarder:
    """127.0.0.1:<port> -> the broker, until ``stop``."""

    def __init__(self, target: URL) -> None:
        self.target = target
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.target.host, self.target.port or 5672)
        self.writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()  # as a node that dies: no goodbye
        await self.server.wait_closed()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once closed


async def test_p5_a_lost_node_moves_the_connection_to_the_next_and_consuming_goes_on(
    settings: ServiceSettings,
) -> None:
    real = URL(settings.amqp_url.split(",")[0])
    forwarder = Forwarder(real)
    via_forwarder = real.with_port(await forwarder.start())
    nowhere = real.with_port(dead_port())
    # The first node refuses (tried, skipped); the second is lost later; the third stays.
    urls = ",".join(str(url) for url in (nowhere, via_forwarder, real))
    broker = ClusterRabbitBroker(urls, logger=None, reconnect_interval=0.5)
    received: list[str] = []
    # As the services' queues, it outlives a lost connection (an auto-delete queue went with its
    # consumer, and a publish before the consumer came back was routed nowhere); it expires unused.
    queue = RabbitQueue(f"{settings.namespace}.failover", arguments={"x-expires": 60_000})

    @broker.subscriber(queue)
    async def handle(body: str) -> None:
        received.append(body)

    await broker.start()
    try:
        connection = broker._connection  # noqa: SLF001 - which node it is on
        assert connection is not None
        assert connection.url.port == via_forwarder.port
        await broker.publish("before", queue=queue.name)
        await eventually(lambda: asyncio.sleep(0, "before" in received), timeout=10)

        await forwarder.stop()
        await eventually(
            lambda: asyncio.sleep(0, connection.url.port == real.port and connection.connected.is_set()), timeout=20
        )

        async def publish_after() -> bool:
            # The connection is back before its channels are reopened: a publish in between
            # fails, and a publisher (the outbox relay) sends it again, as here.
            try:
                await broker.publish("after", queue=queue.name)
            except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, ConnectionError):
                return False
            return True

        await eventually(publish_after, timeout=20, interval=0.2)
        await eventually(lambda: asyncio.sleep(0, "after" in received), timeout=20)
        assert received == ["before", "after"]
    finally:
        await broker.stop()
