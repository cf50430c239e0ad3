"""C9, C19, I5: the Account tab, through the gateway against the real services: a CSR sets and
clears the review flag (a colour or "CHK") and the tags with the account form, adds the
customer to a static group of their scope and takes them out of it; a segment the customer
matches shows, with nothing to join or leave by hand; each change is audited."""

from __future__ import annotations

from contracts.customer.records import MAX_NOTES, GetCustomer, GetCustomerAudit
from contracts.customer.relations import CreateGroup
from contracts.envelope import Actor
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, ok
from ..gateway_support import STAFF, gateway_stack, signed_in

ADMIN = Actor(kind="csr", id="adm-seed")


async def test_c9_c19_i5_review_flag_tags_and_groups_on_the_account_tab(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="flagged@example.fr")
        for group in (
            {"group_id": "vip-paris", "scope_id": "eu-fr", "name": "VIP Paris"},
            {"group_id": "press", "scope_id": "eu-fr", "name": "Press"},
            {
                "group_id": "tagged-b2b",
                "scope_id": "eu-fr",
                "name": "B2B by tag",
                "kind": "segment",
                "rules": [{"field": "tag", "op": "equals", "value": "b2b"}],
            },
        ):
            await ok(await client.call(CreateGroup, group, actor=ADMIN))
        async with signed_in(s.app, "csr") as http:
            account = (await http.get(f"/customers/{a.code}/tab/account")).text
            assert 'id="review-flag"' in account and '<option value="">none</option>' in account
            assert 'id="add-to-group"' in account and 'value="vip-paris"' in account
            assert 'value="tagged-b2b"' not in account  # a segment is never joined by hand

            saved = await http.post(
                f"/customers/{a.code}/edit", data={"version": str(a.version), "flag": "CHK", "tags": "VIP, b2b"}
            )
            assert saved.status_code == 303, saved.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert (now.flag, now.tags) == ("CHK", ["VIP", "b2b"])
            record = (await http.get(f"/customers/{a.code}")).text
            assert 'id="record-flag"' in record and "⚑ CHK" in record
            refused = await http.post(f"/customers/{a.code}/edit", data={"version": str(now.version), "flag": "pink"})
            assert refused.status_code == 422 and 'data-field="flag"' in refused.text

            added = await http.post(f"/customers/{a.code}/groups", data={"group_id": "vip-paris"})
            assert added.status_code == 303, added.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert set(now.groups) == {"vip-paris", "tagged-b2b"}
            account = (await http.get(f"/customers/{a.code}/tab/account")).text
            assert 'id="group-vip-paris"' in account and 'id="group-tagged-b2b"' in account
            assert "segment (its rules match)" in account
            assert f'action="/customers/{a.code}/groups/tagged-b2b/remove"' not in account
            assert f'action="/customers/{a.code}/groups/vip-paris/remove"' in account
            unknown = await http.post(f"/customers/{a.code}/groups", data={"group_id": "no-such-group"})
            assert unknown.status_code == 404 and 'id="groups"' in unknown.text

            removed = await http.post(f"/customers/{a.code}/groups/vip-paris/remove")
            assert removed.status_code == 303, removed.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            # The flag cleared, a tag taken off: the segment no longer matches.
            cleared = await http.post(
                f"/customers/{a.code}/edit", data={"version": str(now.version), "flag": "", "tags": "VIP"}
            )
            assert cleared.status_code == 303, cleared.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert (now.flag, now.tags, now.groups) == (None, ["VIP"], [])
        audited = [
            (d["action"], d["outcome"]) async for d in s.staff.db.staff_audit.find({"target": a.code}).sort("at", 1)
        ]
        assert audited == [
            ("customer.update", "ok"),
            ("customer.update", "validation"),
            ("customer.group.add", "ok"),
            ("customer.group.add", "not_found"),
            ("customer.group.remove", "ok"),
            ("customer.update", "ok"),
        ]


async def test_c9_i5_staff_notes_on_the_account_tab_keep_their_lines_and_are_audited(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="noted@example.fr")
        async with signed_in(s.app, "csr") as http:
            account = (await http.get(f"/customers/{a.code}/tab/account")).text
            assert 'id="customer-notes"' in account and f'maxlength="{MAX_NOTES}"' in account

            # A browser posts a textarea's line breaks as CRLF.
            typed = "Prefers calls after 5 pm.\r\nAsked for paper invoices."
            saved = await http.post(f"/customers/{a.code}/edit", data={"version": str(a.version), "notes": typed})
            assert saved.status_code == 303, saved.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert now.notes == "Prefers calls after 5 pm.\nAsked for paper invoices." and now.version == 2
            account = (await http.get(f"/customers/{a.code}/tab/account")).text
            assert ">Prefers calls after 5 pm.\nAsked for paper invoices.</textarea>" in account

            # The same notes saved again (CRLF again) change nothing.
            again = await http.post(f"/customers/{a.code}/edit", data={"version": "2", "notes": typed})
            assert again.status_code == 303, again.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).version == 2

            # Too long: refused beside the box, what was typed kept, nothing saved.
            too_long = "n" * (MAX_NOTES + 1)
            refused = await http.post(f"/customers/{a.code}/edit", data={"version": "2", "notes": too_long})
            assert refused.status_code == 422 and 'data-field="notes"' in refused.text
            assert f">{too_long}</textarea>" in refused.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).notes == now.notes

            cleared = await http.post(f"/customers/{a.code}/edit", data={"version": "2", "notes": " \r\n "})
            assert cleared.status_code == 303, cleared.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).notes is None
        trail = await ok(await client.call(GetCustomerAudit, {"customer_code": a.code}))
        assert [e.changed for e in trail.items if e.action == "updated"] == [["notes"], ["notes"]]
        assert {e.actor_id for e in trail.items if e.action == "updated"} == {STAFF["csr"]}
        audited = [(d["action"], d["outcome"]) async for d in s.staff.db.staff_audit.find({"target": a.code})]
        assert audited.count(("customer.update", "ok")) == 3 and ("customer.update", "validation") in audited
