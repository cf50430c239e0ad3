"""I5: the record's and the administrators' newer screens walked in a real headless Chromium
(Debian's, driven by Playwright) against the real stack, one test per screen, each named by
the capabilities it proves. Screenshots go to docs/screenshots/ with OMS_SCREENSHOTS=1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from playwright.async_api import Page, expect

from contracts.customer.records import GetCustomer, ImportCustomers, UpdateCustomer
from contracts.customer.relations import CreateGroup
from contracts.envelope import Actor
from contracts.upstream.commerce import InvoiceIssued
from contracts.upstream.orders import PaymentReceived
from gateway.settings import GatewaySettings
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..browser_support import browser_context
from ..conftest import create_customer, ok
from ..console.test_console_billing import example
from ..console.test_console_stores_payments import saved_card
from ..gateway_support import PASSWORD, Stack, gateway_stack, serving
from ..merge_support import linked_to, placed, shipped
from .test_console_browser import RIVOLI, admin_screen, shot, sign_in, tab


@dataclass
class Console:
    stack: Stack
    base: str
    page: Page


@asynccontextmanager
async def console(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, role: str = "csr"
) -> AsyncIterator[Console]:
    """The stack, the gateway on a real port, and a Chromium page signed in as ``role``;
    confirmations (data-confirm) are accepted."""
    async with (
        gateway_stack(settings, client, cleanup, GatewaySettings(cookie_secure=False)) as s,
        serving(s.app) as base,
        browser_context(viewport={"width": 1280, "height": 860}) as context,
    ):
        page = await context.new_page()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await sign_in(page, base, role)
        yield Console(s, base, page)


@pytest.mark.timeout(180)
async def test_c4_i5_address_book_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C4: add an address with the keyboard, make it the default billing one, edit it,
    delete the other."""
    async with console(settings, client, cleanup) as ui:
        a = await create_customer(client, email="book@example.fr", addresses=[RIVOLI])
        page = ui.page
        await page.goto(f"{ui.base}/customers/{a.code}")
        await tab(page, "Addresses")
        await page.click("#add-address summary")
        await page.get_by_label("Label").last.fill("chalet")
        await page.fill("#new-address-line1", "3 route des Pistes")
        await page.fill("#new-address-postal_code", "74400")
        await page.fill("#new-address-city", "Chamonix")
        await page.fill("#new-address-country", "FR")
        await page.focus("#new-address-default_shipping")
        await page.keyboard.press("Space")
        await page.keyboard.press("Enter")  # submits the form from the keyboard
        await expect(page.locator(".notice")).to_have_text("Address saved.")
        await expect(page.locator("#address-book")).to_contain_text("3 route des Pistes")
        chalet = next(
            x
            for x in (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).addresses
            if x.label == "chalet"
        )
        row = page.locator(f"#address-{chalet.address_id}")
        await expect(row.locator(".defaults")).to_have_text("shipping")
        await row.locator("button.make-default-billing").click()
        await expect(page.locator(".notice")).to_have_text("Default address set.")
        await expect(page.locator(f"#address-{chalet.address_id} .defaults")).to_have_text("shipping billing")
        await shot(page, "21-record-address-book")

        await page.locator(f"#edit-row-{chalet.address_id} summary").click()
        await page.fill(f"#edit-{chalet.address_id}-line1", "5 route des Pistes")
        await page.fill(f"#edit-{chalet.address_id}-city", "")
        await page.locator(f"#edit-row-{chalet.address_id} button.save-address").click()
        # The browser itself asks for the city first (required); typed once more, it saves.
        await page.fill(f"#edit-{chalet.address_id}-city", "Chamonix-Mont-Blanc")
        await page.locator(f"#edit-row-{chalet.address_id} button.save-address").click()
        await expect(page.locator(".notice")).to_have_text("Address saved.")
        await expect(page.locator("#address-book")).to_contain_text("5 route des Pistes")

        first = a.addresses[0].address_id
        await page.locator(f"#address-{first} button.delete-address").click()
        await expect(page.locator(".notice")).to_have_text("Address deleted.")
        await expect(page.locator("#address-book")).not_to_contain_text("1 rue de Rivoli")
        now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
        assert [(x.line1, x.city, x.default_billing) for x in now.addresses] == [
            ("5 route des Pistes", "Chamonix-Mont-Blanc", True)
        ]


