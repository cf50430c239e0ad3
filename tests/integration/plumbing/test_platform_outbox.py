"""P2: no event is lost between a database write and its publication (outbox), and no
consumer applies a message twice (inbox)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts.customer.records import CreateCustomer, CreateScope, CustomerReply, ScopeReply
from customer.app import create_app as customer_app
from plumbing.client import OmsClient
from plumbing.outbox import OutboxRelay
from plumbing.runtime import ServiceRuntime
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import INBOX, INBOX_RETENTION_SECONDS, OUTBOX, UnitOfWork, apply_once

from ...support import Cleanup, EventTap, eventually, running
from .test_platform_support import Behaviour, Ledger, emit, probe_app, producer_app, tick


class DiesBeforeMarking(OutboxRelay):
    """A relay that publishes a batch, confirmed, and dies before marking it published."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent = asyncio.Event()

    async def _publish_batch(self) -> int:
        batch = await self.db[OUTBOX].find({"published_at": None}).sort("sequence").to_list()
        if not batch:
            return 0
        for name in {doc["exchange"] for doc in batch}:
            self._exchanges[name] = await self._channel.get_exchange(name, ensure=False)
        await asyncio.gather(*(self._publish(doc) for doc in batch))
        self.published += len(batch)
        self.sent.set()
        await asyncio.Event().wait()  # "killed" here: never marks
        return 0

    async def kill(self) -> None:
        """As kill -9: no flush, no lease release, the connection just goes."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._connection.close()


async def test_p2_relay_killed_between_publish_and_mark_republishes_and_consumers_apply_once(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    settings = settings.model_copy(update={"outbox_lease_seconds": 1.5})
    ledger = Ledger(settings)
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    outbox = mongo[settings.database_name("customer")][OUTBOX]
    events = [tick(f"C{n}", n) for n in range(20)]
    try:
        async with running(probe_app(settings), cleanup=cleanup):
            # Events committed while the only relay is the doomed one.
            writer = producer_app(settings)
            runtime: ServiceRuntime = writer.context.get("runtime")
            runtime.mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
            await emit(writer, events)
            doomed = DiesBeforeMarking(runtime.db, settings.amqp_url, holder="doomed", lease_seconds=1.5)
            await doomed.start()
            await asyncio.wait_for(doomed.sent.wait(), 10)
            await doomed.kill()
            await eventually(lambda: ledger.applied(len(events)))
            assert await outbox.count_documents({"published_at": None}) == len(events), "published, never marked"

            # The next relay of the service takes the lease when it expires and publishes again.
            async with running(producer_app(settings), cleanup=cleanup):
                await eventually(lambda: _none_pending(outbox), timeout=20)
                await eventually(lambda: _delivered_twice(ledger, len(events)), timeout=20)
            effects = await ledger.effects()
            deliveries = await ledger.deliveries()
            await runtime.mongo.close()
    finally:
        await ledger.close()
        await mongo.close()

    assert doomed.published == len(events)
    assert set(deliveries.values()) == {2}, "every event arrived twice"
    assert {effect["applied"] for effect in effects.values()} == {1}, "and was applied once"
    assert set(effects) == {event.message_id for event in events}


async def _none_pending(outbox: Any) -> bool:
    return await outbox.count_documents({"published_at": None}) == 0


async def _delivered_twice(ledger: Ledger, count: int) -> bool:
    deliveries = await ledger.deliveries()
    return len(deliveries) == count and all(n >= 2 for n in deliveries.values())


async def test_p2_redelivered_message_has_no_second_effect(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    ledger = Ledger(settings)
    producer = producer_app(settings)
    # Applied, then the handler fails: RabbitMQ delivers it again after the back-off.
    redelivered = tick("C1", 1, fail_after_apply=1)
    try:
        async with running(producer, probe_app(settings, Behaviour(ordered=True)), cleanup=cleanup):
            await emit(producer, [redelivered])
            await eventually(lambda: _delivered(ledger, redelivered.message_id, 2), timeout=20)
            effects = await ledger.effects()
    finally:
        await ledger.close()
    assert effects[redelivered.message_id]["applied"] == 1


async def _delivered(ledger: Ledger, message_id: str, count: int) -> bool:
    return (await ledger.deliveries()).get(message_id, 0) >= count


async def test_p2_a_command_delivered_twice_creates_one_customer_and_one_event(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with running(customer_app(settings), cleanup=cleanup), EventTap(client, "customer.#") as tap:
        scope = await client.request(
            CreateScope(producer="tests", payload={"scope_id": "eu-fr", "name": "EU FR", "country": "FR"}), ScopeReply
        )
        assert scope.ok, scope.error
        command = CreateCustomer(
            producer="tests",
            payload={
                "scope_id": "eu-fr",
                "first_name": "Chloé",
                "last_name": "Dubois",
                "email": "chloe@example.fr",
                "account_type": "guest",
            },
        )
        first, second = await asyncio.gather(
            client.request(command, CustomerReply), client.request(command, CustomerReply)
        )
        again = await client.request(command, CustomerReply)
        await tap.wait_for(1)
        await asyncio.sleep(1.0)  # a second event would be out by now
        events = await tap.drain()
    assert first.ok and second.ok and again.ok, (first.error, second.error)
    assert first.result.code == second.result.code == again.result.code
    assert [e["message_type"] for e in events] == ["customer-created"]


async def test_p2_event_and_state_change_commit_together_or_not_at_all(
    settings: ServiceSettings, cleanup: Cleanup
) -> None:
    app = producer_app(settings)
    async with running(app, cleanup=cleanup):
        runtime: ServiceRuntime = app.context.get("runtime")

        async def fails_after_writing(uow: UnitOfWork) -> None:
            await runtime.db["things"].insert_one({"_id": "thing"}, session=uow.session)
            uow.publish(tick("C1", 1), partition_key="C1")
            raise RuntimeError("the change fails after the event was recorded")

        with pytest.raises(RuntimeError):
            await apply_once(runtime, tick("C1", 0), fails_after_writing)
        assert await runtime.db["things"].count_documents({}) == 0
        assert await runtime.db[OUTBOX].count_documents({}) == 0
        assert await runtime.db[INBOX].count_documents({}) == 0


async def test_p2_inbox_records_expire_after_the_retention_window(settings: ServiceSettings, cleanup: Cleanup) -> None:
    app = producer_app(settings)
    async with running(app, cleanup=cleanup):
        runtime: ServiceRuntime = app.context.get("runtime")
        message = tick("C1", 1)

        async def work(uow: UnitOfWork) -> None:
            uow.publish(tick("C1", 2), partition_key="C1")

        await apply_once(runtime, message, work)
        record = await runtime.db[INBOX].find_one({"_id": f"customer:{message.message_id}"})
        indexes = await runtime.db[INBOX].index_information()
        outbox_indexes = await runtime.db[OUTBOX].index_information()
    ttl = [spec for spec in indexes.values() if spec.get("expireAfterSeconds") is not None]
    assert [(spec["key"], spec["expireAfterSeconds"]) for spec in ttl] == [
        ([("applied_at", 1)], INBOX_RETENTION_SECONDS)
    ]
    assert record is not None and record["applied_at"].tzinfo is not None
    # Published events expire too; unpublished ones (published_at null) never do.
    assert any(
        spec.get("expireAfterSeconds") and spec["key"] == [("published_at", 1)] for spec in outbox_indexes.values()
    )


async def test_p2_a_relay_refused_by_rabbitmq_sends_again_on_a_new_channel_and_loses_nothing(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """A queue that refuses publishes (full, ``reject-publish``: RabbitMQ answers ``basic.nack``;
    a classic queue, as this RabbitMQ enforces a quorum queue's length only after the fact)
    holds the relay's batch back, unmarked; the relay sends it again on a new channel (a
    quorum queue's channel kept being refused after a failover, docs/platform.md), and once
    the queue takes messages again every event is published and marked."""
    import aio_pika

    from plumbing.messaging import events_exchange

    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    outbox = mongo[settings.database_name("customer")][OUTBOX]
    connection = await aio_pika.connect(settings.amqp_url)
    channel = await connection.channel()
    events = [tick(f"C{n}", n) for n in range(5)]
    full: aio_pika.abc.AbstractQueue | None = None
    try:
        writer = producer_app(settings)
        runtime: ServiceRuntime = writer.context.get("runtime")
        async with running(writer, cleanup=cleanup):  # declares the events exchange
            full = await channel.declare_queue(
                f"{settings.namespace}.full",
                durable=True,
                arguments={"x-queue-type": "classic", "x-max-length": 1, "x-overflow": "reject-publish"},
            )
            exchange = await channel.get_exchange(events_exchange(settings.topology).name, ensure=False)
            await full.bind(exchange, routing_key="probe.#")
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="probe.filler")
            await emit(writer, events)
            relay = runtime.outbox
            assert relay is not None
            await eventually(lambda: _replaced(relay), timeout=15)
            assert await outbox.count_documents({"published_at": None}) == len(events), "refused: none marked"
            await full.purge()
            await full.unbind(exchange, routing_key="probe.#")
            await eventually(lambda: _none_pending(outbox), timeout=15)
        assert relay.published >= len(events)
    finally:
        if full is not None:
            await full.delete(if_unused=False, if_empty=False)
        await connection.close()
        await mongo.close()


async def _replaced(relay: OutboxRelay) -> bool:
    return relay.channels_replaced >= 1
