"""The template sandbox and the predefined templates, without servers (N1, N2, N3)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from notification import catalog, domain, kinds, mail, templates
from notification.templates import Sources, TemplateProblem

from ...sandbox_escapes import ESCAPES

PREDEFINED = catalog.load()
HARMLESS = {"subject": "Hello", "html": "<p>Hello</p>", "text": "Hello"}


@pytest.mark.parametrize("kind", domain.KINDS)
def test_n1_n2_every_kind_ships_in_english_french_and_german(kind: str) -> None:
    assert {"en", "fr", "de"} <= PREDEFINED.languages(kind)


@pytest.mark.parametrize("entry", PREDEFINED.all(), ids=lambda t: f"{t.name}-{t.language}")
def test_n1_every_predefined_template_renders_html_and_text_with_every_sample(entry: catalog.StoredTemplate) -> None:
    for label, context in kinds.samples(entry.kind, entry.variables):
        rendered = entry.compiled().render({**context, "language": entry.language})
        assert rendered.subject and "\n" not in rendered.subject, label
        assert f'<html lang="{entry.language}">' in rendered.html, label
        assert "<" not in rendered.text.replace("<-", ""), f"HTML in the text part ({label})"
        assert "Camille" in rendered.text and "Camille" in rendered.html, label
        if "link" in context:
            assert context["link"] in rendered.text and f'href="{context["link"]}"' in rendered.html


def test_n2_dates_and_amounts_are_written_the_way_each_language_writes_them() -> None:
    source = Sources(subject="s", html="x", text="{{ at|datetime }} | {{ at|date }} | {{ '1234.5'|money('EUR') }}")
    compiled = templates.compile_sources(source)
    context = {"at": "2026-11-20T09:14:01+00:00"}
    texts = {lang: compiled.render({**context, "language": lang}).text.rstrip("\n") for lang in ("en", "fr", "de")}
    assert texts["en"] == "20 November 2026 09:14 UTC | 20 November 2026 | EUR 1,234.50"
    assert texts["fr"] == "20 novembre 2026 09:14 UTC | 20 novembre 2026 | 1\u202f234,50 EUR"
    assert texts["de"] == "20. November 2026 09:14 UTC | 20. November 2026 | 1.234,50 EUR"


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_n3_sandbox_escape_is_refused(name: str) -> None:
    part, source, reason = ESCAPES[name]
    with pytest.raises(TemplateProblem) as refused:
        templates.check(Sources(**{**HARMLESS, part: source}), "welcome", "en")
    assert refused.value.part == part
    assert reason in refused.value.reason, refused.value.reason


def test_n3_html_escapes_customer_data_and_text_keeps_it_as_typed() -> None:
    welcome = PREDEFINED.get("welcome", "en")
    context = kinds.samples("welcome")[0][1]
    context["customer"] = {**context["customer"], "first_name": '<img src=x onerror="alert(1)">'}
    rendered = welcome.compiled().render({**context, "language": "en"})
    assert "<img src=x" not in rendered.html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in rendered.html
    assert '<img src=x onerror="alert(1)">' in rendered.text


def test_n3_a_broken_template_is_refused_with_its_part_and_line() -> None:
    with pytest.raises(TemplateProblem) as syntax:
        templates.check(Sources(subject="s", html="<p>\n<b>\n{% if customer %}\n<i>", text="t"), "welcome", "en")
    assert (syntax.value.part, syntax.value.line) == ("html", 4)
    assert syntax.value.reason.startswith("line 4: syntax error") and "endif" in syntax.value.reason

    with pytest.raises(TemplateProblem) as undefined:
        templates.check(
            Sources(subject="s", html="h", text="Hello\n{{ customer.first_name }}\n{{ coupon }}"), "welcome", "en"
        )
    assert (undefined.value.part, undefined.value.line) == ("text", 3)
    assert "'coupon' is undefined" in undefined.value.reason


def test_n3_a_template_must_work_without_the_optional_data_too() -> None:
    # Fine with a carrier, broken for the first shipment without one.
    source = Sources(subject="s", html="h", text="{{ shipment.carrier|upper }} {{ shipment.lines[0].name }}")
    with pytest.raises(TemplateProblem) as refused:
        templates.check(source, "shipping-confirmation", "en")
    assert refused.value.sample == "minimal"


def _activity(**changes) -> dict:
    created = datetime(2026, 11, 20, 9, 14, 1, tzinfo=UTC)
    return {
        "_id": "abc123",
        "sender": "OMS <no-reply@shop.example.com>",
        "to": "zoe@example.com",
        "to_name": mail.display_name("Zoé", "Müller\nBcc: x@evil.example"),
        "subject": "Bienvenue, Zoé",
        "created_at": created,
        "language": "fr",
        "initiated_by": "system",
        "message_id": mail.message_id("abc123", "OMS <no-reply@shop.example.com>"),
        "text": "Bonjour Zoé\n",
        "html": "<p>Bonjour Zoé</p>\n",
        **changes,
    }


@pytest.mark.parametrize("to", ["zoe@example.com", "zoé@exämple.de"], ids=["ascii", "smtputf8"])
def test_n1_the_message_is_multipart_alternative_with_stable_headers(to: str) -> None:
    activity = _activity(to=to)
    raw = mail.build(activity)
    assert raw == mail.build(activity), "every attempt sends the same bytes"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    # SMTPUTF8 headers are raw UTF-8, which a reader of such mail decodes as such.
    parsed = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Message-ID"] == "<abc123@shop.example.com>" and parsed["X-OMS-Activity-Id"] == "abc123"
    assert parsed["Content-Language"] == "fr" and parsed["Subject"] == "Bienvenue, Zoé"
    assert parsed["Auto-Submitted"] == "auto-generated"
    (recipient,) = parsed["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == ("Zoé Müller Bcc: x@evil.example", to)
    assert parsed["Bcc"] is None
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("OMS", "no-reply@shop.example.com")
    body = email.message_from_bytes(raw, policy=email.policy.default)  # bodies decode from bytes
    assert body.get_body(("plain",)).get_content().replace("\r\n", "\n") == activity["text"]
    assert body.get_body(("html",)).get_content().replace("\r\n", "\n") == activity["html"]


def test_n4_a_csr_email_is_not_marked_auto_generated_and_ascii_headers_stay_plain() -> None:
    raw = mail.build(_activity(initiated_by="csr", subject="About your order", to_name="Ada Lovelace: CSR"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Auto-Submitted"] is None
    assert b"Subject: About your order\r\n" in raw
    assert parsed["To"].addresses[0].display_name == "Ada Lovelace: CSR"
