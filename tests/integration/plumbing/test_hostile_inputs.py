"""P4, I1 (security step 12): a hostile-input corpus replayed through every queue and every
command of the three services, over the real RabbitMQ and MongoDB. It stays in the suite:
it fails on any command answered ``internal`` or not answered within 5 s, on any message
retried instead of dead-lettered at once as malformed, on any message lost, and on a service
that stops answering afterwards.

The consumers and their bindings are read from the AsyncAPI document the apps generate
(contracts/asyncapi.yaml), the messages from the contracts: a new queue or a new message is
fuzzed without touching this file."""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import re
import time
from pathlib import Path
from typing import Any

import yaml

import contracts
from contracts.envelope import Command, Envelope, Event
from customer.app import create_app as customer_app
from notification.app import create_app as notification_app
from order_sync.app import create_app as order_sync_app
from plumbing import dead_letters
from plumbing.client import OmsClient
from plumbing.messaging import commands_exchange, events_exchange, upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import Cleanup, running
from .test_foundation import drain_dead_letters

ASYNCAPI = Path(__file__).resolve().parents[3] / "contracts" / "asyncapi.yaml"
SERVICES = ("customer", "notification", "order-sync")
#: Routing-key domains that arrive on the upstream exchange (storefronts, platforms); the
#: others are our services' events.
UPSTREAM_DOMAINS = ("order", "commerce", "platform")
ANSWER_WITHIN = 5.0


#: Payloads no contract accepts, each a known way to break a parser or a query, as JSON text
#: (Python's own json module cannot even write the deep ones).
HOSTILE_PAYLOADS: dict[str, str] = {
    "nested-5000": '{"a":[' * 5000 + '"deep"' + "]}" * 5000,
    "nested-list-20000": '{"lines":' + "[" * 20000 + "]" * 20000 + "}",
    "operators": json.dumps(
        {"$where": "sleep(10000)", "$gt": "", "customer_code": {"$ne": None}, "email": {"$regex": ".*"}}
    ),
    "wrong-types": json.dumps({"customer_code": ["x"], "version": "abc", "scope_id": {"a": 1}, "email": 12}),
    "invisible": json.dumps(
        {"first_name": "An\u200bna\u202e\u0000", "last_name": "\u2066" * 10_000, "email": "\uff41@x.example"}
    ),
    "huge-string": json.dumps({"first_name": "x" * 2_000_000}),
}


def _messages(base: type[Envelope]) -> list[type[Envelope]]:
    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"contracts.{module.name}")
    found: dict[str, type[Envelope]] = {}
    pending = [base]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "DOMAIN" in cls.__dict__:
            found[cls.routing_key()] = cls
    return [found[key] for key in sorted(found)]


def _consumers() -> list[tuple[str, str, str, set[str]]]:
    """(service, binding pattern, exchange kind, the message classes it handles) of every
    event and upstream queue; the others that reach it are acknowledged unread ("Ignore")."""
    document = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    out = []
    for operation in document["operations"].values():
        if operation["action"] != "receive":
            continue
        name = operation["channel"]["$ref"].rsplit("/", 1)[-1]
        service, _, queue = name.partition(".")
        if service not in SERVICES or queue == "commands":
            continue
        handled: set[str] = set()
        for ref in operation["messages"]:
            channel_message = document["channels"][name]["messages"][ref["$ref"].rsplit("/", 1)[-1]]
            payload = document["components"]["messages"][channel_message["$ref"].rsplit("/", 1)[-1]]["payload"]
            handled |= {r["$ref"].rsplit("/", 1)[-1] for r in payload.get("oneOf", [payload])}
        pattern = document["channels"][name]["address"]
        kind = "upstream" if pattern.split(".", 1)[0] in UPSTREAM_DOMAINS else "events"
        out.append((service, pattern, kind, handled))
    return out


