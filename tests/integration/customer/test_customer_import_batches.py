"""C17 bulk import, batch by batch, on the real stack: what one ``ImportCustomers`` batch
answers for each of its rows, and what it leaves behind. A batch is one transaction (a long
one: one per part of 200 rows), with one read of each kind, one code reservation and one
insert each of customers, audit entries and events, so these tests hold it to answering every
row exactly as row-by-row creation would (C1, C2, C16, C17, I1, P2)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import CreateCustomers, ImportCustomers
from customer.records import handlers, store
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import eventually
from ..conftest import create_scope, ok

pytestmark = pytest.mark.usefixtures("customer_service")

CREATED = "customer.customer-created.v1"
IMPORTED = "customer.customers-imported.v1"  # an import's transaction: one event for its customers


def row(key: str | None, email: str, *, guest: bool = False, scope: str = "eu-fr", **extra: Any) -> dict[str, Any]:
    return {
        "scope_id": scope,
        "first_name": "Anna",
        "last_name": f"Row {key}",
        "email": email,
        "account_type": "guest" if guest else "registered",
        "channel": "import",
        "idempotency_key": key,
        **extra,
    }


async def created_events(db: AsyncDatabase) -> dict[str, int]:
    """How many times the outbox's events say each customer was created: a CustomerCreated
    each, or one of the customers of a CustomersImported."""
    counts: dict[str, int] = {}
    async for doc in db["outbox"].find({"routing_key": {"$in": [CREATED, IMPORTED]}}):
        payload = json.loads(doc["body"])["payload"]
        for customer in payload["customers"] if doc["routing_key"] == IMPORTED else [payload["customer"]]:
            counts[customer["code"]] = counts.get(customer["code"], 0) + 1
    return counts


async def audit_entries(db: AsyncDatabase) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    async for doc in db["audit"].find():
        entries.setdefault(doc["customer_code"], []).append(doc["action"])
    return entries


async def test_c17_a_batch_reports_each_duplicate_row_inside_it_and_against_existing_customers_and_imports_the_rest(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    await create_scope(client, "de", "DE")
    before = await ok(
        await client.call(
            ImportCustomers, {"rows": [row("k-a", "a@example.fr"), row("k-b", "b@example.fr", guest=True)]}
        )
    )
    code_a = before.rows[0].code

    rows = [
        row("k-n1", "n1@example.fr"),  # 0: new
        row("k-a", "a@example.fr"),  # 1: imported before: answers its customer
        row("k-n2", "A@Example.fr"),  # 2: a registered account of the scope uses it already
        row("k-n3", "n3@example.fr"),  # 3: new
        row("k-n3", "n3@example.fr"),  # 4: row 3 again in the same batch
        row("k-n4", "N3@example.fr"),  # 5: row 3's email, registered, in the same batch
        row("k-n5", "a@example.fr", guest=True),  # 6: guests may share an email
        row(None, "n6@example.fr"),  # 7: a row without its idempotency key
        row("k-n7", "n7@example.fr", scope="nowhere"),  # 8: no such scope
        row("k-n8", "n8@example.fr", phone="12"),  # 9: not a phone number in FR
        row("k-a", "a@example.fr", scope="de"),  # 10: the same key in another scope is another row
        row("k-n9", "n9@example.fr"),  # 11: new, after all of them
    ]
    result = await ok(await client.call(ImportCustomers, {"rows": rows}))

    answers = {r.index: r for r in result.rows}
    assert [answers[i].status for i in range(len(rows))] == [
        "created",
        "unchanged",
        "rejected",
        "created",
        "unchanged",
        "rejected",
        "created",
        "rejected",
        "rejected",
        "rejected",
        "created",
        "created",
    ]
    assert answers[1].code == code_a
    assert answers[4].code == answers[3].code
    assert answers[2].error.code == "conflict" and answers[2].error.fields[0].field == "payload.rows.2.email"
    assert answers[5].error.code == "conflict" and answers[5].error.fields[0].field == "payload.rows.5.email"
    assert answers[7].error.fields[0].field == "payload.rows.7.idempotency_key"
    assert answers[8].error.code == "not_found"
    assert answers[9].error.fields[0].reason == "not a possible phone number in FR"  # the row's own field error
    created = [answers[i].code for i in (0, 3, 6, 10, 11)]
    assert len(set(created)) == 5 and code_a not in created
    assert await customer_db["customers"].count_documents({}) == 2 + 5
    stored = {d["_id"]: d async for d in customer_db["customers"].find({"_id": {"$in": created}})}
    assert [stored[c]["idempotency_key"] for c in created] == ["k-n1", "k-n3", "k-n5", "k-a", "k-n9"]
    assert stored[answers[10].code]["scope_id"] == "de"


async def test_c17_i1_a_redelivered_batch_imports_nothing_twice_and_answers_the_same(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    rows = [row(f"k-{i}", f"r{i}@example.fr") for i in range(30)] + [row("k-0", "r0@example.fr")]
    command = ImportCustomers(producer="tests", payload={"rows": rows})

    first = await client.request(command, ImportCustomers.REPLY)
    again = await client.request(command, ImportCustomers.REPLY)  # the same message: a redelivery
    assert first.ok and again.ok and first.result == again.result
    assert [r.status for r in first.result.rows] == ["created"] * 30 + ["unchanged"]

    resent = await ok(await client.call(ImportCustomers, {"rows": rows}))  # the same rows, a new message
    assert [r.status for r in resent.rows] == ["unchanged"] * 31
    assert [r.code for r in resent.rows] == [r.code for r in first.result.rows]

    assert await customer_db["customers"].count_documents({}) == 30
    assert await customer_db["audit"].count_documents({}) == 30
    events = await created_events(customer_db)
    assert set(events) == {r.code for r in first.result.rows} and set(events.values()) == {1}
    assert await customer_db["outbox"].count_documents({"routing_key": IMPORTED}) == 1  # one transaction


async def test_c17_p2_c16_concurrent_overlapping_batches_give_each_customer_one_audit_entry_and_one_event(
    settings: ServiceSettings, client: OmsClient, customer_db: AsyncDatabase
) -> None:
    """Batches in flight together that share rows (a file imported twice at once): the one
    whose insert meets the other's commit runs again and answers those rows as found."""
    await create_scope(client)
    await create_scope(client, "de", "DE")
    everyone = [row(f"k-{i}", f"p{i}@example.fr", scope="eu-fr" if i % 3 else "de") for i in range(240)]
    batches = [everyone[start : start + 120] for start in range(0, 240, 60)]  # each row in two batches
    batches.append(everyone[::2])

    clients = [OmsClient(settings, producer=f"importer-{i}") for i in range(len(batches))]
    for c in clients:
        await c.__aenter__()
    try:
        replies = await asyncio.gather(
            *(c.call(ImportCustomers, {"rows": b}, timeout=60) for c, b in zip(clients, batches, strict=True))
        )
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)

    codes: dict[str, set[str]] = {}
    for batch, reply in zip(batches, replies, strict=True):
        assert reply.ok, reply.error
        for sent, answer in zip(batch, reply.result.rows, strict=True):
            assert answer.status in ("created", "unchanged"), answer.error
            codes.setdefault(sent["idempotency_key"], set()).add(answer.code)
    assert all(len(found) == 1 for found in codes.values())  # every batch names the same customer
    created = {next(iter(found)) for found in codes.values()}
    assert len(created) == 240
    assert await customer_db["customers"].count_documents({}) == 240

    audits = await audit_entries(customer_db)
    assert set(audits) == created
    assert all(actions == ["created (import)"] for actions in audits.values())
    events = await created_events(customer_db)
    assert set(events) == created and set(events.values()) == {1}
    # and the relay publishes every one of them
    await eventually(lambda: _all_published(customer_db), timeout=30)


