"""C13 over the real servers: merge two customers, and undo it, in all three services."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.history import GetCustomerHistory
from contracts.customer.merges import GetMergeJournal, MergeCustomers, MergeReply, UnmergeCustomers
from contracts.customer.records import (
    CreateCustomer,
    CustomerReply,
    GetCustomer,
    SetAccountTemplate,
)
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, EventTap, eventually
from ..conftest import create_customer, create_scope, ok
from ..merge_support import CSR, activities_of, linked_to, placed, shipped, three_services
from .test_customer_import import omsctl

RIVOLI = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
VOLTAIRE = {"line1": "9 quai Voltaire", "city": "Paris", "postal_code": "75007", "country": "FR"}


async def merge(client: OmsClient, a: Any, b: Any, **options: Any) -> Any:
    return await client.call(
        MergeCustomers,
        {
            "survivor_code": a.code,
            "survivor_version": a.version,
            "merged_code": b.code,
            "merged_version": b.version,
            "reason": "same person, two accounts",
            **options,
        },
        actor=CSR,
    )


async def get(client: OmsClient, code: str) -> Any:
    return await ok(await client.call(GetCustomer, {"customer_code": code}))


async def orders_in_history(client: OmsClient, code: str, numbers: list[str]) -> bool:
    """Once the customer's order history holds exactly these orders (C7)."""

    async def holds() -> bool:
        page = await ok(await client.call(GetCustomerHistory, {"customer_code": code, "kind": "order"}))
        return sorted(item.fields["order_number"] for item in page.items) == numbers

    return await eventually(holds, timeout=15)


