"""O2, O8, I5: "I am calling about order #1001": an order is found by the number its customer
reads, or by the platform's own, from order-sync, omsctl and the console, with its customer."""

from __future__ import annotations

from urllib.parse import quote

from contracts.order_sync.linking import FindOrders
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..customer.test_customer_import import omsctl
from ..gateway_support import gateway_stack, signed_in
from .test_order_sync import link_of, order


async def test_o2_o8_i5_an_order_is_found_by_the_number_its_customer_reads_or_the_platform_s(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        web = order(
            "5500123456", source_system="shopify:acme-eu", display_number="#1001", email="claire.web@example.fr"
        )
        till = order(
            "1001", source_system="pos:paris-2", email="marc.till@example.fr", first_name="Marc", last_name="Till"
        )
        other = order(  # her mailbox with a comment after it, as a form lets a buyer type it
            "5500123999", source_system="shopify:acme-eu", display_number="#1002", email="claire.web@example.fr (work)"
        )
        for placed in (web, till, other):
            await client.publish_upstream(placed)
        linked = {
            o.payload.order_number: await link_of(client, o.payload.source_system, o.payload.order_number)
            for o in (web, till, other)
        }

        async def found(number: str, **extra: str) -> dict[tuple[str, str], str | None]:
            reply = await client.call(FindOrders, {"number": number, **extra})
            assert reply.ok, reply.error
            return {(v.order.source_system, v.order.order_number): v.customer_code for v in reply.result}

        both = {
            ("shopify:acme-eu", "5500123456"): linked["5500123456"].customer_code,
            ("pos:paris-2", "1001"): linked["1001"].customer_code,
        }
        # As the customer reads it, with or without '#', and the till's own number 1001 too.
        assert await found("#1001") == await found("1001") == await found(" # 1001 ") == both
        assert await found("5500123456") == {("shopify:acme-eu", "5500123456"): linked["5500123456"].customer_code}
        assert await found("1001", scope_id="de") == {}
        assert await found("9999") == {}
        assert not (await client.call(FindOrders, {"number": "#"})).ok  # no number at all
        view = (await client.call(FindOrders, {"number": "#1002"})).result[0]
        assert (view.order.display_number, view.rule) == ("#1002", linked["5500123999"].rule)

        code, out = await omsctl(settings, "order", "find", "#1001")
        assert code == 0, out
        assert "#1001 shopify:acme-eu 5500123456" in out and "pos:paris-2 1001" in out
        assert all(c in out for c in both.values())

        async with signed_in(s.app, "csr") as http:
            page = await http.get(f"/orders?number={quote('#1001')}")
            assert page.status_code == 200, page.text
            for customer_code in both.values():
                assert f'href="/customers/{customer_code}"' in page.text
            assert "#1001" in page.text and "5500123456" in page.text
            assert "No order is numbered" in (await http.get("/orders?number=nope")).text
            # Why #1002 is Claire's: the evidence, and what was read another way.
            why = (await http.get(f"/orders?number={quote('#1002')}")).text
            assert 'class="why"' in why and "email: exact" in why, why
            assert "(work)" in why and 'class="order-notes"' in why, why
            api = await http.get("/api/orders", params={"number": "1001"})
            assert api.status_code == 200 and len(api.json()) == 2


async def test_o2_an_order_stored_before_number_keys_is_found_after_a_restart(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """Orders kept before FindOrders existed have no number keys; the service's start gives
    them theirs, so every order is found, whenever it arrived."""
    from pymongo import AsyncMongoClient

    from customer.app import create_app as customer_app
    from order_sync.app import create_app as order_sync_app

    from ...support import running
    from ..conftest import create_scope

    async with running(customer_app(settings), order_sync_app(settings), cleanup=cleanup):
        await create_scope(client, "eu-fr", "FR", default_language="fr")
        await client.publish_upstream(order("OLD-77", email="old.order@example.fr"))
        await link_of(client, "storefront:eu", "OLD-77")
    mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        orders = mongo[settings.database_name("order-sync")]["orders"]
        await orders.update_many({}, {"$unset": {"number_keys": ""}})  # as stored before
        async with running(customer_app(settings), order_sync_app(settings), cleanup=cleanup):
            found = await client.call(FindOrders, {"number": "old-77"})
            assert [v.order.order_number for v in found.result] == ["OLD-77"]
        assert await orders.count_documents({"number_keys": {"$exists": False}}) == 0
    finally:
        await mongo.close()
