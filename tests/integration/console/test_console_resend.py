"""N4, N5, I5: "I am calling about order #1001, please send me the shipping email again": the
CSR finds the order, opens the customer's emails and sends that one again, the same content
to the same address, recorded as a new activity; an email with a single-use link is not."""

from __future__ import annotations

import asyncio

from contracts.upstream.orders import OrderShipped
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer
from ..gateway_support import gateway_stack, signed_in
from ..order_sync.test_order_sync import link_of, order


async def test_n4_n5_i5_a_csr_sends_the_shipping_email_again(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        await client.publish_upstream(order("RS-1", email="resend.me@example.fr"))
        code = (await link_of(client, "storefront:eu", "RS-1")).customer_code
        ref = {"source_system": "storefront:eu", "order_number": "RS-1", "scope": "eu-fr"}
        await client.publish_upstream(
            OrderShipped.model_validate(
                {
                    "producer": "wms",
                    "payload": {
                        **ref,
                        "shipment_id": "S1",
                        "carrier": "Colissimo",
                        "tracking_number": "6A123",
                        "lines": [],
                        "shipped_at": "2026-11-21T10:00:00Z",
                    },
                }
            )
        )
        async with signed_in(s.app, "csr") as http:

            async def shipping_email() -> dict | None:
                items = (await http.get(f"/api/customers/{code}/activities")).json()["items"]
                return next((a for a in items if a.get("order") and a["status"] == "sent"), None)

            shipped = await eventually(shipping_email, timeout=20)
            before = len(s.mail.messages)
            tab = (await http.get(f"/customers/{code}/tab/activities")).text
            assert f'data-activity="{shipped["activity_id"]}"' in tab and "order RS-1" in tab
            answer = await http.post(f"/customers/{code}/emails/{shipped['activity_id']}/resend")
            assert answer.status_code in (200, 303), answer.text
            again = await asyncio.to_thread(s.mail.wait_for, before + 1, 20)
            assert (
                again[-1]["Subject"] == shipped["subject"] and "6A123" in again[-1].get_body(("plain",)).get_content()
            )
            items = (await http.get(f"/api/customers/{code}/activities")).json()["items"]
            resent = [a for a in items if a["subject"] == shipped["subject"] and a["initiated_by"] == "csr"]
            assert len(resent) == 1 and resent[0]["actor_id"] == "csr-ada"
            assert resent[0]["order"] == shipped["order"]  # an activity of the order too, not only the customer

            # A welcome email carries a set-password link: a new link is asked for, not this one again.
            invited = await create_customer(client, email="invited@example.fr")

            async def welcome() -> dict | None:
                items = (await http.get(f"/api/customers/{invited.code}/activities")).json()["items"]
                return next((a for a in items if a.get("link_sent")), None)

            link_email = await eventually(welcome, timeout=20)
            refused = await http.post(f"/api/customers/{invited.code}/emails/{link_email['activity_id']}/resend")
            assert refused.status_code == 422 and "single-use link" in refused.text
            assert "Send again" not in (await http.get(f"/customers/{invited.code}/tab/activities")).text
            other = await http.post(f"/api/customers/C99999/emails/{shipped['activity_id']}/resend")
            assert other.status_code == 404  # never another customer's email
