"""P4 upgrade: retry tiers were classic queues before issue 23 made them quorum queues, and
RabbitMQ refuses to declare a queue again as another type. A service upgraded in place
replaces its empty classic tiers as it starts; a tier still holding messages stops the start
with its name and loses nothing."""

from __future__ import annotations

import aio_pika
import pytest

from customer.app import create_app as customer_app
from plumbing.client import OmsClient
from plumbing.messaging import replace_classic_retry_tiers, retry_tiers
from plumbing.settings import ServiceSettings

from ...support import Cleanup, running


async def declare_classic_tiers(settings: ServiceSettings, service: str) -> list[str]:
    """The tiers as versions before issue 23 declared them."""
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        names = []
        for spec in retry_tiers(settings.topology, service):
            await channel.declare_queue(
                spec.name, durable=True, arguments={"x-queue-type": "classic", "x-dead-letter-exchange": ""}
            )
            names.append(spec.name)
        return names
    finally:
        await connection.close()


async def is_quorum(settings: ServiceSettings, service: str, name: str) -> bool:
    """Declared again with the quorum tier's arguments: refused (PRECONDITION_FAILED) unless it is one."""
    (spec,) = [s for s in retry_tiers(settings.topology, service) if s.name == name]
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        try:
            await channel.declare_queue(name, durable=True, arguments={**spec.arguments, "x-queue-type": "quorum"})
            return True
        except aio_pika.exceptions.ChannelPreconditionFailed:
            return False
    finally:
        await connection.close()


async def test_p4_a_service_upgraded_in_place_replaces_its_empty_classic_retry_tiers(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    names = await declare_classic_tiers(settings, "customer")
    async with running(customer_app(settings), cleanup=cleanup):
        assert (await client.ping("customer")).ok  # started, where it used to fail
    for name in names:
        assert await is_quorum(settings, "customer", name), name
    assert await replace_classic_retry_tiers(settings.amqp_url, settings.topology, "customer") == []  # once


async def test_p4_a_classic_retry_tier_still_holding_messages_stops_the_start_and_keeps_them(
    settings: ServiceSettings,
) -> None:
    names = await declare_classic_tiers(settings, "notification")
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(aio_pika.Message(b"waiting out its back-off"), routing_key=names[2])
        with pytest.raises(RuntimeError, match=f"{names[2]}: a retry tier of an earlier version still holds 1"):
            await replace_classic_retry_tiers(settings.amqp_url, settings.topology, "notification")
        channel = await connection.channel()
        kept = await channel.declare_queue(names[2], passive=True)
        assert kept.declaration_result.message_count == 1
        assert not await is_quorum(settings, "notification", names[2])
    finally:
        await connection.close()
