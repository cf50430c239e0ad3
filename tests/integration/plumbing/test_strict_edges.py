"""Security step 12 (findings 6, 7, 9, 10) over the real RabbitMQ and MongoDB: every input is
read strictly at the edges.

- a tampered paging cursor is a field error on the cursor, never an operator in a query;
- a body nested too deeply is malformed: a command answers ``validation``, an event is
  dead-lettered at once, a webhook answers 400 and is kept;
- invisible characters never reach a stored name, and a fullwidth email is the ASCII one;
- a ``javascript:`` link never reaches a shipment;
- a card number in an order is refused, set aside or left out, and no database holds it.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from pymongo import AsyncMongoClient

from contracts.customer.history import GetCustomerHistory
from contracts.customer.records import CreateCustomer, FindAccountsByEmail, GetCustomer, SearchCustomers
from contracts.order_sync.linking import ListRejectedOrders, ListReviews, OrderLinked
from contracts.upstream.orders import OrderPlaced, OrderShipped, PaymentRequested
from plumbing import dead_letters as dl
from plumbing.client import OmsClient
from plumbing.messaging import commands_exchange, dead_letter_queue, events_exchange, upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import eventually

# ``stack``: the customer and order-sync services and the adapters with their webhooks.
from ..adapters.test_adapters import Stack, body_of, send, shopify_headers, stack  # noqa: F401
from ..conftest import create_customer, ok
from ..order_sync.test_order_sync import link_of, order

PAN_SPACED = "4111 1111 1111 1111"  # Visa's test number: passes the Luhn check
PAN_DASHED = "5555-5555-5555-4444"  # Mastercard's
AMEX_SPACED = "3782 822463 10005"  # American Express's: 15 digits, as long as a phone number may be
#: How a card number could be stored: whole, spaced, dashed, or the first twelve digits with a separator.
PAN_FORMS = (
    "4111111111111111",
    PAN_SPACED,
    "4111-1111-1111-1111",
    "5555555555554444",
    PAN_DASHED,
    "5555 5555 5555 4444",
    "1111 1111 1111",
    "5555-5555-5555",
    "411111111111",
    "555555555555",
    "378282246310005",
    AMEX_SPACED,
    "822463 1",
)


def forged_cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def nested(depth: int) -> str:
    return '{"a":[' * depth + '"deep"' + "]}" * depth


def raw_body(message_type: str, payload: str, message_id: str, **fields: Any) -> bytes:
    head = json.dumps(
        {"message_id": message_id, "producer": "hostile", "message_type": message_type, "schema_version": 1, **fields}
    )
    return (head[:-1] + ', "payload": ' + payload + "}").encode()


async def dead_letters_of(client: OmsClient, service: str, count: int, *, timeout: float = 10) -> list[Any]:
    """The first ``count`` dead letters of ``service``, left in their queue."""
    queue = await client.broker.declare_queue(dead_letter_queue(client.settings.topology, service))

    async def enough() -> list[Any] | None:
        letters = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            letters.append(message)
        for message in letters:
            await message.nack(requeue=True)
        return letters if len(letters) >= count else None

    return await eventually(enough, timeout=timeout)


async def databases_holding(settings: ServiceSettings, needles: tuple[str, ...]) -> tuple[list[str], int]:
    """Every document of every collection of every database of the test's namespace that holds
    one of ``needles`` (keys and values, as text); and how many documents were read."""
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    hits, read = [], 0
    try:
        for name in await mongo.list_database_names():
            if not name.startswith(f"{settings.namespace}_"):
                continue
            for collection in await mongo[name].list_collection_names():
                async for doc in mongo[name][collection].find():
                    read += 1
                    text = json.dumps(doc, default=str, ensure_ascii=False)
                    hits += [f"{name}.{collection} {doc.get('_id')!r}: {n}" for n in needles if n in text]
    finally:
        await mongo.close()
    return hits, read


# --- finding 6: cursors --------------------------------------------------------------------------


async def test_c11_o5_c7_p4_a_tampered_cursor_is_a_field_error_on_the_cursor_never_a_query(
    client: OmsClient, stack: Stack
) -> None:
    codes = [
        (await create_customer(client, first_name=name, email=f"{name.lower()}@example.fr")).code
        for name in ("Anna", "Anne", "Annick")
    ]
    first = await ok(await client.call(SearchCustomers, {"name": "ann", "limit": 2}))
    second = await ok(await client.call(SearchCustomers, {"name": "ann", "limit": 2, "cursor": first.next_cursor}))
    assert len(first.items) == 2 and len(second.items) == 1  # a cursor we gave out still pages
    assert {i.code for i in first.items + second.items} == set(codes)

    operators = [{"$gt": ""}, {"$where": "sleep(10000) || true"}, {"$ne": None}]
    tampered = [
        (SearchCustomers, {"name": "ann"}, forged_cursor(["name", False, 0, "s.sn", op, "C1"])) for op in operators
    ]
    tampered += [
        (SearchCustomers, {"name": "ann"}, forged_cursor(["name", False, 0, "s.sn", "dubois", op])) for op in operators
    ]
    tampered += [(ListReviews, {}, forged_cursor(["2026-11-20T09:00:00+00:00", op])) for op in operators]
    tampered += [
        (
            GetCustomerHistory,
            {"customer_code": codes[0], "kind": "order"},
            forged_cursor(["2026-11-20T09:00:00+00:00", op]),
        )
        for op in operators
    ]
    tampered += [(SearchCustomers, {}, "not%a%cursor"), (SearchCustomers, {}, forged_cursor({"$where": "1"}))]
    for command, payload, cursor in tampered:
        started = time.monotonic()
        reply = await client.call(command, {**payload, "cursor": cursor})
        assert not reply.ok and reply.error.code == "validation", (command.__name__, cursor, reply)
        assert [f.field for f in reply.error.fields] == ["payload.cursor"], reply.error
        assert time.monotonic() - started < 3  # no $where ran
    assert (await client.ping("customer")).ok and (await client.ping("order-sync")).ok


# --- finding 7: nesting ---------------------------------------------------------------------------


async def test_p4_a_deeply_nested_command_answers_validation_and_an_event_is_dead_lettered_as_malformed_at_once(
    client: OmsClient, stack: Stack
) -> None:
    # 100 deep: within what Python's json would parse, beyond what the platform reads;
    # 20,000 deep: what used to raise RecursionError.
    for depth in (100, 20_000):
        body = raw_body("create-customer", nested(depth), f"deep-command-{depth}", actor={"kind": "system", "id": "t"})
        started = time.monotonic()
        message = await client.broker.request(
            body,
            exchange=commands_exchange(client.settings.topology),
            routing_key=CreateCustomer.routing_key(),
            timeout=5,
        )
        reply = json.loads(message.body)
        assert reply["ok"] is False and reply["error"]["code"] == "validation", reply
        assert reply["error"]["fields"] == [{"field": "body", "reason": "body nested deeper than 64 levels"}]
        assert time.monotonic() - started < 5

    sent = {}
    started = time.monotonic()
    for depth in (100, 20_000):
        message_id = f"deep-order-{depth}"
        sent[message_id] = raw_body("order-placed", nested(depth), message_id)
        await client.broker.publish(
            sent[message_id],
            exchange=upstream_exchange(client.settings.topology),
            routing_key=OrderPlaced.routing_key(),
            message_id=message_id,
            persist=True,
        )
    letters = await dead_letters_of(client, "order-sync", 2, timeout=10)
    assert time.monotonic() - started < 10  # at once: a retry waits 0.2 s, 0.5 s, and says "failed"
    for letter in letters:
        assert letter.headers[dl.REASON] == dl.MALFORMED and letter.headers[dl.ATTEMPTS] == 1
        assert letter.headers[dl.ERROR] == "body nested deeper than 64 levels"
        assert json.loads(letter.headers[dl.FIELD_ERRORS])[0]["field"] == "body"
        assert letter.body == sent[letter.message_id]  # kept byte for byte, for an operator
    rejected = await ok(await client.call(ListRejectedOrders, {}))
    assert {r.message_id for r in rejected} == set(sent)  # O1: listed where an operator looks

    # An event of our own services on an ordered subscription (the customer's order history, P3).
    event = raw_body("order-linked", nested(100), "deep-event")
    await client.broker.publish(
        event,
        exchange=events_exchange(client.settings.topology),
        routing_key=OrderLinked.routing_key(),
        message_id="deep-event",
        persist=True,
    )
    (letter,) = await dead_letters_of(client, "customer", 1)
    assert (letter.headers[dl.REASON], letter.headers[dl.ATTEMPTS], letter.body) == (dl.MALFORMED, 1, event)
    assert letter.headers[dl.ERROR] == "body nested deeper than 64 levels"
    assert (await client.ping("order-sync")).ok and (await client.ping("customer")).ok


async def test_o8_p4_a_deeply_nested_webhook_answers_400_and_its_payload_is_kept(
    client: OmsClient, stack: Stack
) -> None:
    bodies = [nested(100).encode(), ('{"id": 1, "line_items": ' + "[" * 50_000 + "]" * 50_000 + "}").encode()]
    for body in bodies:
        status, answer = await send(stack, "shopify", body, shopify_headers(body, "orders/create"))
        assert status == 400, (status, answer)
        assert answer["status"] == "dead-lettered" and answer["errors"][0]["field"] == "body"
    letters = await dead_letters_of(client, "adapters", 2)
    assert sorted(letter.body for letter in letters) == sorted(bodies)  # the payload, byte for byte
    assert {letter.headers[dl.REASON] for letter in letters} == {dl.MALFORMED}
    assert {letter.headers[dl.ORIGINAL_ROUTING_KEY] for letter in letters} == {"platform.shopify.orders.create"}
    good = json.dumps({**json.loads(body_of("shopify", "orders-create.json")), "id": 99001}).encode()
    status, answer = await send(stack, "shopify", good, shopify_headers(good, "orders/create"))
    assert status == 202 and answer["status"] == "accepted", answer  # the adapter still takes a good one


# --- finding 9: unicode and links -----------------------------------------------------------------


async def test_c1_c11_invisible_characters_never_reach_a_stored_name_and_search_finds_anna(
    client: OmsClient, stack: Stack
) -> None:
    view = await create_customer(
        client,
        first_name="An\u200bna\u202e",
        last_name="\u2066Schmi\u00addt\u2069\x07",
        email="anna.schmidt@example.de",
    )
    assert (view.first_name, view.last_name) == ("Anna", "Schmidt")
    for typed in ("anna", "Anna Schmidt", "An\u200bna", "schmidt an", "ＡＮＮＡ"):
        found = await ok(await client.call(SearchCustomers, {"name": typed}))
        assert [i.code for i in found.items] == [view.code], typed
    mongo = AsyncMongoClient(stack.settings.mongodb_url, tz_aware=True)
    try:
        stored = await mongo[stack.settings.database_name("customer")]["customers"].find_one({"_id": view.code})
    finally:
        await mongo.close()
    assert (stored["first_name"], stored["last_name"], stored["s"]["fl"]) == ("Anna", "Schmidt", "anna schmidt")


async def test_c2_c1_a_fullwidth_email_is_the_same_address_as_the_ascii_one(client: OmsClient, stack: Stack) -> None:
    view = await create_customer(client, email="ａdmin@ｅxample.com", account_type="registered")
    assert view.email == "admin@example.com"
    accounts = await ok(await client.call(FindAccountsByEmail, {"email": "ADMIN@example.com"}))
    assert [a.code for a in accounts.accounts] == [view.code]
    again = await client.call(
        CreateCustomer,
        {
            "scope_id": "eu-fr",
            "first_name": "Eve",
            "last_name": "Admin",
            "email": "admin@example.com",
            "account_type": "registered",
        },
    )
    assert not again.ok and again.error.code == "conflict", again  # one registered account per address
    found = await ok(await client.call(SearchCustomers, {"email": "ａｄｍｉｎ@"}))
    assert [i.code for i in found.items] == [view.code]


async def test_o7_a_javascript_tracking_or_payment_link_is_refused_with_a_field_error(
    client: OmsClient, stack: Stack
) -> None:
    await client.publish_upstream(order("JS-1", source_customer_id="shop-js"))
    code = (await link_of(client, "storefront:eu", "JS-1")).customer_code
    ref = {"source_system": "storefront:eu", "order_number": "JS-1", "scope": "eu-fr"}
    bad = {
        "js-tracking": (
            OrderShipped,
            {
                **ref,
                "shipment_id": "S1",
                "tracking_url": "javascript:alert(document.cookie)",
                "shipped_at": "2026-11-21T09:00:00Z",
            },
        ),
        "data-payment": (
            PaymentRequested,
            {
                **ref,
                "payment_id": "P1",
                "amount": "59.70",
                "currency": "EUR",
                "payment_url": "data:text/html;base64,PHNjcmlwdD4=",
                "requested_at": "2026-11-21T09:00:00Z",
            },
        ),
    }
    for message_id, (cls, payload) in bad.items():
        body = json.dumps(
            {
                "message_id": message_id,
                "producer": "storefront-eu",
                "message_type": cls.type_name(),
                "schema_version": 1,
                "payload": payload,
            }
        ).encode()
        await client.broker.publish(
            body,
            exchange=upstream_exchange(client.settings.topology),
            routing_key=cls.routing_key(),
            message_id=message_id,
            persist=True,
        )
    await client.publish_upstream(
        OrderShipped.model_validate(
            {
                "producer": "storefront-eu",
                "payload": {
                    **ref,
                    "shipment_id": "S2",
                    "tracking_url": "https://track.example/S2",
                    "shipped_at": "2026-11-21T10:00:00Z",
                },
            }
        )
    )

    async def refused() -> Any:
        rows = {r.message_id: r for r in await ok(await client.call(ListRejectedOrders, {}))}
        return rows if set(bad) <= set(rows) else None

    rows = await eventually(refused, timeout=15)
    assert [f["field"] for f in rows["js-tracking"].fields] == ["payload.tracking_url"]
    assert rows["js-tracking"].fields[0]["reason"].startswith("must be an https:// link")
    assert [f["field"] for f in rows["data-payment"].fields] == ["payload.payment_url"]

    async def shipped() -> Any:
        page = await ok(await client.call(GetCustomerHistory, {"customer_code": code, "kind": "order"}))
        shipments = page.items[0].fields.get("shipments") or [] if page.items else []
        return shipments or None

    shipments = await eventually(shipped, timeout=15)
    assert [s["tracking_url"] for s in shipments] == ["https://track.example/S2"]


# --- finding 10: card numbers -----------------------------------------------------------------------


async def test_o1_c7_o8_an_order_with_card_numbers_leaves_none_in_any_database(client: OmsClient, stack: Stack) -> None:
    accepted = json.loads(order("PAN-1", source_customer_id="shop-pan", phone=AMEX_SPACED).model_dump_json())
    accepted["message_id"] = "pan-accepted"
    payload = accepted["payload"]
    payload["note"] = f"please charge {PAN_SPACED}"  # free text in a field the contract does not know
    payload["card"] = int(PAN_SPACED.replace(" ", ""))  # ... and a number there
    payload["billing_address"]["line2"] = PAN_DASHED  # a known optional field: set aside
    payload["billing_address"]["phone"] = PAN_SPACED  # 16 digits: longer than any phone, so a card
    payload["billing_address"]["customer_note"] = f"card {PAN_DASHED}"
    refused = json.loads(order("PAN-2", source_customer_id="shop-pan-2").model_dump_json())
    refused["message_id"] = "pan-refused"
    refused["payload"]["first_name"] = PAN_SPACED  # a known field the order cannot do without: refused
    for body in (accepted, refused):
        await client.broker.publish(
            json.dumps(body).encode(),
            exchange=upstream_exchange(client.settings.topology),
            routing_key=OrderPlaced.routing_key(),
            message_id=body["message_id"],
            persist=True,
        )
    # And through a platform (O8): a Shopify order note and note attribute with card numbers.
    shopify = json.loads(body_of("shopify", "orders-create.json"))
    shopify.update(id=88001, note=f"my card is {PAN_SPACED}", note_attributes=[{"name": "card", "value": PAN_DASHED}])
    body = json.dumps(shopify).encode()
    status, answer = await send(stack, "shopify", body, shopify_headers(body, "orders/create"))
    assert status == 202 and answer["status"] == "accepted", answer

    link = await link_of(client, "storefront:eu", "PAN-1")
    notes = "\n".join(link.notes)
    assert "note (a field this contract does not know) left out: looks like a full card number" in notes
    assert "billing_address.customer_note (a field this contract does not know) left out" in notes
    assert "billing_address.line2 (str) set aside: looks like a full card number" in notes
    assert "billing_address.phone (str) set aside: looks like a full card number" in notes
    assert "phone '**** ****** *0005' ignored" in notes  # a 15-digit phone is not refused; its note is masked
    customer = await ok(await client.call(GetCustomer, {"customer_code": link.customer_code}))
    assert customer.addresses and all(
        a.line2 is None and a.phone is None for a in customer.addresses if a.default_billing
    )
    await link_of(client, "shopify:acme", "88001")

    async def rejected() -> Any:
        rows = {r.message_id: r for r in await ok(await client.call(ListRejectedOrders, {}))}
        return rows.get("pan-refused")

    row = await eventually(rejected, timeout=15)
    assert row.fields == [
        {
            "field": "payload.first_name",
            "reason": ("looks like a full card number: send a token and the last four digits only"),
        }
    ]
    assert "**** **** **** 1111" in row.body_excerpt and "PAN-2" in row.body_excerpt  # masked; the order's id kept
    (letter,) = await dead_letters_of(client, "order-sync", 1)
    assert "**** **** **** 1111" in letter.body.decode() and not any(p in letter.body.decode() for p in PAN_FORMS)

    hits, read = await databases_holding(stack.settings, PAN_FORMS)
    assert read > 10 and not hits, hits
