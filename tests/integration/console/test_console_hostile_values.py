"""I5 (security step 12, finding 1): hostile values through the console in a real browser.

A customer whose email was ``x'-alert`1`-'@example.com`` (a valid address) ran script in a
CSR's browser when the CSR clicked Reset password: the email sat inside a quoted JavaScript
string in an ``onsubmit`` attribute. Here a customer and an order carry such values in every
field the console shows; a CSR opens every page and tab that shows them, searches for them,
and resets the password. The test fails if any of the values' scripts runs (a dialog other
than the console's own confirm, or the marker they set on ``window``), on the record and its tabs,
search results, the review queue, a merge preview, a template preview and a dead letter;
if the browser reports
a Content-Security-Policy violation (the console's own script must not need one), or if the
console stops working (the confirm shows the email as text, the reset goes through).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from contracts.customer.records import CreateCustomer
from gateway.headers import CONTENT_SECURITY_POLICY
from gateway.settings import GatewaySettings
from plumbing.client import OmsClient
from plumbing.messaging import upstream_exchange
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import ok
from ..gateway_support import BASE_URL, gateway_stack, serving, signed_in
from ..merge_support import linked_to, placed
from ..system.test_console_browser import CHROMIUM, mail_to, sign_in

#: Each sets window.__xss (or opens a dialog) if it ever runs.
MARK = "window.__xss=1"
EMAIL = "x'-alert`1`-'@example.com"
NAME = f'"><img src=x onerror="{MARK}">'
TEXT = f"</script><script>{MARK}</script>{{{{7*7}}}}"
LINE = f"javascript:{MARK}//' onmouseover='{MARK}"
TWINS = "twins-'-alert`2`-'@example.com"
TABS = ("Account", "Custom Attributes", "Addresses", "Orders", "Activities", "Audit")


@pytest.mark.timeout(300)
async def test_i5_hostile_values_run_no_script_in_the_console(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with (
        gateway_stack(settings, client, cleanup, GatewaySettings(cookie_secure=False)) as s,
        serving(s.app) as base,
        async_playwright() as pw,
    ):
        customer = await ok(
            await client.call(
                CreateCustomer,
                {
                    "scope_id": "eu-fr",
                    "first_name": NAME,
                    "last_name": TEXT,
                    "email": EMAIL,
                    "tags": ["<b>vip</b>"],
                    "addresses": [
                        {"line1": LINE, "line2": NAME, "city": TEXT, "postal_code": "75001", "country": "FR"}
                    ],
                },
            )
        )
        await asyncio.sleep(1)  # order-sync sees the customer's event
        await client.publish_upstream(placed("XSS-1", email=EMAIL, first_name=NAME, last_name=TEXT))
        await linked_to(client, "XSS-1", customer.code)
        # Two guests sharing a mailbox: an order with it waits in the review queue beside them.
        twins = [
            await ok(
                await client.call(
                    CreateCustomer,
                    {
                        "scope_id": "eu-fr",
                        "first_name": f"{NAME}{i}",
                        "last_name": TEXT,
                        "email": TWINS,
                        "account_type": "guest",
                    },
                )
            )
            for i in range(2)
        ]
        await asyncio.sleep(1)
        await client.publish_upstream(
            placed("XSS-2", email=TWINS, first_name="Chloé", last_name=NAME, source_customer_id=None)
        )
        # A message no service can read, holding script: the administrators' dead-letter screen.
        await client.broker.publish(
            f'{{"note": "{TEXT}"'.encode(),
            exchange=upstream_exchange(settings.topology),
            routing_key="order.order-placed.v1",
            message_id="xss-dead-letter",
        )

        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await (await browser.new_context()).new_page()
        dialogs: list[str] = []
        violations: list[str] = []

        async def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            await dialog.accept()

        page.on("dialog", lambda dialog: asyncio.ensure_future(on_dialog(dialog)))
        page.on(
            "console",
            lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
        )

        await sign_in(page, base, "supervisor")
        await page.fill("#search input[name=email]", "x'-alert")
        await page.click("#search button:has-text('Search')")
        await expect(page.locator("#results-table")).to_contain_text(customer.code)
        await page.goto(f"{base}/customers/{customer.code}")
        await expect(page.locator("h1")).to_contain_text(customer.code)
        for label in TABS:
            await page.click(f"#record-tabs a:has-text('{label}')")
            await expect(page.locator("#record-tabs a.here")).to_have_text(label)
        await page.goto(f"{base}/customers/{customer.code}")
        await expect(page.locator("main")).to_contain_text(NAME)  # shown as text, not run
        await page.goto(f"{base}/customers/{customer.code}?tab=addresses")
        await expect(page.locator("#tab-panel")).to_contain_text("javascript:")

        await page.click("#reset-password")
        await expect(page.locator(".notice")).to_contain_text("password reset email")
        assert dialogs == [f"Send {EMAIL} a password reset email?"], dialogs
        await eventually(lambda: asyncio.sleep(0, mail_to(s.mail, EMAIL, "reset-password?token=")), timeout=15)

        # The review queue and a merge preview show both hostile records side by side.
        async def reviewed() -> bool:
            await page.goto(f"{base}/reviews")
            return "XSS-2" in await page.locator("main").inner_text()

        await eventually(reviewed, timeout=15, interval=0.5)
        await expect(page.locator(".review")).to_contain_text(NAME)
        await page.goto(f"{base}/customers/{twins[0].code}/merge?other={twins[1].code}")
        await expect(page.locator("main")).to_contain_text(TEXT)

        # Administrators: a template whose own HTML holds script, previewed; the dead letter.
        await page.click("header.top button:has-text('Sign out')")
        await sign_in(page, base, "administrator")
        await page.goto(f"{base}/admin/templates?name=customer-message&language=en")
        await page.fill("#template-editor input[name=name]", "xss-check")
        await page.fill("#template-editor input[name=subject]", f"Hi {NAME}")
        await page.fill("#template-editor textarea[name=variables]", f"subject={TEXT}\nmessage={NAME}")
        await page.click("#preview-template")
        await expect(page.locator("#template-preview")).to_contain_text(f"Hi {NAME}")

        async def dead_letter_listed() -> bool:
            await page.goto(f"{base}/admin/dead-letters?service=order-sync")
            return await page.locator("#dead-letters a:has-text('xss-dead-letter')").count() > 0

        await eventually(dead_letter_listed, timeout=15, interval=0.5)
        await page.locator("#dead-letters a:has-text('xss-dead-letter')").click()
        await expect(page.locator("main")).to_contain_text(MARK)  # the body, as text

        assert await page.evaluate("window.__xss") is None, "a hostile value ran as script"
        assert violations == [], violations
        await browser.close()


async def test_i4_i5_every_answer_carries_the_security_headers(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s, signed_in(s.app, "csr") as csr:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=s.app), base_url=BASE_URL) as anonymous:
            answers = {
                "console page": await csr.get("/", headers={"Accept": "text/html"}),
                "sign-in page": await anonymous.get("/login"),
                "API answer": await csr.get("/api/customers", params={"name": "x"}),
                "API refusal": await anonymous.get("/api/customers"),
                "static file": await anonymous.get("/static/console.js"),
                "body too large": await csr.post(
                    "/api/customers", content=b"x" * (2 << 20), headers={"Content-Type": "application/json"}
                ),
            }
            docs = await anonymous.get("/api/docs")
    assert answers["body too large"].status_code == 413
    for what, answer in answers.items():
        assert answer.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, what
        assert answer.headers.get("x-frame-options") == "DENY", what
        assert answer.headers.get("x-content-type-options") == "nosniff", what
        assert answer.headers.get("referrer-policy") == "same-origin", what
    # FastAPI's Swagger UI (no customer data) loads its script from jsDelivr; still unframeable.
    assert docs.status_code == 200 and "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
