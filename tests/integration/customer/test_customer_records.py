"""Step 2 over real RabbitMQ and MongoDB: customer records through the service's commands."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import (
    AddAddress,
    ChangeAddress,
    ChangeCustomerState,
    CreateCustomer,
    CreateCustomers,
    CreateScope,
    FindAccountsByEmail,
    GetAccountTemplate,
    GetCustomer,
    GetStateSummary,
    ListScopes,
    RemoveAddress,
    SetAccountTemplate,
    UpdateCustomer,
)
from customer.codes import is_valid_customer_code
from plumbing.client import OmsClient

from ...support import EventTap
from ..conftest import create_customer, create_scope, ok

pytestmark = pytest.mark.usefixtures("customer_service")


def fields_of(reply) -> dict[str, str]:  # noqa: ANN001
    assert not reply.ok, f"expected an error, got {reply.result}"
    return {f.field: f.reason for f in reply.error.fields}


async def test_c1_create_assigns_a_checked_human_friendly_code(client: OmsClient, customer_db: AsyncDatabase) -> None:
    await create_scope(client)
    first = await create_customer(client, email="a@example.fr")
    second = await create_customer(
        client,
        email="b@example.fr",
        phone="06 12 34 56 78",
        work_phone="+49 30 1234567",
        fax="01 23 45 67 89",
        phone_extension="12",
        preferred_language="fr",
        account_type="guest",
        active=False,
    )
    assert first.code != second.code and all(is_valid_customer_code(c.code) for c in (first, second))
    assert len(first.code) <= 8
    assert (second.phone, second.work_phone, second.fax) == ("+33612345678", "+49301234567", "+33123456789")
    assert second.account_type == "guest" and second.logon_id is None and second.state == "inactive"
    assert first.logon_id == "a@example.fr" and first.state == "active" and first.version == 1
    assert await customer_db["customers"].count_documents({}) == 2


async def test_c1_mandatory_and_malformed_fields_are_named_and_nothing_is_written(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    reply = await client.call(CreateCustomer, {"scope_id": "eu-fr", "first_name": "  ", "email": "x@example.fr"})
    assert set(fields_of(reply)) == {"payload.first_name", "payload.last_name"}
    reply = await client.call(
        CreateCustomer,
        {"scope_id": "eu-fr", "first_name": "A", "last_name": "B", "email": "not-an-email", "phone": "12"},
    )
    errors = fields_of(reply)
    assert set(errors) == {"payload.email", "payload.phone"} and reply.error.code == "validation"
    assert "@" in errors["payload.email"]
    assert await customer_db["customers"].count_documents({}) == 0


async def test_c2_scopes_and_the_same_email_in_several_scopes(client: OmsClient) -> None:
    await create_scope(client, "eu-fr", "FR")
    await create_scope(client, "de", "DE", default_language="de")
    assert [s.scope_id for s in await ok(await client.call(ListScopes, {}))] == ["de", "eu-fr"]
    duplicate_scope = await client.call(CreateScope, {"scope_id": "de", "name": "x", "country": "DE"})
    assert duplicate_scope.error.code == "conflict"

    fr = await create_customer(client, scope_id="eu-fr", email="Anna.Schmidt@Example.com")
    de = await create_customer(client, scope_id="de", email="anna.schmidt@example.com")
    guest = await create_customer(client, scope_id="de", email="ANNA.SCHMIDT@example.com", account_type="guest")
    taken = await client.call(
        CreateCustomer,
        {"scope_id": "de", "first_name": "A", "last_name": "S", "email": "Anna.Schmidt@example.COM"},
    )
    assert taken.error.code == "conflict" and "payload.email" in fields_of(taken)

    lookup = await ok(await client.call(FindAccountsByEmail, {"email": "anna.schmidt@EXAMPLE.com"}))
    assert sorted((a.scope_id, a.code) for a in lookup.accounts) == sorted(
        [("eu-fr", fr.code), ("de", de.code), ("de", guest.code)]
    )
    unknown = await client.call(
        CreateCustomer, {"scope_id": "nowhere", "first_name": "A", "last_name": "B", "email": "a@b.fr"}
    )
    assert unknown.error.code == "not_found" and "payload.scope_id" in fields_of(unknown)


async def test_c3_attributes_are_checked_against_the_account_template(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    template = await ok(
        await client.call(
            SetAccountTemplate,
            {
                "scope_id": "eu-fr",
                "fields": [
                    {"name": "loyalty_tier", "type": "enum", "allowed_values": ["silver", "gold"], "required": True},
                    {"name": "children", "type": "integer"},
                    {"name": "credit_limit", "type": "decimal"},
                    {"name": "newsletter", "type": "boolean"},
                    {"name": "birthday", "type": "date"},
                    {"name": "nickname", "type": "string"},
                ],
            },
        )
    )
    assert template.version == 1
    assert (await ok(await client.call(GetAccountTemplate, {"scope_id": "eu-fr"}))).fields == template.fields

    customer = await create_customer(
        client,
        attributes={
            "loyalty_tier": "gold",
            "children": "2",
            "credit_limit": "1500.50",
            "newsletter": "true",
            "birthday": "1990-02-28",
            "nickname": "Clo",
        },
    )
    assert customer.attributes == {
        "loyalty_tier": "gold",
        "children": 2,
        "credit_limit": "1500.50",
        "newsletter": True,
        "birthday": "1990-02-28",
        "nickname": "Clo",
    }

    bad = await client.call(
        CreateCustomer,
        {
            "scope_id": "eu-fr",
            "first_name": "A",
            "last_name": "B",
            "email": "b@example.fr",
            "attributes": {"children": "two", "credit_limit": "lots", "birthday": "30/02/1990", "shoe_size": 42},
        },
    )
    assert set(fields_of(bad)) == {
        "payload.attributes.children",
        "payload.attributes.credit_limit",
        "payload.attributes.birthday",
        "payload.attributes.shoe_size",
        "payload.attributes.loyalty_tier",
    }
    wrong_enum = await client.call(
        UpdateCustomer,
        {
            "customer_code": customer.code,
            "expected_version": 1,
            "changes": {"attributes": {"loyalty_tier": "platinum"}},
        },
    )
    assert "silver, gold" in fields_of(wrong_enum)["payload.changes.attributes.loyalty_tier"]
    cleared = await client.call(
        UpdateCustomer,
        {"customer_code": customer.code, "expected_version": 1, "changes": {"attributes": {"loyalty_tier": None}}},
    )
    assert "required" in fields_of(cleared)["payload.changes.attributes.loyalty_tier"]
    assert await customer_db["customers"].count_documents({}) == 1


async def test_c4_address_book_with_one_default_shipping_and_one_default_billing(client: OmsClient) -> None:
    await create_scope(client)
    home = {"label": "home", "line1": "12 rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"}
    customer = await create_customer(client, addresses=[home])
    (first,) = customer.addresses
    assert first.default_shipping and first.default_billing  # the only address is the default

    chalet = {
        "label": "chalet",
        "line1": "4 chemin des Alpages",
        "city": "Chamonix",
        "postal_code": "74400",
        "country": "FR",
        "default_shipping": True,
    }
    customer = await ok(
        await client.call(AddAddress, {"customer_code": customer.code, "expected_version": 1, "address": chalet})
    )
    by_label = {a.label: a for a in customer.addresses}
    assert by_label["chalet"].default_shipping and not by_label["home"].default_shipping
    assert by_label["home"].default_billing and not by_label["chalet"].default_billing

    moved = {**home, "line1": "1 avenue Foch", "postal_code": "75116", "default_shipping": True}
    customer = await ok(
        await client.call(
            ChangeAddress,
            {"customer_code": customer.code, "expected_version": 2, "address_id": first.address_id, "address": moved},
        )
    )
    by_label = {a.label: a for a in customer.addresses}
    assert by_label["home"].line1 == "1 avenue Foch" and by_label["home"].default_shipping
    assert [a.label for a in customer.addresses if a.default_shipping] == ["home"]

    customer = await ok(
        await client.call(
            RemoveAddress, {"customer_code": customer.code, "expected_version": 3, "address_id": first.address_id}
        )
    )
    (left,) = customer.addresses
    assert left.label == "chalet" and left.default_shipping and left.default_billing
    missing = await client.call(
        RemoveAddress, {"customer_code": customer.code, "expected_version": 4, "address_id": "nope"}
    )
    assert missing.error.code == "not_found"


async def test_c8_c9_timestamps_tags_and_flag(client: OmsClient) -> None:
    await create_scope(client)
    customer = await create_customer(client, tags=["VIP", "vip ", "Newsletter"], flag="CHK")
    assert customer.tags == ["VIP", "Newsletter"] and customer.flag == "CHK"
    assert customer.registered_at == customer.last_activity_at and customer.last_login_at is None
    await asyncio.sleep(0.01)
    changed = await ok(
        await client.call(
            UpdateCustomer,
            {"customer_code": customer.code, "expected_version": 1, "changes": {"flag": "red", "tags": ["gold"]}},
        )
    )
    assert changed.flag == "red" and changed.tags == ["gold"]
    assert changed.last_activity_at > customer.last_activity_at and changed.registered_at == customer.registered_at


async def test_c10_lifecycle_transitions_and_the_summary_per_state(client: OmsClient) -> None:
    await create_scope(client, requires_approval=True)
    waiting = await create_customer(client, email="w@example.fr", channel="storefront")
    assert waiting.state == "waiting_approval"
    active = await create_customer(client, email="a@example.fr")
    rejected = await create_customer(client, email="r@example.fr", channel="storefront")

    def act(customer, action: str, version: int, reason: str | None = None):  # noqa: ANN001, ANN202
        return client.call(
            ChangeCustomerState,
            {"customer_code": customer.code, "expected_version": version, "action": action, "reason": reason},
        )

    assert (await ok(await act(waiting, "approve", 1))).state == "active"
    assert (await ok(await act(rejected, "reject", 1, "fake account"))).state_reason == "fake account"
    assert (await ok(await act(active, "disable", 1, "chargebacks"))).state == "disabled"
    wrong = await act(active, "approve", 2)
    assert wrong.error.code == "invalid_state" and "disabled" in wrong.error.message
    assert (await ok(await act(active, "enable", 2))).state == "active"
    assert (await ok(await act(active, "deactivate", 3))).state == "inactive"

    summary = await ok(await client.call(GetStateSummary, {"scope_id": "eu-fr"}))
    assert summary.counts == {
        "active": 1,
        "inactive": 1,
        "disabled": 0,
        "waiting_approval": 0,
        "rejected": 1,
        "retired": 0,
        "erased": 0,
    }


async def test_c12_change_any_field_but_the_logon_id_and_detect_a_stale_version(client: OmsClient) -> None:
    await create_scope(client)
    customer = await create_customer(client, email="old@example.fr")
    changed = await ok(
        await client.call(
            UpdateCustomer,
            {
                "customer_code": customer.code,
                "expected_version": 1,
                "changes": {"first_name": "Chloë", "email": "new@example.fr", "phone": "0612345678"},
            },
        )
    )
    assert (changed.first_name, changed.phone, changed.version) == ("Chloë", "+33612345678", 2)
    # A registered account's new email waits for proof (C20); the logon id never changes.
    assert (changed.email, changed.pending_email, changed.logon_id) == (
        "old@example.fr",
        "new@example.fr",
        "old@example.fr",
    )

    logon = await client.call(
        UpdateCustomer, {"customer_code": customer.code, "expected_version": 2, "changes": {"logon_id": "x@example.fr"}}
    )
    assert "payload.changes.logon_id" in fields_of(logon)

    stale = await client.call(
        UpdateCustomer, {"customer_code": customer.code, "expected_version": 1, "changes": {"last_name": "Martin"}}
    )
    assert stale.error.code == "conflict" and stale.error.current_version == 2

    # Two CSRs change the same version at once: exactly one wins, the other is told.
    replies = await asyncio.gather(
        *(
            client.call(
                UpdateCustomer, {"customer_code": customer.code, "expected_version": 2, "changes": {"last_name": name}}
            )
            for name in ("Martin", "Bernard", "Petit", "Durand")
        )
    )
    assert sum(r.ok for r in replies) == 1
    assert {r.error.current_version for r in replies if not r.ok} == {3}
    final = await ok(await client.call(GetCustomer, {"customer_code": customer.code.lower()}))
    assert final.version == 3 and final.last_name == next(r.result.last_name for r in replies if r.ok)
    unknown = await client.call(GetCustomer, {"customer_code": "C99999"})
    assert unknown.error.code == "not_found" and "payload.customer_code" in fields_of(unknown)


async def test_p2_every_change_publishes_its_event_after_commit(client: OmsClient) -> None:
    await create_scope(client)
    async with EventTap(client, "customer.#") as tap:
        customer = await create_customer(client)
        await client.call(
            UpdateCustomer, {"customer_code": customer.code, "expected_version": 1, "changes": {"last_name": "Martin"}}
        )
        await client.call(
            AddAddress,
            {
                "customer_code": customer.code,
                "expected_version": 2,
                "address": {"line1": "1 rue A", "city": "Lyon", "country": "FR"},
            },
        )
        await client.call(
            ChangeCustomerState,
            {"customer_code": customer.code, "expected_version": 3, "action": "disable", "reason": "fraud"},
        )
        stale = await client.call(
            UpdateCustomer, {"customer_code": customer.code, "expected_version": 1, "changes": {"last_name": "X"}}
        )
        assert not stale.ok
        events = await tap.wait_for(5)
    assert [e["routing_key"] for e in events] == [
        "customer.customer-created.v1",
        "customer.password-setup-invited.v1",
        "customer.customer-updated.v1",
        "customer.customer-address-changed.v1",
        "customer.customer-state-changed.v1",
    ]
    assert events[2]["payload"]["changed"]["last_name"] == "Martin" and events[2]["payload"]["version"] == 2
    assert events[4]["payload"] == {
        "customer_code": customer.code,
        "version": 4,
        "previous": "active",
        "state": "disabled",
        "reason": "fraud",
    }
    assert len({e["message_id"] for e in events}) == 5


async def test_i1_a_redelivered_command_has_one_effect_and_the_same_reply(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    command = CreateCustomer(
        producer="tests", payload={"scope_id": "eu-fr", "first_name": "A", "last_name": "B", "email": "once@example.fr"}
    )
    first = await client.request(command, CreateCustomer.REPLY)
    again = await client.request(command, CreateCustomer.REPLY)
    assert first.ok and again.ok and first.result == again.result
    assert await customer_db["customers"].count_documents({}) == 1


async def test_c17_concurrent_creations_with_one_idempotency_key_make_one_customer(
    settings, client: OmsClient, customer_db: AsyncDatabase
) -> None:
    await create_scope(client)
    payload = {
        "scope_id": "eu-fr",
        "first_name": "Ana",
        "last_name": "Lima",
        "email": "ana@example.fr",
        "account_type": "guest",
        "channel": "order",
        "idempotency_key": "order:shop:42",
    }
    clients = [OmsClient(settings, producer=f"worker-{i}") for i in range(6)]
    for c in clients:
        await c.__aenter__()
    try:
        replies = await asyncio.gather(*(c.call(CreateCustomer, payload) for c in clients))
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)
    assert all(r.ok for r in replies), [r.error for r in replies if not r.ok]
    assert len({r.result.code for r in replies}) == 1
    assert await customer_db["customers"].count_documents({}) == 1


async def test_c1_o3_several_customers_at_once_each_created_found_or_refused_on_its_own(
    client: OmsClient, customer_db: AsyncDatabase
) -> None:
    """CreateCustomers (a batch of orders' new customers): one transaction for all, and each
    customer the answer CreateCustomer would give it, including a conflict only it has."""
    await create_scope(client)
    before = await create_customer(client, email="taken@example.fr", idempotency_key="k-before")

    def new(key: str | None, email: str, **extra: object) -> dict:
        return {
            "scope_id": "eu-fr",
            "first_name": "Ana",
            "last_name": "Lima",
            "email": email,
            "channel": "order",
            "idempotency_key": key,
            **extra,
        }

    batch = [
        new("k1", "one@example.fr"),
        new("k-before", "taken@example.fr"),
        new("k1", "one@example.fr"),
        new("k2", "not-an-email"),
        new(None, "keyless@example.fr"),
        new("k3", "three@example.fr", scope_id="nowhere"),
        new("k4", "four@example.fr", account_type="guest"),
    ]
    async with EventTap(client, "customer.customer-created.v1") as tap:
        reply = await client.call(CreateCustomers, {"customers": batch})
        assert reply.ok, reply.error
        results = reply.result.customers
        assert [r.status for r in results] == [
            "created",
            "unchanged",
            "unchanged",
            "rejected",
            "rejected",
            "rejected",
            "created",
        ]
        assert results[1].customer.code == before.code and results[0].customer.code == results[2].customer.code
        assert results[3].error.fields[0].field == "payload.email"
        assert results[4].error.fields[0].field == "payload.customers.4.idempotency_key"
        assert results[5].error.code == "not_found"
        created = {results[0].customer.code, results[6].customer.code}
        assert len(created) == 2 and results[6].customer.account_type == "guest"
        events = await tap.wait_for(2)
        assert {e["payload"]["customer"]["code"] for e in events} == created
    assert await customer_db["customers"].count_documents({}) == 3
    assert (
        await customer_db["audit"].count_documents(
            {"customer_code": {"$in": sorted(created)}, "action": "created (order)"}
        )
        == 2
    )

    # A registered email another registered account took: only that customer is refused.
    reply = await client.call(
        CreateCustomers, {"customers": [new("k5", "five@example.fr"), new("k6", "taken@example.fr")]}
    )
    assert [r.status for r in reply.result.customers] == ["created", "rejected"]
    assert reply.result.customers[1].error.code == "conflict"
    assert await customer_db["customers"].count_documents({}) == 4
