"""C18, I4, I5: export and erase from the record, through the gateway against the real
services, for the roles allowed: a CSR has neither; a supervisor downloads everything held
about the customer as one JSON document, and erases the customer in every service after
giving the reason and typing the code again, which answers a receipt; each is audited."""

from __future__ import annotations

import json

from contracts.customer.records import GetCustomer
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in


async def test_c18_i5_a_supervisor_exports_and_erases_with_a_reason_and_a_receipt(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="forget.me@example.fr", phone="06 12 34 56 78")
        async with signed_in(s.app, "csr") as http:
            assert 'id="privacy"' not in (await http.get(f"/customers/{a.code}")).text
            assert (await http.post(f"/customers/{a.code}/export", data={"reason": "asked"})).status_code == 403
            assert (
                await http.post(f"/customers/{a.code}/erase", data={"reason": "asked", "confirm_code": a.code})
            ).status_code == 403
        async with signed_in(s.app, "supervisor") as http:
            record = (await http.get(f"/customers/{a.code}")).text
            assert 'id="export-form"' in record and 'id="erase-form"' in record and "cannot be undone" in record

            exported = await http.post(f"/customers/{a.code}/export", data={"reason": "ticket 4711"})
            assert exported.status_code == 200, exported.text
            assert exported.headers["content-disposition"] == f'attachment; filename="customer-{a.code}-export.json"'
            document = json.loads(exported.text)
            assert (document["customer_code"], document["reason"]) == (a.code, "ticket 4711")
            assert document["customer"]["record"]["email"] == "forget.me@example.fr"
            assert {"order_sync", "notification"} <= document.keys()

            mistyped = await http.post(
                f"/customers/{a.code}/erase", data={"reason": "ticket 4711", "confirm_code": "C1"}
            )
            assert mistyped.status_code == 422 and 'data-field="confirm_code"' in mistyped.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).state == "active"

            erased = await http.post(
                f"/customers/{a.code}/erase", data={"reason": "ticket 4711", "confirm_code": a.code.lower()}
            )
            assert erased.status_code == 200, erased.text
            assert 'id="erasure-receipt"' in erased.text and "ticket 4711" in erased.text
            assert all(f"<td>{svc}</td>" in erased.text for svc in ("customer", "order-sync", "notification"))
            gone = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert gone.state == "erased" and gone.email != "forget.me@example.fr"
            assert 'id="privacy"' not in (await http.get(f"/customers/{a.code}")).text
        audited = [
            (d["username"], d["action"], d["outcome"])
            async for d in s.staff.db.staff_audit.find({"target": a.code}).sort("at", 1)
        ]
        assert audited == [
            ("sup-bea", "customer.export", "ok"),
            ("sup-bea", "customer.erase", "validation"),
            ("sup-bea", "customer.erase", "ok"),
        ]
        refused = {
            d["action"] async for d in s.staff.db.staff_audit.find({"username": "csr-ada", "outcome": "forbidden"})
        }
        assert refused == {"customer.export", "customer.erase"}