@pytest.mark.timeout(180)
async def test_c5_i5_organizations_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C5: "New organization" from the Customer Manager, a customer joins it from their
    record, its own record lists the member and saves, the customer leaves it."""
    async with console(settings, client, cleanup) as ui:
        page = ui.page
        a = await create_customer(client, email="member@example.fr")
        await page.goto(f"{ui.base}/")
        await page.click("#new-organization")
        await page.get_by_role("textbox", name="Number *").fill("FR 123-456")
        await page.get_by_role("textbox", name="Name *").fill("Crêpes du Nord")
        await page.get_by_label("Manager", exact=True).fill("Anne Roy")
        await page.get_by_label("Manager's phone").fill("01 23 45 67 89")
        await page.fill("#organization-address-line1", "2 rue du Nord")
        await page.fill("#organization-address-city", "Lille")
        await page.fill("#organization-address-country", "FR")
        await page.click("#save-organization")
        await expect(page.locator(".notice")).to_have_text("Organization created.")
        await expect(page.locator("h1")).to_contain_text("Crêpes du Nord")
        org_code = page.url.split("/organizations/")[1].split("?")[0]

        await page.goto(f"{ui.base}/customers/{a.code}")
        await tab(page, "Organizations")
        await page.get_by_label("Organization code").fill(org_code)
        await page.keyboard.press("Enter")
        await expect(page.locator(".notice")).to_have_text("The customer joined the organization.")
        await expect(page.locator("#memberships")).to_contain_text("Crêpes du Nord")
        await shot(page, "22-record-organizations-join")

        await page.click(f"#memberships a[href='/organizations/{org_code}']")
        await expect(page.locator("#members")).to_contain_text(a.code)
        await page.get_by_label("Price level").fill("wholesale")
        await page.click("#save-organization")
        await expect(page.locator(".notice")).to_have_text("Organization saved.")
        await expect(page.get_by_label("Price level")).to_have_value("wholesale")
        await expect(page.get_by_label("Manager's phone")).to_have_value("+33 1 23 45 67 89")
        await shot(page, "23-organization-record")

        await page.click(f"#members a:has-text('{a.code}')")
        await tab(page, "Organizations")
        await page.click(f"#membership-{org_code} button.leave-organization")
        await expect(page.locator(".notice")).to_have_text("The customer left the organization.")
        assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).organizations == []


@pytest.mark.timeout(180)
async def test_c6_c7_i5_preferred_store_and_deleting_a_saved_payment_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C6: choose the preferred store in the list; C7: delete a saved card, giving why."""
    async with console(settings, client, cleanup) as ui:
        page = ui.page
        a = await create_customer(client, email="stores@example.fr")
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("ST-1", email=a.email, store_id="paris-3"))
        await linked_to(client, "ST-1", a.code)
        await client.publish_upstream(await saved_card(client, token="pm_gone", last4="4242"))

        await page.goto(f"{ui.base}/customers/{a.code}")
        await tab(page, "Stores")
        await expect(page.locator("#stores")).to_contain_text("paris-3", timeout=15000)
        await page.select_option("#preferred-store-select", "paris-3")
        await page.click("#save-preferred-store")
        await expect(page.locator(".notice")).to_have_text("Preferred store saved.")
        await expect(page.locator("#preferred-store-now")).to_contain_text("paris-3")
        await expect(page.locator("#stores")).to_contain_text("★ preferred")
        await shot(page, "24-record-stores-preferred")

        await tab(page, "Saved Payments")
        row = page.locator("#saved-payments tr.saved-payment[data-token='pm_gone']")
        await expect(row).to_contain_text("4242", timeout=15000)
        await row.get_by_label("Reason to delete").fill("card reported stolen")
        await shot(page, "25-record-saved-payment-delete")
        await row.locator("button").click()
        await expect(page.locator(".notice")).to_have_text("The saved payment method was deleted.")
        await expect(page.locator("#saved-payments")).to_contain_text("No saved payment method.")


