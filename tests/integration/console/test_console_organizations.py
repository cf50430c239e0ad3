"""C5, I5: organizations in the console, through the gateway against the real services: a
CSR creates one from the Customer Manager's "New organization" link, a customer joins and
leaves it from their record, the organization's record opens as an organization (its own
form, which saves; its members, with links), and each action is audited."""

from __future__ import annotations

from contracts.customer.records import GetCustomer
from contracts.customer.relations import GetOrganization
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in


async def test_c5_i5_organizations_join_leave_and_their_own_record(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="member@example.fr")
        async with signed_in(s.app, "csr") as http:
            assert 'href="/organizations/new"' in (await http.get("/")).text
            form = (await http.get("/organizations/new")).text
            assert 'id="organization-form"' in form and 'name="scope_id"' in form

            # A refused organization: each error beside its box, what was typed kept.
            refused = await http.post(
                "/organizations/new",
                data={"scope_id": "eu-fr", "number": "", "name": "Crêpes du Nord", "line1": "2 rue Nord"},
            )
            assert refused.status_code == 422
            assert 'data-field="number"' in refused.text and 'data-field="city"' in refused.text
            assert 'value="Crêpes du Nord"' in refused.text and 'value="2 rue Nord"' in refused.text

            created = await http.post(
                "/organizations/new",
                data={
                    "scope_id": "eu-fr",
                    "number": "FR 123-456",
                    "name": "Crêpes du Nord",
                    "manager": "Anne Roy",
                    "manager_phone": "01 23 45 67 89",
                    "line1": "2 rue du Nord",
                    "city": "Lille",
                    "postal_code": "59000",
                    "country": "FR",
                },
            )
            assert created.status_code == 303, created.text
            org_code = created.headers["location"].split("/organizations/")[1].split("?")[0]
            org = (await ok(await client.call(GetOrganization, {"organization_code": org_code}))).organization
            assert (org.number, org.manager_phone, org.address.city) == ("FR 123-456", "+33123456789", "Lille")

            # Its record as a customer code opens as an organization, not as a person form.
            opened = await http.get(f"/customers/{org_code}")
            assert opened.status_code == 303 and opened.headers["location"] == f"/organizations/{org_code}"

            # The customer joins by its code; an unknown code is an error on the tab.
            unknown = await http.post(f"/customers/{a.code}/organizations", data={"organization_code": "C99999"})
            assert unknown.status_code == 404 and 'id="join-organization"' in unknown.text
            joined = await http.post(f"/customers/{a.code}/organizations", data={"organization_code": org_code})
            assert joined.status_code == 303, joined.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).organizations == [org_code]
            tab = (await http.get(f"/customers/{a.code}/tab/organizations")).text
            assert f'href="/organizations/{org_code}"' in tab and "leave-organization" in tab

            # The organization's record lists the member with a link, and its form saves.
            record = (await http.get(f"/organizations/{org_code}")).text
            assert f'href="/customers/{a.code}"' in record and "Chloé Dubois" in record
            assert 'id="save-organization"' in record
            saved = await http.post(
                f"/organizations/{org_code}",
                data={
                    "version": str(org.version),
                    "number": "FR 123-456",
                    "name": "Crêpes du Nord SARL",
                    "manager": "Anne Roy",
                    "manager_phone": "+33 1 23 45 67 89",
                    "price_level": "wholesale",
                    "line1": "2 rue du Nord",
                    "city": "Lille",
                    "postal_code": "59000",
                    "country": "FR",
                },
            )
            assert saved.status_code == 303, saved.text
            after = (await ok(await client.call(GetOrganization, {"organization_code": org_code}))).organization
            assert (after.name, after.price_level, after.manager_phone) == (
                "Crêpes du Nord SARL",
                "wholesale",
                "+33123456789",
            )
            stale = await http.post(
                f"/organizations/{org_code}",
                data={"version": str(org.version), "number": "FR 123-456", "name": "Old name"},
            )
            assert stale.status_code == 409 and 'id="conflict"' in stale.text

            left = await http.post(f"/customers/{a.code}/organizations/{org_code}/leave")
            assert left.status_code == 303, left.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).organizations == []
            assert "No member yet" in (await http.get(f"/organizations/{org_code}")).text
        audited = [
            (d["action"], d["outcome"])
            async for d in s.staff.db.staff_audit.find({"action": {"$regex": "^customer.organization"}}).sort("at", 1)
        ]
        assert audited == [
            ("customer.organization.create", "validation"),
            ("customer.organization.create", "ok"),
            ("customer.organization.join", "not_found"),
            ("customer.organization.join", "ok"),
            ("customer.organization.update", "ok"),
            ("customer.organization.update", "conflict"),
            ("customer.organization.leave", "ok"),
        ]
