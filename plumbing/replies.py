"""Replies to requests, on a connection of their own (P5).

A request names its requester's channel as ``reply_to`` (RabbitMQ's direct reply-to). When
that channel's node is gone (a node of a cluster killed), RabbitMQ 3.10 answers the reply's
publish by closing the whole connection that sent it (541 INTERNAL_ERROR; direct reply-to is
channel state, not a queue: rabbitmq/rabbitmq-server#3751). On a service's one connection
that took every consumer down with it; the command came back unacknowledged, and answering it
again closed the next connection: in a cluster fault test a command of a requester on the
killed node went round the customer workers for three minutes.

So replies go out here: a robust connection of the service's own, used for nothing else.
A reply whose publish fails is dropped with a warning (its requester is gone or gives up and
asks again; a command's answer is remembered, so asking again changes nothing) and the
command is acknowledged as answered. The service's consumers never see the failure.
"""

from __future__ import annotations

import logging
from typing import Any

import aio_pika
from faststream import BaseMiddleware
from faststream.rabbit.parser import AioPikaParser
from faststream.response.publish_type import PublishType
from pydantic import BaseModel

from . import amqp

log = logging.getLogger("oms.replies")


class ReplyConnection:
    """The connection and channel replies are published on (``start`` before the first)."""

    def __init__(self, amqp_url: str, service: str) -> None:
        self.amqp_url = amqp_url
        self.service = service
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        #: Replies that could not be published (their requester's node gone, the broker down).
        self.dropped = 0

    @property
    def started(self) -> bool:
        return self._channel is not None

    async def start(self) -> None:
        self._connection = await amqp.connect_robust(
            self.amqp_url, client_properties={"connection_name": f"{self.service} replies"}
        )
        # No publisher confirms: a requester waits for the reply itself, as FastStream's own
        # replies are sent.
        self._channel = await self._connection.channel(publisher_confirms=False)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = None

    async def publish(self, message: aio_pika.Message, reply_to: str) -> None:
        """Send ``message`` to ``reply_to``; a failure is logged and counted, never raised."""
        try:
            if self._channel is None:
                raise RuntimeError("the reply connection is not started")
            await self._channel.default_exchange.publish(message, routing_key=reply_to, mandatory=False)
        except Exception as exc:  # noqa: BLE001 - the command is answered either way
            self.dropped += 1
            log.warning(
                "%s: reply %s to %s not sent (%r); its requester is gone or asks again",
                self.service,
                message.correlation_id,
                reply_to,
                exc,
            )


class RepliesOnTheirOwnConnection(BaseMiddleware):
    """FastStream middleware: a handler's reply goes out through a ``ReplyConnection``
    (``replies_through(connection)`` makes the broker's middleware)."""

    connection: ReplyConnection

    async def publish_scope(self, call_next: Any, cmd: Any) -> Any:
        if cmd.publish_type is not PublishType.REPLY or not self.connection.started:
            return await call_next(cmd)
        body = cmd.body
        if isinstance(body, BaseModel):  # a Reply: the handlers' answer
            body = body.model_dump_json().encode()
        elif not isinstance(body, bytes):
            return await call_next(cmd)  # FastStream's own serialisation for anything else
        options = {"content_type": "application/json", **cmd.message_options}
        message = await AioPikaParser.encode_message(
            message=body, reply_to=cmd.reply_to, headers=cmd.headers, correlation_id=cmd.correlation_id, **options
        )
        await self.connection.publish(message, cmd.destination)
        return None


def replies_through(connection: ReplyConnection) -> type[RepliesOnTheirOwnConnection]:
    """The middleware class that sends replies through ``connection``."""
    return type("RepliesThrough", (RepliesOnTheirOwnConnection,), {"connection": connection})
