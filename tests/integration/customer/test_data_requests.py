"""C18, O8 over the real servers: Shopify's mandatory ``customers/data_request`` webhook,
signed, through the adapters' HTTP app, becomes one open work item in the customer service
(ids only, whatever the number of deliveries), with one event through the outbox; completing
it records who did it, in the item and in each named customer's audit trail."""

from __future__ import annotations

import json
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.privacy import CompleteDataRequest, ListDataRequests
from contracts.customer.records import GetCustomer, GetCustomerAudit
from contracts.envelope import Actor
from customer.privacy.store import DATA_REQUESTS
from plumbing.client import OmsClient
from plumbing.unit_of_work import INBOX

from ...support import EventTap, eventually
from ..adapters.test_adapters import Stack, body_of, dead_letters, send, shopify_headers, stack  # noqa: F401 - stack is a fixture
from ..conftest import ok
from ..order_sync.test_order_sync import link_of
from .test_customer_import import omsctl

KEY = "shopify:{shop}.myshopify.com:9999"  # Shopify's sample request: shop "{shop}", id 9999
SUPERVISOR = Actor(kind="csr", id="sam.supervisor")


async def data_request_events(tap: EventTap, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        found = [e for e in await tap.drain() if "data-request" in e["routing_key"]]
        return found if len(found) >= count else None

    return await eventually(enough, timeout=15)


async def test_c18_o8_a_shopify_data_request_delivered_twice_is_one_open_item_with_ids_only_then_completed(
    client: OmsClient, stack: Stack, customer_db: AsyncDatabase, settings: Any
) -> None:
    # One of the orders the request names is Shopify order 299938, linked to a customer here.
    order = body_of("shopify", "orders-create.json", id=299938)
    status, _ = await send(stack, "shopify", order, shopify_headers(order, "orders/create"))
    assert status == 202
    code = (await link_of(client, "shopify:acme", "299938")).customer_code

    async with EventTap(client, "customer.#") as tap:
        body = body_of("shopify", "customers-data-request.json")
        for _ in range(2):  # Shopify delivers again when unsure: a new webhook id, the same body
            status, answer = await send(stack, "shopify", body, shopify_headers(body, "customers/data_request"))
            assert status == 200 and answer == {"status": "accepted", "privacy_request": "export"}

        async def both_applied() -> int | None:
            applied = await customer_db[INBOX].count_documents({"result.request_key": KEY})
            return applied if applied == 2 else None

        await eventually(both_applied, timeout=20)  # each delivery reached the customer service
        received = await data_request_events(tap, 1)
        open_requests = await ok(await client.call(ListDataRequests, {}, actor=SUPERVISOR))

        # One work item, naming our customer and Shopify's ids, nothing personal.
        assert [r.request_key for r in open_requests] == [KEY]
        item = open_requests[0]
        assert (item.platform, item.shop, item.request_id, item.state) == (
            "shopify",
            "{shop}.myshopify.com",
            "9999",
            "open",
        )
        assert item.customer_codes == [code] and item.source_customer_id == "191167"
        assert item.order_numbers == ["299938", "280263", "220458"] and item.completed_by is None
        stored = await customer_db[DATA_REQUESTS].find({}).to_list()
        assert len(stored) == 1
        kept = json.dumps(stored, default=str)
        assert "john@example.com" not in kept and "555-625-1199" not in kept
        outbox = json.dumps(
            await customer_db["outbox"].find({"routing_key": {"$regex": "data-request"}}).to_list(), default=str
        )
        assert "john@example.com" not in outbox and "555-625-1199" not in outbox

        # Completed by a supervisor: recorded in the item, the audit trail and one event.
        done = await ok(
            await client.call(
                CompleteDataRequest, {"request_key": KEY, "note": "sent to the shop, ticket 88"}, actor=SUPERVISOR
            )
        )
        again = await ok(
            await client.call(CompleteDataRequest, {"request_key": KEY}, actor=Actor(kind="csr", id="alex"))
        )
        events = await data_request_events(tap, 2)
        left_open = await ok(await client.call(ListDataRequests, {}, actor=SUPERVISOR))
        completed = await ok(await client.call(ListDataRequests, {"state": "completed"}, actor=SUPERVISOR))
        audit = await ok(await client.call(GetCustomerAudit, {"customer_code": code}, actor=SUPERVISOR))
        status, printed = await omsctl(settings, "customer", "data-requests", "--completed")
        written = await customer_db["outbox"].count_documents({"routing_key": {"$regex": "data-request"}})

    assert written == 2  # one event per fact, not per delivery or per completion click

    assert received[0]["routing_key"] == "customer.data-request-received.v1"
    assert received[0]["payload"]["customer_codes"] == [code]
    assert (done.state, done.completed_by, done.note) == ("completed", "sam.supervisor", "sent to the shop, ticket 88")
    assert (again.completed_by, again.completed_at) == (done.completed_by, done.completed_at)  # the first one stands
    assert [e["routing_key"] for e in events] == [
        "customer.data-request-received.v1",
        "customer.data-request-completed.v1",
    ]
    assert events[1]["payload"]["completed_by"] == "sam.supervisor"
    assert left_open == [] and [r.request_key for r in completed] == [KEY]
    actions = [(e.action, e.actor_id) for e in audit.items]
    assert ("shopify data request 9999 (shop {shop}.myshopify.com) received: export owed", "adapter:shopify") in actions
    assert (
        "shopify data request 9999 (shop {shop}.myshopify.com) completed: sent to the shop, ticket 88",
        "sam.supervisor",
    ) in actions
    assert status == 0 and KEY in printed and "sam.supervisor" in printed, printed


async def test_c18_completing_an_unknown_data_request_is_not_found_and_a_customer_may_not(
    client: OmsClient, stack: Stack
) -> None:
    missing = await client.call(CompleteDataRequest, {"request_key": "shopify:nowhere:1"}, actor=SUPERVISOR)
    assert not missing.ok and missing.error.code == "not_found"
    assert missing.error.fields[0].field == "payload.request_key"
    refused = await client.call(CompleteDataRequest, {"request_key": KEY}, actor=Actor(kind="customer", id="C100000"))
    assert not refused.ok and refused.error.code == "forbidden"


async def test_c18_o8_a_data_request_naming_no_order_finds_the_customer_by_shopifys_customer_id(
    client: OmsClient, stack: Stack
) -> None:
    # Shopify customer 207119551 ordered before: their id is linked to a customer here.
    order = body_of("shopify", "orders-create.json")
    status, _ = await send(stack, "shopify", order, shopify_headers(order, "orders/create"))
    assert status == 202
    code = (await link_of(client, "shopify:acme", "450789469")).customer_code
    body = body_of(
        "shopify",
        "customers-data-request.json",
        customer={"id": 207119551, "email": "bob.norman@hostmail.com"},
        orders_requested=[],
        data_request={"id": 10001},
    )
    status, _ = await send(stack, "shopify", body, shopify_headers(body, "customers/data_request"))
    assert status == 200

    async def recorded() -> Any:
        items = await ok(await client.call(ListDataRequests, {}, actor=SUPERVISOR))
        return items or None

    [item] = await eventually(recorded, timeout=20)
    assert (item.request_id, item.customer_codes, item.order_numbers) == ("10001", [code], [])


async def test_c18_o8_customers_redact_erases_the_customer_shopifys_customer_id_is_linked_to(
    client: OmsClient, stack: Stack
) -> None:
    order = body_of("shopify", "orders-create.json")
    status, _ = await send(stack, "shopify", order, shopify_headers(order, "orders/create"))
    assert status == 202
    code = (await link_of(client, "shopify:acme", "450789469")).customer_code
    body = body_of("shopify", "customers-redact.json", customer={"id": 207119551}, orders_to_redact=[])
    status, answer = await send(stack, "shopify", body, shopify_headers(body, "customers/redact"))
    assert status == 200 and answer["privacy_request"] == "erase"

    async def erased() -> Any:
        customer = await ok(await client.call(GetCustomer, {"customer_code": code}))
        return customer if customer.state == "erased" else None

    customer = await eventually(erased, timeout=20)
    assert customer.email is None and customer.first_name == "(erased)"


async def test_c18_o8_a_compliance_webhook_that_cannot_be_mapped_is_dead_lettered_without_email_or_phone(
    client: OmsClient, stack: Stack
) -> None:
    body = json.loads(body_of("shopify", "customers-redact.json"))
    body["customer"]["id"] = {"not": "an id"}
    raw = json.dumps(body).encode()
    assert b"john@example.com" in raw
    status, answer = await send(stack, "shopify", raw, shopify_headers(raw, "customers/redact"))
    assert status == 202 and answer["status"] == "dead-lettered", answer
    assert [e["field"] for e in answer["errors"]] == ["customer.id"]
    [letter] = await dead_letters(client, 1)
    assert b"john@example.com" not in letter.body and b"555-625-1199" not in letter.body
    assert json.loads(letter.body)["customer"] == {"id": {"not": "an id"}}
