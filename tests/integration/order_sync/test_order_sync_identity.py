"""Step 11 over real RabbitMQ and MongoDB: identity resolution (O2-O6). Every order of one
person on one customer, found by any identifier an earlier order of theirs showed; household
members and namesakes kept apart; what cannot be told apart waits for a CSR, whose decision
teaches the index; one customer per new person however their orders arrive."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bench.huge import plan_stages
from bench.matching.score import Outcome, score
from bench.matching.simulate import simulate
from bench.matching.stream import generate
from contracts.customer.merges import MergeCustomers
from contracts.customer.privacy import EraseCustomerData
from contracts.customer.records import GetCustomer
from contracts.order_sync.linking import GetOrderLink, ListRejectedOrders, ListReviews, ResolveReview
from contracts.upstream.orders import PLACED_AT_PUBLISHED, OrderPlaced
from order_sync import store
from order_sync.domain import order_key
from order_sync.identity import identity_of
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import Cleanup, EventTap, eventually
from ..conftest import create_customer, create_scope, ok
from ..merge_support import CSR, three_services
from .test_order_sync import all_stored, link_of, order, order_db, order_sync_workers, services  # noqa: F401

HOME = {
    "first_name": "Hanna",
    "last_name": "Schäfer",
    "line1": "Lindenstraße 4",
    "city": "Köln",
    "postal_code": "50674",
    "country": "DE",
}


def german(number: str, **changes: Any) -> Any:
    """An order of the 'de' scope, billing at HOME unless told otherwise."""
    fields = {
        "scope": "de",
        "source_customer_id": None,
        "email": None,
        "first_name": "Hanna",
        "last_name": "Schäfer",
        "phone": None,
        "billing_address": HOME,
        "shipping_address": None,
        **changes,
    }
    return order(number, **fields)


async def publish_as_sent(client: OmsClient, raw: dict[str, Any]) -> None:
    """An OrderPlaced body as an integration wrote it, past the contract's own serializer."""
    await client.broker.publish(
        json.dumps(raw).encode(),
        exchange=upstream_exchange(client.settings.topology),
        routing_key=OrderPlaced.routing_key(),
        persist=True,
    )


async def linked(client: OmsClient, number: str) -> Any:
    return await link_of(client, "storefront:eu", number)


async def test_o1_a_country_written_as_a_name_an_unusable_language_and_a_time_without_zone_do_not_refuse(
    client: OmsClient, services: EventTap
) -> None:
    raw = json.loads(german("TOL-1", email="tol@example.de", phone="0221 1234567").model_dump_json())
    raw["payload"]["preferred_language"] = "??!!"  # as a careless integration sends them
    raw["payload"]["billing_address"]["country"] = "Deutschland"
    raw["payload"]["placed_at"] = "2026-12-07 10:00:00"  # read as UTC
    await publish_as_sent(client, raw)
    link = await linked(client, "TOL-1")
    assert link.customer_code and link.rule == "created"
    assert any(note.startswith("preferred_language") for note in link.notes), link.notes
    await client.publish_upstream(
        german("TOL-2", email=None, phone="+49 221 1234567", billing_address={**HOME, "country": "DEU"})
    )
    again = await linked(client, "TOL-2")
    assert (again.customer_code, again.rule) == (link.customer_code, "phone_name_postal")  # one phone, two spellings


