"""A client for other processes (omsctl, tests, other services) to talk to the services."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from faststream.rabbit import Channel, RabbitBroker
from pydantic import BaseModel

from contracts.envelope import Actor, Command, Envelope, new_message_id, utc_now
from contracts.replies import Error, Reply
from contracts.routing import Topology
from contracts.service import Ping, Pong

from .amqp import ClusterRabbitBroker
from .logs import keep_payloads_out_of_logs
from .messaging import commands_exchange, upstream_exchange
from .retries import ensure_confirmed
from .settings import ServiceSettings

ReplyT = TypeVar("ReplyT", bound=Reply[Any])


class ServiceUnavailable(Exception):
    """No reply within the timeout: the service is down or overloaded."""


class OmsClient:
    """Sends commands over request/reply and publishes upstream messages.

    ``async with OmsClient(settings) as client: reply = await client.request(cmd, CustomerReply)``
    """

    def __init__(self, settings: ServiceSettings | None = None, *, producer: str = "omsctl") -> None:
        keep_payloads_out_of_logs()
        self.settings = settings or ServiceSettings()
        self.producer = producer
        # A message no queue takes is an error here, not a silent loss: a publish raises.
        self.broker: RabbitBroker = ClusterRabbitBroker(
            self.settings.amqp_url, app_id=producer, logger=None, default_channel=Channel(on_return_raises=True)
        )

    async def __aenter__(self) -> OmsClient:
        await self.broker.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()

    async def request(
        self,
        command: Command[Any],
        reply_type: type[ReplyT],
        *,
        routing_key: str | None = None,
        timeout: float | None = None,
    ) -> ReplyT:
        """Send ``command`` and wait for its typed reply (a result or a typed error)."""
        return await self._request(
            command.model_dump_json().encode(),
            routing_key or command.routing_key(),
            command.message_id,
            reply_type,
            timeout,
        )

    async def _request(
        self, body: bytes, routing_key: str, message_id: str, reply_type: type[ReplyT], timeout: float | None
    ) -> ReplyT:
        timeout = timeout or self.settings.request_timeout_seconds
        try:
            message = await self.broker.request(
                body,
                exchange=commands_exchange(self.settings.topology),
                routing_key=routing_key,
                correlation_id=message_id,
                message_id=message_id,
                content_type="application/json",
                timeout=timeout,
            )
        except TimeoutError as exc:
            raise ServiceUnavailable(f"no reply to {routing_key} within {timeout}s") from exc
        reply = Reply[Any].model_validate_json(message.body)
        if not reply.ok:
            # An error reply has no result; it parses into any reply type.
            return reply_type(ok=False, error=reply.error)
        return reply_type.model_validate_json(message.body)

    async def call(
        self,
        command: type[Command[Any]],
        payload: Any,
        *,
        actor: Actor | None = None,
        timeout: float | None = None,
        correlation_id: str | None = None,
        reply_type: type | None = None,
    ) -> Any:
        """Send ``command`` with ``payload`` (a model or a plain dict) and return its typed reply
        (``reply_type``, for commands whose contract names none, e.g. the notification ones).

        Nothing is validated here: the service validates, and a bad field comes back as a
        typed ``validation`` error naming it, the same for every client.
        """
        message_id = new_message_id()
        body = {
            "message_id": message_id,
            "correlation_id": correlation_id,
            "occurred_at": utc_now().isoformat(),
            "producer": self.producer,
            "message_type": command.type_name(),
            "schema_version": command.version(),
            "payload": payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload,
            "actor": actor.model_dump(mode="json") if actor else None,
        }
        return await self._request(
            json.dumps(body, default=str).encode(),
            command.routing_key(),
            message_id,
            reply_type or command.REPLY or Reply,
            timeout,
        )

    async def ping(self, service: str, *, timeout: float = 5.0) -> Reply[Pong]:
        return await self.request(
            Ping(producer=self.producer),
            Reply[Pong],
            routing_key=Ping.routing_key_for(service),
            timeout=timeout,
        )

    async def publish_upstream(self, message: Envelope[Any]) -> None:
        await publish_upstream(self.broker, self.settings.topology, message)


async def publish_upstream(broker: RabbitBroker, topology: Topology, message: Envelope[Any]) -> None:
    """Publish to ``<ns>.upstream`` as a storefront does: persistent, with the message's routing
    key, mandatory and confirmed (an unroutable or refused publish raises, nothing is lost)."""
    result = await broker.publish(
        message.model_dump_json().encode(),
        exchange=upstream_exchange(topology),
        routing_key=message.routing_key(),
        message_id=message.message_id,
        correlation_id=message.correlation_id or message.message_id,
        content_type="application/json",
        persist=True,
        mandatory=True,
    )
    ensure_confirmed(result, f"{message.routing_key()} {message.message_id}")


def error_text(error: Error | None) -> str:
    """One line for a person: the code, then each field and its reason (or the message)."""
    if error is None:
        return ""
    if error.fields:
        return f"{error.code}: " + "; ".join(f"{f.field}: {f.reason}" for f in error.fields)
    return f"{error.code}: {error.message}"


class OmsClientPool:
    """Several clients, each on its own connection, for a process that makes requests
    concurrently: FastStream's ``broker.request`` answers one request at a time per broker
    (upstream issue ag2ai/faststream#1318), so concurrency needs several brokers."""

    def __init__(self, settings: ServiceSettings, *, size: int = 8, producer: str = "omsctl") -> None:
        self.clients = [OmsClient(settings, producer=producer) for _ in range(size)]
        self._idle: asyncio.Queue[OmsClient] = asyncio.Queue()

    async def start(self) -> None:
        # The connections open side by side: one after the other, order-sync's eight were a
        # good part of its start.
        await asyncio.gather(*(client.__aenter__() for client in self.clients))
        for client in self.clients:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        """Close every connection (also of a pool never started); a later ``start`` opens them
        again (the pool is built once with its app, which may start again)."""
        while not self._idle.empty():
            self._idle.get_nowait()
        await asyncio.gather(*(client.__aexit__(None, None, None) for client in self.clients))

    async def broker_ok(self, timeout: float = 2.0) -> bool:
        """Every client's connection answers (a readiness probe: a dead one fails requests)."""
        try:
            return all(await asyncio.gather(*(client.broker.ping(timeout) for client in self.clients)))
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    async def call(self, command: type[Command[Any]], payload: Any, **options: Any) -> Any:
        client = await self._idle.get()
        try:
            return await client.call(command, payload, **options)
        finally:
            self._idle.put_nowait(client)
