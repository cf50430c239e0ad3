"""P1, O8, I4: the RabbitMQ definitions of the deployment, imported into a real broker, let
every service, the adapters and the gateway run with their own user and refuse what is not
their own (least permissions)."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused

from adapters.app import create_app as adapters_app
from contracts.customer.merges import MergeCustomers
from contracts.customer.privacy import CompleteDataRequest, EraseCustomerData, ListDataRequests, RecordDataRequest
from contracts.customer.records import UpdateCustomer
from contracts.order_sync.linking import GetOrderLink, GetSourceCustomerLink
from contracts.routing import SERVICES
from customer.app import create_app as customer_app
from gateway.deadletters import DeadLetters
from notification.app import create_app as notification_app
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.dlq import DeadLetterQueues
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from ..system.faults_support import SKIP_UNDER_TESTCONTAINERS, private_rabbitmq

#: A RabbitMQ node of its own, as the fault tests start.
pytestmark = SKIP_UNDER_TESTCONTAINERS

DEFINITIONS = Path(__file__).resolve().parents[3] / "deploy" / "rabbitmq" / "definitions.json"


def definitions_for(namespace: str, passwords: dict[str, str]) -> dict:
    """The deployment's definitions with the test's namespace as vhost and name prefix."""
    definitions = json.loads(DEFINITIONS.read_text())
    definitions["vhosts"] = [{**v, "name": namespace} for v in definitions["vhosts"]]
    for user in definitions["users"]:
        user["password"] = passwords[user["name"]]
    for entry in definitions["permissions"]:
        entry["vhost"] = namespace
        for kind in ("configure", "write", "read"):
            entry[kind] = entry[kind].replace(r"oms\.", rf"{namespace}\.")
    for entry in definitions["topic_permissions"]:
        entry["vhost"] = namespace
        entry["exchange"] = namespace + entry["exchange"].removeprefix("oms")
    for exchange in definitions["exchanges"]:
        exchange["vhost"] = namespace
        exchange["name"] = namespace + exchange["name"].removeprefix("oms")
    return definitions


async def refused(url: str, action) -> bool:  # noqa: ANN001
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        try:
            await action(channel)
        except ChannelAccessRefused:
            return True
        return False
    finally:
        await connection.close()


async def test_p1_each_service_runs_with_its_own_user_and_is_refused_what_is_not_its_own(
    settings: ServiceSettings, cleanup: Cleanup, tmp_path: Path
) -> None:
    ns = settings.namespace
    users = ("admin", *SERVICES, "adapters", "gateway", "omsctl", "storefront")
    passwords = {user: secrets.token_urlsafe(12) for user in users}
    async with private_rabbitmq(tmp_path / "rabbitmq") as node:
        rendered = tmp_path / "definitions.json"
        rendered.write_text(json.dumps(definitions_for(ns, passwords)))
        await asyncio.to_thread(node.ctl, "import_definitions", str(rendered))

        def url(user: str) -> str:
            return f"amqp://{user}:{passwords[user]}@127.0.0.1:{node.port}/{ns}"

        def as_user(user: str) -> ServiceSettings:
            return settings.model_copy(update={"amqp_url": url(user)})

        apps = [
            customer_app(as_user("customer")),
            notification_app(as_user("notification")),
            order_sync_app(as_user("order-sync")),
            adapters_app(as_user("adapters")),
        ]
        async with running(*apps, cleanup=cleanup), OmsClient(as_user("omsctl"), producer="tests") as client:
            pongs = await asyncio.gather(*(client.ping(service) for service in (*SERVICES, "adapters")))
            async with DeadLetterQueues(as_user("omsctl")) as queues:
                depths = [await queues.depth(service) for service in SERVICES]
            storefront = await aio_pika.connect(url("storefront"))
            channel = await storefront.channel(publisher_confirms=True)
            upstream = await channel.get_exchange(f"{ns}.upstream", ensure=False)
            await upstream.publish(aio_pika.Message(b"{}", message_id="bad-order"), routing_key="order.nothing.v1")
            # O8: a payload the Shopify adapter cannot map, through its queue, to its dead letters.
            await upstream.publish(
                aio_pika.Message(b"{}", message_id="bad-shopify"), routing_key="platform.shopify.orders.create"
            )
            await storefront.close()

            # I4: the gateway's user sends commands and gets replies (direct reply-to), ...
            async with OmsClient(as_user("gateway"), producer="gateway") as gateway:
                gateway_pongs = await asyncio.gather(*(gateway.ping(service) for service in SERVICES))
            # C18: the adapters ask order-sync which customer an order is linked to (direct reply-to).
            async with OmsClient(as_user("adapters"), producer="adapters") as shop_adapter:
                missing = await shop_adapter.call(GetOrderLink, {"source_system": "shopify:none", "order_number": "1"})
            # ... I5: lists every service's dead letters and replays one where it came from
            # (an upstream order: the gateway writes to upstream for this).
            letters = DeadLetters(as_user("gateway"))
            await letters.open()
            try:
                listed = {service: await letters.list(service) for service in ("customer", "notification")}
                await eventually(lambda: letters.list("order-sync"))
                replay = await letters.replay("order-sync", "bad-order")
            finally:
                await letters.close()
            async with DeadLetterQueues(as_user("omsctl")) as queues:
                adapter_letters = await eventually(lambda: queues.browse("adapters"))

        customer = url("customer")
        assert await refused(
            customer,
            lambda ch: ch.declare_queue(
                f"{ns}.order-sync.upstream-orders", passive=False, durable=True, arguments={"x-queue-type": "quorum"}
            ),
        )
        assert await refused(customer, lambda ch: _consume(ch, f"{ns}.notification.dead-letter"))
        assert await refused(customer, lambda ch: _publish(ch, f"{ns}.upstream"))
        assert not await refused(customer, lambda ch: _publish(ch, f"{ns}.commands"))  # C18: asks the others
        assert not await refused(url("order-sync"), lambda ch: _publish(ch, f"{ns}.commands"))
        assert await refused(url("storefront"), lambda ch: _publish(ch, f"{ns}.commands"))
        assert await refused(url("storefront"), lambda ch: _consume(ch, f"{ns}.order-sync.upstream-orders"))
        assert await refused(url("omsctl"), lambda ch: _consume(ch, f"{ns}.customer.commands"))

        adapters = url("adapters")  # O8: orders to upstream and its own queues; C18: four commands only
        assert not await refused(adapters, lambda ch: _publish(ch, f"{ns}.upstream"))
        assert not await refused(adapters, lambda ch: _consume(ch, f"{ns}.adapters.shopify"))
        assert not await refused(adapters, lambda ch: _consume(ch, f"{ns}.adapters.dead-letter"))
        assert await refused(adapters, lambda ch: _publish(ch, f"{ns}.commands"))
        for command in (GetOrderLink, GetSourceCustomerLink, EraseCustomerData, RecordDataRequest):
            assert not await refused(
                adapters, lambda ch, command=command: _publish(ch, f"{ns}.commands", command.routing_key())
            )
        for command in (MergeCustomers, UpdateCustomer, CompleteDataRequest, ListDataRequests):
            assert await refused(
                adapters, lambda ch, command=command: _publish(ch, f"{ns}.commands", command.routing_key())
            )
        assert await refused(adapters, lambda ch: _publish(ch, f"{ns}.events"))
        assert await refused(adapters, lambda ch: _consume(ch, f"{ns}.order-sync.upstream-orders"))
        assert await refused(adapters, lambda ch: _consume(ch, f"{ns}.customer.dead-letter"))

        gateway = url("gateway")  # I4, I5: commands and the services' dead letters, nothing else
        assert not await refused(gateway, lambda ch: _publish(ch, f"{ns}.commands"))
        assert await refused(gateway, lambda ch: _consume(ch, f"{ns}.customer.commands"))
        assert await refused(gateway, lambda ch: _consume(ch, f"{ns}.adapters.shopify"))
        assert await refused(gateway, lambda ch: _consume(ch, f"{ns}.adapters.dead-letter"))
        assert await refused(gateway, lambda ch: _publish(ch, f"{ns}.dead-letter"))
        assert await refused(gateway, lambda ch: ch.declare_queue(f"{ns}.gateway.replies", durable=True))
        assert await refused(url("customer"), lambda ch: _consume(ch, f"{ns}.adapters.shopify"))

    assert [p.ok and p.result.broker for p in pongs] == [True, True, True, True]
    assert [p.ok for p in gateway_pongs] == [True, True, True]
    assert not missing.ok and missing.error.code == "not_found"
    assert listed == {"customer": [], "notification": []}
    assert replay.replayed == ["bad-order"] and replay.failed == []
    assert [(letter.message_id, letter.routing_key) for letter in adapter_letters] == [
        ("bad-shopify", "platform.shopify.orders.create")
    ]
    assert depths[:2] == [0, 0]  # customer, notification; order-sync may hold the storefront's test order


async def _consume(channel: aio_pika.abc.AbstractChannel, queue: str) -> None:
    q = await channel.get_queue(queue, ensure=False)
    await q.get(fail=False)


async def _publish(channel: aio_pika.abc.AbstractChannel, exchange: str, routing_key: str = "x.y.v1") -> None:
    target = await channel.get_exchange(exchange, ensure=False)
    await target.publish(aio_pika.Message(b"{}"), routing_key=routing_key)  # confirmed, or the channel closes
