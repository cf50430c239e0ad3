"""The message contracts: envelope, naming, the upstream order contract and its examples (P1, I3)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

import contracts.customer.history  # noqa: F401 - its messages are collected too
from contracts.envelope import Command, Envelope, Event
from contracts.routing import Topology
from contracts.upstream.commerce import UPSTREAM_COMMERCE_MESSAGES
from contracts.upstream.orders import UPSTREAM_ORDER_MESSAGES, OrderPlaced

EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"
BY_TYPE = {cls.type_name(): cls for cls in UPSTREAM_ORDER_MESSAGES + UPSTREAM_COMMERCE_MESSAGES}


def all_message_classes() -> list[type[Envelope]]:
    found, todo = [], [Command, Event]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if "DOMAIN" in vars(sub):
                found.append(sub)
    return found


def test_p1_every_message_is_versioned_and_routed_uniquely() -> None:
    classes = all_message_classes()
    assert OrderPlaced in classes
    keys = [cls.routing_key() for cls in classes]
    assert len(keys) == len(set(keys)), "two contracts share a routing key"
    for cls, key in zip(classes, keys, strict=True):
        domain, name, version = key.split(".")
        assert version == f"v{cls.version()}" and name == cls.type_name() and domain == cls.DOMAIN
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), f"{cls.__name__}: message type {name!r} is not kebab-case"
    ours = [cls for cls in classes if cls.__module__.startswith("contracts.")]
    assert len(ours) > 100
    for cls in ours:  # declared as classes of their own: an IDE and mypy know each payload
        assert cls.__qualname__ == cls.__name__ and cls.__doc__, cls


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_i3_every_example_message_validates(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    cls = BY_TYPE[raw["message_type"]]
    message = cls.model_validate(raw)
    assert message.message_id == raw["message_id"]
    assert path.name.startswith(f"{cls.type_name()}") and path.name.endswith(f".v{cls.version()}.json")


def test_o1_order_placed_normalizes_what_storefronts_send() -> None:
    raw = json.loads((EXAMPLES / "order-placed.v1.json").read_text(encoding="utf-8"))
    raw["payload"].update(email="  ", currency="eur", phone="")
    raw["payload"]["shipping_address"]["country"] = "fr"
    order = OrderPlaced.model_validate(raw).payload
    assert order.email is None and order.phone is None  # blank is missing, never "" == ""
    assert order.currency == "EUR" and order.shipping_address.country == "FR"
    assert order.totals.total == Decimal("59.70")
    dumped = json.loads(OrderPlaced.model_validate(raw).model_dump_json())
    assert dumped["payload"]["totals"]["total"] == "59.70"  # money travels as a decimal string


def test_o1_bad_order_names_each_bad_field() -> None:
    raw = json.loads((EXAMPLES / "order-placed.v1.json").read_text(encoding="utf-8"))
    raw["payload"].update(currency="dollars", lines="none", placed_at="2026-11-31")
    del raw["payload"]["scope"]
    with pytest.raises(ValidationError) as caught:
        OrderPlaced.model_validate(raw)
    bad = {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert bad == {"payload.currency", "payload.lines", "payload.placed_at", "payload.scope"}


def test_p1_names_live_under_a_namespace() -> None:
    topology = Topology("oms")
    assert topology.upstream_exchange == "oms.upstream"
    assert topology.commands_queue("order-sync") == "oms.order-sync.commands"
    assert topology.dead_letter_queue("customer") == "oms.customer.dead-letter"
    assert topology.database("order-sync") == "oms_order_sync"
