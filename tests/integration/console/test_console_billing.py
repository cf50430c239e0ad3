"""C7, I5: the record's Invoices and Payments tabs, through the gateway against the real
services: an order's invoice and its payment, requested then received, as billing and the
payment provider report them upstream, shown on the customer who placed the order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from contracts.customer.history import GetCustomerHistory
from contracts.upstream.commerce import InvoiceIssued
from contracts.upstream.orders import PaymentReceived, PaymentRequested
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in
from ..merge_support import linked_to, placed

EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"


def example(name: str, kind: type[Any]) -> Any:
    raw = json.loads((EXAMPLES / f"{name}.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    return kind.model_validate(raw)


async def test_c7_i5_invoices_and_payments_tabs(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="billed@example.fr")
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("EU-100234", email=a.email))
        await linked_to(client, "EU-100234", a.code)
        await client.publish_upstream(example("invoice-issued", InvoiceIssued))
        await client.publish_upstream(example("payment-requested", PaymentRequested))

        async def history_of(kind: str, status: str) -> Any:
            page = await ok(await client.call(GetCustomerHistory, {"customer_code": a.code, "kind": kind}))
            return page if page.items and page.items[0].fields.get("status") == status else None

        await eventually(lambda: history_of("invoice", "open"), timeout=20)
        await eventually(lambda: history_of("payment", "requested"), timeout=20)
        async with signed_in(s.app, "csr") as http:
            record = (await http.get(f"/customers/{a.code}")).text
            assert "?tab=invoices" in record and "?tab=order_payments" in record
            invoices = (await http.get(f"/customers/{a.code}/tab/invoices")).text
            assert invoices.count('class="invoice"') == 1
            assert "FA-2026-004512" in invoices and "59.70 EUR" in invoices and "<td>open</td>" in invoices
            payments = (await http.get(f"/customers/{a.code}?tab=order_payments")).text
            assert "PAY-1" in payments and "requested" in payments

            await client.publish_upstream(example("payment-received", PaymentReceived))
            await eventually(lambda: history_of("payment", "received"), timeout=20)
            payments = (await http.get(f"/customers/{a.code}/tab/order_payments")).text
            assert (
                payments.count('class="order-payment"') == 1 and "received" in payments and "<td>visa</td>" in payments
            )
