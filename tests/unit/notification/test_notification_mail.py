"""The email on the wire (N1, N6): built faster, byte for byte what the email package writes."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from typing import Any

from notification import catalog, kinds, mail

UTF8 = Charset("utf-8")
UTF8.body_encoding = QP


def with_the_email_package(activity: dict[str, Any]) -> bytes:
    """The reference: the message objects of the email package, flattened by its generator."""
    sender_name, sender = parseaddr(activity["sender"])
    message = MIMEMultipart("alternative", boundary=f"=_oms_{activity['_id']}")
    message["From"] = formataddr((sender_name, sender), charset="utf-8")
    message["To"] = formataddr((activity["to_name"], activity["to"]), charset="utf-8")
    subject = activity["subject"]
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    for name, value in mail._headers(activity):  # noqa: SLF001 - the same headers, the reference way
        message[name] = value
    message.attach(MIMEText(activity["text"], "plain", UTF8))
    message.attach(MIMEText(activity["html"], "html", UTF8))
    return message.as_bytes(policy=email.policy.compat32.clone(linesep="\r\n"))


NAMES = ("Camille Martin", "Zoé Müller", "Ada Lovelace: CSR", "O'Brien, Pat", "A" * 90)
SUBJECTS = (
    "Your order EU-100234 has shipped",
    "x" * 120,
    "Bestellung über 59,70 €",
    "two  spaces\tand a tab",
    # Encoded words of every length around the line's end: one word, or folded.
    *(f"Votre commande {'B' * n} a été expédiée" for n in range(20, 50)),
    *("€" * n for n in range(1, 20)),
)
BODIES = ("", "one line, no break", "CR\rLF\nCRLF\r\n" + "long " * 40 + "\n", "=?utf-8?= ümlaut \N{EURO SIGN}\n")
#: Lines cut where an =XX escape or a last space or tab falls at every place around the
#: 76-character limit: each of quoted-printable's ways to end a line, line by line.
CUTS = tuple(
    "x" * n + tail + "\n" + "y" * n + tail
    for n in range(68, 80)
    for tail in (" ", "\t", "=", "é", "= ", "é\t", "ab=cd ")
)


def _activities():
    languages = set()
    for template in catalog.predefined().all():
        languages.add(template.language)
        for _, context in kinds.samples(template.kind, template.variables):
            rendered = template.compiled().render({**context, "language": template.language})
            for to_name in NAMES:
                yield _activity(rendered.text, rendered.html, to_name, rendered.subject, template.language)
    # Every odd subject under every name and language, once: the headers are written without
    # looking at the body (mail.build), so pairing each with every template's body again (as
    # before: 7 s of the unit run) proved nothing more.
    for language in sorted(languages):
        for to_name in NAMES:
            for subject in SUBJECTS:
                yield _activity("text\n", "<p>html</p>\n", to_name, subject, language)
    for body in (*BODIES, *CUTS):
        yield _activity(body, body, "Camille Martin", "Odd bodies", "en")
    for activity_id in ("bench", "x" * 20, "y" * 21, "z" * 22, "a" * 64):  # Content-Type folded or not
        yield {**_activity("text\n", "html\n", "Camille Martin", "Ids", "en"), "_id": activity_id}


def _activity(text: str, html: str, to_name: str, subject: str, language: str) -> dict[str, Any]:
    return {
        "_id": "5f0c2a9e7d3b4c1a8e6f9d2b3c4a5e6f",
        "sender": "OMS <no-reply@oms.local>",
        "to": "camille.martin@example.com",
        "to_name": to_name,
        "subject": subject,
        "created_at": datetime(2026, 12, 4, 6, 15, 3, tzinfo=UTC),
        "language": language,
        "initiated_by": "system",
        "message_id": mail.message_id("5f0c2a9e", "OMS <no-reply@oms.local>"),
        "text": text,
        "html": html,
    }


def test_n6_an_email_is_built_byte_for_byte_as_the_email_package_writes_it() -> None:
    """mail.build writes the message directly, without the email package's objects and
    generator: the bytes must be theirs (every attempt of an email, before and after this
    change, sends the same message, and every MIME detail stays right)."""
    activities = list(_activities())
    fast = [mail.build(activity) for activity in activities]
    stock = [with_the_email_package(activity) for activity in activities]
    assert len(activities) > 100
    for mine, theirs in zip(fast, stock, strict=True):
        assert mine == theirs
    assert any(b"=?utf-8?" in message for message in fast), "non-ASCII headers were among them"
    assert any(b"\r\n " in message.split(b"\r\n\r\n", 1)[0] for message in fast), "folded headers too"
