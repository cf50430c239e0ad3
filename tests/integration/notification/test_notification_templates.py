"""The template manager over the real servers: overrides, checks, escapes, previews (N3)."""

from __future__ import annotations

import asyncio
from typing import Any

from contracts.envelope import Actor
from contracts.notification.emails import (
    EmailQueuedReply,
    GetTemplate,
    ListTemplates,
    PreviewTemplate,
    RemoveTemplate,
    RenderedEmailReply,
    SendTemplateEmail,
    SetTemplate,
    TemplateListReply,
    TemplateRemovedReply,
    TemplateReply,
)
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ...sandbox_escapes import ESCAPES
from ...support import Cleanup, running
from ..notification_support import (
    CSR,
    arrived,
    invited,
    link_of,
    notification_app,
    parts,
    publish_event,
    recipient,
    settled,
)

ADMIN = Actor(kind="csr", id="admin-grace")

OVERRIDE_HTML = """{% extends "layout.html" %}
{% block content %}
<p>Bienvenue chez Maison Dupont, {{ customer.first_name }} !</p>
<p><a href="{{ link }}">Créer mon mot de passe</a></p>
{% endblock %}
"""
OVERRIDE_TEXT = "Bienvenue chez Maison Dupont, {{ customer.first_name }} !\n\n{{ link }}\n"


async def set_template(client: OmsClient, **payload: Any) -> TemplateReply:
    return await client.request(SetTemplate(producer="tests", actor=ADMIN, payload=payload), TemplateReply)


async def list_templates(client: OmsClient, **payload: Any) -> TemplateListReply:
    return await client.request(ListTemplates(producer="tests", actor=ADMIN, payload=payload), TemplateListReply)