async def test_c13_merge_moves_addresses_tags_and_attributes_and_b_answers_a(
    client: OmsClient, customer_service: None, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    await create_scope(client, "de", "DE")
    await ok(
        await client.call(
            SetAccountTemplate,
            {
                "scope_id": "eu-fr",
                "fields": [{"name": "size", "type": "string"}, {"name": "newsletter", "type": "boolean"}],
            },
        )
    )
    a = await create_customer(
        client, email="chloe@example.fr", tags=["VIP"], attributes={"size": "M"}, addresses=[RIVOLI]
    )
    b = await create_customer(
        client,
        email="chloe.d@example.fr",
        tags=["vip", "wholesale"],
        phone="06 12 34 56 78",
        attributes={"size": "L", "newsletter": True},
        addresses=[{**RIVOLI, "line1": "1  RUE DE RIVOLI", "postal_code": "75 001"}, VOLTAIRE],
    )
    other_scope = await create_customer(client, scope_id="de", email="chloe@example.de")
    async with EventTap(client, "customer.customers-merged.v1") as tap:
        stale = await merge(client, a, b.model_copy(update={"version": b.version + 1}))
        done = await ok(await merge(client, a, b))
        event = (await tap.wait_for(1))[0]["payload"]

    assert stale.error.code == "conflict" and stale.error.current_version == b.version
    survivor = done.survivor
    assert [(x.line1, x.default_shipping) for x in survivor.addresses] == [
        ("1 rue de Rivoli", True),
        ("9 quai Voltaire", False),
    ]
    assert survivor.tags == ["VIP", "wholesale"]
    assert survivor.attributes == {"size": "M", "newsletter": True}
    assert survivor.phone == "+33612345678" and survivor.email == "chloe@example.fr"
    assert (event["merge_id"], event["survivor_code"], event["merged_code"]) == (done.merge_id, a.code, b.code)
    assert event["merged"]["state"] == "retired" and event["merged"]["merged_into"] == a.code

    assert (await get(client, b.code)).code == a.code  # any lookup of B answers A
    retired = await customer_db["customers"].find_one({"_id": b.code})
    assert (retired["state"], retired["merged_into"]) == ("retired", a.code)
    journal = (await ok(await client.call(GetMergeJournal, {"merge_id": done.merge_id}))).items[0]
    moves = {m.field: m for m in journal.moves}
    assert moves["attributes"].kept_from_merged == {"size": "L"}  # the survivor won; B's value is kept
    assert moves["attributes"].moved == {"newsletter": True}
    assert len(moves["addresses"].moved) == 1 and len(moves["addresses"].kept_from_merged) == 1
    assert journal.state == "merged" and journal.undo_until > journal.merged_at
    by_customer = await ok(await client.call(GetMergeJournal, {"customer_code": b.code}))
    assert [e.merge_id for e in by_customer.items] == [done.merge_id]

    again = await merge(client, await get(client, a.code), retired_view(b, retired))
    assert again.error.code == "invalid_state" and "merged into" in again.error.message
    current = await get(client, a.code)
    assert (await merge(client, current, current)).error.fields[0].field == "payload.merged_code"
    across = await merge(client, current, other_scope)
    assert across.error.code == "validation" and "scope" in across.error.fields[0].reason


def retired_view(b: Any, doc: dict[str, Any]) -> Any:
    return b.model_copy(update={"version": doc["version"]})


async def test_c13_an_interrupted_merge_leaves_both_customers_as_they_were(
    client: OmsClient, customer_service: None, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    a = await create_customer(client, email="a@example.fr", tags=["VIP"])
    b = await create_customer(client, email="b@example.fr", tags=["wholesale"], addresses=[VOLTAIRE])
    await customer_db["history"].insert_many(
        [{"customer_code": b.code, "kind": "order", "order_number": n} for n in ("EU-1", "EU-2")]
    )
    # The failure: the merge's journal id (the command's id) is taken, so the last write of
    # the transaction fails after both customers and the history entries were written.
    merge_id = "merge-that-fails"
    await customer_db["merge_journal"].insert_one({"_id": merge_id, "state": "merged"})
    outbox_before = await customer_db["outbox"].count_documents({})
    cmd = MergeCustomers(
        producer="tests",
        actor=CSR,
        message_id=merge_id,
        payload={
            "survivor_code": a.code,
            "survivor_version": a.version,
            "merged_code": b.code,
            "merged_version": b.version,
            "reason": "duplicate",
        },
    )
    failed = await client.request(cmd, MergeReply)

    assert failed.error.code == "conflict"
    assert await get(client, a.code) == a
    assert await get(client, b.code) == b  # not retired, nothing moved
    assert await customer_db["history"].count_documents({"customer_code": b.code, "merged_from": None}) == 2
    assert await customer_db["outbox"].count_documents({}) == outbox_before


async def test_c13_unmerge_gives_b_back_its_record_orders_links_activities_and_history(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, customer_db: AsyncDatabase
) -> None:
    async with three_services(settings, client, cleanup):
        a = await create_customer(client, email="anna@example.fr", first_name="Anna", tags=["VIP"])
        b = await create_customer(client, email="Chloé.Dubois@example.fr", tags=["wholesale"], addresses=[VOLTAIRE])
        await activities_of(client, a.code, 1)  # each got a welcome email
        welcome_b = await activities_of(client, b.code, 1)
        await asyncio.sleep(1)  # order-sync learns the customers from their events
        await client.publish_upstream(placed("EU-1", source_customer_id="shop-b"))  # B's email: B's order
        assert await linked_to(client, "EU-1") == b.code
        assert await orders_in_history(client, b.code, ["EU-1"])  # C7: from order-sync's OrderLinked

        done = await ok(await merge(client, a, await get(client, b.code)))
        await linked_to(client, "EU-1", a.code)
        assert set(await activities_of(client, a.code, 2)) >= set(welcome_b)
        assert await orders_in_history(client, a.code, ["EU-1"])
        # Between merge and unmerge: an order under B's source customer id lands on A ...
        await client.publish_upstream(placed("EU-2", source_customer_id="shop-b", email="elsewhere@example.fr"))
        assert await linked_to(client, "EU-2") == a.code
        await client.publish_upstream(shipped("EU-2"))  # its shipping email is recorded on A
        on_a = await activities_of(client, a.code, 3)
        # ... and one with B's email too (B answers A), without a new customer.
        await client.publish_upstream(placed("EU-3", source_customer_id=None))
        assert await linked_to(client, "EU-3") == a.code
        assert await orders_in_history(client, a.code, ["EU-1", "EU-2", "EU-3"])
        assert (await get(client, a.code)).order_count == 3

        undone = await ok(
            await client.call(UnmergeCustomers, {"merge_id": done.merge_id, "reason": "not the same"}, actor=CSR)
        )
        restored, survivor = undone.restored, undone.survivor
        assert (restored.code, restored.state, restored.merged_into) == (b.code, "active", None)
        assert restored.tags == ["wholesale"] and [x.line1 for x in restored.addresses] == ["9 quai Voltaire"]
        assert survivor.tags == ["VIP"] and survivor.addresses == [] and survivor.email == "anna@example.fr"
        assert (await get(client, b.code)).code == b.code
        await linked_to(client, "EU-1", b.code)
        await linked_to(client, "EU-2", b.code)  # arrived for B's link since the merge: B's
        assert await linked_to(client, "EU-3") == a.code  # matched the survivor by email: stays
        kept_by_a = await activities_of(client, a.code, 1)  # A keeps its own welcome email
        back_to_b = await activities_of(client, b.code, 2)  # B's welcome, and EU-2's shipping email
        assert set(back_to_b) == set(on_a) - set(kept_by_a) and set(welcome_b) < set(back_to_b)
        # The history follows the orders: EU-1 was B's, EU-2 came back with its link.
        assert await orders_in_history(client, b.code, ["EU-1", "EU-2"])
        assert await orders_in_history(client, a.code, ["EU-3"])
        assert (await get(client, b.code)).order_count == 2 and (await get(client, a.code)).order_count == 1
        journal = (await ok(await client.call(GetMergeJournal, {"merge_id": done.merge_id}))).items[0]
        assert journal.state == "unmerged" and journal.unmerged_by == "csr:csr-ada"

        twice = await client.call(UnmergeCustomers, {"merge_id": done.merge_id}, actor=CSR)
        assert twice.error.code == "invalid_state" and "undone already" in twice.error.message
        # B's registered email is unique in its scope again.
        taken = await client.call(
            CreateCustomer,
            {"scope_id": "eu-fr", "first_name": "X", "last_name": "Y", "email": "chloé.dubois@example.fr"},
        )
        assert taken.error.code == "conflict"


async def test_c13_a_merge_cannot_be_undone_after_its_window(
    client: OmsClient, customer_service: None, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    a = await create_customer(client, email="a@example.fr")
    b = await create_customer(client, email="b@example.fr")
    done = await ok(await merge(client, a, b))
    past = datetime.now(UTC) - timedelta(days=1)
    await customer_db["merge_journal"].update_one({"_id": done.merge_id}, {"$set": {"undo_until": past}})
    late = await client.call(UnmergeCustomers, {"merge_id": done.merge_id}, actor=CSR)
    assert late.error.code == "invalid_state" and "window closed" in late.error.message
    unknown = await client.call(UnmergeCustomers, {"merge_id": "no-such-merge"}, actor=CSR)
    assert unknown.error.code == "not_found" and unknown.error.fields[0].field == "payload.merge_id"
    assert isinstance(await client.call(GetCustomer, {"customer_code": b.code}), CustomerReply)


async def test_c13_i2_omsctl_merges_lists_and_unmerges(
    settings: ServiceSettings, client: OmsClient, customer_service: None
) -> None:
    await create_scope(client)
    a = await create_customer(client, email="a@example.fr")
    b = await create_customer(client, email="b@example.fr")
    status, out = await omsctl(settings, "customer", "merge", a.code, b.code, "--reason", "duplicate")
    assert status == 0, out
    merge_id = out.split("merge ")[1].split(",")[0].strip()
    assert (await get(client, b.code)).code == a.code
    status, listed = await omsctl(settings, "customer", "merges", b.code)
    assert status == 0 and merge_id in listed and "merged" in listed
    status, again = await omsctl(settings, "customer", "merge", a.code, b.code, "--reason", "duplicate")
    assert status == 1 and f"{b.code} was merged into {a.code}" in again
    status, out = await omsctl(settings, "customer", "unmerge", merge_id)
    assert status == 0, out
    assert (await get(client, b.code)).code == b.code
