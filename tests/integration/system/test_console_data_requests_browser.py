"""C18, O8, I5: the data requests platforms sent, walked in a real headless Chromium against the
real stack: a supervisor finds them in the top bar, exports each customer a request names (the
export's reason names the request), and marks the request completed (it asks first; who did it
is recorded); a CSR has neither the link nor the page. Screenshot: docs/screenshots/ with
OMS_SCREENSHOTS=1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import expect

from contracts.customer.privacy import ListDataRequests, RecordDataRequest
from contracts.envelope import Actor
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, ok
from .test_console_browser import shot
from .test_console_screens_browser import console

SHOPIFY = Actor(kind="system", id="adapter:shopify")
SHOP = "acme.myshopify.com"


async def record(client: OmsClient, request_id: str, codes: list[str], customer_id: str) -> str:
    request = {
        "platform": "shopify",
        "shop": SHOP,
        "request_id": request_id,
        "source_system": "shopify:acme",
        "source_customer_id": customer_id,
        "order_numbers": ["299938"] if codes else [],
        "customer_codes": codes,
    }
    return (await ok(await client.call(RecordDataRequest, request, actor=SHOPIFY))).request_key


@pytest.mark.timeout(180)
async def test_c18_o8_i5_a_supervisor_exports_the_customers_a_data_request_names_and_completes_it(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with console(settings, client, cleanup, role="supervisor") as ui:
        page = ui.page
        a = await create_customer(client, email="asks.for.data@example.fr")
        named = await record(client, "9999", [a.code], "191167")
        nobody = await record(client, "10000", [], "191168")  # nobody linked here: nothing held

        await page.click("header.top a:has-text('Data requests')")
        row = page.locator(f"tr[data-request-key='{named}']")
        await expect(row).to_contain_text(a.code)
        await expect(row).to_contain_text("shopify customer 191167")
        await expect(row).to_contain_text("due ")  # 30 days after it arrived
        await expect(page.locator(f"tr[data-request-key='{nobody}']")).to_contain_text("No customer linked here")
        await shot(page, "38-data-requests")

        async with page.expect_download() as download_info:
            await row.locator("form.export-named button").click()
        download = await download_info.value
        assert download.suggested_filename == f"customer-{a.code}-export.json"
        document = json.loads(Path(await download.path()).read_text())
        assert document["customer_code"] == a.code
        assert document["reason"] == f"shopify data request 9999 (shop {SHOP})"

        await row.get_by_label("How it was handed over").fill("sent to the shop, ticket 88")
        await row.get_by_role("button", name="Mark completed").click()  # the confirmation is accepted
        await expect(page.locator("#data-request-completed")).to_contain_text(named)
        await expect(page.locator(f"tr[data-request-key='{named}']")).to_have_count(0)
        await expect(page.locator(f"tr[data-request-key='{nobody}']")).to_have_count(1)

        await page.click(".tabs a:has-text('Completed')")
        done = page.locator(f"tr[data-request-key='{named}']")
        await expect(done).to_contain_text("sup-bea")
        await expect(done).to_contain_text("sent to the shop, ticket 88")
        completed = await ok(await client.call(ListDataRequests, {"state": "completed"}))
        assert [(r.request_key, r.completed_by) for r in completed] == [(named, "sup-bea")]
        entries, _ = await ui.stack.staff.audit_page(action="customer.data_request.complete")
        assert [(e["username"], e["target"], e["outcome"]) for e in entries] == [("sup-bea", named, "ok")]


@pytest.mark.timeout(180)
async def test_c18_i5_a_csr_has_no_data_requests_link_nor_page(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with console(settings, client, cleanup, role="csr") as ui:
        page = ui.page
        await expect(page.locator("header.top")).not_to_contain_text("Data requests")
        answer = await page.goto(f"{ui.base}/data-requests")
        assert answer is not None and answer.status == 403
