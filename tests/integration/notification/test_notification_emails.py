"""System emails over the real RabbitMQ, MongoDB and an in-process SMTP server (N1, N2, N4)."""

from __future__ import annotations

from email.utils import parseaddr, parsedate_to_datetime

from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ...support import Cleanup, running
from ..notification_support import (
    arrived,
    changed,
    invited,
    link_of,
    notification_app,
    parts,
    payment_received,
    payment_requested,
    publish_event,
    recipient,
    reset,
    settled,
    shipped,
    verification,
)


async def test_n1_n4_each_system_email_goes_out_on_its_event_with_html_and_text_and_its_link(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    to = recipient(first_name="Camille", last_name="Martin", email="camille.martin@example.com")
    events = {
        "welcome": invited(to),
        "password-reset": reset(to),
        "password-changed": changed(to),
        "email-verification": verification(to),
        "shipping-confirmation": shipped(to),
        "payment-request": payment_requested(to),
        "payment-confirmation": payment_received(to),
    }
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            for event in events.values():
                await publish_event(client, event)
            messages = await arrived(handler, len(events))
            activities = await settled(settings, len(events))

    by_subject = {m["Subject"]: m for m in messages}
    expected = {
        "welcome": ("Welcome, Camille: set your password", link_of(events["welcome"])),
        "password-reset": ("Reset your password", link_of(events["password-reset"])),
        "password-changed": ("Your password was changed", "was changed on"),
        "email-verification": ("Confirm your email address", link_of(events["email-verification"])),
        "shipping-confirmation": ("Your order EU-100234 has shipped", "https://track.example.com/JD0123456789"),
        "payment-request": ("Payment requested for order EU-100234", "https://pay.example.com/PAY-1"),
        "payment-confirmation": ("Payment received for order EU-100234", "EUR 59.70"),
    }
    assert set(by_subject) == {subject for subject, _ in expected.values()}
    for template, (subject, needle) in expected.items():
        message = by_subject[subject]
        assert message.get_content_type() == "multipart/alternative", template
        text, html = parts(message)
        assert needle in text and needle in html, (template, needle)
        assert "Camille" in text and "Camille" in html
        assert html.lstrip().startswith("<!DOCTYPE html>") and '<html lang="en">' in html
        assert parseaddr(message["To"]) == ("Camille Martin", "camille.martin@example.com")
        assert parseaddr(message["From"])[1] == "no-reply@oms.local"
        assert message["Content-Language"] == "en"
        assert message["Auto-Submitted"] == "auto-generated"
        assert parsedate_to_datetime(message["Date"]).tzinfo is not None
        activity = next(a for a in activities if a["template"] == template)
        assert message["Message-ID"] == activity["message_id"] == f"<{activity['_id']}@oms.local>"
        assert activity["status"] == "sent" and activity["attempts"] == 1
        assert activity["cause_id"] == events[template].message_id
    # Links are in the HTML as links, not only as text.
    welcome_html = parts(by_subject["Welcome, Camille: set your password"])[1]
    assert f'href="{link_of(events["welcome"])}"' in welcome_html


async def test_n2_an_email_is_in_the_customers_language_then_the_scopes_then_english(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    cases = {  # address: (preferred, scope language, expected language, start of the subject)
        "fr@example.com": ("fr", "de", "fr", "Bienvenue, Camille"),
        "de@example.com": ("de", "fr", "de", "Willkommen, Camille"),
        "it@example.com": ("it", "de", "de", "Willkommen, Camille"),  # no Italian: the scope's German
        "ca@example.com": ("fr-CA", "en", "fr", "Bienvenue, Camille"),  # regional: its base language
        "es@example.com": ("es", "pt", "en", "Welcome, Camille"),  # neither: English
        "none@example.com": (None, None, "en", "Welcome, Camille"),
    }
    events = {
        address: invited(recipient(email=address, preferred_language=preferred, scope_language=scope))
        for address, (preferred, scope, _, _) in cases.items()
    }
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            for event in events.values():
                await publish_event(client, event)
            messages = await arrived(handler, len(cases))
            activities = await settled(settings, len(cases))

    by_to = {parseaddr(m["To"])[1]: m for m in messages}
    languages = {a["to"]: a["language"] for a in activities}
    for address, (_, _, language, subject) in cases.items():
        message = by_to[address]
        text, html = parts(message)
        assert message["Content-Language"] == language == languages[address], address
        assert message["Subject"].startswith(subject), address
        assert f'<html lang="{language}">' in html
        assert link_of(events[address]) in text and link_of(events[address]) in html
    assert "Ce lien ne fonctionne qu'une fois" in parts(by_to["fr@example.com"])[0]
    assert "Dieser Link funktioniert einmal" in parts(by_to["it@example.com"])[0]


async def test_n4_an_order_event_for_a_customer_without_email_sends_nothing_and_is_not_held(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """Order-sync publishes shipments and payments of customers without an email too (their
    history needs them): the notification service acknowledges them and sends nothing."""
    to = recipient(email="after@example.com")
    silent = shipped(to, "POS-1")
    silent = silent.model_copy(
        update={"payload": silent.payload.model_copy(update={"recipient": None, "customer_code": to.customer_code})}
    )
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            await publish_event(client, silent)
            await publish_event(client, shipped(to, "EU-2"))  # behind it, in the same queue
            messages = await arrived(handler, 1)
            activities = await settled(settings, 1)
    assert [m["Subject"] for m in messages] == ["Your order EU-2 has shipped"]
    assert len(activities) == 1