async def test_o1_numbers_for_text_a_decimal_comma_a_currency_sign_and_a_day_first_date_do_not_refuse(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """An order as a spreadsheet-fed integration sends it: its number, customer id and phone as
    JSON numbers, '59,70', '€', '20.11.2026 09:14', its scope in capitals. Linked, its amounts
    and time as meant."""
    raw = json.loads(german("0", email="sheet@example.de", billing_address=HOME).model_dump_json())
    raw["payload"].update(
        order_number=4711, source_customer_id=991, phone=2211234568, currency="€", placed_at="20.11.2026 09:14"
    )
    raw["payload"]["scope"] = " DE "  # scope ids are lower case: no other scope
    raw["payload"]["totals"].update(subtotal="54,80", total="59,70")
    await publish_as_sent(client, raw)
    link = await linked(client, "4711")
    assert link.customer_code and link.rule == "created"
    stored = await order_db["orders"].find_one({"order_number": "4711"}, {"summary": 1})
    assert stored is not None, "the order is stored under its number as text"
    summary = stored["summary"]
    assert (summary["total"], summary["currency"]) == ("59.70", "EUR"), summary
    assert summary["placed_at"].startswith("2026-11-20T09:14"), summary


async def test_o1_o2_whole_units_a_free_shipping_a_two_digit_year_and_a_surname_in_capitals_do_not_refuse(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """'59,-' and 'free' shipping were refused, 'Rs.'-style signs read as a fraction, and
    '20.11.26 17:42' lost its date (a two-digit year was read as a time); 'WANG Wei' in one
    field was given name Wang. The order links with its amounts and time as meant, and its
    customer is Wei of the Wang family."""
    raw = json.loads(german("0", first_name="WANG Wei", last_name=None, email="wang.wei@example.de").model_dump_json())
    raw["payload"].update(order_number="CAPS-1", currency="Euro (EUR)", placed_at="20.11.26 17:42")
    raw["payload"]["billing_address"].update(first_name=None, last_name=None)
    raw["payload"]["totals"].update(subtotal="59,-", shipping="free", tax="—", discount="n/a", total="59,-")
    raw["payload"]["lines"] = [{"sku": "MUG", "name": "Mug", "quantity": 1, "unit_price": "59,-", "total": "59,-"}]
    await publish_as_sent(client, raw)
    first = await linked(client, "CAPS-1")
    assert first.rule == "created", first
    stored = await order_db["orders"].find_one({"_id": "storefront:eu|CAPS-1"}, {"summary": 1})
    assert stored is not None
    summary = stored["summary"]
    assert (Decimal(summary["total"]), summary["currency"]) == (Decimal(59), "EUR"), summary
    assert summary["placed_at"].startswith("2026-11-20T17:42"), summary
    record = await ok(await client.call(GetCustomer, {"customer_code": first.customer_code}))
    assert (record.first_name, record.last_name) == ("Wei", "WANG"), record


async def test_o1_a_spreadsheet_s_order_with_its_total_alone_and_no_lines_is_linked_with_its_sums(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """Totals as a spreadsheet export sends them: the total alone, tax and shipping null,
    the lines null. The order is linked and stored with its total; the subtotal comes from it."""
    raw = json.loads(german("SHEET-1", email="tabelle@example.de", billing_address=HOME).model_dump_json())
    raw["payload"].update(lines=None, totals={"total": "59,70", "tax": None, "shipping": None})
    await publish_as_sent(client, raw)
    link = await linked(client, "SHEET-1")
    assert link.customer_code and link.rule == "created"
    stored = await order_db["orders"].find_one({"order_number": "SHEET-1"}, {"summary": 1})
    assert stored is not None and stored["summary"]["total"] == "59.70", stored
    # Its next order: no totals, lines without their quantity. The lines add up to its total.
    raw = json.loads(german("SHEET-2", email="tabelle@example.de", billing_address=HOME).model_dump_json())
    raw["payload"].update(totals=None, lines=[{"name": "Tee", "unit_price": "19.90", "total": "39.80"}, None])
    await publish_as_sent(client, raw)
    assert (await linked(client, "SHEET-2")).customer_code == link.customer_code
    stored = await order_db["orders"].find_one({"order_number": "SHEET-2"}, {"summary": 1})
    assert stored is not None and stored["summary"]["total"] == "39.80", stored


async def test_o1_moments_as_php_ruby_and_a_german_export_write_them_or_none_do_not_refuse(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """Three orders of one customer, their times as older platforms and exports write them:
    RFC 2822 (PHP's date('r')), Ruby's Time#to_s, a German month's name; and one sent with
    none, which takes the time it was published, with a note. Each is linked, at the moment
    meant; a time in 'CST' (the US's or China's) still refuses its order, with the field named."""
    written = {
        "RB-1": ("Fri, 20 Nov 2026 09:14:00 +0100", "2026-11-20T08:14:00"),
        "RB-2": ("2026-11-21 18:30:05 +0100", "2026-11-21T17:30:05"),
        "RB-3": ("Sonntag, 22. November 2026 um 07:45", "2026-11-22T07:45:00"),
    }
    for number, (placed_at, _) in written.items():
        raw = json.loads(german(number, email="zeit@example.de", billing_address=HOME).model_dump_json())
        raw["payload"]["placed_at"] = placed_at
        await publish_as_sent(client, raw)
    raw = json.loads(german("RB-0", email="zeit@example.de", billing_address=HOME).model_dump_json())
    del raw["payload"]["placed_at"]  # none at all: the time it was published, with a note
    await publish_as_sent(client, raw)
    undated = await linked(client, "RB-0")
    assert PLACED_AT_PUBLISHED in undated.notes, undated.notes
    stored = await order_db["orders"].find_one({"order_number": "RB-0"}, {"placed_at": 1})
    published = datetime.fromisoformat(raw["occurred_at"])
    assert stored is not None and abs(stored["placed_at"] - published).total_seconds() < 0.001, (stored, published)
    codes = {(await linked(client, number)).customer_code for number in [*written, "RB-0"]}
    assert len(codes) == 1 and None not in codes, codes
    for number, (_, utc) in written.items():
        stored = await order_db["orders"].find_one({"order_number": number}, {"placed_at": 1})
        assert stored is not None and stored["placed_at"].isoformat().startswith(utc), (number, stored)
    raw = json.loads(german("RB-4", email="zeit@example.de").model_dump_json())
    raw["message_id"] = "rb-4"
    raw["payload"]["placed_at"] = "2026-11-20 09:14 CST"
    await publish_as_sent(client, raw)

    async def rejected() -> Any:
        rows = await ok(await client.call(ListRejectedOrders, {}))
        return next((r for r in rows if r.message_id == "rb-4"), None)

    row = await eventually(rejected)
    assert [f["field"] for f in row.fields] == ["payload.placed_at"], row.fields


async def test_o1_a_date_either_way_round_without_its_year_or_naming_none_does_not_refuse_its_order(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """A till's export writes '05/11/2026' (the 5th of November or the 11th of May), a form
    '20 Nov 09:14' (no year), a PHP shop MySQL's zero date for a time it never set. Each
    order is linked, at the moment nearest before its publication (or at its publication),
    with a note saying so; the undated one sent again later is the same version of it."""
    sent = {
        "DT-1": ("05/11/2026 09:14", "2026-11-05T10:00:00+00:00", "2026-11-05T09:14:00"),
        "DT-2": ("20 Nov 09:14", "2026-11-21T08:00:00+00:00", "2026-11-20T09:14:00"),
        "DT-3": ("0000-00-00 00:00:00", "2026-11-22T08:00:00+00:00", "2026-11-22T08:00:00"),
    }
    for number, (placed_at, published, _) in sent.items():
        raw = json.loads(german(number, email="datum@example.de", billing_address=HOME).model_dump_json())
        raw["occurred_at"], raw["payload"]["placed_at"] = published, placed_at
        await publish_as_sent(client, raw)
    codes = set()
    for number, (placed_at, _, meant) in sent.items():
        link = await linked(client, number)
        codes.add(link.customer_code)
        assert any(repr(placed_at) in note for note in link.notes), (number, link.notes)
        stored = await order_db["orders"].find_one({"order_number": number}, {"placed_at": 1})
        assert stored is not None and stored["placed_at"].isoformat().startswith(meant), (number, stored)
    assert len(codes) == 1 and None not in codes, codes
    raw = json.loads(german("DT-3", email="datum@example.de", billing_address=HOME).model_dump_json())
    raw["occurred_at"], raw["payload"]["placed_at"] = "2026-11-23T08:00:00+00:00", "0000-00-00 00:00:00"
    await publish_as_sent(client, raw)  # the same order, published a day later
    await client.publish_upstream(german("DT-4", email="datum@example.de"))
    await linked(client, "DT-4")  # published after it: the intake is past the resend
    stored = await order_db["orders"].find_one({"order_number": "DT-3"}, {"placed_at": 1, "content_version": 1})
    assert (
        stored is not None
        and stored["content_version"] == 0
        and stored["placed_at"].isoformat().startswith("2026-11-22T08:00:00")
    ), stored


async def test_o6_an_order_read_through_shopify_s_graphql_and_its_webhook_is_one_order(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """One Shopify order twice: an integration that read it through the GraphQL API (its
    global id, the customer's too) and the webhook's numeric ids. One order, one customer."""
    raw = json.loads(german("0", email="graph@example.de", source_customer_id="0").model_dump_json())
    raw["payload"].update(order_number="gid://shopify/Order/5500777", source_customer_id="gid://shopify/Customer/88")
    await publish_as_sent(client, raw)
    first = await linked(client, "5500777")
    assert first.customer_code and first.rule == "created"
    await client.publish_upstream(german("5500777", email="graph@example.de", source_customer_id="88"))
    await client.publish_upstream(german("5500778", source_customer_id="88"))  # the next, by the account alone
    second = await linked(client, "5500778")
    assert (second.customer_code, second.rule) == (first.customer_code, "source_customer_id")
    assert await order_db["orders"].count_documents({"order_number": {"$regex": "5500777"}}) == 1


async def test_o4_a_returning_customer_is_found_by_what_each_earlier_order_taught(
    client: OmsClient, services: EventTap
) -> None:
    await client.publish_upstream(german("LRN-1", email="hanna@old.example", phone="0221 7654321"))
    first = await linked(client, "LRN-1")
    # A new email, the same phone, names and address: the same person (score, with evidence).
    await client.publish_upstream(
        german(
            "LRN-2",
            email="Hanna.Schaefer@new.example",
            phone="+49 221 7654321",
            first_name="HANNA",
            last_name="Schaefer",
        )
    )
    second = await linked(client, "LRN-2")
    assert (second.customer_code, second.rule) == (first.customer_code, "phone_name_postal")
    assert second.score is not None and second.score > 14
    assert {e.comparison for e in second.evidence if e.weight < 0} == {"email"}  # the evidence against, kept
    # Only the new email, nothing else: found because the second order taught it.
    await client.publish_upstream(
        german("LRN-3", email="hanna.schaefer@NEW.example", billing_address=None, first_name=None, last_name=None)
    )
    third = await linked(client, "LRN-3")
    assert (third.customer_code, third.rule) == (first.customer_code, "email")
    # A Gmail address written with dots and a +tag is one mailbox.
    await client.publish_upstream(german("LRN-4", email="hannaschaefer@gmail.com", phone="0221 7654321"))
    await linked(client, "LRN-4")
    await client.publish_upstream(german("LRN-5", email="Hanna.Schaefer+sale@googlemail.com", billing_address=None))
    assert (await linked(client, "LRN-5")).customer_code == first.customer_code


async def test_o2_household_members_and_namesakes_each_keep_their_own_customer(
    client: OmsClient, services: EventTap
) -> None:
    landline = "0221 5550100"
    await client.publish_upstream(german("HH-1", first_name="Hanna", email="hanna@family.example", phone=landline))
    hanna = await linked(client, "HH-1")
    # Her husband, same landline, last name and address, no email: another person.
    await client.publish_upstream(
        german("HH-2", first_name="Jonas", phone=landline, billing_address={**HOME, "first_name": "Jonas"})
    )
    jonas = await linked(client, "HH-2")
    assert jonas.customer_code != hanna.customer_code and jonas.rule == "created"
    # Each is found again by their own first name at the shared phone.
    await client.publish_upstream(german("HH-3", first_name="Jonas", phone="+49 221 5550100"))
    await client.publish_upstream(german("HH-4", first_name="Hanna", phone="+49 221 5550100"))
    hh3 = await linked(client, "HH-3")
    assert hh3.customer_code == jonas.customer_code, (hh3, jonas, hanna)
    hh4 = await linked(client, "HH-4")
    assert hh4.customer_code == hanna.customer_code, (hh4, hanna)
    # A namesake in another city with her own email and phone: another customer too.
    await client.publish_upstream(
        german(
            "HH-5",
            email="h.schaefer@elsewhere.example",
            phone="089 1234567",
            billing_address={**HOME, "line1": "Marienplatz 1", "city": "München", "postal_code": "80331"},
        )
    )
    assert (await linked(client, "HH-5")).customer_code not in {hanna.customer_code, jonas.customer_code}


async def test_o6_a_namesake_s_first_order_does_not_follow_a_claim_to_the_customer_it_was_told_apart_from(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """Every claim of a new customer's orders carries its code once it is created, so a later
    cluster never follows one of them to a customer its matching scored and found to be
    someone else. (Only one claim per creation key was settled: a daughter named after her
    mother, with her own mailbox and phone at the family's street, followed the street claim
    to her mother's customer.)"""
    street = {**HOME, "first_name": "Patricia", "last_name": "Fitzwell", "line1": "Ahornweg 9", "postal_code": "50677"}
    mother = {"first_name": "Patricia", "last_name": "Fitzwell", "billing_address": street}
    await client.publish_upstream(german("NS-1", phone="0221 4440001", **mother))
    first = await linked(client, "NS-1")
    assert first.rule == "created"

    async def settled() -> list[dict[str, Any]] | None:
        claims = [doc async for doc in order_db["creation_claims"].find({"order_key": {"$regex": "NS-1$"}})]
        return claims if claims and all(doc.get("code") for doc in claims) else None

    claims = await eventually(settled, timeout=10)
    assert {doc["code"] for doc in claims} == {first.customer_code} and len(claims) >= 2  # phone and street
    await client.publish_upstream(german("NS-2", email="patricia.fitzwell@mother.example", **mother))
    assert (await linked(client, "NS-2")).customer_code == first.customer_code
    # The daughter: her own mailbox and landline, the family's street, the same name.
    await client.publish_upstream(german("NS-3", email="patricia84@daughter.example", phone="0221 4440999", **mother))
    daughter = await linked(client, "NS-3")
    assert daughter.customer_code != first.customer_code, daughter
    assert daughter.rule == "created"


async def test_o6_a_created_customer_settles_every_claim_of_its_creation_key(order_db: AsyncDatabase) -> None:
    """The store's half of the test above, without the timing: one call settles them all."""
    claims = order_db["creation_claims"]
    await claims.insert_many(
        [{"_id": f"de|{kind}:settle-test", "creation_key": "order-claim:settle-test", "code": None} for kind in "abc"]
    )
    try:
        await store.settle_claims(order_db, {"order-claim:settle-test": "C424242"})
        assert [d["code"] async for d in claims.find({"creation_key": "order-claim:settle-test"})] == ["C424242"] * 3
    finally:
        await claims.delete_many({"creation_key": "order-claim:settle-test"})


async def test_o4_c13_candidates_and_merges_read_by_index_not_by_scanning_every_customer(
    services: EventTap, order_db: AsyncDatabase
) -> None:
    """Each batch reads its candidates with those merged into them, and a merge moves a
    customer's source links: both once read the whole collection (a partial index the
    query did not match, no index at all), growing with every customer created."""
    reads = [
        (store.CUSTOMERS, store.with_merged({"C1", "C2"})),
        (store.CUSTOMERS, store.with_merged(["C3"])),
        (store.SOURCE_LINKS, {"customer_code": "C1"}),
        (store.SOURCE_LINKS, {"merged_from.merge_id": "M1"}),
    ]
    for collection, query in reads:
        explained = await order_db.command("explain", {"find": collection, "filter": query}, verbosity="queryPlanner")
        stages = plan_stages(explained["queryPlanner"]["winningPlan"])
        assert "COLLSCAN" not in stages and "IXSCAN" in stages, (collection, query, stages)


async def test_o5_o6_cash_sales_of_one_name_in_one_postal_code_arriving_together_make_one_customer_and_reviews(
    client: OmsClient, services: EventTap
) -> None:
    """A name and a postal code tell no namesake apart: every such sale after the first waits
    for a CSR with the first one's customer as its candidate, whether they arrive a minute
    apart or in one batch (where they used to share the new customer unasked)."""
    till = {"first_name": "Greta", "last_name": "Lindqvist", "postal_code": "50670", "city": "Köln", "country": "DE"}
    cash = {"first_name": "Greta", "last_name": "Lindqvist", "billing_address": till}
    await asyncio.gather(*(client.publish_upstream(german(f"CS-{n}", **cash)) for n in range(1, 5)))
    outcomes = [await linked(client, f"CS-{n}") for n in range(1, 5)]
    created = [o for o in outcomes if o.customer_code]
    waiting = [o for o in outcomes if o.review_id]
    assert len(created) == 1 and len(waiting) == 3, outcomes
    items = {i.review_id: i for i in (await ok(await client.call(ListReviews, {}))).items}
    for review in waiting:
        candidates = items[review.review_id].candidates
        assert created[0].customer_code in [c.customer_code for c in candidates]
        assert all(any(e.level == "postal" for e in c.evidence) for c in candidates)


async def test_o5_o6_a_cash_sale_by_an_initial_arriving_with_a_new_customer_s_first_order_waits_for_a_csr(
    client: OmsClient, services: EventTap
) -> None:
    """'P. Laneau' at the till and 'Pierre Laneau' online, at one postal code, in one burst:
    they share no identifier that makes one customer (an initial is no full name), but one
    order at a time the cash sale has his customer as its candidate and waits for a CSR. In
    one batch it used to be made a customer of its own; now it is decided after his exists."""
    till = {"first_name": "P.", "last_name": "Laneau", "postal_code": "50733", "city": "Köln", "country": "DE"}
    home = {**till, "first_name": "Pierre", "line1": "Neusser Straße 12"}
    web = [
        german(
            f"IN-{n}", first_name="Pierre", last_name="Laneau", email="pierre.laneau@web.example", billing_address=home
        )
        for n in range(1, 4)
    ]
    cash = [german(f"IN-C{n}", first_name="P.", last_name="Laneau", billing_address=till) for n in range(1, 3)]
    # Published in this order, without waiting between them: the intake takes them in one or
    # more batches as they come. (Published concurrently, a cash sale could reach an empty
    # intake first under load and, with nobody to doubt, rightly make a customer of its own:
    # a fresh-clone CI, 2026-12-05.)
    for o in [web[0], cash[0], web[1], cash[1], web[2]]:
        await client.publish_upstream(o)
    online = {(await linked(client, f"IN-{n}")).customer_code for n in range(1, 4)}
    assert len(online) == 1 and None not in online
    for n in range(1, 3):
        sale = await linked(client, f"IN-C{n}")
        assert sale.customer_code is None and sale.review_id, sale
    items = {i.review_id: i for i in (await ok(await client.call(ListReviews, {}))).items}
    sales = [await linked(client, f"IN-C{n}") for n in range(1, 3)]
    assert all(online <= {c.customer_code for c in items[s.review_id].candidates} for s in sales)


async def test_o6_a_new_customer_s_claims_tell_the_mailboxes_of_the_orders_it_was_made_for(
    order_db: AsyncDatabase,
) -> None:
    """What the matching adds to a customer's profile before the orders it was created for
    are stored (on another worker, a moment later): their mailboxes and accounts, from the
    claims its creation settled; nothing from claims not yet settled."""
    claims = order_db["creation_claims"]
    docs = [
        {"_id": "us|em:pat@one.example", "code": "C777001", "person_ids": ["em:pat@one.example"]},
        {"_id": "us|pn:+1|pat", "code": "C777001", "person_ids": ["src:pos:stores|LC-1"]},
        {"_id": "us|em:other@two.example", "code": None, "person_ids": ["em:other@two.example"]},
    ]
    await claims.insert_many([{**d, "creation_key": "k-claimed-ids"} for d in docs])
    try:
        found = await store.claimed_person_ids(order_db, ["C777001", "C777002"])
        assert found == {"C777001": {"em:pat@one.example", "src:pos:stores|LC-1"}}
    finally:
        await claims.delete_many({"creation_key": "k-claimed-ids"})


async def test_o5_an_order_that_names_no_member_waits_with_the_evidence_and_the_decision_teaches(
    client: OmsClient, services: EventTap
) -> None:
    landline = "0221 5550199"
    await client.publish_upstream(german("RV-1", first_name="Hanna", email="hanna@review.example", phone=landline))
    hanna = await linked(client, "RV-1")
    await client.publish_upstream(
        german(
            "RV-2",
            first_name="Jonas",
            email="jonas@review.example",
            phone=landline,
            billing_address={**HOME, "first_name": "Jonas"},
        )
    )
    jonas = await linked(client, "RV-2")
    assert jonas.customer_code != hanna.customer_code
    # A phone order that gives only the family name: either of them.
    no_first_name = {"first_name": None, "phone": landline, "billing_address": {**HOME, "first_name": None}}
    await client.publish_upstream(german("RV-3", **no_first_name))
    waiting = await linked(client, "RV-3")
    assert waiting.customer_code is None and waiting.review_id
    item = next(i for i in (await ok(await client.call(ListReviews, {}))).items if i.review_id == waiting.review_id)
    assert {c.customer_code for c in item.candidates} == {hanna.customer_code, jonas.customer_code}
    for candidate in item.candidates:
        assert candidate.score is not None and candidate.evidence
        assert any(e.comparison == "household" and e.weight > 0 for e in candidate.evidence)
    await ok(
        await client.call(
            ResolveReview, {"review_id": waiting.review_id, "action": "link", "customer_code": jonas.customer_code}
        )
    )
    # The same details again: the CSR's decision is remembered.
    await client.publish_upstream(german("RV-4", **no_first_name))
    taught = await linked(client, "RV-4")
    assert (taught.customer_code, taught.rule) == (jonas.customer_code, "review")


async def test_o6_a_burst_of_one_new_person_over_two_workers_makes_one_customer_with_honest_rules(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase, tmp_path: Path
) -> None:
    """Orders of one new person arriving at once, each showing other identifiers (account
    id, email spellings, phone with names), on two workers: one customer; one order says
    it created it, each other one says by which identifier it found it."""
    person = {
        "scope": "de",
        "first_name": "Hanna",
        "last_name": "Schäfer",
        "billing_address": HOME,
        "shipping_address": None,
    }
    variants = [
        {"source_customer_id": "acct-9", "email": "burst.hanna@example.de"},
        {"source_customer_id": None, "email": "Burst.Hanna@Example.de"},
        {"source_customer_id": None, "email": "burst.hanna@example.de", "phone": "0221 9998887"},
        {"source_customer_id": None, "email": None, "phone": "+49 221 9998887"},
        {"source_customer_id": "acct-9", "email": None},
    ]
    burst = [order(f"ONE-{n}", **person, **variants[n % len(variants)]) for n in range(15)]
    async with order_sync_workers(settings, cleanup, tmp_path / "order-sync.log"):
        await create_scope(client, "de", "DE")
        await asyncio.gather(*(client.publish_upstream(o) for o in burst + burst[:5]))
        await all_stored(order_db, len(burst), tmp_path / "order-sync.log")
    docs = await order_db["orders"].find({}, {"customer_code": 1, "rule": 1}).to_list()
    assert len({d["customer_code"] for d in docs}) == 1, sorted((d["customer_code"], d["rule"], d["_id"]) for d in docs)
    rules = sorted(d["rule"] for d in docs)
    assert rules.count("created") == 1, rules
    assert set(rules) - {"created"} <= {"source_customer_id", "email", "phone_name_postal", "name_address"}, rules


async def test_o6_an_order_whose_try_claimed_a_new_customer_says_created_when_another_made_it(
    client: OmsClient, services: EventTap, order_db: AsyncDatabase
) -> None:
    """The first try of an order claimed the person's identifiers and then failed before the
    customer service answered (a creation that timed out on a loaded machine); a twin order on
    another worker followed the claim and made the customer. The retried order finds it by
    its mailbox, yet is the one it was made for: it says 'created', the twin 'email'."""
    first = german("CL-1", email="claimed.first@example.de")
    identity = identity_of(first.payload, "DE")
    claim = store.scoped("de", next(k for k, rule in identity.claim_keys() if rule == "email"))
    await order_db[store.CLAIMS].insert_one(
        {
            "_id": claim,
            "creation_key": f"order-claim:{claim}",
            "order_key": order_key(first.payload.source_system, "CL-1"),
            "code": None,
            "claimed_at": datetime.now(UTC),
            "person_ids": sorted(identity.person_ids),
        }
    )
    await client.publish_upstream(german("CL-2", email="claimed.first@example.de"))
    twin = await linked(client, "CL-2")
    assert twin.customer_code and twin.rule == "email"
    await client.publish_upstream(first)
    retried = await linked(client, "CL-1")
    assert (retried.customer_code, retried.rule) == (twin.customer_code, "created")


async def test_o6_namesakes_of_one_household_bursting_over_two_workers_stay_two_customers(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase, tmp_path: Path
) -> None:
    """Fathers and their namesake sons, one street each family, each man with his own mailbox
    and mobile, all new and ordering at once on two workers: the street and the full name
    claim one customer for new orders, but two mailboxes say two people, in one batch and
    across batches, however the orders fall into them. (Each with his own mobile, so that one
    order at a time gives two customers as well: at a shared landline a different mailbox
    weighs only as a changed one, and the son's first order, decided after his father's
    customer is stored, is linked to it.)"""
    families = ("Schäfer", "Becker", "Wagner", "Hoffmann")
    burst: list[tuple[int, OrderPlaced]] = []
    for f, last_name in enumerate(families):
        street = {**HOME, "first_name": "Jonas", "last_name": last_name, "line1": f"Lindenstraße {f + 1}"}
        for n in range(16):
            man = ("senior", "junior")[n % 2]
            burst.append(
                (
                    f,
                    order(
                        f"NMS-{f}-{n}",
                        scope="de",
                        first_name="Jonas",
                        last_name=last_name,
                        email=f"jonas.{man}{f}@example.de",
                        phone=f"{('0151', '0160')[n % 2]} {f:02d}000001",
                        billing_address=street,
                        shipping_address=None,
                        source_customer_id=None,
                    ),
                )
            )
    random.Random(7).shuffle(burst)
    async with order_sync_workers(settings, cleanup, tmp_path / "order-sync.log"):
        await create_scope(client, "de", "DE")
        await asyncio.gather(*(client.publish_upstream(o) for _, o in burst))
        await all_stored(order_db, len(burst), tmp_path / "order-sync.log")
    code_of = {d["_id"]: d["customer_code"] async for d in order_db["orders"].find({}, {"customer_code": 1})}
    by_email: dict[str, set[str]] = {}
    for _, o in burst:
        by_email.setdefault(o.payload.email or "", set()).add(code_of[f"storefront:eu|{o.payload.order_number}"])
    assert all(len(codes) == 1 for codes in by_email.values()), by_email
    assert len(set().union(*by_email.values())) == 2 * len(families), by_email


async def test_c13_c18_the_index_follows_merges_and_forgets_an_erased_customer(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    async with three_services(settings, client, cleanup):
        a = await create_customer(client, email="merge.a@example.fr", first_name="Alix", last_name="Roy")
        b = await create_customer(client, email="merge.b@example.fr", first_name="Alix", last_name="Roy")
        await asyncio.sleep(1)  # order-sync learns both from their events
        await ok(
            await client.call(
                MergeCustomers,
                {
                    "survivor_code": a.code,
                    "survivor_version": a.version,
                    "merged_code": b.code,
                    "merged_version": b.version,
                    "reason": "one person",
                },
                actor=CSR,
            )
        )
        await eventually(lambda: order_db["merges"].find_one({}))  # order-sync applied it

        await client.publish_upstream(
            order("MRG-1", email="MERGE.B@example.fr", source_customer_id=None, first_name="Alix", last_name="Roy")
        )
        assert (await linked(client, "MRG-1")).customer_code == a.code  # B answers A
        await ok(await client.call(EraseCustomerData, {"customer_code": a.code, "reason": "GDPR"}, actor=CSR))

        async def erased() -> bool | None:
            reply = await client.call(GetOrderLink, {"source_system": "storefront:eu", "order_number": "MRG-1"})
            return True if reply.ok else None

        await eventually(erased)
        await client.publish_upstream(
            order("MRG-2", email="merge.a@example.fr", source_customer_id=None, first_name="Alix", last_name="Roy")
        )
        fresh = await linked(client, "MRG-2")
        assert fresh.customer_code not in (a.code, b.code) and fresh.rule == "created"


async def test_c18_an_erased_customer_s_resolved_review_keeps_nothing_the_order_said(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    """A review a CSR resolved to a customer who is then erased: its copy of what the order
    said (email, phone, names, addresses, and the notes that quote them) is gone."""
    async with three_services(settings, client, cleanup):
        twins = [
            await create_customer(client, email="shared.box@example.fr", account_type="guest", first_name=f"Twin{i}")
            for i in range(2)
        ]
        await asyncio.sleep(1)  # order-sync learns both from their events
        await client.publish_upstream(order("ERV-1", email="shared.box@example.fr (home)", source_customer_id=None))
        waiting = await linked(client, "ERV-1")
        assert waiting.review_id and any("(home)" in note for note in waiting.notes), waiting
        await ok(
            await client.call(
                ResolveReview,
                {"review_id": waiting.review_id, "action": "link", "customer_code": twins[0].code},
                actor=CSR,
            )
        )
        await ok(await client.call(EraseCustomerData, {"customer_code": twins[0].code, "reason": "GDPR"}, actor=CSR))

        async def erased() -> Any:
            return await order_db["reviews"].find_one({"_id": waiting.review_id, "erased": True})

        review = await eventually(erased)
        assert review["notes"] == [] and review["email"] is None and review["order"]["email"] is None, review


async def settled(order_db: AsyncDatabase, quiet: float = 2.0) -> None:
    """Until the orders' links stop changing for ``quiet`` seconds: merges of duplicate
    records (C13) come back to order-sync as events, after the orders are stored."""
    last, since = None, asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - since < quiet:
        now = sorted(
            [(d["_id"], d.get("customer_code")) async for d in order_db["orders"].find({}, {"customer_code": 1})]
        )
        if now != last:
            last, since = now, asyncio.get_running_loop().time()
        await asyncio.sleep(0.3)


FIGURES = (
    "precision_within_scope",
    "recall_within_scope",
    "undecidable_in_review_share",
    "unnecessary_review_share",
    "false_merges",
    "reviews",
)


async def test_o2_o6_a_generated_messy_stream_over_two_workers_matches_as_one_order_at_a_time_would(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, order_db: AsyncDatabase, tmp_path: Path
) -> None:
    """A generated stream (bench.matching.stream: households, namesakes, email changes, Gmail
    variants, national phone formats, transliterations, swapped names, postal variants, POS
    sales, marketplace aliases, re-deliveries, bursts) published at once to two workers.
    Every order is stored once, and the services match as well as the same rules applied one
    order at a time (bench.matching.simulate): concurrency, batches and re-deliveries cost no
    precision and no recall. Below the floors of bench/REPORT.md's stream, it fails."""
    stream = generate(1500, seed=3)
    alone = score(stream, *simulate(stream))
    async with order_sync_workers(settings, cleanup, tmp_path / "order-sync.log"):
        for scope_id, country, language in stream.scopes:
            await create_scope(client, scope_id, country, default_language=language)
        for start in range(0, len(stream.deliveries), 100):
            await asyncio.gather(*(client.publish_upstream(d.message) for d in stream.deliveries[start : start + 100]))

        async def stored() -> int | None:
            n = await order_db["orders"].count_documents({"placeholder": {"$ne": True}})
            return n if n == len(stream.truth) else None

        await eventually(stored, timeout=120)
        await settled(order_db)
    outcome = {
        d["_id"]: Outcome(d.get("customer_code"), d.get("review_id"))
        async for d in order_db["orders"].find({}, {"customer_code": 1, "review_id": 1})
    }
    reviews = {d["_id"]: d["candidates"] async for d in order_db["reviews"].find({}, {"candidates": 1})}
    figures = score(stream, outcome, reviews)
    assert figures["missing"] == 0 and len(outcome) == len(stream.truth), figures
    print("two workers:", {k: figures[k] for k in FIGURES}, "\none at a time:", {k: alone[k] for k in FIGURES})
    # Two workers interleave differently on each run: which of two namesakes orders first
    # moves a false merge's size, so precision is held to 0.002 of the reference (one merge
    # of a few orders on a 1,500-order stream) and the count of false merges to one more.
    assert figures["precision_within_scope"] >= alone["precision_within_scope"] - 0.002, (figures, alone)
    assert figures["false_merges"] <= alone["false_merges"] + 1, (figures, alone)
    assert figures["recall_within_scope"] >= alone["recall_within_scope"] - 0.015, (figures, alone)
    # Looser: in a burst, an order that cannot tell people apart may arrive before anyone it
    # fits has a customer, and then has no candidate to doubt (0.63-0.74 against 0.79 here).
    assert figures["undecidable_in_review_share"] >= alone["undecidable_in_review_share"] - 0.25, (figures, alone)


NEW_YORK = {
    "first_name": "Elizabeth",
    "last_name": "Crawford",
    "line1": "5198 Main Street",
    "city": "New York",
    "postal_code": "10042",
    "country": "US",
}


def american(number: str, **changes: Any) -> Any:
    """An order of the 'us' scope, no address unless told otherwise (a till's sale)."""
    fields = {
        "scope": "us",
        "source_customer_id": None,
        "email": None,
        "phone": None,
        "first_name": "Elizabeth",
        "last_name": "Crawford",
        "billing_address": None,
        "shipping_address": None,
        "currency": "USD",
        **changes,
    }
    return order(number, **fields)


async def test_o2_a_form_of_address_a_diminutive_a_spaced_email_and_a_us_number_of_one_customer_all_link(
    client: OmsClient, services: EventTap
) -> None:
    """An independent stream's splits, each on the real services: the till's initial at a US
    number only this customer has shown; 'Liz' for Elizabeth there; 'Dr. Elizabeth'; an email
    typed with a space inside (read without it, with a note). A second person at the number
    (her husband) makes an initial there a CSR's again."""
    await create_scope(client, "us", "US", default_language="en")
    await client.publish_upstream(
        american("US-1", email="liz.crawford@example.com", phone="(212) 708-6658", billing_address=NEW_YORK)
    )
    first = await linked(client, "US-1")
    await client.publish_upstream(american("US-2", first_name="E.", phone="212-708-6658"))
    initial = await linked(client, "US-2")
    assert (initial.customer_code, initial.rule) == (first.customer_code, "phone_name_postal")
    assert any(e.comparison == "phone_owner" for e in initial.evidence)
    await client.publish_upstream(american("US-3", first_name="Liz", phone="+1 212 708 6658"))
    await client.publish_upstream(american("US-4", first_name="Dr. Elizabeth", email="liz. crawford@example.com"))
    for number in ("US-3", "US-4"):
        assert (await linked(client, number)).customer_code == first.customer_code, number
    spaced = await linked(client, "US-4")
    assert spaced.rule == "email" and any("spaces removed" in note for note in spaced.notes)
    # Her husband at the same number: a household's line now, and an initial fits either.
    await client.publish_upstream(
        american("US-5", first_name="Edward", email="ed.crawford@example.com", phone="(212) 708-6658")
    )
    husband = await linked(client, "US-5")
    assert husband.customer_code != first.customer_code
    await client.publish_upstream(american("US-6", first_name="E.", phone="(212) 708-6658"))
    waiting = await link_of(client, "storefront:eu", "US-6")
    assert waiting.customer_code is None and waiting.review_id is not None


async def test_o2_an_initial_at_her_own_us_number_links_after_her_record_learned_the_family_s_line(
    client: OmsClient, services: EventTap
) -> None:
    """An independent stream's needless reviews on the real services: Michelle's record shows
    her own number and, from a web order, the family's line. Her till sales as 'M.' at her own
    number, which nobody else has shown, waited for a CSR each time; they link now. 'Michelle
    Ann' at the family's line (a daughter named after her mother?) still waits."""
    await create_scope(client, "us", "US", default_language="en")
    michelle = {"first_name": "Michelle", "last_name": "Holowfield"}
    await client.publish_upstream(
        american("MH-1", **michelle, email="mh1973@example.com", phone="(512) 400-2134", billing_address=NEW_YORK)
    )
    first = await linked(client, "MH-1")
    await client.publish_upstream(
        american("MH-2", **michelle, email="mh1973@example.com", phone="(929) 802-8403", billing_address=NEW_YORK)
    )
    assert (await linked(client, "MH-2")).customer_code == first.customer_code
    await client.publish_upstream(american("MH-3", first_name="M", last_name="Holowfield", phone="512-400-2134"))
    initial = await linked(client, "MH-3")
    assert (initial.customer_code, initial.rule) == (first.customer_code, "phone_name_postal")
    assert any(e.comparison == "phone_owner" for e in initial.evidence)
    await client.publish_upstream(
        american("MH-4", first_name="Michelle Ann", last_name="Holowfield", phone="929-802-8403")
    )
    waiting = await linked(client, "MH-4")
    assert waiting.customer_code is None and waiting.review_id is not None


async def test_o2_a_british_postcode_after_the_country_s_code_is_the_same_postcode(
    client: OmsClient, services: EventTap
) -> None:
    """'GB-SW1A 1AA', as a European address form writes it, is the postcode SW1A 1AA: the till's
    sale under her name at her street finds the customer her web order made."""
    await create_scope(client, "uk", "GB", default_language="en")
    home = {"line1": "12 Park Lane", "city": "London", "postal_code": "SW1A 1AA", "country": "GB"}
    fields = {"scope": "uk", "source_customer_id": None, "phone": None, "shipping_address": None, "currency": "GBP"}
    emma = {**fields, "first_name": "Emma", "last_name": "Radridge"}
    await client.publish_upstream(order("GB-1", **emma, email="emma.radridge@example.co.uk", billing_address=home))
    first = await linked(client, "GB-1")
    await client.publish_upstream(
        order("GB-2", **emma, email=None, billing_address={**home, "postal_code": "GB-SW1A 1AA"})
    )
    till = await linked(client, "GB-2")
    assert (till.customer_code, till.rule) == (first.customer_code, "name_address")


async def test_o1_o2_a_word_beside_her_number_a_label_before_her_mailbox_and_a_country_beside_its_code_find_her(
    client: OmsClient, services: EventTap
) -> None:
    """'0171 5550123 (mobil)' was dialled as +49171555012366245 (phonenumbers reads a word of
    three letters or more as a vanity number's letters): the till's sale by her mobile made a
    second customer. 'E-Mail: ...' lost the mailbox and 'Germany (DE)' the country: her order
    from a new address did too."""
    greta = {"first_name": "Greta", "last_name": "Lindqvist"}
    await client.publish_upstream(german("LBL-1", **greta, email="greta.lindqvist@example.de", phone="+49 171 5550123"))
    first = await linked(client, "LBL-1")
    assert first.rule == "created"

    await client.publish_upstream(german("LBL-2", **greta, phone="0171 5550123 (mobil)", billing_address=None))
    till = await linked(client, "LBL-2")
    assert till.customer_code == first.customer_code and till.rule not in ("created", None), till

    moved = {**HOME, **greta, "line1": "Ringstraße 9", "postal_code": "80331", "city": "München"}
    await client.publish_upstream(
        german(
            "LBL-3",
            **greta,
            email="E-Mail: greta.lindqvist@example.de",
            billing_address={**moved, "country": "Germany (DE)"},
        )
    )
    web = await linked(client, "LBL-3")
    assert (web.customer_code, web.rule) == (first.customer_code, "email"), web
    assert any("the label before it removed" in note for note in web.notes), web.notes
    assert not any("country" in note for note in web.notes), web.notes


async def test_o1_o2_an_email_with_a_display_name_two_numbers_in_a_box_and_a_town_in_the_postal_code_link(
    client: OmsClient, services: EventTap
) -> None:
    """Fields as real exports write them: 'Ann Lee <ann.lee@example.com>' (the mailbox read,
    with a note), a phone box with two numbers (the first is hers), a state before the ZIP
    and a spelled ordinal street ('350 Fifth Avenue' and '350 5th Ave, Fl 2'), a comma for a
    dot and a comment beside the mailbox. Each finds her customer instead of losing the
    identifier."""
    await create_scope(client, "us", "US", default_language="en")
    home = {"line1": "350 Fifth Avenue", "city": "New York", "postal_code": "10118", "country": "US"}
    ann = {"first_name": "Ann", "last_name": "Lee"}
    await client.publish_upstream(
        american("EX-1", **ann, email="ann.lee@example.com", phone="(212) 736-3100", billing_address=home)
    )
    first = await linked(client, "EX-1")
    await client.publish_upstream(american("EX-2", **ann, email="Ann Lee <ann.lee@example.com>"))
    named = await linked(client, "EX-2")
    assert (named.customer_code, named.rule) == (first.customer_code, "email")
    assert any("the name beside it left out" in note for note in named.notes), named.notes
    till = {**home, "line1": "350 5th Ave, Fl 2", "postal_code": "NY 10118"}
    await client.publish_upstream(
        american("EX-3", **ann, phone="(212) 736-3100 / (917) 555-0188", billing_address=till)
    )
    boxed = await linked(client, "EX-3")
    assert (boxed.customer_code, boxed.rule) == (first.customer_code, "phone_name_postal")
    assert any(e.comparison == "household" and e.level == "phone_and_address" for e in boxed.evidence)
    # Her mailbox with a slip ('ann.le@'), on a sale that shows nothing else but her name:
    # found by the whole name, linked by the slip.
    await client.publish_upstream(american("EX-4", **ann, email="ann.le@example.com"))
    slip = await linked(client, "EX-4")
    assert (slip.customer_code, slip.rule) == (first.customer_code, "email")
    assert any(e.comparison == "email" and e.level == "typo" for e in slip.evidence)
    # Her mailbox with a comment beside it and a comma for a dot, as a form's free text holds it.
    await client.publish_upstream(american("EX-5", **ann, email="ann.lee@example,com (home)"))
    comma = await linked(client, "EX-5")
    assert (comma.customer_code, comma.rule) == (first.customer_code, "email")
    assert any("a comma typed for a dot" in note for note in comma.notes), comma.notes


async def test_o2_a_mistyped_provider_a_till_sale_without_a_given_name_and_a_placeholder_number_link_right(
    client: OmsClient, services: EventTap
) -> None:
    """More of an independent stream's splits, on the real services: a till sale recorded
    'Crawford' at a US number nobody else has shown is named by the next order there; an
    email at the provider's domain mistyped ('iclod.com') is hers; a till's placeholder number
    (no plan assigns it) is set aside with a note and ties no stranger to her; a '+tag' of
    her work mailbox is hers."""
    await create_scope(client, "us", "US", default_language="en")
    await client.publish_upstream(american("TS-1", first_name=None, phone="(303) 555-0142"))
    sale = await linked(client, "TS-1")
    await client.publish_upstream(
        american("TS-2", email="ecrawford77@icloud.com", phone="303-555-0142", billing_address=NEW_YORK)
    )
    named = await linked(client, "TS-2")
    assert named.customer_code == sale.customer_code
    assert any(e.level == "first_given" for e in named.evidence)
    await client.publish_upstream(american("TS-3", email="ecrawford77@iclod.com", billing_address=NEW_YORK))
    mistyped = await linked(client, "TS-3")
    assert mistyped.customer_code == sale.customer_code
    assert any(e.comparison == "email" and e.level == "provider_typo" for e in mistyped.evidence)
    # Her mailbox at the domain cut short, and nothing else: found under the mailbox meant.
    await client.publish_upstream(american("TS-3B", email="ecrawford77@icloud.co", billing_address=None))
    assert (await linked(client, "TS-3B")).customer_code == sale.customer_code
    # Her work mailbox, then the same with a '+tag' (a domain whose rules are not known here):
    # found under the mailbox it tags, and agreeing as 'tagged'.
    await client.publish_upstream(american("TS-3C", email="e.crawford@crawford-design.example", phone="303-555-0142"))
    assert (await linked(client, "TS-3C")).customer_code == sale.customer_code
    await client.publish_upstream(
        american("TS-3D", email="e.crawford+orders@crawford-design.example", billing_address=None)
    )
    tagged = await linked(client, "TS-3D")
    assert tagged.customer_code == sale.customer_code
    assert any(e.comparison == "email" and e.level == "tagged" for e in tagged.evidence)
    # Two strangers at the till's placeholder: two customers, neither hers.
    await client.publish_upstream(american("TS-4", first_name="Jim", last_name="Pemworth", phone="0000000000"))
    await client.publish_upstream(american("TS-5", first_name="Ann", last_name="Radby", phone="000-000-0000"))
    jim, ann = await linked(client, "TS-4"), await linked(client, "TS-5")
    assert len({jim.customer_code, ann.customer_code, sale.customer_code}) == 3
    assert any("placeholder" in note for note in jim.notes)


async def test_o2_a_flat_or_floor_written_on_the_street_line_still_finds_the_customer_s_street(
    client: OmsClient, services: EventTap
) -> None:
    """An independent stream's split: a phone order without email, at his street with the
    floor on the same line ('Dorfstr. 121, 8. OG links'), was read as another street (the
    floor's word was taken for the street's) and made a customer of its own."""
    home = {
        **HOME,
        "first_name": "Thomas",
        "last_name": "Zimmermann",
        "line1": "Dorfstraße 121",
        "postal_code": "40215",
    }
    await client.publish_upstream(
        german("FL-1", first_name="Thomas", last_name="Zimmermann", email="thomas1993@example.de", billing_address=home)
    )
    first = await linked(client, "FL-1")
    await client.publish_upstream(
        german(
            "FL-2",
            first_name="Thomas",
            last_name="Zimmermann",
            email=None,
            phone="004917678125486",
            billing_address={**home, "line1": "Dorfstr. 121, 8. OG links"},
        )
    )
    second = await linked(client, "FL-2")
    assert (second.customer_code, second.rule) == (first.customer_code, "name_address")
    assert any(e.detail == "121 dorf, 40215" for e in second.evidence)


async def test_o3_another_given_name_at_a_family_s_mailbox_is_its_own_customer_and_arabic_script_is_no_other_person(
    client: OmsClient, services: EventTap
) -> None:
    """Independent streams' false merges and reviews, on the real services: an order at a
    family's shared mailbox ('schaefer.home@': the surname, no one's given name) under another
    given name than the holder's joined the holder's customer, then waited for a CSR with
    the holder; the mailbox says the household, not the person, and the name says another
    one: a customer of her own, also from a line of her own. A customer whose first order gave the name in Arabic
    script (anyascii reads يوسف حسن 'ywsf hsn') is not 'someone else' to an order in Latin
    letters at the same mailbox (Youssef Hasan): it links, and no name says otherwise. A till
    sale under a name in Arabic script, no mailbox, at the mobile of a customer known only by
    a Latin spelling of it (يوسف منصور, Youssef Mansour): its consonants are his, so it is
    his (it waited for a CSR before)."""
    await client.publish_upstream(
        german("FM-1", first_name="Klaus", last_name="Schäfer", email="schaefer.home@example.de", phone="0221 1112223")
    )
    holder = await linked(client, "FM-1")
    other = {"first_name": "Andrea", "last_name": "Sonninger", "email": "schaefer.home@example.de"}
    await client.publish_upstream(
        german("FM-2", **other, billing_address={**HOME, "first_name": "Andrea", "last_name": "Sonninger"})
    )
    andrea = await linked(client, "FM-2")
    assert andrea.customer_code not in (None, holder.customer_code) and andrea.rule == "created", (
        holder.customer_code,
        holder.rule,
        andrea.customer_code,
        andrea.rule,
    )
    # The family's surname at its mailbox and street, another given name and a line of their
    # own: not the holder either.
    own_line = {"first_name": "Lena", "email": "schaefer.home@example.de", "phone": "0221 9998887"}
    await client.publish_upstream(german("FM-3", **own_line, billing_address={**HOME, "first_name": "Lena"}))
    member = await linked(client, "FM-3")
    assert member.customer_code not in (None, holder.customer_code, andrea.customer_code), member

    arabic = {"first_name": "يوسف", "last_name": "حسن", "email": "youssef.hasan@example.de"}
    await client.publish_upstream(
        german("AR-1", **arabic, billing_address={**HOME, "first_name": "يوسف", "last_name": "حسن"})
    )
    first = await linked(client, "AR-1")
    latin = {"first_name": "Youssef", "last_name": "Hasan", "email": "youssef.hasan@example.de"}
    await client.publish_upstream(
        german("AR-2", **latin, billing_address={**HOME, "first_name": "Youssef", "last_name": "Hasan"})
    )
    second = await linked(client, "AR-2")
    assert (second.customer_code, second.rule) == (first.customer_code, "email")
    assert not any(e.level == "different" for e in second.evidence)

    web = {"first_name": "Youssef", "last_name": "Mansour", "email": "y.mansour@example.de", "phone": "0151 23456789"}
    await client.publish_upstream(german("AR-3", **web, billing_address=None))
    known = await linked(client, "AR-3")
    till = {"first_name": "يوسف", "last_name": "منصور", "phone": "+49 151 23456789"}
    await client.publish_upstream(german("AR-4", **till, billing_address=None))
    sale = await linked(client, "AR-4")
    assert sale.customer_code == known.customer_code is not None, sale
    assert {(e.comparison, e.level) for e in sale.evidence} >= {("first_name", "close"), ("last_name", "close")}


async def made_a_customer_by_a_csr(client: OmsClient, number: str, candidate: str | None) -> Any:
    """The order waits for a CSR with ``candidate`` as its only candidate, and the CSR makes a
    customer of it: its link then."""
    waiting = await linked(client, number)
    assert waiting.customer_code is None and waiting.review_id, waiting
    item = next(i for i in (await ok(await client.call(ListReviews, {}))).items if i.review_id == waiting.review_id)
    assert [c.customer_code for c in item.candidates] == [candidate]
    await ok(await client.call(ResolveReview, {"review_id": waiting.review_id, "action": "create"}, actor=CSR))
    return await linked(client, number)


async def test_o5_a_family_s_loyalty_card_under_another_given_name_waits_and_a_cashier_s_slip_links(
    client: OmsClient, services: EventTap
) -> None:
    """Independent streams' false merges on the real services: a family shares one loyalty
    card, and the till shows the shopper's own name. Karen's sale on William's card joined his
    customer by the card alone; it now waits for a CSR with him as candidate. William's own
    sales on it link, whether the cashier typed a nickname or slipped a key ('Wiliam'), and so
    does a sale typed with the surname only."""
    till = {"store_id": "koeln-1", "billing_address": None, "source_customer_id": "LC-4711"}
    await client.publish_upstream(
        german("CARD-1", first_name="William", last_name="Thornman", email="wt@example.de", **till)
    )
    holder = await linked(client, "CARD-1")
    assert holder.customer_code and holder.rule == "created"
    for number, first in (("CARD-2", "Wiliam"), ("CARD-3", "Bill"), ("CARD-4", None)):
        await client.publish_upstream(german(number, first_name=first, last_name="Thornman", **till))
        his = await linked(client, number)
        assert (his.customer_code, his.rule) == (holder.customer_code, "source_customer_id"), number
    await client.publish_upstream(german("CARD-5", first_name="Karen", last_name="Thornman", **till))
    # The CSR makes Karen a customer of her own; the card stays William's.
    karen = await made_a_customer_by_a_csr(client, "CARD-5", holder.customer_code)
    assert karen.customer_code not in (None, holder.customer_code) and karen.rule == "review"
    await client.publish_upstream(german("CARD-6", first_name="William", last_name="Thornman", **till))
    assert (await linked(client, "CARD-6")).customer_code == holder.customer_code
    # The CSR's decision taught the index: Karen's next sale on the card is hers.
    await client.publish_upstream(german("CARD-7", first_name="Karen", last_name="Thornman", **till))
    assert (await linked(client, "CARD-7")).customer_code == karen.customer_code


async def test_o5_a_namesake_on_the_family_s_card_from_his_own_mobile_waits_then_has_his_own_customer(
    client: OmsClient, services: EventTap
) -> None:
    """Father and son of one name share a loyalty card; the father's sales show his mobile.
    The son's sale on the card from his own mobile joined the father's customer by the card
    (an independent stream's false merges); it now waits for a CSR with the father as
    candidate. Once the CSR made him a customer, his sales on the card from his mobile are
    his, and the father's from the father's are the father's; one from the mobile of a third
    member, known by another name, waits for a CSR."""
    till = {"store_id": "koeln-1", "billing_address": None, "source_customer_id": "LC-0815"}
    name = {"first_name": "Michel", "last_name": "Galenière"}
    await client.publish_upstream(german("FS-1", **name, phone="0151 42150176", **till))
    father = await linked(client, "FS-1")
    assert father.customer_code and father.rule == "created"
    await client.publish_upstream(german("FS-2", **name, phone="01525 3054744", **till))
    son = await made_a_customer_by_a_csr(client, "FS-2", father.customer_code)
    assert son.customer_code not in (None, father.customer_code)
    await client.publish_upstream(german("FS-3", **name, phone="+49 1525 3054744", **till))
    await client.publish_upstream(german("FS-4", **name, phone="+49 151 42150176", **till))
    assert (await linked(client, "FS-3")).customer_code == son.customer_code
    assert (await linked(client, "FS-4")).customer_code == father.customer_code
    # A sale under Michel's name from the mobile of Julien, a member known by his own name:
    # the till wrote the card's name for whoever held it, and the phone says Julien did. It
    # joined the son's customer (a sharer of the card and the name); a CSR decides now.
    await client.publish_upstream(
        german("FS-5", first_name="Julien", last_name="Galenière", phone="0176 55443322", billing_address=None)
    )
    julien = await linked(client, "FS-5")
    await client.publish_upstream(german("FS-6", **name, phone="0176 55443322", **till))
    held = await linked(client, "FS-6")
    assert held.customer_code is None and held.review_id, held
    item = next(i for i in (await ok(await client.call(ListReviews, {}))).items if i.review_id == held.review_id)
    assert julien.customer_code in {c.customer_code for c in item.candidates}


async def test_o5_a_sale_on_the_family_s_card_with_another_member_s_mailbox_waits_with_both_customers(
    client: OmsClient, services: EventTap
) -> None:
    """The till prints the card holder's name whoever holds the card; Victoria typed her own
    mailbox for the receipt on Emily's card. It joined Emily's customer by the card (an
    independent stream's false merges at 100,000 orders); the card and the mailbox point at
    two people now, and a CSR sees both. Emily's own sale on the card still links."""
    till = {"store_id": "koeln-1", "billing_address": None, "source_customer_id": "LC-0042"}
    await client.publish_upstream(
        german("VC-1", first_name="Emily", last_name="Chadson", email="sunnystar@example.de", **till)
    )
    emily = await linked(client, "VC-1")
    await client.publish_upstream(
        german("VC-2", first_name="Victoria", last_name="Chadson", email="victoria.chadson@example.de")
    )
    victoria = await linked(client, "VC-2")
    assert victoria.customer_code not in (None, emily.customer_code) and victoria.rule == "created"
    await client.publish_upstream(
        german("VC-3", first_name="Emily", last_name="Chadson", email="victoria.chadson@example.de", **till)
    )
    held = await linked(client, "VC-3")
    assert held.customer_code is None and held.review_id, held
    item = next(i for i in (await ok(await client.call(ListReviews, {}))).items if i.review_id == held.review_id)
    assert {c.customer_code for c in item.candidates} == {emily.customer_code, victoria.customer_code}
    await client.publish_upstream(german("VC-4", first_name="Emily", last_name="Chadson", **till))
    assert (await linked(client, "VC-4")).customer_code == emily.customer_code


async def test_o2_a_namesake_with_his_own_phone_and_mailbox_at_a_marketplace_buyer_s_street_is_his_own_customer(
    client: OmsClient, services: EventTap
) -> None:
    """Simulated streams' false merges on the real services: a marketplace buyer (a relay
    alias, the family's line) and a shop order at his street under his name with a phone and
    a mailbox he never showed. Nothing of one person agrees: a customer of its own. A later
    order at the family's line under that name fits both namesakes: a CSR decides (O5)."""
    named = {
        "first_name": "Jonas",
        "last_name": "Kessler",
        "billing_address": {**HOME, "first_name": "Jonas", "last_name": "Kessler"},
    }
    await client.publish_upstream(german("MK-1", **named, email="0x7f3k@marketplace.amazon.de", phone="0221 4455667"))
    buyer = await linked(client, "MK-1")
    assert buyer.customer_code and buyer.rule == "created"
    await client.publish_upstream(german("MK-2", **named, email="jonas.kessler@example.de", phone="0221 9988776"))
    son = await linked(client, "MK-2")
    assert son.customer_code not in (None, buyer.customer_code) and son.rule == "created"
    await client.publish_upstream(german("MK-3", **named, email="jonas.k@example.de", phone="0221 4455667"))
    waiting = await linked(client, "MK-3")
    assert waiting.customer_code is None and waiting.review_id
    item = next(i for i in (await ok(await client.call(ListReviews, {}))).items if i.review_id == waiting.review_id)
    assert {c.customer_code for c in item.candidates} == {buyer.customer_code, son.customer_code}


async def test_o2_o4_a_masked_number_a_middle_initial_and_a_mailbox_that_spells_the_name_find_the_customer(
    client: OmsClient, services: EventTap
) -> None:
    """Three ways one person writes themselves that told nobody apart, on the real services:
    a marketplace's switchboard number with an extension at their street (no line of another
    member's), 'Hanna M.' for 'Hanna Maria' at the family's line, and a till sale with the
    surname only from the mailbox 'hanna.schaefer@' beside a customer who has shown none."""
    home = {"first_name": "Hanna Maria", "last_name": "Schäfer", "phone": "0221 4455667"}
    await client.publish_upstream(german("HM-1", **home, email="hanna@example.de"))
    hanna = await linked(client, "HM-1")
    assert hanna.rule == "created"
    market = {
        "first_name": "Hanna Maria",
        "email": "x7q2p9@marketplace.amazon.de",
        "phone": "+49 30 5557 000 ext. 4417",
    }
    await client.publish_upstream(german("HM-2", **market))
    assert ((found := await linked(client, "HM-2")).customer_code, found.rule) == (hanna.customer_code, "name_address")
    await client.publish_upstream(german("HM-3", first_name="Hanna M.", phone="0221 4455667"))
    assert ((found := await linked(client, "HM-3")).customer_code, found.rule) == (
        hanna.customer_code,
        "phone_name_postal",
    )

    await create_scope(client, "us", "US", default_language="en")
    await client.publish_upstream(american("HM-4", first_name="Charles", last_name="Morerings", phone="(646) 631-8615"))
    charles = await linked(client, "HM-4")
    mailbox = {"first_name": None, "last_name": "MORERINGS", "email": "charles.morerings@example.com"}
    await client.publish_upstream(american("HM-5", **mailbox, phone="6466318615"))
    assert (await linked(client, "HM-5")).customer_code == charles.customer_code


async def test_o2_don_monsieur_or_frau_written_as_one_letter_and_a_stop_is_no_part_of_the_name(
    client: OmsClient, services: EventTap
) -> None:
    """A till's 'D. José Luis' (Don) was read 'djose luis', the D glued to the name as the
    particle of 'D Angelo' is, and 'M. Lefot' (Monsieur) kept the M in the surname: another
    form of the customer's name at best, no name at all at a household's line. Both sales at
    the customer's mobile link by the name itself now."""
    web = {"first_name": "José Luis", "last_name": "Cabivar", "email": "jl.cabivar@example.de"}
    await client.publish_upstream(german("DN-1", **web, phone="0151 77788899", billing_address=None))
    hugo_web = {"first_name": "Hugo", "last_name": "Lefot", "email": "h.lefot@example.de"}
    await client.publish_upstream(german("DN-2", **hugo_web, phone="0151 66655544", billing_address=None))
    jose, hugo = await linked(client, "DN-1"), await linked(client, "DN-2")
    don = {"first_name": "D. José Luis", "last_name": "Cabivar", "phone": "+49 151 77788899"}
    monsieur = {"first_name": "Hugo", "last_name": "M. Lefot", "phone": "+49 151 66655544"}
    await client.publish_upstream(german("DN-3", **don, billing_address=None))
    await client.publish_upstream(german("DN-4", **monsieur, billing_address=None))
    for number, customer in (("DN-3", jose), ("DN-4", hugo)):
        sale = await linked(client, number)
        assert sale.customer_code == customer.customer_code is not None, sale
        assert {(e.comparison, e.level) for e in sale.evidence} >= {("first_name", "exact"), ("last_name", "exact")}


async def test_o2_o5_a_shop_s_own_mailbox_typed_for_walk_in_buyers_stops_sending_them_to_review(
    client: OmsClient, services: EventTap
) -> None:
    """A till that types the shop's own mailbox for every buyer who gives none: the first
    buyer's customer holds it, and the next ones, other people by their names, waited for a
    CSR one after another, for ever (until 25 customers held it). Once it has been shown under
    three other surnames it is a shop's, no one's: each later buyer is a customer of their own
    (not the first buyer's, not one for all of them), found again by their own phone, and
    none of them is given the shop's mailbox as theirs."""
    shop_mailbox = "kasse@laden-am-markt.example"
    buyers = [
        ("Hanna", "Berger", "0151 2345 6701"),
        ("Jonas", "Kaiser", "0151 2345 6702"),
        ("Mia", "Wolf", "0151 2345 6703"),
        ("Paul", "Roth", "0151 2345 6704"),
        ("Lea", "Brandt", "0151 2345 6705"),
        ("Emil", "Vogt", "0151 2345 6706"),
        ("Ida", "Krüger", "0151 2345 6707"),
    ]
    links = []
    for n, (first, last, mobile) in enumerate(buyers):
        address = {**HOME, "first_name": first, "last_name": last, "line1": f"Marktweg {n + 1}"}
        await client.publish_upstream(
            german(
                f"SHOP-{n}", first_name=first, last_name=last, email=shop_mailbox, phone=mobile, billing_address=address
            )
        )
        links.append(await linked(client, f"SHOP-{n}"))  # one at a time, as a till sends them
    first_buyer, strangers, later = links[0], links[1:4], links[4:]
    assert first_buyer.rule == "created"
    assert all(link.review_id and link.customer_code is None for link in strangers), strangers
    codes = [link.customer_code for link in later]
    assert all(link.rule == "created" for link in later), later
    assert len(set(codes)) == len(later) and first_buyer.customer_code not in codes
    assert any("email" in note and "shared" in note for note in later[0].notes), later[0].notes
    for code in codes:
        customer = await ok(await client.call(GetCustomer, {"customer_code": code}))
        assert customer.email is None, customer.email
    # A later buyer comes back with her mobile and the shop's mailbox: her own customer.
    await client.publish_upstream(
        german(
            "SHOP-AGAIN",
            first_name="Lea",
            last_name="Brandt",
            email=shop_mailbox,
            phone="+49 151 23456705",
            billing_address=None,
        )
    )
    again = await linked(client, "SHOP-AGAIN")
    assert (again.customer_code, again.rule) == (codes[0], "phone_name_postal")


async def test_o2_names_as_a_library_or_a_till_spelled_them_find_the_customer_at_their_mobile(
    client: OmsClient, services: EventTap
) -> None:
    """Names written in their own script and then as a transliteration library reads them
    (Greek by Unidecode's classical system, Japanese read as Chinese), a given name a till
    abbreviated ('Mª José'), one sound spelt two ways (Carl, Karl): each was 'another name'
    and made a second customer at the buyer's own mobile. Over the real services each finds
    the customer, and a brother's name in Hangul at another's mobile still does not."""
    cases = [
        ("TR-GR", ("Φρειδερίκη", "Γκατζογιάννη"), ("Phreiderike", "Gkatzogianne"), "0151 4000 0001"),
        ("TR-JP", ("明美", "佐藤"), ("Ming Mei", "Zuo Teng"), "0151 4000 0002"),
        ("TR-ES", ("María José", "García"), ("Mª José", "García"), "0151 4000 0003"),
        ("TR-CK", ("Carl", "Becker"), ("Karl", "Becker"), "0151 4000 0004"),
    ]
    for number, (first, last), (latin_first, latin_last), mobile in cases:
        await client.publish_upstream(
            german(f"{number}-1", first_name=first, last_name=last, phone=mobile, billing_address=None)
        )
        created = await linked(client, f"{number}-1")
        await client.publish_upstream(
            german(f"{number}-2", first_name=latin_first, last_name=latin_last, phone=mobile, billing_address=None)
        )
        again = await linked(client, f"{number}-2")
        assert (again.customer_code, again.rule) == (created.customer_code, "phone_name_postal"), (number, again)
    await client.publish_upstream(
        german("TR-KR-1", first_name="Jihoon", last_name="Kim", phone="0151 4000 0005", billing_address=None)
    )
    jihoon = await linked(client, "TR-KR-1")
    await client.publish_upstream(
        german("TR-KR-2", first_name="재훈", last_name="김", phone="0151 4000 0005", billing_address=None)
    )
    brother = await linked(client, "TR-KR-2")
    assert brother.customer_code != jihoon.customer_code


async def test_o2_numbers_mailboxes_and_flats_as_faker_writes_them_find_the_customer(
    client: OmsClient, services: EventTap
) -> None:
    """What a stream made with Faker (bench/matching/faker_stream.py) tripped on, over the real
    services: a US number at a code not in service, written '001-...' and with Faker's 'x123'
    extension on one order and without it on the next (it was set aside as a placeholder, and
    the extension made another line); a '+tag' at Yahoo; a British flat written before the
    street on the address line ('1 studio' was the street). Each made a second customer."""
    await create_scope(client, "us", "US", default_language="en")
    await client.publish_upstream(
        american(
            "FK-1",
            first_name="Lydia",
            last_name="Whitney",
            email="theresa61@yahoo.com",
            phone="795.242.2058x791",
            billing_address=NEW_YORK,
        )
    )
    first = await linked(client, "FK-1")
    assert first.customer_code is not None and not any(note.startswith("phone") for note in first.notes)
    # The same line without its extension, and as '001-...', at a till: no email, no address.
    for number, phone in (("FK-2", "(795) 242-2058"), ("FK-3", "001-795-242-2058")):
        await client.publish_upstream(american(number, first_name="Lydia", last_name="Whitney", phone=phone))
        till = await linked(client, number)
        assert (till.customer_code, till.rule) == (first.customer_code, "phone_name_postal"), number
    # Her mailbox with a '+tag' at Yahoo, from a new address and no phone.
    await client.publish_upstream(
        american("FK-4", first_name="Lydia", last_name="Whitney", email="theresa61+shop@yahoo.com")
    )
    tagged = await linked(client, "FK-4")
    assert (tagged.customer_code, tagged.rule) == (first.customer_code, "email")
    # A British flat on the street's line, then the street alone from a till with a phone.
    await create_scope(client, "uk", "GB", default_language="en")
    flat = {"first_name": "Mark", "last_name": "Wall", "city": "Leeds", "postal_code": "LS6 9TJ", "country": "GB"}
    await client.publish_upstream(
        order(
            "FK-5",
            scope="uk",
            first_name="Mark",
            last_name="Wall",
            email="mark.wall@example.co.uk",
            billing_address={**flat, "line1": "1 Lee Street Studio 44M"},
        )
    )
    mark = await linked(client, "FK-5")
    await client.publish_upstream(
        order(
            "FK-6",
            scope="uk",
            first_name="Mark",
            last_name="Wall",
            email=None,
            phone="0113 496 0324",
            billing_address={**flat, "line1": "1 Lee Street"},
        )
    )
    street = await linked(client, "FK-6")
    assert (street.customer_code, street.rule) == (mark.customer_code, "name_address")


async def test_c13_o2_a_new_mailbox_s_second_record_at_the_one_landline_merges_at_the_next_till_sale(
    client: OmsClient, services: EventTap
) -> None:
    """A frequent shopper's new mailbox with only her name made a second customer (an email
    nobody had shown: O3), which learned her home's landline, the only phone either record
    shows. Each till sale at the line under her name then waited for a CSR between the two
    (on a Faker-built stream, 29 of its 98 needless reviews). Now the sale links to one and merges
    the other into it (C13): namesakes of a household each show a mobile of their own."""
    landline = "0221 4711 0815"
    await client.publish_upstream(german("NM-1", email="hanna.schaefer@web.de", phone=landline))
    first = await linked(client, "NM-1")
    await client.publish_upstream(german("NM-2", email="h.schaefer77@gmx.de", billing_address=None))
    second = await linked(client, "NM-2")
    assert second.customer_code not in (None, first.customer_code), second
    await client.publish_upstream(german("NM-3", email="h.schaefer77@gmx.de", phone=landline, billing_address=None))
    assert (await linked(client, "NM-3")).customer_code == second.customer_code
    await client.publish_upstream(german("NM-4", phone=landline, billing_address=None))
    sale = await linked(client, "NM-4")
    assert sale.customer_code in (first.customer_code, second.customer_code) and sale.review_id is None, sale
    other = ({first.customer_code, second.customer_code} - {sale.customer_code}).pop()

    async def merged() -> Any:  # the record merged away reads as its survivor
        customer = await ok(await client.call(GetCustomer, {"customer_code": other}))
        return customer if customer.code == sale.customer_code else None

    await eventually(merged, timeout=30)
    await client.publish_upstream(german("NM-5", phone=landline, billing_address=None))
    again = await linked(client, "NM-5")
    assert (again.customer_code, again.review_id) == (sale.customer_code, None), again


async def test_o2_a_full_name_split_at_another_space_is_the_customer_s_at_the_household_s_line(
    client: OmsClient, services: EventTap
) -> None:
    """A marketplace's one name field cut before its last word ('María García' / 'López')
    and a Dutch particle kept with the given name ('Rik van' / 'Nus') are the customer's
    whole name, not a given name 'a spelling away': at the household's landline and street
    the order links (it waited for a CSR, as another member's might)."""
    landline = "0221 4711 0816"
    for number, (first, last), (again_first, again_last) in (
        ("SP-1", ("María", "García López"), ("María García", "López")),
        ("SP-3", ("Rik", "van Nus"), ("Rik van", "Nus")),
    ):
        home = {**HOME, "first_name": first, "last_name": last}
        await client.publish_upstream(
            german(
                number,
                first_name=first,
                last_name=last,
                email=f"{number.lower()}@example.de",
                phone=landline if number == "SP-1" else "0221 4711 0817",
                billing_address=home,
            )
        )
        known = await linked(client, number)
        again = number[:-1] + str(int(number[-1]) + 1)
        await client.publish_upstream(
            german(
                again,
                first_name=again_first,
                last_name=again_last,
                phone=landline if number == "SP-1" else "0221 4711 0817",
                billing_address={**home, "first_name": again_first, "last_name": again_last},
            )
        )
        sale = await linked(client, again)
        assert (sale.customer_code, sale.review_id) == (known.customer_code, None), (again, sale)
