"""C7, N5, O7, I5: one order on the record, through the gateway against the real services:
from the Orders tab, its status and total, its shipment with the tracking number, its
invoice and payment, and the shipping email about it with Send again."""

from __future__ import annotations

import asyncio
from typing import Any

from contracts.customer.history import GetCustomerHistory
from contracts.notification.emails import ActivityPageReply, GetActivities
from contracts.upstream.commerce import InvoiceIssued
from contracts.upstream.orders import PaymentReceived
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in
from ..merge_support import linked_to, placed, shipped
from .test_console_billing import example


async def test_c7_n5_i5_an_order_with_its_shipments_payments_and_emails(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="detail@example.fr")
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("EU-100234", email=a.email))
        await linked_to(client, "EU-100234", a.code)
        await client.publish_upstream(shipped("EU-100234"))
        await client.publish_upstream(example("invoice-issued", InvoiceIssued))
        await client.publish_upstream(example("payment-received", PaymentReceived))
        ref = {"source_system": "storefront:eu", "order_number": "EU-100234"}

        async def all_in() -> Any:
            history = [
                (await ok(await client.call(GetCustomerHistory, {"customer_code": a.code, "kind": k}))).items
                for k in ("order", "invoice", "payment")
            ]
            emails = await client.call(GetActivities, {"order": ref}, reply_type=ActivityPageReply)
            shipped_order = history[0] and history[0][0].fields.get("shipments")
            return shipped_order and history[1] and history[2] and emails.ok and emails.result.items

        await eventually(all_in, timeout=30)
        async with signed_in(s.app, "csr") as http:
            tab = (await http.get(f"/customers/{a.code}/tab/orders")).text
            link = f"/customers/{a.code}/order?source_system=storefront%3Aeu&amp;order_number=EU-100234"
            assert link in tab
            # "I am calling about order EU-100234": the lookup leads to the same page.
            assert link in (await http.get("/orders?number=EU-100234")).text
            detail = await http.get(link.replace("&amp;", "&"))
            assert detail.status_code == 200, detail.text
            text = detail.text
            assert "Order EU-100234" in text and 'id="order-shipments"' in text and "Not shipped yet" not in text
            assert '<a href="https://tracking.example/6A12345678901" rel="noopener noreferrer"' in text
            assert "FA-2026-004512" in text and "PAY-1" in text and "received (visa)" in text
            assert 'class="quiet resend"' in text and 'id="no-order-email"' not in text
            # How it was tied to her: by her email, with the evidence behind the link.
            assert 'id="order-link">email' in text and "email: exact" in text, text
            missing = await http.get(f"/customers/{a.code}/order?source_system=storefront:eu&order_number=NOPE")
            assert missing.status_code == 404