async def _all_published(db: AsyncDatabase) -> bool:
    return await db["outbox"].count_documents({"published_at": None}) == 0


async def test_c17_a_batch_reads_each_kind_with_its_index(client: OmsClient, customer_db: AsyncDatabase) -> None:
    """One query per kind for every scope of a batch: each branch of it still an index read."""
    await create_scope(client)
    await ok(await client.call(ImportCustomers, {"rows": [row(f"k-{i}", f"i{i}@example.fr") for i in range(20)]}))
    by_scope = {"eu-fr": ["k-1", "k-2"], "de": ["k-3"]}
    emails = {"eu-fr": ["i1@example.fr"], "de": ["x@example.fr"]}
    queries = [
        ({"$or": [store.idempotency_keys_filter(s, keys) for s, keys in by_scope.items()]}, "idempotency_key_unique"),
        (
            {"$or": [{"scope_id": s, "registered_email": {"$in": e}} for s, e in emails.items()]},
            "registered_email_unique",
        ),
    ]
    for query, index in queries:
        plan = await customer_db["customers"].find(query).explain()
        text = json.dumps(plan["queryPlanner"]["winningPlan"])
        assert "COLLSCAN" not in text and index in text, text


async def test_c17_i1_a_batch_applied_before_its_answer_kept_only_codes_answers_its_codes_when_redelivered(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    """Batches applied before kept their whole customers as the answer for a redelivery; one
    redelivered after the upgrade (a deploy restarts workers mid-batch) still answers."""
    await create_scope(client)
    created = await ok(await client.call(CreateCustomers, {"customers": [row("k-old", "old@example.fr")]}))
    command = ImportCustomers(producer="tests", payload={"rows": [row("k-old", "old@example.fr")]})
    await customer_db["inbox"].insert_one(
        {
            "_id": f"customer:{command.message_id}",
            "applied_at": datetime.now(UTC),
            "result": created.model_dump(mode="json"),
        }
    )
    reply = await client.request(command, ImportCustomers.REPLY)
    assert reply.ok, reply.error
    assert [(r.status, r.code) for r in reply.result.rows] == [("created", created.customers[0].customer.code)]
    assert await customer_db["customers"].count_documents({}) == 1


async def test_c17_i1_a_long_batch_applied_in_parts_answers_each_row_as_one_transaction_would(
    client: OmsClient, customer_db: AsyncDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More rows than one transaction takes (records.handlers.IMPORT_PART_ROWS, here 200 so
    that a batch the contract allows goes in parts): applied in parts, each row answers as it
    would in one transaction, across the parts' boundaries, and a redelivery answers the same."""
    monkeypatch.setattr(handlers, "IMPORT_PART_ROWS", 200)
    await create_scope(client)
    rows = [row(f"k-{i}", f"r{i}@example.fr") for i in range(450)]
    rows[250] = row("k-0", "r0@example.fr")  # row 0 again, in another part
    rows[300] = row(None, "r300@example.fr")  # no idempotency key: its own index in the error
    rows[420] = row("k-420", "R10@example.fr")  # row 10's registered email, two parts later
    command = ImportCustomers(producer="tests", payload={"rows": rows})

    first = await client.request(command, ImportCustomers.REPLY)
    again = await client.request(command, ImportCustomers.REPLY)  # the same message: a redelivery
    assert first.ok and again.ok and first.result == again.result
    answers = first.result.rows
    assert [r.index for r in answers] == list(range(450))
    statuses = {i: r.status for i, r in enumerate(answers) if r.status != "created"}
    assert statuses == {250: "unchanged", 300: "rejected", 420: "rejected"}
    assert answers[250].code == answers[0].code
    assert answers[300].error.fields[0].field == "payload.rows.300.idempotency_key"
    assert answers[420].error.code == "conflict" and answers[420].error.fields[0].field == "payload.rows.420.email"
    assert len({r.code for r in answers if r.status == "created"}) == 447
    assert await customer_db["customers"].count_documents({}) == 447
    assert await customer_db["audit"].count_documents({}) == 447
    events = await created_events(customer_db)
    assert len(events) == 447 and set(events.values()) == {1}
    assert await customer_db["outbox"].count_documents({"routing_key": IMPORTED}) == 3  # 200, 200, 50 rows


async def commands_by_collection(db: AsyncDatabase) -> dict[str, dict[str, int]]:
    """MongoDB's own count of the commands run on each collection of ``db`` so far (``top``:
    an insert_many is one insert), so other clients of the server do not count."""
    totals = (await db.client.admin.command("top"))["totals"]
    prefix = f"{db.name}."
    return {
        namespace.removeprefix(prefix): {kind: values[kind]["count"] for kind in ("queries", "insert", "commands")}
        for namespace, values in totals.items()
        if namespace.startswith(prefix)
    }


async def test_c17_p2_a_full_batch_is_two_transactions_with_one_insert_each_of_customers_audit_and_events(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    """A batch of 1,000 rows, the most ``ImportCustomers`` takes, is two transactions of 500
    (records.handlers.IMPORT_PART_ROWS), each one insert of customers, one of audit entries
    and one of events (the outbox); one code reservation and one read each of the scopes and
    account templates of its rows for the whole batch (bulk.prepare)."""
    await create_scope(client)
    await create_scope(client, "de", "DE")
    rows = [row(f"k-{i}", f"t{i}@example.fr", scope="eu-fr" if i % 2 else "de") for i in range(1000)]
    before = await commands_by_collection(customer_db)
    answers = (await ok(await client.call(ImportCustomers, {"rows": rows}, timeout=120))).rows
    after = await commands_by_collection(customer_db)
    assert [r.status for r in answers] == ["created"] * 1000

    def done(collection: str, kind: str) -> int:
        return after.get(collection, {}).get(kind, 0) - before.get(collection, {}).get(kind, 0)

    assert done("scopes", "queries") == 1
    assert done("account_templates", "queries") == 1
    assert done("counters", "commands") == 1  # one findAndModify: every code of the batch
    assert (done("customers", "insert"), done("audit", "insert"), done("outbox", "insert")) == (2, 2, 2)
    assert done("customers", "queries") == 0  # a new file's rows: no look for their keys first
    assert await customer_db["outbox"].count_documents({"routing_key": IMPORTED}) == 2
    codes = [int(r.code.lstrip("C")) for r in answers if r.code]
    assert codes == sorted(codes)  # in the order of the rows
