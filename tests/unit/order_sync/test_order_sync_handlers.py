"""order-sync's subscriptions in memory (issue 20): its app on FastStream's TestRabbitBroker,
the intake and the customer service replaced by stand-ins (plumbing.testing). What routes
an order where, what its contract refuses, and that a refused message is dead-lettered with
its field errors and never reaches matching: in milliseconds, without servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.upstream.orders import OrderPlaced
from order_sync.app import create_app
from order_sync.intake import Arrival, Intake
from order_sync.matching import Decision
from plumbing.messaging import upstream_exchange
from plumbing.settings import ServiceSettings
from plumbing.testing import RecordingBatcher, in_memory

EXAMPLE = Path(__file__).parents[3] / "contracts" / "examples" / "order-placed.v1.json"
SETTINGS = ServiceSettings(namespace="unit", max_attempts=1)


def order_body(**changes: Any) -> dict[str, Any]:
    raw = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw["payload"].update(changes)
    return raw


def intake_deciding(kind: str) -> tuple[Intake, RecordingBatcher[Any, Any], RecordingBatcher[Any, Any]]:
    """An intake whose matching answers every order with a decision of ``kind``."""

    def decided(message: OrderPlaced) -> Arrival:
        arrival = Arrival(message)
        arrival.decision = Decision(kind)  # type: ignore[arg-type]  # the kinds the test names
        return arrival

    matching: RecordingBatcher[Any, Any] = RecordingBatcher(decided)
    creating: RecordingBatcher[Any, Any] = RecordingBatcher(lambda arrival: arrival)
    return Intake(matching=matching, creating=creating), matching, creating  # type: ignore[arg-type]


async def publish_order(broker: Any, body: dict[str, Any]) -> None:
    await broker.publish(
        body,
        exchange=upstream_exchange(SETTINGS.topology),
        routing_key=OrderPlaced.routing_key(),
        message_id=body.get("message_id"),
    )


async def test_o1_an_order_reaches_matching_as_its_contract_and_a_known_customer_needs_no_creation() -> None:
    intake, matching, creating = intake_deciding("link")
    async with in_memory(create_app(SETTINGS), SETTINGS, "order-sync", {"intake": intake}) as (broker, dead):
        await publish_order(broker, order_body(order_number="U-1"))
    assert [type(m) for m in matching.items] == [OrderPlaced]
    assert matching.items[0].payload.order_number == "U-1"
    assert creating.items == [] and dead.letters == []


async def test_o3_an_order_decided_new_goes_on_to_the_creation_batch() -> None:
    intake, matching, creating = intake_deciding("create")
    async with in_memory(create_app(SETTINGS), SETTINGS, "order-sync", {"intake": intake}) as (broker, _):
        await publish_order(broker, order_body(order_number="U-2"))
    assert len(matching.items) == 1
    assert [a.order.order_number for a in creating.items] == ["U-2"]


async def test_o1_a_malformed_order_is_dead_lettered_with_its_fields_and_never_matched() -> None:
    intake, matching, _ = intake_deciding("link")
    body = order_body(order_number="U-3")
    del body["payload"]["scope"]
    body["payload"]["currency"] = "$"  # dollars of which country?
    async with in_memory(create_app(SETTINGS), SETTINGS, "order-sync", {"intake": intake}) as (broker, dead):
        await publish_order(broker, body)
    assert matching.items == []
    assert dead.reasons() == ["malformed"]
    fields = {e["field"] for e in dead.field_errors()[0]}
    assert {"payload.scope", "payload.currency"} <= fields