async def test_n3_an_override_for_a_scope_and_language_wins_over_the_predefined_template(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    in_scope = recipient(scope_id="eu-fr", preferred_language="fr", email="a@example.com")
    other_scope = recipient(scope_id="eu-be", preferred_language="fr", email="b@example.com")
    german = recipient(scope_id="eu-fr", preferred_language="de", email="c@example.com")
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            scoped = await set_template(
                client,
                name="welcome",
                scope_id="eu-fr",
                language="fr",
                subject="Maison Dupont : bienvenue, {{ customer.first_name }}",
                html=OVERRIDE_HTML,
                text=OVERRIDE_TEXT,
            )
            everywhere = await set_template(
                client,
                name="welcome",
                language="FR",
                subject="Toutes nos boutiques : bienvenue",
                html=OVERRIDE_HTML,
                text=OVERRIDE_TEXT,
            )
            events = [invited(in_scope), invited(other_scope), invited(german)]
            for event in events:
                await publish_event(client, event)
            first = await settled(settings, 3)

            removed = await client.request(
                RemoveTemplate(
                    producer="tests", actor=ADMIN, payload={"name": "welcome", "scope_id": "eu-fr", "language": "fr"}
                ),
                TemplateRemovedReply,
            )
            await publish_event(client, invited(in_scope))
            after_removal = await settled(settings, 4)
            messages = await arrived(handler, 4)

    assert scoped.ok and scoped.result.source == "custom" and scoped.result.version == 1
    assert scoped.result.updated_by == "admin-grace"
    assert everywhere.ok and everywhere.result.scope_id is None and everywhere.result.language == "fr"
    by_to = {a["to"]: a for a in first}
    assert (by_to["a@example.com"]["template_source"], by_to["a@example.com"]["subject"]) == (
        "custom",
        "Maison Dupont : bienvenue, Camille",
    )
    assert by_to["b@example.com"]["subject"] == "Toutes nos boutiques : bienvenue"
    assert (by_to["c@example.com"]["template_source"], by_to["c@example.com"]["language"]) == ("predefined", "de")
    assert removed.ok
    (latest,) = [a for a in after_removal if a["_id"] not in {f["_id"] for f in first}]
    assert latest["subject"] == "Toutes nos boutiques : bienvenue", "the override for every scope applies again"
    scoped_mail = next(m for m in messages if m["Subject"].startswith("Maison Dupont"))
    text, html = parts(scoped_mail)
    assert link_of(events[0]) in text and f'href="{link_of(events[0])}"' in html


async def test_n3_a_broken_template_is_refused_with_its_line_and_nothing_is_stored(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with running(notification_app(settings, 1), cleanup=cleanup):
        syntax = await set_template(
            client,
            name="password-reset",
            language="en",
            subject="Reset",
            html="<p>Hello {{ customer.first_name }}</p>\n<p>\n{% if link %}<a href='{{ link }}'>Reset</a>\n",
            text="{{ link }}",
        )
        undefined = await set_template(
            client,
            name="password-reset",
            language="en",
            subject="Reset",
            html="<p>{{ link }}</p>",
            text="Hello {{ customer.first_name }},\nyour code: {{ coupon_code }}\n",
        )
        bad_subject = await set_template(
            client,
            name="password-reset",
            language="en",
            subject="Reset {{ customer.first_name | nope }}",
            html="<p>{{ link }}</p>",
            text="{{ link }}",
        )
        variables_on_a_system_email = await set_template(
            client,
            name="welcome",
            language="en",
            subject="Hi",
            html="<p>{{ link }}</p>",
            text="{{ link }}",
            variables={"coupon": "X"},
        )
        preview = await client.request(
            PreviewTemplate(
                producer="tests",
                actor=ADMIN,
                payload={
                    "name": "password-reset",
                    "language": "en",
                    "subject": "Reset",
                    "html": "<p>{{ link }}</p>",
                    "text": "a\nb\n{{ customer.address.city }}",
                },
            ),
            RenderedEmailReply,
        )
        stored = await list_templates(client)

    def only_field(reply) -> tuple[str, str, str]:
        assert not reply.ok and reply.error.code == "validation"
        (field,) = reply.error.fields
        return reply.error.code, field.field, field.reason

    _, field, reason = only_field(syntax)
    assert field == "payload.html" and reason.startswith("line 3: syntax error") and "endif" in reason
    _, field, reason = only_field(undefined)
    assert field == "payload.text" and reason.startswith("line 2: 'coupon_code' is undefined")
    _, field, reason = only_field(bad_subject)
    assert field == "payload.subject" and "No filter named 'nope'" in reason
    assert only_field(variables_on_a_system_email)[1] == "payload.variables"
    _, field, reason = only_field(preview)
    assert field == "payload.text" and reason.startswith("line 3:") and "address" in reason
    assert {t.source for t in stored.result} == {"predefined"}, "nothing refused was stored"


async def test_n3_every_known_sandbox_escape_is_refused_by_the_template_manager(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    harmless = {"subject": "Hello", "html": "<p>Hello</p>", "text": "Hello"}
    replies = {}
    async with running(notification_app(settings, 1), cleanup=cleanup):
        for name, (part, source, _) in ESCAPES.items():
            replies[name] = await set_template(
                client,
                name="customer-message",
                language="en",
                **{**harmless, part: source},
                variables={"subject": "s", "message": "m"},
            )
        stored = await list_templates(client)

    for name, (part, _, reason) in ESCAPES.items():
        reply = replies[name]
        assert not reply.ok, f"{name}: accepted"
        (field,) = reply.error.fields
        assert field.field == f"payload.{part}" and reason in field.reason, f"{name}: {field}"
    assert {t.source for t in stored.result} == {"predefined"}


async def test_n3_templates_are_listed_resolved_and_previewed(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with running(notification_app(settings, 1), cleanup=cleanup):
        listed = await list_templates(client)
        german = await client.request(
            GetTemplate(
                producer="tests",
                actor=ADMIN,
                payload={"name": "shipping-confirmation", "scope_id": "eu", "language": "de-AT"},
            ),
            TemplateReply,
        )
        spanish = await client.request(
            GetTemplate(producer="tests", actor=ADMIN, payload={"name": "payment-request", "language": "es"}),
            TemplateReply,
        )
        missing = await client.request(
            GetTemplate(producer="tests", actor=ADMIN, payload={"name": "birthday-wishes", "language": "en"}),
            TemplateReply,
        )
        preview = await client.request(
            PreviewTemplate(
                producer="tests",
                actor=ADMIN,
                payload={
                    "name": "payment-request",
                    "language": "fr",
                    "recipient": recipient(first_name="Zoé").model_dump(),
                },
            ),
            RenderedEmailReply,
        )

    assert len(listed.result) == 24 and {t.language for t in listed.result} == {"en", "fr", "de"}
    assert german.result.language == "de" and german.result.source == "predefined"
    assert "Ihre Bestellung" in german.result.subject
    assert spanish.result.language == "en", "a language without templates falls back to English"
    assert not missing.ok and missing.error.code == "not_found"
    assert preview.result.subject == "Paiement demandé pour la commande EU-100234"
    assert "Bonjour Zoé" in preview.result.text and "59,70 EUR" in preview.result.html


async def test_n3_n4_an_administrators_csr_template_is_checked_then_sent_with_its_variables(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    to = recipient()
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            added = await set_template(
                client,
                name="delivery-delay",
                language="en",
                description="A new delivery date",
                subject="Your delivery moves to {{ variables.new_date }}",
                html="<p>Dear {{ customer.first_name }}, your delivery now arrives on {{ variables.new_date }}.</p>",
                text="Dear {{ customer.first_name }}, your delivery now arrives on {{ variables.new_date }}.",
                variables={"new_date": "Friday 27 November"},
            )

            async def send(variables: dict[str, str]) -> EmailQueuedReply:
                cmd = SendTemplateEmail(
                    producer="tests",
                    actor=CSR,
                    payload={"recipient": to, "template": "delivery-delay", "variables": variables},
                )
                return await client.request(cmd, EmailQueuedReply)

            sent = await send({"new_date": "Monday 30 November"})
            missing_variable = await send({})
            (message,) = await arrived(handler, 1)

    assert (
        added.ok
        and added.result.kind == "customer-message"
        and added.result.variables == {"new_date": "Friday 27 November"}
    )
    assert sent.ok and sent.result.template_source == "custom"
    assert message["Subject"] == "Your delivery moves to Monday 30 November"
    assert not missing_variable.ok and missing_variable.error.fields[0].field == "payload.variables"
    assert "'dict object' has no attribute 'new_date'" in missing_variable.error.fields[0].reason


async def test_n3_an_administrators_template_that_fails_on_real_data_falls_back_to_the_predefined_one(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            # Fine with the sample customer, broken for a customer called Bob.
            accepted = await set_template(
                client,
                name="welcome",
                language="en",
                subject="Welcome!",
                text="{{ link }}",
                html="{% if customer.first_name == 'Bob' %}{{ customer.nickname }}{% endif %}<a href='{{ link }}'>go</a>",
            )
            await publish_event(client, invited(recipient(first_name="Bob")))
            (activity,) = await settled(settings, 1)
            (message,) = await arrived(handler, 1)

    assert accepted.ok
    assert message["Subject"] == "Welcome, Bob: set your password"
    assert activity["template_source"] == "predefined"
    assert "failed in html" in activity["template_note"] and "nickname" in activity["template_note"]


async def test_n3_customer_data_is_escaped_in_html_and_kept_as_typed_in_text(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    handler = CapturedMail()
    with smtp_server(handler) as port:
        async with running(notification_app(settings, port), cleanup=cleanup):
            await publish_event(client, invited(recipient(first_name='<a href="https://evil.example">Bob</a>')))
            (message,) = await arrived(handler, 1)

    text, html = parts(message)
    assert "evil.example" in html and '<a href="https://evil.example">' not in html
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;Bob&lt;/a&gt;" in html
    assert '<a href="https://evil.example">Bob</a>' in text


SLOW = (
    '{% for a in "x" * 1000 %}{% for b in "x" * 100000 %}{% for c in "x" * 100000 %}{{ "" }}'
    "{% endfor %}{% endfor %}{% endfor %}"
)


async def test_n3_a_template_that_would_hang_the_worker_is_refused_and_the_next_request_served(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """Security step 12, finding 3: three nested loops over a long string in an administrator's
    preview made the worker unresponsive, and the redelivered request hung the restarted one.
    Now the render runs out of time in a rendering process: the preview and the save are each
    answered `validation` on the part within seconds, nothing is stored, no message waits
    for redelivery, and the service answers the next request at once."""
    async with running(notification_app(settings, 1, render_seconds=1.0), cleanup=cleanup):
        started = asyncio.get_running_loop().time()
        preview = await client.request(
            PreviewTemplate(
                producer="tests",
                actor=ADMIN,
                payload={
                    "name": "password-reset",
                    "language": "en",
                    "subject": "Reset",
                    "html": SLOW,
                    "text": "{{ link }}",
                },
            ),
            RenderedEmailReply,
        )
        saved = await set_template(
            client, name="password-reset", language="en", subject="Reset", html="<p>{{ link }}</p>", text=SLOW
        )
        took = asyncio.get_running_loop().time() - started
        started = asyncio.get_running_loop().time()
        listed = await list_templates(client)
        next_answer = asyncio.get_running_loop().time() - started

    for reply, part in ((preview, "payload.html"), (saved, "payload.text")):
        assert not reply.ok and reply.error.code == "validation"
        (field,) = reply.error.fields
        assert field.field == part and "takes more than 1 s to render" in field.reason
    assert took < 15, took
    assert {t.source for t in listed.result} == {"predefined"} and next_answer < 2
