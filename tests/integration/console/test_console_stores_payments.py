"""C6, C7, I5: on the record, through the gateway against the real services: a CSR picks the
customer's preferred store among the stores they ordered from (or types another store's
id, or clears it), and deletes a saved payment method giving the reason, which the customer
service keeps in its audit; both are audited as the CSR."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from contracts.customer.history import GetCustomerHistory
from contracts.customer.records import GetCustomer, GetCustomerAudit
from contracts.upstream.commerce import PaymentMethodSaved
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in
from ..merge_support import linked_to, placed

EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"


async def saved_card(client: OmsClient, **changes: str) -> PaymentMethodSaved:
    raw = json.loads((EXAMPLES / "payment-method-saved.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"].update(changes)
    return PaymentMethodSaved.model_validate(raw)


async def test_c6_c7_i5_preferred_store_and_deleting_a_saved_payment_with_a_reason(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="stores@example.fr")
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("ST-1", email=a.email, store_id="paris-3"))
        await linked_to(client, "ST-1", a.code)
        await client.publish_upstream(await saved_card(client, token="pm_keep", last4="1111"))
        await client.publish_upstream(await saved_card(client, token="pm_gone", last4="4242"))

        async def cards() -> list[str] | None:
            page = await ok(await client.call(GetCustomerHistory, {"customer_code": a.code, "kind": "payment_method"}))
            tokens = sorted(i.fields["token"] for i in page.items)
            return tokens if len(tokens) == 2 else None

        assert await eventually(cards, timeout=15) == ["pm_gone", "pm_keep"]

        async def used_store() -> object:
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            return now if now.stores else None

        now = await eventually(used_store, timeout=15)
        async with signed_in(s.app, "csr") as http:
            stores = (await http.get(f"/customers/{a.code}/tab/stores")).text
            assert 'id="preferred-store-select"' in stores and 'value="paris-3"' in stores

            chose = await http.post(
                f"/customers/{a.code}/preferred-store", data={"version": str(now.version), "store_id": "paris-3"}
            )
            assert chose.status_code == 303, chose.text
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert now.preferred_store_id == "paris-3"
            assert "★ preferred" in (await http.get(f"/customers/{a.code}/tab/stores")).text
            # Another store's id typed beside the list wins; a stale version changes nothing.
            stale = await http.post(
                f"/customers/{a.code}/preferred-store",
                data={"version": str(now.version - 1), "other_store_id": "lyon-1"},
            )
            assert stale.status_code == 409 and 'value="lyon-1"' in stale.text
            typed = await http.post(
                f"/customers/{a.code}/preferred-store",
                data={"version": str(now.version), "store_id": "paris-3", "other_store_id": "lyon-1"},
            )
            assert typed.status_code == 303
            now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
            assert now.preferred_store_id == "lyon-1"
            cleared = await http.post(f"/customers/{a.code}/preferred-store", data={"version": str(now.version)})
            assert cleared.status_code == 303
            assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).preferred_store_id is None

            # Deleting a saved card takes a reason.
            payments = (await http.get(f"/customers/{a.code}/tab/payments")).text
            assert payments.count('class="inline delete-payment"') == 2 and "•••• 4242" in payments
            no_reason = await http.post(
                f"/customers/{a.code}/payment-methods/delete",
                data={"source_system": "storefront:eu", "token": "pm_gone", "reason": ""},
            )
            assert no_reason.status_code == 422
            deleted = await http.post(
                f"/customers/{a.code}/payment-methods/delete",
                data={"source_system": "storefront:eu", "token": "pm_gone", "reason": "card reported stolen"},
            )
            assert deleted.status_code == 303, deleted.text
            assert await cards() is None  # one left
            payments = (await http.get(f"/customers/{a.code}/tab/payments")).text
            assert "•••• 4242" not in payments and "•••• 1111" in payments
            again = await http.post(
                f"/customers/{a.code}/payment-methods/delete",
                data={"source_system": "storefront:eu", "token": "pm_gone", "reason": "twice"},
            )
            assert again.status_code == 404 and 'id="saved-payments"' in again.text
        trail = await ok(await client.call(GetCustomerAudit, {"customer_code": a.code}))
        assert any(e.action.startswith("payment method deleted") and e.actor_id == "csr-ada" for e in trail.items)
        audited = [
            (d["action"], d["outcome"]) async for d in s.staff.db.staff_audit.find({"target": a.code}).sort("at", 1)
        ]
        assert audited == [
            ("customer.preferred_store", "ok"),
            ("customer.preferred_store", "conflict"),
            ("customer.preferred_store", "ok"),
            ("customer.preferred_store", "ok"),
            ("customer.payment_method.delete", "ok"),
            ("customer.payment_method.delete", "not_found"),
        ]
