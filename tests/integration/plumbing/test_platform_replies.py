"""P5: a reply that cannot be sent costs its command nothing, and the service nothing else.

A request's reply-to names its requester's channel; when that channel's node is gone,
RabbitMQ closes the connection that publishes the reply (541 INTERNAL_ERROR). Replies
therefore go out on a connection of their own (plumbing.replies): the command is answered
and acknowledged whatever becomes of its reply, and the service's consumers stay on theirs.
"""

from __future__ import annotations

import asyncio

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from contracts.customer.records import CreateScope, ListScopes
from customer.app import create_app as customer_app
from plumbing.client import OmsClient, ServiceUnavailable
from plumbing.runtime import ServiceRuntime
from plumbing.settings import ServiceSettings

from ...support import Cleanup, running
from ..conftest import ok


async def test_p5_a_reply_that_cannot_be_sent_is_dropped_and_its_command_applied_once(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    app = customer_app(settings)
    runtime: ServiceRuntime = app.context.get("runtime")
    async with running(app, cleanup=cleanup):
        replies = runtime.dead_letters.replies
        assert replies is not None and replies.started
        # The replies' own connection, not the one the service consumes on.
        assert replies._connection is not None and replies._connection is not runtime.broker._connection

        # The reply's publish fails (as RabbitMQ's close of that connection would make it).
        channel = replies._channel
        assert channel is not None
        await channel.close()
        with pytest.raises(ServiceUnavailable):
            await client.call(CreateScope, {"scope_id": "lost-reply", "name": "Lost reply", "country": "FR"}, timeout=2)
        assert replies.dropped == 1

        # The command was applied, once, and acknowledged: nothing comes back to the queue.
        mongo: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        try:
            scopes = mongo[settings.database_name("customer")]["scopes"]
            assert await scopes.count_documents({"_id": "lost-reply"}) == 1
        finally:
            await mongo.close()
        connection = await aio_pika.connect(settings.amqp_url)
        try:
            probe = await connection.channel()
            queue = await probe.declare_queue(f"{settings.namespace}.customer.commands", passive=True)
            await asyncio.sleep(0.5)
            queue = await probe.declare_queue(f"{settings.namespace}.customer.commands", passive=True)
            assert queue.declaration_result.message_count == 0
        finally:
            await connection.close()

        # The service consumes on as before; with a working reply channel, requests answer.
        replies._channel = await replies._connection.channel(publisher_confirms=False)
        listed = await ok(await client.call(ListScopes, {}))
        assert "lost-reply" in [scope.scope_id for scope in listed]
        assert runtime.all_consuming()