@pytest.mark.timeout(180)
async def test_c9_c19_i5_review_flag_tags_and_groups_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C9: set the review flag and a tag on the Account tab; C19: add the customer to a static
    group, see the segment they now match, take them out of the group."""
    async with console(settings, client, cleanup) as ui:
        page = ui.page
        a = await create_customer(client, email="flagged@example.fr")
        for group in (
            {"group_id": "vip-paris", "scope_id": "eu-fr", "name": "VIP Paris"},
            {
                "group_id": "tagged-b2b",
                "scope_id": "eu-fr",
                "name": "B2B by tag",
                "kind": "segment",
                "rules": [{"field": "tag", "op": "equals", "value": "b2b"}],
            },
        ):
            await ok(await client.call(CreateGroup, group, actor=Actor(kind="csr", id="adm-seed")))
        await page.goto(f"{ui.base}/customers/{a.code}")
        await page.get_by_label("Review flag").select_option("CHK")
        await page.get_by_label("Tags (comma-separated)").fill("VIP, b2b")
        await page.click("#save-account")
        await expect(page.locator(".notice")).to_have_text("Changes saved.")
        await expect(page.locator("#record-flag")).to_have_text("⚑ CHK")
        await expect(page.locator("#group-tagged-b2b")).to_contain_text("segment")
        await page.get_by_label("Static group").select_option("vip-paris")
        await page.click("#add-to-group button")
        await expect(page.locator(".notice")).to_have_text("Added to the group.")
        await expect(page.locator("#group-vip-paris")).to_contain_text("VIP Paris")
        await shot(page, "26-record-account-flag-tags-groups")
        await page.click("#group-vip-paris button.remove-group")
        await expect(page.locator(".notice")).to_have_text("Removed from the group.")
        await expect(page.locator("#groups")).not_to_contain_text("VIP Paris")
        now = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
        assert (now.flag, now.tags, now.groups) == ("CHK", ["VIP", "b2b"], ["tagged-b2b"])


@pytest.mark.timeout(180)
async def test_c16_i5_audit_tab_pages_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C16 (who acted, kept in the audit), N5: the Audit tab shows 20 entries, 'Older' loads the
    rest in place, 'Newest' goes back; the Activities tab pages the same way (the same pager)."""
    async with console(settings, client, cleanup) as ui:
        page = ui.page
        a = await create_customer(client, email="busy@example.fr", account_type="guest")
        version = a.version
        for n in range(22):
            changes = {"phone": f"0612345{n:03}"}
            payload = {"customer_code": a.code, "expected_version": version, "changes": changes}
            version = (
                await ok(await client.call(UpdateCustomer, payload, actor=Actor(kind="csr", id="csr-ada")))
            ).version
        await page.goto(f"{ui.base}/customers/{a.code}")
        await tab(page, "Audit")
        await expect(page.locator("#tab-panel tbody tr")).to_have_count(20)
        await page.click("#history-older")
        await expect(page.locator("#history-pager")).to_contain_text("Newest")
        rest = await page.locator("#tab-panel tbody tr").count()
        assert 2 <= rest < 20
        await expect(page.locator("#history-older")).to_have_count(0)
        await shot(page, "27-record-audit-older")
        await page.click("#history-pager a:has-text('Newest')")
        await expect(page.locator("#tab-panel tbody tr")).to_have_count(20)


