"""I5: the CSR console in a real headless Chromium (Debian's, driven by Playwright for
Python) against the real stack: sign in, search, open records, edit with a conflict, reset a
password and see the email arrive, act on behalf, merge and undo, the review queue, and the
administrators' screens. Screenshots of each screen go to docs/screenshots/ (with OMS_SCREENSHOTS=1)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from contracts.customer.records import GetCustomer, SetAccountTemplate
from contracts.customer.relations import CreateOrganization, JoinOrganization
from contracts.envelope import Actor
from contracts.upstream.commerce import CartUpdated, PaymentMethodSaved
from gateway.settings import GatewaySettings
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer, create_scope, ok
from ..gateway_support import PASSWORD, STAFF, gateway_stack, serving
from ..merge_support import linked_to, placed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"
SEEDER = Actor(kind="csr", id="csr-seed")
#: Screenshots go to docs/screenshots/ when OMS_SCREENSHOTS=1 (to refresh the committed
#: ones), and to a scratch folder otherwise, so a test run leaves the checkout as it was.
SHOTS = (
    Path(__file__).resolve().parents[3] / "docs" / "screenshots"
    if os.environ.get("OMS_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "oms-screenshots"
)
RIVOLI = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
VOLTAIRE = {"line1": "9 quai Voltaire", "city": "Paris", "postal_code": "75007", "country": "FR"}


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, base: str, role: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", STAFF[role])
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('Sign in')")
    await expect(page.locator("header.top")).to_contain_text(f"({role})")


async def admin_screen(page: Page, label: str) -> None:
    """Open an administrators' screen from the top bar's Administration menu."""
    await page.click("#admin-menu summary")
    await page.locator("#admin-menu .menu-items a", has_text=re.compile(f"^{re.escape(label)}$")).click()


async def tab(page: Page, label: str) -> None:
    await page.click(f"#record-tabs a:has-text('{label}')")
    await expect(page.locator("#record-tabs a.here")).to_have_text(label)


async def seed(client: OmsClient) -> dict[str, Any]:
    await ok(
        await client.call(
            SetAccountTemplate,
            {
                "scope_id": "eu-fr",
                "fields": [
                    {
                        "name": "loyalty_tier",
                        "label": "Loyalty tier",
                        "type": "enum",
                        "allowed_values": ["silver", "gold"],
                    },
                    {"name": "newsletter", "label": "Newsletter", "type": "boolean"},
                ],
            },
        )
    )
    a = await create_customer(
        client,
        email="chloe@example.fr",
        phone="06 12 34 56 78",
        tags=["VIP"],
        attributes={"loyalty_tier": "gold"},
        addresses=[RIVOLI],
    )
    b = await create_customer(
        client, first_name="Chloe", email="chloe.d@example.fr", tags=["wholesale"], addresses=[VOLTAIRE]
    )
    for i in range(2):
        await create_customer(
            client, first_name=f"Twin{i}", last_name="Martin", email="dup@example.fr", account_type="guest"
        )
    await create_scope(client, "eu-pro", "FR", requires_approval=True)
    await create_customer(
        client, scope_id="eu-pro", first_name="Jean", last_name="Valjean", email="jean@example.fr", channel="storefront"
    )
    await asyncio.sleep(1)  # order-sync sees the customers' events
    await client.publish_upstream(placed("AMB-1", email="dup@example.fr", store_id="lyon-2"))
    # A's order at a store, then a cart and a saved card under the same shop account (C6, C7),
    # and an organization A belongs to (C5): the record's other tabs have something to show.
    await client.publish_upstream(placed("ORD-A1", email=a.email, store_id="paris-3"))
    await linked_to(client, "ORD-A1", a.code)
    for example, kind in (("cart-updated", CartUpdated), ("payment-method-saved", PaymentMethodSaved)):
        raw = json.loads((EXAMPLES / f"{example}.v1.json").read_text(encoding="utf-8"))
        raw.pop("message_id")
        await client.publish_upstream(kind.model_validate(raw))
    org = await ok(
        await client.call(
            CreateOrganization,
            {
                "scope_id": "eu-fr",
                "number": "FR 123-456",
                "name": "Crêpes du Nord",
                "manager": "Anne Roy",
                "manager_phone": "01 23 45 67 89",
            },
            actor=SEEDER,
        )
    )
    await ok(
        await client.call(JoinOrganization, {"customer_code": a.code, "organization_code": org.code}, actor=SEEDER)
    )
    # A malformed upstream message: order-sync dead-letters it, for the administrators' screen.
    await client.broker.publish(
        b"{not json",
        exchange=upstream_exchange(client.settings.topology),
        routing_key="order.order-placed.v1",
        message_id=f"bad-{uuid.uuid4().hex[:8]}",
    )
    return {"a": a, "b": b}


def mail_to(mail: Any, address: str, text: str) -> list[Any]:
    """The captured emails to ``address`` whose subject or plain text contains ``text``."""
    return [
        m
        for m in list(mail.messages)
        if address in str(m["To"]) and text in f"{m['Subject']}\n{m.get_body(('plain',)).get_content()}"
    ]


@pytest.mark.timeout(300)
async def test_i5_console_in_a_real_browser(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> None:
    async with (
        gateway_stack(settings, client, cleanup, GatewaySettings(cookie_secure=False)) as s,
        serving(s.app) as base,
        async_playwright() as pw,
    ):
        seeded = await seed(client)
        a, b = seeded["a"], seeded["b"]
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1360, "height": 860})
        page = await context.new_page()
        asked: list[str] = []  # every confirmation the console asked, accepted

        def accept(dialog: Any) -> None:
            asked.append(dialog.message)
            asyncio.ensure_future(dialog.accept())

        page.on("dialog", accept)

        # Sign in; the Customer Manager with its summary and the waiting-approval list.
        await page.goto(f"{base}/")
        await expect(page).to_have_url(f"{base}/login?next=/")
        await shot(page, "01-sign-in")
        await sign_in(page, base, "supervisor")
        await expect(page.locator("#waiting-approval")).to_contain_text("Jean Valjean")
        await expect(page.locator("#summary")).to_contain_text("waiting approval")
        await shot(page, "02-customer-manager")

        # Search (htmx), sort, open a record.
        await page.fill("#search input[name=name]", "dub")
        await page.click("#search button:has-text('Search')")
        await expect(page.locator("#results-table")).to_contain_text(a.code)
        await expect(page.locator("#results-table")).to_contain_text(b.code)
        await page.click("#results-table th a:has-text('Registered')")
        await expect(page.locator("#results-table th a:has-text('Registered')")).to_contain_text("▲")
        await shot(page, "03-search-results")
        await page.click(f"#results-table a:has-text('{b.code}')")
        await expect(page.locator("h1")).to_contain_text(b.code)
        await page.goto(f"{base}/customers/{a.code}")
        await expect(page.locator("h1")).to_contain_text(a.code)
        # Both records stay open as tabs, also after going to another screen and back.
        await page.goto(f"{base}/reviews")
        await expect(page.locator("#open-records")).to_contain_text(a.code)
        await expect(page.locator("#open-records")).to_contain_text(b.code)
        await page.click(f"#open-records a:has-text('{a.code}')")
        await shot(page, "04-record-account")
        await tab(page, "Custom Attributes")
        await expect(page.locator("#tab-panel select[name='attr.loyalty_tier']")).to_have_value("gold")
        await shot(page, "05-record-custom-attributes")
        await tab(page, "Addresses")
        await expect(page.locator("#tab-panel")).to_contain_text("1 rue de Rivoli")
        await shot(page, "06-record-addresses")
        for label, shows, name in (
            ("Organizations", "Crêpes du Nord", "07a-record-organizations"),
            ("Stores", "paris-3", "07b-record-stores"),
            ("Active Carts", "cart-5f3a9c", "07c-record-active-carts"),
            ("Saved Payments", "4242", "07d-record-saved-payments"),
            ("Orders", "ORD-A1", "07-record-orders"),
        ):
            await tab(page, label)
            await expect(page.locator("#tab-panel table")).to_be_visible()
            await expect(page.locator("#tab-panel")).to_contain_text(shows, timeout=15000)
            await shot(page, name)

        # Edit with a conflict: two pages read version N; the second save is refused.
        other = await context.new_page()
        await other.goto(f"{base}/customers/{a.code}")
        await page.goto(f"{base}/customers/{a.code}")
        await other.fill("#account-form input[name=phone]", "01 23 45 67 89")
        await other.click("#save-account")
        await expect(other.locator(".notice")).to_have_text("Changes saved.")
        await page.fill("#account-form input[name=first_name]", "Chloë")
        await page.click("#save-account")
        await expect(page.locator("#conflict")).to_contain_text("Someone else changed this customer")
        await shot(page, "08-edit-conflict")
        current = await ok(await client.call(GetCustomer, {"customer_code": a.code}))
        assert (current.first_name, current.phone) == ("Chloé", "+33123456789")
        await other.close()

        # Reset the password: the email arrives at the SMTP server.
        await page.goto(f"{base}/customers/{a.code}")
        await page.click("#reset-password")
        await expect(page.locator(".notice")).to_contain_text("password reset email")
        reset = await eventually(
            lambda: asyncio.sleep(0, mail_to(s.mail, a.email, "reset-password?token=")), timeout=15
        )
        assert len(reset) == 1

        # Send an email from a template; it shows in Activities with its content.
        await page.click("#send-email summary")
        await page.fill("#send-email input[name=subject]", "About your parcel")
        await page.fill("#send-email textarea[name=message]", "It left our warehouse today.")
        await page.click("#send-email button")
        await expect(page.locator(".notice")).to_contain_text("The email was queued")
        await eventually(lambda: asyncio.sleep(0, mail_to(s.mail, a.email, "About your parcel")), timeout=15)
        await page.locator(".activity summary").first.click()
        await expect(page.locator("#tab-panel")).to_contain_text("About your parcel")
        await shot(page, "09-record-activities")

        # Act on behalf: a banner while it lasts; the change is audited as on-behalf.
        await page.fill("#on-behalf-reason", "on the phone")
        await page.click("#act-on-behalf")
        await expect(page.locator("#on-behalf-banner")).to_contain_text(f"Acting on behalf of Chloé Dubois ({a.code})")
        await page.fill("#account-form input[name=work_phone]", "01 99 88 77 66")
        await page.click("#save-account")
        await expect(page.locator(".notice")).to_have_text("Changes saved.")
        await shot(page, "10-on-behalf-banner")
        await tab(page, "Audit")
        await expect(page.locator("#tab-panel")).to_contain_text("yes: on the phone")
        await shot(page, "11-record-audit")
        await page.click("#on-behalf-banner button")
        await expect(page.locator("#on-behalf-banner")).to_have_count(0)

        # Merge with a preview of what moves, then undo it.
        await page.fill("#record-actions input[name=other]", b.code)
        await page.click("#merge-preview")
        await expect(page.locator("#merge-moves")).to_contain_text("9 quai Voltaire")
        await expect(page.locator("#merge-moves")).to_contain_text("wholesale")
        await shot(page, "12-merge-preview")
        await page.fill("#merge-moves input[name=reason]", "same person, two accounts")
        await page.click("#confirm-merge")
        await expect(page.locator(".notice")).to_have_text("The customers were merged.")
        assert (await ok(await client.call(GetCustomer, {"customer_code": b.code}))).code == a.code
        await shot(page, "13-record-merges")
        await page.click("#undo-merge")
        await expect(page.locator(".notice")).to_have_text("The merge was undone.")
        restored = await ok(await client.call(GetCustomer, {"customer_code": b.code}))
        assert (restored.code, restored.state) == (b.code, "active")

        # Create, searching before: the accounts with the same email show up.
        await page.goto(f"{base}/customers/new")
        await page.fill("#create-form input[name=email]", "chloe@example.fr")
        await expect(page.locator("#same-email")).to_contain_text(a.code)
        await shot(page, "14-create-search-before-create")

        # The order review queue: the ambiguous order beside its candidates; pick one.
        await page.goto(f"{base}/reviews")
        await expect(page.locator(".review")).to_contain_text("AMB-1", timeout=15000)
        await expect(page.locator(".review")).to_contain_text("lyon-2")  # the store of a till sale
        await shot(page, "15-order-review-queue")
        await page.locator(".review button:has-text('This one')").first.click()
        await expect(page.locator(".notice")).to_have_text("The order was linked.")

        # Approve the customer waiting for it, from the Customer Manager.
        await page.goto(f"{base}/")
        await page.click("#waiting-approval button:has-text('Approve')")
        await expect(page.locator("#waiting-approval")).to_contain_text("No one is waiting.")
        assert any(question.startswith("Approve ") for question in asked), asked

        # A CSR has no administrators' screens: 403.
        await page.click("header.top button:has-text('Sign out')")
        await sign_in(page, base, "csr")
        denied = await page.goto(f"{base}/admin/templates")
        assert denied is not None and denied.status == 403
        await page.goto(f"{base}/")
        await page.click("header.top button:has-text('Sign out')")

        # Administrators: templates (preview, a broken one refused), account template, dead letters.
        await sign_in(page, base, "administrator")
        await page.goto(f"{base}/admin/templates?name=customer-message&language=en")
        await page.fill("#template-editor input[name=name]", "parcel-late")
        await page.fill("#template-editor input[name=subject]", "Your parcel {{ variables.order_number }}")
        await page.fill("#template-editor textarea[name=variables]", "order_number=EU-1\nsubject=Late\nmessage=Sorry")
        await page.click("#preview-template")
        await expect(page.locator("#template-preview")).to_contain_text("Your parcel EU-1")
        await shot(page, "16-template-preview")
        await page.fill("#template-editor input[name=subject]", "Your parcel {{ variables.order_number ")
        await page.click("#save-template")
        await expect(page.locator("#template-editor .error")).to_be_visible()
        await shot(page, "17-template-rejected")
        await page.goto(f"{base}/admin/account-template?scope_id=eu-fr")
        await page.fill("#account-template-form input[name=name_2]", "shoe_size")
        await page.select_option("#account-template-form select[name=type_2]", "integer")
        await page.click("#account-template-form button")
        await expect(page.locator(".notice")).to_have_text("Account template saved.")
        await shot(page, "18-account-template")

        async def dead_letter_listed() -> bool:
            await page.goto(f"{base}/admin/dead-letters?service=order-sync")
            return await page.locator("#dead-letters a").count() > 0

        await eventually(dead_letter_listed, timeout=15, interval=0.5)
        await shot(page, "19-dead-letters")
        await page.locator("#dead-letters a").first.click()
        await expect(page.locator("#dead-letter")).to_contain_text("malformed")
        await shot(page, "20-dead-letter")
        await page.click("#replay")
        await expect(page.locator(".notice")).to_have_text("The dead letter was replayed.")
        await browser.close()

        audited = {d["action"] for d in await s.staff.db.staff_audit.find({"outcome": "ok"}).to_list()}
        assert {
            "session.sign_in",
            "session.sign_out",
            "customer.update",
            "customer.reset_password",
            "customer.merge",
            "customer.unmerge",
            "customer.on_behalf.start",
            "review.resolve",
            "customer.approve",
            "account_template.manage",
            "dead_letter.replay",
        } <= audited
