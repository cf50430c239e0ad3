"""CSR emails and the activity history over the real servers (N4, N5)."""

from __future__ import annotations

import json
from typing import Any

from contracts.notification.emails import EmailQueuedReply, GetActivities, OrderReference, SendTemplateEmail
from plumbing.client import OmsClient
from plumbing.messaging import commands_exchange
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ...support import Cleanup, running
from ..notification_support import (
    CSR,
    arrived,
    changed,
    history,
    notification_app,
    parts,
    publish_event,
    recipient,
    settled,
    shipped,
)

ORDER = OrderReference(source_system="storefront:eu", order_number="EU-100234")
NOTE = {"subject": "About your order EU-100234", "message": "Your parcel was delayed.\n\nIt leaves on Friday."}


def csr_email(**payload: Any) -> SendTemplateEmail:
    return SendTemplateEmail(producer="csr-console", actor=CSR, payload=payload)


async def test_n4_n5_a_csr_email_about_an_order_is_recorded_on_the_customer_and_on_the_order(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    to = recipient(preferred_language="fr")
    someone_else = recipient(email="zoe@example.com")
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            queued = await client.request(
                csr_email(recipient=to, template="customer-message", order=ORDER, variables=NOTE), EmailQueuedReply
            )
            await publish_event(client, shipped(to, ORDER.order_number))  # a system email about the same order
            await publish_event(client, changed(to))  # about the customer only
            await publish_event(client, shipped(someone_else, "EU-999"))  # another customer, another order
            await settled(settings, 4)
            messages = await arrived(handler, 4)
            customer_page = (await history(client, customer_code=to.customer_code)).result
            order_page = (await history(client, order=ORDER)).result

    assert queued.ok and queued.result.status == "queued" and queued.result.language == "fr"
    message = next(m for m in messages if m["Subject"] == NOTE["subject"])
    text, html = parts(message)
    assert "Your parcel was delayed." in text and "<p>It leaves on Friday.</p>" in html
    assert "Ce message concerne votre commande EU-100234" in text
    assert message["Auto-Submitted"] is None, "a person wrote it"

    assert [a.template for a in customer_page.items] == [
        "password-changed",
        "shipping-confirmation",
        "customer-message",
    ]
    assert [a.template for a in order_page.items] == ["shipping-confirmation", "customer-message"]
    csr = order_page.items[-1]
    assert csr.activity_id == queued.result.activity_id
    assert (csr.initiated_by, csr.actor_id, csr.customer_code, csr.order) == ("csr", "csr-ada", to.customer_code, ORDER)
    assert csr.status == "sent" and csr.attempts == 1 and csr.sent_at is not None
    assert csr.subject == NOTE["subject"] and csr.text == text and csr.html == html, "the full content, as sent"
    assert csr.message_id == message["Message-ID"] and csr.cause_type == "notification.send-template-email.v1"
    assert order_page.items[0].initiated_by == "system" and order_page.items[0].actor_id is None


async def test_n4_a_retried_csr_command_sends_one_email_and_gets_the_same_answer(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    command = csr_email(recipient=recipient(), template="customer-message", variables=NOTE)
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            first = await client.request(command, EmailQueuedReply)
            again = await client.request(command, EmailQueuedReply)  # same message_id: a retry
            await settled(settings, 1)
            messages = await arrived(handler, 1)

    assert first.ok and again.ok and again.result == first.result
    assert len(messages) == 1


async def test_n4_a_csr_gets_a_typed_error_for_what_cannot_be_sent(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    to = recipient()
    async with running(notification_app(settings, 1), cleanup=cleanup):
        system = await client.request(
            csr_email(recipient=to, template="password-reset", variables=NOTE), EmailQueuedReply
        )
        unknown = await client.request(csr_email(recipient=to, template="birthday-wishes"), EmailQueuedReply)
        missing = await client.request(
            csr_email(recipient=to, template="customer-message", variables={"subject": "Hi"}), EmailQueuedReply
        )
        anonymous = await client.request(
            SendTemplateEmail(
                producer="script", payload={"recipient": to, "template": "customer-message", "variables": NOTE}
            ),
            EmailQueuedReply,
        )
        page = (await history(client, customer_code=to.customer_code)).result

    assert (system.error.code, system.error.fields[0].field) == ("validation", "payload.template")
    assert (unknown.error.code, unknown.error.fields[0].field) == ("not_found", "payload.template")
    assert (missing.error.code, missing.error.fields[0].field) == ("validation", "payload.variables")
    assert "message" in missing.error.fields[0].reason
    assert (anonymous.error.code, anonymous.error.fields[0].field) == ("validation", "actor")
    assert page.items == [], "nothing refused was recorded"


async def test_n5_a_customers_history_is_read_newest_first_in_keyset_pages_of_at_most_20(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    to, other = recipient(), recipient(email="zoe@example.com")
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            for _ in range(45):
                await publish_event(client, changed(to))
            for _ in range(3):
                await publish_event(client, changed(other))
            docs = await settled(settings, 48)

            pages = [(await history(client, customer_code=to.customer_code)).result]
            # Emails that arrive while a CSR pages do not shift the later pages.
            await publish_event(client, changed(to))
            await publish_event(client, changed(to))
            await settled(settings, 50)
            while pages[-1].next_cursor:
                pages.append(
                    (await history(client, customer_code=to.customer_code, cursor=pages[-1].next_cursor)).result
                )
            fresh = (await history(client, customer_code=to.customer_code, limit=5)).result
            too_many = json.loads(
                (
                    await client.broker.request(  # past the client's own validation
                        json.dumps(
                            {
                                "producer": "tests",
                                "actor": CSR.model_dump(),
                                "payload": {"customer_code": to.customer_code, "limit": 21},
                            }
                        ).encode(),
                        exchange=commands_exchange(settings.topology),
                        routing_key=GetActivities.routing_key(),
                        timeout=5,
                    )
                ).body
            )
            forged = await history(client, customer_code=to.customer_code, cursor="bm9wZQ")

    assert [len(p.items) for p in pages] == [20, 20, 5] and pages[-1].next_cursor is None
    seen = [a.activity_id for p in pages for a in p.items]
    expected = sorted(
        (d for d in docs if d["customer_code"] == to.customer_code),
        key=lambda d: (d["created_at"], d["_id"]),
        reverse=True,
    )
    assert seen == [d["_id"] for d in expected], "newest first, each once, none of another customer's"
    assert all(a.status == "sent" and a.html and a.text for p in pages for a in p.items)
    assert len(fresh.items) == 5 and fresh.items[0].activity_id not in seen and fresh.next_cursor
    assert too_many["ok"] is False and too_many["error"]["fields"][0]["field"] == "payload.limit"
    assert not forged.ok and forged.error.fields[0].field == "payload.cursor"