@pytest.mark.timeout(180)
async def test_i4_i5_staff_accounts_and_staff_audit_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """I4: an administrator creates a staff account, changes its role, resets its password
    (shown once), disables it; then reads the staff audit filtered by member and action."""
    async with console(settings, client, cleanup, role="administrator") as ui:
        page = ui.page
        await admin_screen(page, "Staff")
        await expect(page.locator("h1")).to_have_text("Staff accounts")
        await page.fill("#new-staff-username", "csr-eve")
        await page.fill("#new-staff-name", "Eve")
        await page.select_option("#new-staff-role", "csr")
        await page.fill("#new-staff-password", PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator(".notice")).to_have_text("Staff account created.")
        row = page.locator("#staff-csr-eve")
        await row.get_by_label("Role of csr-eve").select_option("supervisor")
        await row.locator("button.change-role").click()
        await expect(page.locator(".notice")).to_contain_text("Role changed")
        await page.locator("#staff-csr-eve button.reset-staff").click()
        await expect(page.locator("#reset-password-shown")).to_contain_text("shown this once")
        new_password = await page.locator("#new-password").inner_text()
        assert len(new_password) >= 12
        await page.locator("#staff-csr-eve button.disable-staff").click()
        await expect(page.locator("#staff-csr-eve .staff-state")).to_have_text("disabled")
        await shot(page, "28-staff-accounts")

        await admin_screen(page, "Staff audit")
        await page.select_option("#audit-username", "adm-cyd")
        await page.select_option("#audit-action", "staff.role")
        await page.click("#filter-audit")
        await expect(page.locator("#staff-audit tbody tr")).to_have_count(1)
        await expect(page.locator("#staff-audit")).to_contain_text("csr-eve")
        await page.select_option("#audit-action", "")
        await page.click("#filter-audit")
        for action in ("staff.create", "staff.role", "staff.reset_password", "staff.disable", "session.sign_in"):
            await expect(page.locator("#staff-audit")).to_contain_text(action)
        await shot(page, "29-staff-audit")


@pytest.mark.timeout(180)
async def test_c7_i5_invoices_and_payments_tabs_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C7: an order's invoice and its payment, on the record's Invoices and Payments tabs."""
    async with console(settings, client, cleanup) as ui:
        page = ui.page
        a = await create_customer(client, email="billed@example.fr")
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("EU-100234", email=a.email))
        await linked_to(client, "EU-100234", a.code)
        await client.publish_upstream(example("invoice-issued", InvoiceIssued))
        await client.publish_upstream(example("payment-received", PaymentReceived))
        await page.goto(f"{ui.base}/customers/{a.code}")
        await tab(page, "Invoices")
        await expect(page.locator("#invoices")).to_contain_text("FA-2026-004512", timeout=15000)
        await shot(page, "30-record-invoices")
        await page.locator("#record-tabs a", has_text=re.compile(r"^Payments$")).click()
        await expect(page.locator("#order-payments")).to_contain_text("PAY-1", timeout=15000)
        await expect(page.locator("#order-payments")).to_contain_text("received")
        await shot(page, "31-record-payments")


@pytest.mark.timeout(180)
async def test_c18_i5_export_and_erase_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C18: a supervisor downloads the customer's data, then erases them (a reason, the code
    typed again, a confirmation) and reads the receipt."""
    async with console(settings, client, cleanup, role="supervisor") as ui:
        page = ui.page
        a = await create_customer(client, email="forget.me@example.fr")
        await page.goto(f"{ui.base}/customers/{a.code}")
        await page.click("#privacy summary")
        await page.fill("#export-reason", "ticket 4711")
        async with page.expect_download() as download_info:
            await page.click("#export-data")
        download = await download_info.value
        assert download.suggested_filename == f"customer-{a.code}-export.json"
        await page.fill("#erase-reason", "ticket 4711")
        await page.fill("#erase-confirm", a.code)
        await shot(page, "32-record-privacy")
        await page.click("#erase-data")
        await expect(page.locator("#erasure-done")).to_be_visible()
        await expect(page.locator("#erasure-services")).to_contain_text("notification")
        await shot(page, "33-erasure-receipt")
        assert (await ok(await client.call(GetCustomer, {"customer_code": a.code}))).state == "erased"


