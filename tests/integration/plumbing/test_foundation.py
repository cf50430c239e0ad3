"""Step 1 over the real RabbitMQ and MongoDB: services answer, orders arrive, bad input is kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from faststream.rabbit import RabbitRouter
from pymongo import AsyncMongoClient

from contracts.upstream.orders import OrderPlaced
from customer.app import create_app as customer_app
from notification.app import create_app as notification_app
from order_sync.app import create_app as order_sync_app
from plumbing import dead_letters
from plumbing.client import OmsClient
from plumbing.messaging import commands_exchange, dead_letter_queue, routed_as, upstream_exchange, work_queue
from plumbing.runtime import ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from ..conftest import create_scope

EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"


def example_order(**payload_changes) -> OrderPlaced:
    raw = json.loads((EXAMPLES / "order-placed.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"].update(payload_changes)
    return OrderPlaced.model_validate(raw)


async def received_orders(settings: ServiceSettings) -> list[dict]:
    mongo = AsyncMongoClient(settings.mongodb_url)
    try:
        return await mongo[settings.database_name("order-sync")]["orders"].find().to_list()
    finally:
        await mongo.close()


async def drain_dead_letters(client: OmsClient, service: str) -> list:
    queue = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, service))
    messages = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        messages.append(message)
    return messages


async def test_i1_every_service_answers_ping_over_request_reply(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    apps = [customer_app(settings), notification_app(settings), order_sync_app(settings)]
    async with running(*apps, cleanup=cleanup):
        replies = await asyncio.gather(*(client.ping(s) for s in ("customer", "notification", "order-sync")))
    assert [r.result.service for r in replies] == ["customer", "notification", "order-sync"]
    assert all(r.ok and r.result.database and r.result.broker for r in replies)


async def test_o1_order_placed_reaches_a_running_order_sync(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    order = example_order()
    async with running(customer_app(settings), order_sync_app(settings), cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR")
        await client.publish_upstream(order)
        stored = await eventually(lambda: received_orders(settings))
    assert [(o["source_system"], o["order_number"], o["message_id"]) for o in stored] == [
        ("storefront:eu", "EU-100234", order.message_id)
    ]


async def test_p4_malformed_order_is_dead_lettered_with_its_reason_and_nothing_is_held_up(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    exchange = upstream_exchange(settings.topology)
    bad = json.loads(example_order().model_dump_json())
    bad["message_id"] = "bad-order-1"
    bad["payload"]["currency"] = "dollars"  # of which country?
    bad["payload"]["lines"] = "two mugs"  # lines may be absent (an imported order), never unreadable
    good = example_order(order_number="EU-100235")

    async with running(customer_app(settings), order_sync_app(settings), cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR")
        await client.broker.publish(
            json.dumps(bad).encode(),
            exchange=exchange,
            routing_key=OrderPlaced.routing_key(),
            message_id="bad-order-1",
            persist=True,
        )
        await client.broker.publish(
            b"{not json",
            exchange=exchange,
            routing_key=OrderPlaced.routing_key(),
            message_id="not-json-1",
            persist=True,
        )
        await client.broker.publish(
            b"{}",
            exchange=exchange,
            routing_key="order.order-teleported.v1",
            message_id="unknown-type-1",
            persist=True,
        )
        await client.publish_upstream(good)  # behind the bad ones: must still arrive
        stored = await eventually(lambda: received_orders(settings))
        letters: list = []

        async def three_letters() -> bool:
            letters.extend(await drain_dead_letters(client, "order-sync"))
            return len(letters) >= 3

        await eventually(three_letters)

    assert [o["order_number"] for o in stored] == ["EU-100235"]
    by_id = {m.message_id: m for m in letters}
    assert set(by_id) == {"bad-order-1", "not-json-1", "unknown-type-1"}

    bad_letter = by_id["bad-order-1"]
    assert json.loads(bad_letter.body) == bad, "the original body is kept byte for byte"
    headers = bad_letter.headers
    assert headers[dead_letters.REASON] == dead_letters.MALFORMED
    fields = {f["field"]: f["reason"] for f in json.loads(headers[dead_letters.FIELD_ERRORS])}
    assert set(fields) == {"payload.currency", "payload.lines"}
    assert "pattern" in fields["payload.currency"] and "list" in fields["payload.lines"].lower()
    assert headers[dead_letters.ORIGINAL_EXCHANGE] == settings.topology.upstream_exchange
    assert headers[dead_letters.ORIGINAL_ROUTING_KEY] == "order.order-placed.v1"
    assert headers[dead_letters.ORIGINAL_QUEUE] == settings.topology.queue("order-sync", "upstream-orders")
    assert by_id["unknown-type-1"].headers[dead_letters.ERROR] == "no handler for this routing key"
    assert by_id["not-json-1"].body == b"{not json"


async def test_i1_malformed_command_gets_a_typed_error_naming_the_field(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with running(customer_app(settings), cleanup=cleanup):
        message = await client.broker.request(
            json.dumps({"producer": "tests", "payload": {"surprise": 1}, "actor": {"kind": "robot"}}).encode(),
            exchange=commands_exchange(settings.topology),
            routing_key="customer.ping.v1",
            timeout=5,
        )
    reply = json.loads(message.body)
    assert reply["ok"] is False and reply["error"]["code"] == "validation"
    fields = {f["field"] for f in reply["error"]["fields"]}
    assert fields == {"payload.surprise", "actor.kind", "actor.id"}


async def test_p4_failing_handler_is_retried_then_dead_lettered_with_the_exception(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    attempts: list[str] = []

    async def always_fails(message: OrderPlaced) -> None:
        attempts.append(message.message_id)
        raise RuntimeError("database exploded")

    def routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
        router = RabbitRouter()
        queue = work_queue(
            settings.topology, "order-sync", "flaky", binding="order.#", max_attempts=settings.max_attempts
        )
        router.subscriber(queue, upstream_exchange(settings.topology))(filter=routed_as(OrderPlaced.routing_key()))(
            always_fails
        )
        return [router]

    order = example_order()
    async with running(create_service_app("order-sync", settings, routers), cleanup=cleanup):
        await client.publish_upstream(order)
        letters = await eventually(lambda: drain_dead_letters(client, "order-sync"))

    assert attempts == [order.message_id] * settings.max_attempts
    (letter,) = letters
    assert letter.headers[dead_letters.REASON] == dead_letters.FAILED
    assert letter.headers[dead_letters.ATTEMPTS] == settings.max_attempts
    assert "RuntimeError: database exploded" in letter.headers[dead_letters.EXCEPTION]