def _matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` one word, ``#`` zero or more."""
    regex = re.escape(pattern).replace(r"\#", "§").replace(r"\*", "[^.]+")
    regex = regex.replace(r"\.§", r"(\..*)?").replace("§", ".*")
    return re.fullmatch(regex, routing_key) is not None


def _body(message: type[Envelope], payload: str, message_id: str, **fields: Any) -> bytes:
    head = json.dumps(
        {
            "message_id": message_id,
            "producer": "hostile",
            "message_type": message.type_name(),
            "schema_version": message.version(),
            **fields,
        }
    )
    return (head[:-1] + ', "payload": ' + payload + "}").encode()


def test_p4_the_corpus_covers_every_consumer_and_the_matcher_is_amqp_s() -> None:
    assert _matches("order-sync.#", "order-sync.order-linked.v1") and _matches("customer.#", "customer.x.v1")
    assert not _matches("order.#", "order-sync.order-linked.v1") and _matches("a.*.v1", "a.b.v1")
    consumed = {(service, pattern) for service, pattern, _, _ in _consumers()}
    assert {s for s, _ in consumed} == set(SERVICES)
    events = [e.routing_key() for e in _messages(Event)]
    for service, pattern in consumed:
        assert any(_matches(pattern, key) for key in events), (service, pattern)  # something to send it


async def test_i1_p4_every_command_answers_hostile_payloads_with_a_typed_error_in_time(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    commands = [c for c in _messages(Command) if c.DOMAIN in SERVICES]
    assert len(commands) > 40
    failures: list[str] = []
    async with running(customer_app(settings), notification_app(settings), order_sync_app(settings), cleanup=cleanup):

        async def ask(command: type[Envelope], name: str, payload: str) -> None:
            body = _body(
                command, payload, f"hostile-{name}-{command.type_name()}", actor={"kind": "system", "id": "hostile"}
            )
            started = time.monotonic()
            try:
                message = await client.broker.request(
                    body,
                    exchange=commands_exchange(settings.topology),
                    routing_key=command.routing_key(),
                    timeout=ANSWER_WITHIN,
                )
            except Exception as error:  # noqa: BLE001 - a timeout is the finding
                failures.append(f"{command.routing_key()} {name}: no answer ({type(error).__name__})")
                return
            reply = json.loads(message.body)
            took = time.monotonic() - started
            if reply.get("ok") or (reply.get("error") or {}).get("code") == "internal" or took > ANSWER_WITHIN:
                failures.append(f"{command.routing_key()} {name}: {reply.get('error') or 'ok'} in {took:.1f}s")

        for name, payload in HOSTILE_PAYLOADS.items():
            for start in range(0, len(commands), 8):
                await asyncio.gather(*(ask(c, name, payload) for c in commands[start : start + 8]))
        assert (await client.ping("customer")).ok and (await client.ping("order-sync")).ok
    assert not failures, "\n".join(failures)


async def test_p4_every_queue_dead_letters_hostile_messages_at_once_as_malformed_and_loses_none(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    events = _messages(Event)
    consumers = _consumers()
    expected: dict[tuple[str, str], int] = {}  # (service, message id) -> copies
    sent: list[tuple[str, bytes, str, str]] = []  # (kind, body, routing key, message id)
    for event in events:
        key = event.routing_key()
        kind = "upstream" if event.DOMAIN in UPSTREAM_DOMAINS else "events"
        for name, payload in HOSTILE_PAYLOADS.items():
            message_id = f"hostile-{name}-{key}"
            takers = [
                service
                for service, pattern, consumer_kind, handled in consumers
                if consumer_kind == kind and _matches(pattern, key) and event.__name__ in handled
            ]
            for service in takers:
                expected[(service, message_id)] = expected.get((service, message_id), 0) + 1
            if takers:  # (one nobody consumes is refused by the broker: unroutable)
                sent.append((kind, _body(event, payload, message_id), key, message_id))
    assert len({m for _, m in expected}) > 50
    exchanges = {"events": events_exchange(settings.topology), "upstream": upstream_exchange(settings.topology)}

    async with running(customer_app(settings), notification_app(settings), order_sync_app(settings), cleanup=cleanup):
        started = time.monotonic()
        for kind, body, key, message_id in sent:
            await client.broker.publish(
                body, exchange=exchanges[kind], routing_key=key, message_id=message_id, persist=True
            )
        letters: dict[tuple[str, str], list[Any]] = {}
        # Dead-lettered at once: a message retried instead (1 s, 5 s, 30 s...) misses this.
        deadline = started + 30
        while time.monotonic() < deadline and sum(len(v) for v in letters.values()) < sum(expected.values()):
            for service in SERVICES:
                for letter in await drain_dead_letters(client, service):
                    letters.setdefault((service, letter.message_id), []).append(letter)
            await asyncio.sleep(0.5)
        answering = [await client.ping(service, timeout=ANSWER_WITHIN) for service in SERVICES]

    assert all(reply.ok for reply in answering)
    got = {k: len(v) for k, v in letters.items()}
    missing = {k: n for k, n in expected.items() if got.get(k, 0) < n}
    assert not missing, f"lost or retried instead of dead-lettered: {sorted(missing)[:20]} (of {len(missing)})"
    reasons = {(k, letter.headers.get(dead_letters.REASON)) for k, v in letters.items() for letter in v}
    not_malformed = sorted((k, r) for k, r in reasons if r != dead_letters.MALFORMED)
    assert not not_malformed, f"dead-lettered, but not as malformed: {not_malformed[:20]}"
    for (service, message_id), kept in letters.items():
        original = next(body for _, body, _, sent_id in sent if sent_id == message_id)
        assert all(letter.body == original for letter in kept), (service, message_id)  # kept byte for byte