@pytest.mark.timeout(180)
async def test_c14_i5_set_empty_passwords_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C14: an administrator starts 'set empty passwords' (it asks first), then invites batch
    after batch with the progress shown, until nobody is left."""
    async with console(settings, client, cleanup, role="administrator") as ui:
        page = ui.page
        rows = [
            {
                "scope_id": "eu-fr",
                "first_name": f"P{i}",
                "last_name": "Import",
                "email": f"p{i}@example.fr",
                "channel": "import",
                "idempotency_key": f"k{i}",
            }
            for i in range(3)
        ]
        await ok(await client.call(ImportCustomers, {"rows": rows}))
        await admin_screen(page, "Set empty passwords")
        await page.get_by_label("Customers a batch").fill("2")
        await page.click("#invite-start")
        await expect(page.locator("#invite-progress")).to_contain_text("2 customers invited in 1 batch")
        await shot(page, "34-set-empty-passwords")
        await page.click("#invite-next")
        await expect(page.locator("#invite-progress")).to_contain_text("3 customers invited in 2 batches")
        await expect(page.locator("#invite-progress")).to_contain_text("Done")


@pytest.mark.timeout(180)
async def test_c7_n5_i5_order_detail_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """C7, N5: from the Orders tab to one order: its shipment's tracking, its payment, the
    emails about it."""
    async with console(settings, client, cleanup) as ui:
        page = ui.page
        a = await create_customer(client, email="detail@example.fr")
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("EU-100234", email=a.email))
        await linked_to(client, "EU-100234", a.code)
        await client.publish_upstream(shipped("EU-100234"))
        await client.publish_upstream(example("payment-received", PaymentReceived))
        await page.goto(f"{ui.base}/customers/{a.code}")
        await tab(page, "Orders")
        await expect(page.locator("#tab-panel")).to_contain_text("EU-100234", timeout=15000)

        async def complete() -> bool:
            await page.goto(f"{ui.base}/customers/{a.code}?tab=orders")
            await page.click("#tab-panel a.order-detail")
            return (
                await page.locator("#order-shipments a").count() == 1
                and await page.locator(".activity").count() >= 1
                and "PAY-1" in await page.locator("#order-billing").inner_text()
            )

        await eventually(complete, timeout=30, interval=1)
        await expect(page.locator("h1")).to_contain_text("Order EU-100234")
        await expect(page.locator("#order-shipments")).to_contain_text("6A12345678901")
        # How it was tied to her: the rule, and under 'Why' the evidence with its weights.
        await expect(page.locator("#order-link")).to_contain_text("email")
        await page.click("#order-link details.why summary")
        await expect(page.locator("#order-link ul.evidence")).to_contain_text("email: exact")
        await shot(page, "35-order-detail")


@pytest.mark.timeout(180)
async def test_c11_i5_a_broad_search_by_registration_comes_by_name_and_says_so_in_a_real_browser(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with console(settings, client, cleanup) as ui:
        rows = [
            {
                "scope_id": "eu-fr",
                "first_name": f"N{i:03}",
                "last_name": f"Marl{(i * 7919) % 250:03}",
                "email": f"m{i:03}@example.fr",
                "idempotency_key": f"m{i}",
                "channel": "import",
            }
            for i in range(250)
        ]
        await ok(await client.call(ImportCustomers, {"rows": rows}))
        page = ui.page
        await page.goto(f"{ui.base}/")
        await page.fill("#search input[name=name]", "marl")
        await page.press("#search input[name=name]", "Enter")
        await expect(page.locator("#results")).to_contain_text("Marl", timeout=15000)
        await page.click("#results th a:has-text('Registered')")
        # Past 200 matches no index gives a name prefix by registration: the rows come by
        # name, and the arrow and the count line say so.
        await expect(page.locator("#results")).to_contain_text("200+ customer(s), sorted by name")
        await expect(page.locator("#results-table th a:has-text('Name')")).to_contain_text("▲")
        await expect(page.locator("#results-table th a:has-text('Registered')")).not_to_contain_text("▲")
        await shot(page, "36-broad-search-by-name")
