"""C4, I5: the address book on the record, through the gateway against the real services: a
CSR adds, changes and deletes addresses and makes one the default shipping or billing
address; a refused address keeps what was typed with the error beside its field; a stale
version changes nothing; each action is audited as the CSR."""

from __future__ import annotations

from contracts.customer.records import GetCustomer
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in

RIVOLI = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}


async def test_c4_i5_a_csr_keeps_the_address_book_from_the_record(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="book@example.fr", addresses=[RIVOLI])
        first = a.addresses[0]
        assert first.default_shipping and first.default_billing  # the only address is both
        async with signed_in(s.app, "csr") as http:
            tab = (await http.get(f"/customers/{a.code}/tab/addresses")).text
            assert 'id="add-address"' in tab and f'id="address-{first.address_id}"' in tab

            # Add a second address, the new default shipping one.
            added = await http.post(
                f"/customers/{a.code}/addresses",
                data={
                    "version": str(a.version),
                    "label": "chalet",
                    "line1": "3 route des Pistes",
                    "city": "Chamonix",
                    "postal_code": "74400",
                    "country": "France",
                    "phone": "04 50 00 00 00",
                    "default_shipping": "on",
                },
            )
            assert added.status_code == 303, added.text
            assert "notice=address" in added.headers["location"]
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            chalet = next(x for x in now.addresses if x.label == "chalet")
            assert (chalet.country, chalet.default_shipping, chalet.default_billing) == ("FR", True, False)
            assert not next(x for x in now.addresses if x.address_id == first.address_id).default_shipping

            # A refused address: the error beside the city, the typed street kept, nothing added.
            refused = await http.post(
                f"/customers/{a.code}/addresses",
                data={"version": str(now.version), "line1": "8 rue Typed", "city": "", "country": "FR"},
            )
            assert refused.status_code == 422
            assert 'data-field="city"' in refused.text and 'value="8 rue Typed"' in refused.text
            assert len((await ok(await client.call(GetCustomer, {"customer_code": a.code}))).addresses) == 2

            # Change it, then make it the default billing address too.
            changed = await http.post(
                f"/customers/{a.code}/addresses/{chalet.address_id}",
                data={
                    "version": str(now.version),
                    "label": "chalet",
                    "line1": "5 route des Pistes",
                    "city": "Chamonix",
                    "postal_code": "74400",
                    "country": "FR",
                    "default_shipping": "on",
                },
            )
            assert changed.status_code == 303, changed.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert next(x for x in now.addresses if x.address_id == chalet.address_id).line1 == "5 route des Pistes"
            billing = await http.post(
                f"/customers/{a.code}/addresses/{chalet.address_id}/default",
                data={"version": str(now.version), "purpose": "billing"},
            )
            assert billing.status_code == 303, billing.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            defaults = {x.address_id: (x.default_shipping, x.default_billing) for x in now.addresses}
            assert defaults == {chalet.address_id: (True, True), first.address_id: (False, False)}

            # A stale version (someone changed the record meanwhile) deletes nothing.
            stale = await http.post(
                f"/customers/{a.code}/addresses/{first.address_id}/delete", data={"version": str(now.version - 1)}
            )
            assert stale.status_code == 409 and 'id="address-conflict"' in stale.text
            deleted = await http.post(
                f"/customers/{a.code}/addresses/{first.address_id}/delete", data={"version": str(now.version)}
            )
            assert deleted.status_code == 303, deleted.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert [x.address_id for x in now.addresses] == [chalet.address_id]
            tab = (await http.get(f"/customers/{a.code}/tab/addresses")).text
            assert "1 rue de Rivoli" not in tab and "5 route des Pistes" in tab

            # Without the CSRF token: refused, nothing changes.
            del http.headers["X-CSRF-Token"]
            forged = await http.post(
                f"/customers/{a.code}/addresses/{chalet.address_id}/delete", data={"version": str(now.version)}
            )
            assert forged.status_code == 403
        audited = [
            (d["username"], d["action"], d["outcome"])
            async for d in s.staff.db.staff_audit.find({"target": a.code}).sort("at", 1)
        ]
        assert audited == [
            ("csr-ada", "customer.address.add", "ok"),
            ("csr-ada", "customer.address.add", "validation"),
            ("csr-ada", "customer.address.change", "ok"),
            ("csr-ada", "customer.address.default", "ok"),
            ("csr-ada", "customer.address.remove", "conflict"),
            ("csr-ada", "customer.address.remove", "ok"),
        ]
