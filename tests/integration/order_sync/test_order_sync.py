"""Step 6 over real RabbitMQ and MongoDB: every upstream order tied to the right customer."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import GetCustomer, ImportCustomers, UpdateCustomer
from contracts.order_sync.linking import GetOrderLink, ListRejectedOrders, ListReviews, ResolveReview
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived, PaymentRequested
from customer.app import create_app as customer_app
from order_sync import handlers, intake
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.errors import Rejected
from plumbing.messaging import upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import PROCESS_START_SECONDS, Cleanup, EventTap, eventually, running
from ..conftest import create_customer, create_scope, ok
from ..customer.test_customer_import import omsctl
from ..merge_support import CSR
from ..system.test_service_process import free_port, http_status

EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"


def order(number: str, **changes: Any) -> OrderPlaced:
    raw = json.loads((EXAMPLES / "order-placed.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"].update({"order_number": number, "source_customer_id": None, **changes})
    return OrderPlaced.model_validate(raw)


def pos_order(number: str, **changes: Any) -> OrderPlaced:
    raw = json.loads((EXAMPLES / "order-placed-guest-no-email.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"].update(order_number=number, **changes)
    return OrderPlaced.model_validate(raw)


@pytest.fixture
async def services(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> AsyncIterator[EventTap]:
    async with (
        running(customer_app(settings), order_sync_app(settings), cleanup=cleanup),
        EventTap(client, "order-sync.#") as tap,
    ):
        await create_scope(client, "eu-fr", "FR", default_language="fr")
        await create_scope(client, "de", "DE", default_language="de")
        yield tap


@pytest.fixture
async def order_db(settings: ServiceSettings) -> AsyncIterator[AsyncDatabase]:
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    yield mongo[settings.database_name("order-sync")]
    await mongo.close()


async def link_of(client: OmsClient, source: str, number: str) -> Any:
    async def linked() -> Any:
        reply = await client.call(GetOrderLink, {"source_system": source, "order_number": number})
        return reply.result if reply.ok and (reply.result.customer_code or reply.result.review_id) else None

    return await eventually(linked, timeout=15)


async def test_o2_o3_o4_orders_find_their_customer_by_link_email_or_phone_name_and_postal_code(
    client: OmsClient, services: EventTap
) -> None:
    first = order("EU-1", source_customer_id="shop-77", account_type="registered")
    await client.publish_upstream(first)
    created = await link_of(client, "storefront:eu", "EU-1")
    assert created.rule == "created"
    customer = await ok(await client.call(GetCustomer, {"customer_code": created.customer_code}))
    assert (customer.channel, customer.account_type, customer.email) == (
        "order",
        "registered",
        "Chloé.Dubois@example.fr",
    )
    assert {(a.city, a.default_billing, a.default_shipping) for a in customer.addresses} == {
        ("Paris", True, False),
        ("Chamonix-Mont-Blanc", False, True),
    }
    assert customer.phone == "+33612345678"

    await client.publish_upstream(order("EU-2", email="CHLOÉ.dubois@example.FR"))  # a returning customer
    assert (await link_of(client, "storefront:eu", "EU-2")).rule == "email"
    await client.publish_upstream(order("EU-3", email="other@example.fr", source_customer_id="shop-77"))
    assert (await link_of(client, "storefront:eu", "EU-3")).rule == "source_customer_id"

    await client.publish_upstream(pos_order("B3-1"))
    from_pos = await link_of(client, "pos:berlin-3", "B3-1")
    assert from_pos.rule == "created"
    pos_customer = await ok(await client.call(GetCustomer, {"customer_code": from_pos.customer_code}))
    assert (
        pos_customer.email is None and pos_customer.account_type == "guest" and pos_customer.phone == "+4915123456789"
    )
    await client.publish_upstream(
        pos_order(
            "B3-2",
            phone="+49 151 23456789",
            billing_address={
                "first_name": "Jürgen",
                "last_name": "GROSS",
                "line1": "Torstraße 1",
                "city": "Berlin",
                "postal_code": "10119",
                "country": "DE",
            },
            last_name="Gross",
        )
    )
    again = await link_of(client, "pos:berlin-3", "B3-2")
    assert (again.rule, again.customer_code) == ("phone_name_postal", from_pos.customer_code)
    codes = {created.customer_code, from_pos.customer_code}
    assert all(
        [(await link_of(client, "storefront:eu", n)).customer_code == created.customer_code for n in ("EU-2", "EU-3")]
    )
    assert len(codes) == 2

    linked = [e for e in await services.wait_for(5) if e["routing_key"] == "order-sync.order-linked.v1"]
    assert sorted(e["payload"]["order"]["order_number"] for e in linked) == ["B3-1", "B3-2", "EU-1", "EU-2", "EU-3"]


async def test_o2_o4_a_customer_order_sync_never_saw_is_learned_when_it_changes(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    """A customer created before order-sync was deployed (its CustomerCreated reached no
    order-sync queue) is read from the customer service when a change of it arrives (the
    change was dropped before: the projection never knew the customer); orders then link to
    it by email, instead of creating a second customer."""
    async with running(customer_app(settings), cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR", default_language="fr")
        known = await create_customer(client, email="margot.leroy@example.fr", first_name="Margot", last_name="Leroy")
    async with running(customer_app(settings), order_sync_app(settings), cleanup=cleanup):
        await ok(
            await client.call(
                UpdateCustomer,
                {
                    "customer_code": known.code,
                    "expected_version": known.version,
                    "changes": {"phone": "+33 6 98 76 54 32"},
                },
            )
        )

        async def projected() -> Any:
            return await order_db["customers"].find_one({"_id": known.code, "phone": "+33698765432"})

        await eventually(projected, timeout=15)
        await client.publish_upstream(
            order("LATE-1", email="Margot.Leroy@example.fr", first_name="Margot", last_name="Leroy")
        )
        link = await link_of(client, "storefront:eu", "LATE-1")
        assert (link.customer_code, link.rule) == (known.code, "email")


async def test_o5_ambiguous_orders_wait_for_a_csr_who_picks_or_creates(client: OmsClient, services: EventTap) -> None:
    twins = [
        await create_customer(client, email="dup@example.fr", account_type="guest", first_name=f"Twin{i}")
        for i in range(2)
    ]
    family = [
        await create_customer(
            client,
            scope_id="de",
            email=None,
            account_type="guest",
            channel="order",
            first_name=first,
            last_name="Weber",
            phone="030 1234567",
            addresses=[{"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}],
        )
        for first in ("Anna", "Paul", "Paul")
    ]
    await asyncio.sleep(1)  # let order-sync see these customers' events

    await client.publish_upstream(order("AMB-1", email="dup@example.fr (private)"))  # read with a note
    await client.publish_upstream(
        pos_order(
            "FAM-1",
            first_name="Anna",
            last_name="Weber",
            phone="030 1234567",
            billing_address={"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        )
    )
    await client.publish_upstream(
        pos_order(
            "FAM-2",
            first_name="Paul",
            last_name="Weber",
            phone="030 1234567",
            billing_address={"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        )
    )
    ambiguous = await link_of(client, "storefront:eu", "AMB-1")
    assert ambiguous.customer_code is None and ambiguous.review_id  # never guessed
    anna = await link_of(client, "pos:berlin-3", "FAM-1")
    assert (anna.customer_code, anna.rule) == (family[0].code, "phone_name_postal")  # a shared phone is no match
    pauls = await link_of(client, "pos:berlin-3", "FAM-2")
    assert pauls.customer_code is None and pauls.review_id  # two Paul Webers at that phone and address

    queue = await ok(await client.call(ListReviews, {}))
    assert {i.review_id for i in queue.items} == {ambiguous.review_id, pauls.review_id}
    item = next(i for i in queue.items if i.review_id == ambiguous.review_id)
    assert sorted(c.customer_code for c in item.candidates) == sorted(t.code for t in twins)
    assert (item.rule, item.email) == ("email", "dup@example.fr")
    assert any("(private)" in note for note in item.notes), item.notes  # what the CSR sees was read another way

    wrong = await client.call(
        ResolveReview, {"review_id": ambiguous.review_id, "action": "link", "customer_code": family[0].code}
    )
    assert wrong.error.code == "validation"
    resolved = await ok(
        await client.call(
            ResolveReview, {"review_id": ambiguous.review_id, "action": "link", "customer_code": twins[1].code}
        )
    )
    assert resolved.status == "resolved" and resolved.customer_code == twins[1].code
    assert (await link_of(client, "storefront:eu", "AMB-1")).customer_code == twins[1].code
    twice = await client.call(
        ResolveReview, {"review_id": ambiguous.review_id, "action": "link", "customer_code": twins[0].code}
    )
    assert twice.error.code == "invalid_state"

    code, out = await omsctl(client.settings, "order", "reviews", "--resolved")
    assert code == 0 and "note: email 'dup@example.fr (private)'" in out, out
    code, out = await omsctl(client.settings, "order", "reviews")  # the same queue, for a CSR at a terminal
    assert code == 0 and pauls.review_id in out and family[1].code in out and family[2].code in out, out
    code, out = await omsctl(client.settings, "order", "resolve", pauls.review_id, "--create")
    assert code == 0, out
    created = await link_of(client, "pos:berlin-3", "FAM-2")
    assert created.customer_code and created.customer_code not in {f.code for f in family} and created.rule == "review"
    assert (await ok(await client.call(ListReviews, {}))).items == []


async def test_o5_a_review_its_transaction_does_not_see_yet_is_resolved_not_refused(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    """A CSR resolves a review that a plain read found open, while the transaction's snapshot
    does not hold it yet (it does a moment later: a review opened a moment before). The
    decision waits for it and links the order; it is not refused as "resolved already"."""
    sync = order_sync_app(settings)
    async with running(customer_app(settings), sync, cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR", default_language="fr")
        twins = [
            await create_customer(client, email="settle@example.fr", account_type="guest", first_name=f"Twin{i}")
            for i in range(2)
        ]
        await asyncio.sleep(1)  # let order-sync see these customers' events
        await client.publish_upstream(order("SETTLE-1", email="settle@example.fr"))
        waiting = await link_of(client, "storefront:eu", "SETTLE-1")
        assert waiting.customer_code is None and waiting.review_id
        review = await order_db["reviews"].find_one({"_id": waiting.review_id})
        assert review is not None and review["status"] == "open"
        await order_db["reviews"].delete_one({"_id": review["_id"]})  # the snapshot's view: no review yet

        async def catch_up() -> None:
            await asyncio.sleep(0.15)
            await order_db["reviews"].insert_one(review)

        catching_up = asyncio.create_task(catch_up())
        decision = ResolveReview(
            producer="console",
            actor=CSR,
            payload={"review_id": review["_id"], "action": "link", "customer_code": twins[1].code},
        )
        runtime, customers = sync.context.get("runtime"), sync.context.get("customer-service")
        await handlers.apply_resolution(runtime, customers, decision, review)
        await catching_up

        resolved = await order_db["reviews"].find_one({"_id": review["_id"]})
        assert resolved is not None and (resolved["status"], resolved["customer_code"]) == ("resolved", twins[1].code)
        linked = await link_of(client, "storefront:eu", "SETTLE-1")
        assert (linked.customer_code, linked.rule) == (twins[1].code, "review")


async def test_o1_a_bad_order_is_listed_as_rejected_and_the_rest_flow(client: OmsClient, services: EventTap) -> None:
    bad = json.loads(order("BAD-1").model_dump_json())
    bad["message_id"] = "bad-1"
    bad["payload"]["totals"]["total"] = "lots"
    await client.broker.publish(
        json.dumps(bad).encode(),
        exchange=upstream_exchange(client.settings.topology),
        routing_key=OrderPlaced.routing_key(),
        persist=True,
    )
    await client.publish_upstream(order("GOOD-1", scope="nowhere"))  # an unknown scope is refused too
    await client.publish_upstream(order("GOOD-2"))
    assert (await link_of(client, "storefront:eu", "GOOD-2")).customer_code

    async def rejected() -> list:
        rows = await ok(await client.call(ListRejectedOrders, {}))
        return rows if len(rows) >= 2 else None

    rows = await eventually(rejected)
    by_id = {r.message_id: r for r in rows}
    assert by_id["bad-1"].fields == [{"field": "payload.totals.total", "reason": "Input should be a valid decimal"}]
    scope_row = next(r for r in rows if r.message_id != "bad-1")
    assert "nowhere" in scope_row.reason and scope_row.routing_key == "order.order-placed.v1"


async def test_o7_status_shipment_and_payment_update_the_order_and_trigger_emails(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    ref = {"source_system": "storefront:eu", "order_number": "SHIP-1", "scope": "eu-fr"}
    early = OrderShipped.model_validate(
        {
            "producer": "wms",
            "payload": {
                **ref,
                "shipment_id": "S1",
                "carrier": "Colissimo",
                "tracking_number": "6A1",
                "lines": [{"sku": "TEE", "quantity": 1}],
                "shipped_at": "2026-11-21T10:00:00Z",
            },
        }
    )
    await client.publish_upstream(early)  # before its order: parked, not lost
    await asyncio.sleep(0.5)
    await client.publish_upstream(order("SHIP-1", email="ship@example.fr", preferred_language=None))
    linked = await link_of(client, "storefront:eu", "SHIP-1")
    await client.publish_upstream(
        OrderStatusChanged.model_validate(
            {"producer": "shop", "payload": {**ref, "status": "completed", "changed_at": "2026-11-23T10:00:00Z"}}
        )
    )
    await client.publish_upstream(
        PaymentRequested.model_validate(
            {
                "producer": "shop",
                "payload": {
                    **ref,
                    "payment_id": "P1",
                    "amount": "59.70",
                    "currency": "EUR",
                    "payment_url": "https://pay.test/P1",
                    "requested_at": "2026-11-20T09:14:05Z",
                },
            }
        )
    )
    await client.publish_upstream(
        PaymentReceived.model_validate(
            {
                "producer": "psp",
                "payload": {
                    **ref,
                    "payment_id": "P1",
                    "amount": "59.70",
                    "currency": "EUR",
                    "method": "visa",
                    "paid_at": "2026-11-20T09:20:00Z",
                },
            }
        )
    )

    async def all_out() -> list | None:
        events = await services.drain()
        wanted = {
            "order-sync.customer-order-shipped.v1",
            "order-sync.order-status-updated.v1",
            "order-sync.customer-payment-requested.v1",
            "order-sync.customer-payment-received.v1",
        }
        return events if wanted <= {e["routing_key"] for e in events} else None

    events = {e["routing_key"]: e["payload"] for e in await eventually(all_out, timeout=15)}
    shipped = events["order-sync.customer-order-shipped.v1"]
    assert shipped["recipient"] == {
        "customer_code": linked.customer_code,
        "scope_id": "eu-fr",
        "email": "ship@example.fr",
        "first_name": "Chloé",
        "last_name": "Dubois",
        "preferred_language": None,
        "scope_language": "fr",
    }
    assert shipped["tracking_number"] == "6A1"
    assert events["order-sync.customer-payment-requested.v1"]["payment_url"] == "https://pay.test/P1"
    assert events["order-sync.customer-payment-received.v1"]["method"] == "visa"
    assert events["order-sync.order-status-updated.v1"]["order"]["status"] == "completed"
    stored = await order_db["orders"].find_one({"_id": "storefront:eu|SHIP-1"})
    assert stored["status"] == "completed" and len(stored["shipments"]) == 1 and len(stored["payments"]) == 2
    assert await order_db["parked_events"].count_documents({}) == 0


async def test_o7_a_shipment_and_a_payment_sent_without_their_times_still_reach_the_history_and_emails(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """A warehouse that leaves shipped_at out, a PSP that sends paid_at empty: the events are
    applied at the time they were published, not refused, and the customer gets the emails."""
    ref = {"source_system": "storefront:eu", "order_number": "SHIP-2", "scope": "eu-fr"}
    await client.publish_upstream(order("SHIP-2", email="ship2@example.fr"))
    await link_of(client, "storefront:eu", "SHIP-2")
    shipment = OrderShipped.model_validate(
        {
            "producer": "wms",
            "payload": {**ref, "shipment_id": "S9", "tracking_number": "6A9", "shipped_at": "2026-11-21T10:00:00Z"},
        }
    )
    payment = PaymentReceived.model_validate(
        {
            "producer": "psp",
            "payload": {
                **ref,
                "payment_id": "P9",
                "amount": "59.70",
                "currency": "EUR",
                "paid_at": "2026-11-20T09:20:00Z",
            },
        }
    )
    for message, field, written in ((shipment, "shipped_at", None), (payment, "paid_at", "")):
        raw = json.loads(message.model_dump_json())
        if written is None:
            del raw["payload"][field]
        else:
            raw["payload"][field] = written
        await client.broker.publish(
            json.dumps(raw).encode(),
            exchange=upstream_exchange(client.settings.topology),
            routing_key=type(message).routing_key(),
            persist=True,
        )

    async def both_out() -> list | None:
        events = await services.drain()
        wanted = {"order-sync.customer-order-shipped.v1", "order-sync.customer-payment-received.v1"}
        return events if wanted <= {e["routing_key"] for e in events} else None

    await eventually(both_out, timeout=15)
    stored = await order_db["orders"].find_one({"_id": "storefront:eu|SHIP-2"})
    assert [s["shipment_id"] for s in stored["shipments"]] == ["S9"] and len(stored["payments"]) == 1, stored
    published = datetime.fromisoformat(json.loads(shipment.model_dump_json())["occurred_at"])
    shipped_at = datetime.fromisoformat(stored["shipments"][0]["shipped_at"])  # kept as its JSON
    assert abs(shipped_at - published).total_seconds() < 0.001, stored["shipments"]


@contextlib.asynccontextmanager
async def order_sync_workers(
    settings: ServiceSettings, cleanup: Cleanup, log_path: Path, workers: int = 2
) -> AsyncIterator[None]:
    """``faststream run --workers N`` of order-sync, ready, with the customer service in
    this process; stopped with SIGTERM after."""
    cleanup.track(settings, order_sync_app(settings))
    log = log_path.open("wb")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "faststream",
        "run",
        "order_sync.app:create_app",
        "--factory",
        "--workers",
        str(workers),
        "--port",
        str(port),
        env={**os.environ, "OMS_NAMESPACE": settings.namespace},
        stdout=log,
        stderr=log,
    )
    try:
        async with running(customer_app(settings), cleanup=cleanup):
            ready = f"http://127.0.0.1:{port}/ready"
            await eventually(
                lambda: asyncio.to_thread(lambda: http_status(ready) == 200), timeout=PROCESS_START_SECONDS
            )
            yield
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        log.close()


async def all_stored(order_db: AsyncDatabase, count: int, log_path: Path) -> None:
    async def stored() -> int | None:
        n = await order_db["orders"].count_documents(
            {"$or": [{"customer_code": {"$ne": None}}, {"review_id": {"$ne": None}}]}
        )
        return n if n == count else None

    try:
        await eventually(stored, timeout=90)
    except AssertionError:
        docs = await order_db["orders"].find({}, {"customer_code": 1, "review_id": 1, "notes": 1}).to_list()
        raise AssertionError(f"{len(docs)} orders stored: {docs[:5]}; log: {log_path.read_text()[-3000:]}") from None
    await asyncio.sleep(1)  # anything late would show up now


async def test_o6_duplicates_and_two_worker_processes_give_one_customer_and_one_link_per_order(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase, tmp_path: Path
) -> None:
    """A burst with many duplicates and shared new customers, over two order-sync processes."""
    async with order_sync_workers(settings, cleanup, tmp_path / "order-sync.log"):
        await create_scope(client, "eu-fr", "FR")
        rng = random.Random(6)
        people = [{"email": f"burst{i}@example.fr", "first_name": f"P{i}", "last_name": "Burst"} for i in range(15)]
        people += [
            {
                "email": None,
                "phone": f"06 00 00 00 {i:02d}",
                "first_name": f"Q{i}",
                "last_name": "Pos",
                "billing_address": {"line1": "1 rue", "city": "Lyon", "postal_code": "69001", "country": "FR"},
            }
            for i in range(5)
        ]
        orders = [
            (person, order(f"BURST-{n}", **person)) for n, person in enumerate(p for p in people for _ in range(3))
        ]
        burst = [o for _, o in orders]
        burst += [o for o in rng.sample(burst, 30)]  # the same message again
        burst += [o.model_copy(update={"message_id": f"resend-{i}"}) for i, o in enumerate(rng.sample(burst, 20))]
        rng.shuffle(burst)
        await asyncio.gather(*(client.publish_upstream(o) for o in burst))
        await all_stored(order_db, len(orders), tmp_path / "order-sync.log")
    assert await order_db["orders"].count_documents({}) == len(orders) == 60
    customers = {}
    async for doc in order_db["orders"].find():
        person = next(p for p, o in orders if o.payload.order_number == doc["order_number"])
        customers.setdefault(person["first_name"], set()).add(doc["customer_code"])
    assert all(len(codes) == 1 for codes in customers.values()), customers
    assert len({next(iter(c)) for c in customers.values()}) == 20
    mongo = AsyncMongoClient(settings.mongodb_url)
    assert await mongo[settings.database_name("customer")]["customers"].count_documents({}) == 20
    await mongo.close()


def messy_people(rng: random.Random) -> list[dict[str, Any]]:
    """Shoppers as storefronts send them: several scripts and accents, namesakes with their
    own emails, and households of three sharing a phone, a last name and a postal code."""
    first = [
        "Chloé",
        "Zoë",
        "Jürgen",
        "Sören",
        "Åsa",
        "Łukasz",
        "Jiří",
        "María José",
        "João",
        "Niccolò",
        "Siobhán",
        "太郎",
        "花子",
        "Светлана",
        "Иван",
        "Ελένη",
        "Nguyễn Văn",
        "O'Neil",
        "Anne-Marie",
        "Ümit",
    ]
    last = [
        "Dubois",
        "Müller",
        "Groß",
        "Wiśniewski",
        "García Pérez",
        "Rossi",
        "Øvreås",
        "O'Brien",
        "Yılmaz",
        "山田",
        "Иванов",
        "Παπαδόπουλος",
        "Nguyễn",
        "Lefèvre",
        "Şahin",
    ]
    people = []
    for i in range(60):
        country, scope = ("FR", "eu-fr") if i % 2 else ("DE", "de")
        people.append(
            {
                "first_name": rng.choice(first),
                "last_name": rng.choice(last),
                "scope": scope,
                "email": f"shopper{i}@example.com",
                "phone": f"+{33 if country == 'FR' else 49} 6{i:08d}",
                "postal_code": f"{10000 + i}",
                "country": country,
                "household": None,
            }
        )
    for household in range(8):  # people 0-23: households of three, different first names
        head = people[household * 3]
        names = rng.sample(first, 3)
        for member, name in zip(people[household * 3 : household * 3 + 3], names, strict=True):
            member.update(
                first_name=name,
                last_name=head["last_name"],
                phone=head["phone"],
                scope=head["scope"],
                postal_code=head["postal_code"],
                country=head["country"],
                household=household,
            )
    for i in range(30, 40, 2):  # namesakes: same first and last name, their own email and phone
        people[i + 1].update(first_name=people[i]["first_name"], last_name=people[i]["last_name"])
    return people


def messy_order(number: int, person: dict[str, Any], rng: random.Random, *, with_email: bool) -> OrderPlaced:
    email = person["email"]
    return order(
        f"MESSY-{number}",
        scope=person["scope"],
        first_name=person["first_name"],
        last_name=person["last_name"],
        phone=person["phone"],
        account_type=rng.choice(["guest", "registered"]),
        email=rng.choice([email, email.upper(), f"  {email} "]) if with_email else None,
        billing_address={
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "line1": "1 Hauptstraße",
            "city": "Stadt",
            "postal_code": person["postal_code"],
            "country": person["country"],
        },
        shipping_address=None,
    )


async def test_o2_o6_a_messy_multilingual_stream_over_two_workers_ties_each_order_to_its_own_person(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase, tmp_path: Path
) -> None:
    """Households sharing a phone order without email, namesakes order with their own email,
    emails come in any case with stray spaces, names in several scripts, and deliveries come
    twice or again under a new id, all at once over two workers. Every order is stored once;
    no customer holds the orders of two people; each email is one customer; an order without
    email lands on its own person or waits for a CSR, never on a relative."""
    rng = random.Random(8)
    people = messy_people(rng)
    first_orders, returning = [], []  # everyone's first order; then those of returning shoppers
    for index, person in enumerate(people):
        for nth in range(rng.randint(1, 4)):
            with_email = person["household"] is None and rng.random() > 0.15
            placed = messy_order(len(first_orders) + len(returning), person, rng, with_email=with_email)
            (returning if nth else first_orders).append((index, placed))
    orders = first_orders + returning
    later = [o for _, o in returning]
    later += rng.sample([o for _, o in orders], len(orders) // 10)
    later += [o.model_copy(update={"message_id": f"again-{i}"}) for i, (_, o) in enumerate(rng.sample(orders, 12))]
    rng.shuffle(later)
    async with order_sync_workers(settings, cleanup, tmp_path / "order-sync.log"):
        await create_scope(client, "eu-fr", "FR")
        await create_scope(client, "de", "DE")
        await asyncio.gather(*(client.publish_upstream(o) for _, o in first_orders))
        await all_stored(order_db, len(first_orders), tmp_path / "order-sync.log")
        await asyncio.gather(*(client.publish_upstream(o) for o in later))
        await all_stored(order_db, len(orders), tmp_path / "order-sync.log")
        assert await ok(await client.call(ListRejectedOrders, {})) == []
    docs = {d["order_number"]: d async for d in order_db["orders"].find()}
    assert len(docs) == len(orders)
    people_of: dict[str, set[int]] = {}
    customers_of_email: dict[str, set[str]] = {}
    for index, placed in orders:
        doc = docs[placed.payload.order_number]
        if doc["customer_code"]:
            people_of.setdefault(doc["customer_code"], set()).add(index)
            if placed.payload.email:
                customers_of_email.setdefault(people[index]["email"], set()).add(doc["customer_code"])
        else:
            assert doc["review_id"] and not placed.payload.email, doc
    shared = {code: [people[i]["first_name"] for i in who] for code, who in people_of.items() if len(who) > 1}
    assert shared == {}
    assert all(len(codes) == 1 for codes in customers_of_email.values()), customers_of_email
    namesakes = [customers_of_email.get(people[i]["email"]) for i in range(30, 40)]
    assert len({next(iter(c)) for c in namesakes if c}) == sum(1 for c in namesakes if c)


async def test_o6_orders_arriving_together_are_stored_together_each_with_its_own_outcome(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    """One batch of the intake holds a known customer's order, two orders of one new customer,
    a second delivery of one of them, an order of an unknown scope and an order whose shipment
    came first: each gets its own outcome, and each order one link and one event."""
    app = order_sync_app(settings)
    async with running(customer_app(settings), app, cleanup=cleanup), EventTap(client, "order-sync.#") as tap:
        await create_scope(client, "eu-fr", "FR")
        known = await create_customer(client, email="known.together@example.fr")
        await eventually(lambda: order_db["customers"].find_one({"_id": known.code}))
        ref = {"source_system": "storefront:eu", "order_number": "TOG-5", "scope": "eu-fr"}
        await client.publish_upstream(
            OrderShipped.model_validate(
                {
                    "producer": "wms",
                    "payload": {
                        **ref,
                        "shipment_id": "S5",
                        "carrier": "DHL",
                        "tracking_number": "T5",
                        "lines": [{"sku": "TEE", "quantity": 1}],
                        "shipped_at": "2026-11-21T10:00:00Z",
                    },
                }
            )
        )
        await eventually(lambda: order_db["parked_events"].find_one({"order_key": "storefront:eu|TOG-5"}))

        new = {"email": "new.together@example.fr", "first_name": "Nouvelle", "last_name": "Cliente"}
        twin = order("TOG-2", **new)
        batch = [
            order("TOG-1", email="known.together@example.fr"),
            twin,
            order("TOG-3", **new),
            twin,
            order("TOG-4", scope="nowhere"),
            order("TOG-5", email="known.together@example.fr"),
        ]
        the_intake = app.context.get("intake")
        outcomes = await asyncio.gather(*(intake.order_placed(m, the_intake) for m in batch), return_exceptions=True)

        matching = the_intake.matching
        assert (matching.batches, matching.items) == (1, 6)  # submitted in one turn: one batch
        creating = the_intake.creating
        assert (creating.batches, creating.items) == (1, 3)  # TOG-2 twice and TOG-3: one CreateCustomers
        assert isinstance(outcomes[4], Rejected) and outcomes[4].error.fields[0].field == "payload.scope"
        assert [o for i, o in enumerate(outcomes) if i != 4] == [None] * 5
        links = {d["order_number"]: d["customer_code"] async for d in order_db["orders"].find({"placeholder": None})}
        assert links["TOG-1"] == links["TOG-5"] == known.code
        assert links["TOG-2"] == links["TOG-3"] != known.code
        assert set(links) == {"TOG-1", "TOG-2", "TOG-3", "TOG-5"}
        mongo = AsyncMongoClient(settings.mongodb_url)
        customers = mongo[settings.database_name("customer")]["customers"]
        assert await customers.count_documents({"email": "new.together@example.fr"}) == 1
        await mongo.close()

        def count(events: list[dict[str, Any]], kind: str) -> dict[str, int]:
            numbers = [e["payload"]["order"]["order_number"] for e in events if e["routing_key"] == kind]
            return {n: numbers.count(n) for n in numbers}

        events = await tap.wait_for(5)
        await asyncio.sleep(0.5)  # a second event for one order would be here by now
        events = await tap.drain()
        assert count(events, "order-sync.order-linked.v1") == {"TOG-1": 1, "TOG-2": 1, "TOG-3": 1, "TOG-5": 1}
        assert count(events, "order-sync.customer-order-shipped.v1") == {"TOG-5": 1}  # the parked one, replayed
        assert await order_db["parked_events"].count_documents({}) == 0


async def test_o3_an_order_whose_new_customer_breaks_the_contract_fails_alone(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    """The new customers of a batch go to the customer service in one CreateCustomers: one
    that the contract refuses (here a first name longer than it allows) must not take the
    other orders of its batch down with it."""
    app = order_sync_app(settings)
    async with running(customer_app(settings), app, cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR")
        arrivals = []
        for number, name in (("ALONE-1", "Valide"), ("ALONE-2", "X" * 600)):
            # Two people: their own emails, no phone or address in common.
            message = order(
                number,
                email=f"{number.lower()}@example.fr",
                first_name=f"Ana {number}",
                phone=None,
                billing_address=None,
                shipping_address=None,
            )
            arrival = intake.Arrival(message, identified=intake.identity_of(message.payload, "FR"))
            arrival.identity = dataclasses.replace(arrival.identity, first_name=name)
            arrival.decision = intake.Decision("create")
            arrivals.append(arrival)
        creating = app.context.get("intake").creating
        outcomes = await asyncio.gather(*(creating.submit(a) for a in arrivals), return_exceptions=True)
        assert creating.batches == 1
        assert isinstance(outcomes[1], Rejected) and "first_name" in outcomes[1].error.fields[0].field
        assert outcomes[0].decision.rule == "created" and outcomes[0].decision.customer_code
        stored = await order_db["orders"].find_one({"order_number": "ALONE-1"})
        assert stored["customer_code"] == outcomes[0].decision.customer_code
        assert await order_db["orders"].find_one({"order_number": "ALONE-2"}) is None


async def test_o7_a_status_change_arriving_after_a_newer_one_is_not_applied(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    ref = {"source_system": "storefront:eu", "order_number": "LATE-1", "scope": "eu-fr"}
    await client.publish_upstream(order("LATE-1", email="late@example.fr"))
    await link_of(client, "storefront:eu", "LATE-1")
    await client.publish_upstream(
        OrderStatusChanged.model_validate(
            {"producer": "shop", "payload": {**ref, "status": "completed", "changed_at": "2026-11-23T10:00:00Z"}}
        )
    )

    async def updates() -> list | None:
        found = [e for e in await services.drain() if e["routing_key"] == "order-sync.order-status-updated.v1"]
        return found or None

    assert [e["payload"]["order"]["status"] for e in await eventually(updates, timeout=15)] == ["completed"]
    await client.publish_upstream(
        OrderStatusChanged.model_validate(
            {"producer": "shop", "payload": {**ref, "status": "shipped", "changed_at": "2026-11-22T10:00:00Z"}}
        )
    )  # older, arriving late
    await client.publish_upstream(
        OrderStatusChanged.model_validate(
            {"producer": "shop", "payload": {**ref, "status": "closed", "changed_at": "2026-11-24T10:00:00Z"}}
        )
    )

    async def closed() -> list | None:
        statuses = [e["payload"]["order"]["status"] for e in await updates() or []]
        return statuses if "closed" in statuses else None

    assert await eventually(closed, timeout=15) == ["completed", "closed"]  # never "shipped"
    assert (await order_db["orders"].find_one({"_id": "storefront:eu|LATE-1"}))["status"] == "closed"


async def test_c17_o2_customers_imported_in_one_event_are_each_learned_and_orders_link_to_them(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """An import's transaction publishes its customers in one CustomersImported event: order-sync
    learns every one of them, as from a CustomerCreated each, and an order links to one."""
    rows = [
        {
            "scope_id": "eu-fr",
            "first_name": "Import",
            "last_name": f"Row{i}",
            "email": f"import.row{i}@example.fr",
            "account_type": "registered",
            "channel": "import",
            "idempotency_key": f"imp-{i}",
        }
        for i in range(250)  # one transaction, one event
    ]
    imported = await ok(await client.call(ImportCustomers, {"rows": rows}, timeout=60))
    codes = [r.code for r in imported.rows]
    assert [r.status for r in imported.rows] == ["created"] * 250

    async def all_learned() -> bool:
        return await order_db["customers"].count_documents({"_id": {"$in": codes}}) == 250

    await eventually(all_learned, timeout=20)
    await client.publish_upstream(
        order("IMP-1", email="Import.Row217@example.fr", first_name="Import", last_name="Row217")
    )
    link = await link_of(client, "storefront:eu", "IMP-1")
    assert (link.customer_code, link.rule) == (codes[217], "email")
