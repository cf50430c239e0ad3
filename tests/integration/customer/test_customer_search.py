"""C11 search over real RabbitMQ and MongoDB: criteria, prefix and accent folding, sorts, keyset
pages, totals, and an index behind every kind of query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import GetStateSummary, ImportCustomers, SearchCustomers, SearchInput
from customer.app import create_app as customer_app
from customer.records import search as search_queries
from customer.records import store
from customer.relations import store as relations_store
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, new_namespace, running
from ..conftest import create_scope, ok

#: The 36 query-plan cases read one loaded collection (people_indexed); the other tests start
#: a customer service of their own.
with_own_service = pytest.mark.usefixtures("customer_service")

PEOPLE = [
    # first, last, email, phone, postal code, tags, flag, kind
    ("Chloé", "Dubois", "Chloe.Dubois@example.fr", "06 12 34 56 78", "75002", ["VIP"], None, "customer"),
    ("Zoë", "Dubois-Martin", "zoe@example.fr", None, "75011", [], "red", "customer"),
    ("Jürgen", "Groß", "juergen.gross@example.de", "+49 30 1234567", "10119", ["wholesale"], None, "customer"),
    ("Łukasz", "Żółw", "lukasz@example.pl", None, "00-950", [], None, "customer"),
    ("Ægir", "Øvreås", "aegir@example.no", None, "0150", [], "CHK", "customer"),
    ("Émile", "Durand", "emile.durand@example.fr", "01 23 45 67 89", "69001", ["VIP"], None, "customer"),
    ("Emile", "Durand", "emile.durand.2@example.fr", None, "13001", [], None, "customer"),
    ("太郎", "山田", "taro@example.jp", None, "100-0001", [], None, "customer"),
    ("Dorothée", "Lefèvre", "doro@example.fr", None, "33000", [], None, "customer"),
    ("Acme", "Organization", "buyers@acme.example", None, "75008", [], None, "organization"),
]


async def load_people(client: OmsClient, extra: int = 0) -> dict[str, str]:
    """The people above plus ``extra`` namesakes; returns email -> code."""
    rows = [
        {
            "scope_id": "eu-fr",
            "first_name": f,
            "last_name": l,
            "email": e,
            "phone": p,
            "tags": t,
            "flag": fl,
            "kind": k,
            "addresses": [{"line1": "1 rue X", "city": "Paris", "postal_code": z, "country": "FR"}],
            "idempotency_key": e,
            "channel": "import",
        }
        for f, l, e, p, z, t, fl, k in PEOPLE
    ] + [
        {
            "scope_id": "eu-fr",
            "first_name": f"Marie {i:03}",
            "last_name": "Martin",
            "email": f"marie{i}@example.fr",
            "idempotency_key": f"marie{i}",
            "channel": "import",
        }
        for i in range(extra)
    ]
    result = await ok(await client.call(ImportCustomers, {"rows": rows}))
    assert {r.status for r in result.rows} == {"created"}
    return {row["email"]: r.code for row, r in zip(rows, result.rows, strict=True)}


async def find(client: OmsClient, **criteria: Any) -> list[str]:
    page = await ok(await client.call(SearchCustomers, criteria))
    return [f"{c.first_name} {c.last_name}" for c in page.items]


@with_own_service
async def test_c11_each_criterion_matches_by_prefix_ignoring_case_and_accents(client: OmsClient) -> None:
    await create_scope(client)
    codes = await load_people(client)
    assert await find(client, name="dub") == ["Chloé Dubois", "Zoë Dubois-Martin"]
    # Sorted by name: last-name matches first, then first-name matches, each in name order.
    by_name = await find(client, name="d")
    assert by_name[:2] == ["Chloé Dubois", "Zoë Dubois-Martin"] and by_name[4:] == ["Dorothée Lefèvre"]
    assert sorted(by_name[2:4]) == ["Emile Durand", "Émile Durand"]
    descending = await find(client, name="d", descending=True)  # each run reversed, runs in the same order
    assert descending[2:] == ["Zoë Dubois-Martin", "Chloé Dubois", "Dorothée Lefèvre"]
    paged, cursor = [], None
    while True:  # pages of two cross from the last-name run into the first-name run
        page = await ok(await client.call(SearchCustomers, {"name": "d", "limit": 2, "cursor": cursor}))
        assert page.total == 5
        paged += [f"{c.first_name} {c.last_name}" for c in page.items]
        if not (cursor := page.next_cursor):
            break
    assert paged == by_name
    assert await find(client, name="DUBOIS CH") == ["Chloé Dubois"]
    assert await find(client, name="chlo") == ["Chloé Dubois"]
    assert await find(client, name="gross") == await find(client, name="Groß") == ["Jürgen Groß"]
    assert await find(client, name="lukasz") == ["Łukasz Żółw"]
    assert await find(client, name="ovreas") == ["Ægir Øvreås"]
    assert sorted(await find(client, name="emile durand")) == ["Emile Durand", "Émile Durand"]  # namesakes
    assert await find(client, name="山田") == ["太郎 山田"]
    assert await find(client, email="CHLOE.d") == ["Chloé Dubois"]
    assert await find(client, phone="0612345678", scope_id="eu-fr") == ["Chloé Dubois"]
    assert await find(client, phone="+49 30 1234567") == ["Jürgen Groß"]
    assert await find(client, postal_code="75 00") == ["Chloé Dubois", "Acme Organization"]
    assert await find(client, tag="vip") == ["Chloé Dubois", "Émile Durand"]
    assert await find(client, flag="CHK") == ["Ægir Øvreås"]
    assert await find(client, kind="organization") == ["Acme Organization"]
    assert await find(client, code=codes["taro@example.jp"]) == ["太郎 山田"]
    assert await find(client, name="durand", postal_code="69") == ["Émile Durand"]  # criteria AND
    assert await find(client, name="durand", tag="vip", kind="organization") == []
    # As a caller says it, with no scope chosen: read as a number of each scope's country.
    assert await find(client, phone="06 12 34 56 78") == ["Chloé Dubois"]
    bad_phone = await client.call(SearchCustomers, {"phone": "12"})
    assert bad_phone.error.fields[0].field == "payload.phone"
    assert "FR" in bad_phone.error.fields[0].reason and "region" not in bad_phone.error.message  # no library jargon


@with_own_service
async def test_c11_sorted_keyset_pages_of_at_most_20_with_a_total(client: OmsClient) -> None:
    await create_scope(client)
    await load_people(client, extra=45)
    too_big = await client.call(SearchCustomers, {"name": "marie", "limit": 21})
    assert too_big.error.fields[0].field == "payload.limit"

    for sort, descending in (("name", False), ("name", True), ("created", False), ("last_activity", True)):
        seen, cursor = [], None
        while True:
            page = await ok(
                await client.call(
                    SearchCustomers, {"name": "martin", "sort": sort, "descending": descending, "cursor": cursor}
                )
            )
            assert page.total == 45 and page.total_is_exact and len(page.items) <= 20
            seen += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == 45 and len({c.code for c in seen}) == 45  # no row twice, none missing
        key = {
            "name": lambda c: (c.last_name, c.first_name),
            "created": lambda c: (c.registered_at, c.code),
            "last_activity": lambda c: (c.last_activity_at, c.code),
        }[sort]
        assert [key(c) for c in seen] == sorted((key(c) for c in seen), reverse=descending)
    wrong = await client.call(SearchCustomers, {"name": "martin", "sort": "created", "cursor": cursor or "abc"})
    assert wrong.error.fields[0].field == "payload.cursor"


def plan_stages(plan: Any) -> list[str]:
    if isinstance(plan, dict):
        own = [plan["stage"]] if "stage" in plan else []
        return own + [s for value in plan.values() for s in plan_stages(value)]
    if isinstance(plan, list):
        return [s for item in plan for s in plan_stages(item)]
    return []


QUERY_KINDS = {
    "no criteria": {},
    "scope": {"scope_id": "eu-fr"},
    "code": {"code": "C10"},
    "name": {"name": "dub"},
    "email": {"email": "chloe"},
    "phone": {"phone": "+33612345678"},
    "postal code": {"postal_code": "750"},
    "tag": {"tag": "vip"},
    "type": {"kind": "organization"},
    "state": {"state": "active"},
    "flag": {"flag": "red"},
    "name and postal code": {"name": "dur", "postal_code": "69"},
}


@pytest.fixture(scope="module")
async def people_indexed(base_settings: ServiceSettings) -> AsyncIterator[AsyncDatabase]:
    """A customer service with the people above and 30 namesakes loaded once, for the query
    plans: explain only reads, and starting and loading it for each of 36 cases cost most
    of their time. Its database, with the indexes the service declared at its start."""
    cleanup = Cleanup()
    settings = base_settings.model_copy(update={"namespace": new_namespace(), "max_attempts": 3})
    cleanup.track(settings)
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        async with running(customer_app(settings), cleanup=cleanup), OmsClient(settings, producer="tests") as client:
            await create_scope(client)
            await load_people(client, extra=30)
            yield mongo[settings.database_name("customer")]
    finally:
        await mongo.close()
        await cleanup.run(base_settings.amqp_url, base_settings.mongodb_url)


class FindCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.finds += event.command_name == "find"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_c11_a_name_found_in_one_run_reads_only_that_run(
    people_indexed: AsyncDatabase, base_settings: ServiceSettings
) -> None:
    """'chloe du' matches a first name and 'dubois' a last name, each in one run: the other
    run, counted empty, is not read (a round trip fewer for most such searches)."""
    counter = FindCounter()
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(base_settings.mongodb_url, event_listeners=[counter])
    try:
        db = mongo[people_indexed.name]
        for name, first in (("chloe du", "Chloé"), ("dubois", "Chloé"), ("dubois ch", "Chloé")):
            counter.finds = 0
            rows, *_ = await store.search_customers(db, SearchInput(name=name), ())
            assert rows and rows[0]["first_name"] == first and counter.finds == 1, (name, counter.finds)
        counter.finds = 0
        rows, *_ = await store.search_customers(db, SearchInput(name="nobody"), ())
        assert (rows, counter.finds) == ([], 0)
    finally:
        await mongo.close()


@pytest.mark.parametrize("kind", QUERY_KINDS)
@pytest.mark.parametrize("sort", ["name", "created", "last_activity"])
async def test_c11_every_query_kind_is_served_by_an_index(people_indexed: AsyncDatabase, kind: str, sort: str) -> None:
    customer_db = people_indexed
    query = SearchInput(**QUERY_KINDS[kind], sort=sort)
    plans = search_queries.runs(query, "FR") + search_queries.runs(query, "FR", broad=True)
    for run in plans:
        explained = [
            await customer_db.command(
                "explain",
                {
                    "find": store.CUSTOMERS,
                    "filter": run.filter,
                    "sort": dict(search_queries.sort_spec(run, query)),
                    "limit": 21,
                },
                verbosity="queryPlanner",
            )
        ]
        if run.filter:  # no criteria at all: the total is the collection's count, not a query
            explained.append(
                await customer_db.command(
                    "explain",
                    {
                        "count": store.CUSTOMERS,
                        "query": run.filter,
                        "limit": search_queries.TOTAL_CAP + 1,
                    },
                    verbosity="queryPlanner",
                )
            )
        for plan in explained:
            stages = plan_stages(plan["queryPlanner"]["winningPlan"])
            assert "COLLSCAN" not in stages and ("IXSCAN" in stages or "COUNT_SCAN" in stages), (run, stages)


@with_own_service
async def test_c10_state_summary_is_counted_from_an_index(client: OmsClient, customer_db: AsyncDatabase) -> None:
    await create_scope(client)
    await load_people(client)
    summary = await ok(await client.call(GetStateSummary, {}))
    assert summary.counts["active"] == len(PEOPLE)
    for query in ({"state": "active"}, {"scope_id": "eu-fr", "state": "active"}):
        explained = await customer_db.command("explain", {"count": store.CUSTOMERS, "query": query})
        assert plan_stages(explained["queryPlanner"]["winningPlan"]) == ["COUNT", "COUNT_SCAN"]


@with_own_service
async def test_c1_c5_lookups_by_idempotency_key_and_organization_number_use_their_partial_indexes(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    """A partial index serves only a query that repeats its filter; without it each order
    creating a customer scanned the whole collection for its idempotency key."""
    await create_scope(client)
    await load_people(client)
    for query, index in (
        (store.idempotency_keys_filter("eu-fr", ["k1", "k2"]), "idempotency_key_unique"),
        (relations_store.number_taken_filter("eu-fr", "fr123", "C1"), "organization_number_unique"),
    ):
        plan = (
            await customer_db.command("explain", {"find": store.CUSTOMERS, "filter": query}, verbosity="queryPlanner")
        )["queryPlanner"]["winningPlan"]
        assert "COLLSCAN" not in plan_stages(plan), query
        assert index in index_names(plan), (query, index_names(plan))


def index_names(plan: Any) -> set[str]:
    if isinstance(plan, dict):
        return ({plan["indexName"]} if "indexName" in plan else set()) | {
            n for value in plan.values() for n in index_names(value)
        }
    if isinstance(plan, list):
        return {n for item in plan for n in index_names(item)}
    return set()


@with_own_service
async def test_c11_a_broad_prefix_is_listed_in_the_order_of_its_key(client: OmsClient) -> None:
    await create_scope(client)
    rows = [
        {
            "scope_id": "eu-fr",
            "first_name": f"N{i:03}",
            "last_name": f"Z{(i * 7919) % 250:03}",
            "email": f"same.prefix{i:03}@example.fr",
            "idempotency_key": f"p{i}",
            "channel": "import",
        }
        for i in range(250)
    ]
    await ok(await client.call(ImportCustomers, {"rows": rows}))
    narrow = await ok(await client.call(SearchCustomers, {"email": "same.prefix1"}))
    assert narrow.sorted_by == "name" and narrow.total_is_exact and narrow.total == 100
    assert [c.last_name for c in narrow.items] == sorted(c.last_name for c in narrow.items)
    broad = await ok(await client.call(SearchCustomers, {"email": "same.prefix"}))
    assert (broad.sorted_by, broad.total, broad.total_is_exact) == ("email", 200, False)
    emails, cursor = [], None
    while True:
        page = await ok(await client.call(SearchCustomers, {"email": "same.prefix", "cursor": cursor}))
        assert page.sorted_by == "email"
        emails += [c.email for c in page.items]
        if not (cursor := page.next_cursor):
            break
    assert emails == sorted(row["email"] for row in rows)


@with_own_service
async def test_c11_a_broad_search_by_creation_is_listed_by_name(client: OmsClient) -> None:
    """No index serves a name prefix (or a tag, a kind...) and a date order together: past
    TOTAL_CAP matches the rows come by name, every page by index, the page saying so; a
    narrower search is sorted by creation as asked."""
    await create_scope(client)
    rows = [
        {
            "scope_id": "eu-fr",
            "first_name": f"N{i:03}",
            "last_name": f"Marl{(i * 7919) % 250:03}" if i < 250 else f"Zorn{i:03}",
            "email": f"m{i:03}@example.fr",
            "idempotency_key": f"m{i}",
            "channel": "import",
        }
        for i in range(300)
    ]
    for start in range(0, 300, 100):  # three batches: three creation moments at least
        reply = await ok(await client.call(ImportCustomers, {"rows": rows[start : start + 100]}))
        assert all(r.status == "created" for r in reply.rows), reply.rows[:2]
    newest_first = {"sort": "created", "descending": True}
    narrow = await ok(await client.call(SearchCustomers, {"name": "zorn", **newest_first}))
    assert (narrow.sorted_by, narrow.total, narrow.total_is_exact) == ("created", 50, True)
    names, cursor = [], None
    while True:
        page = await ok(await client.call(SearchCustomers, {"name": "marl", **newest_first, "cursor": cursor}))
        assert (page.sorted_by, page.total, page.total_is_exact) == ("name", 200, False)
        names += [c.last_name for c in page.items]
        if not (cursor := page.next_cursor):
            break
    assert names == sorted((row["last_name"] for row in rows[:250]), reverse=True)
