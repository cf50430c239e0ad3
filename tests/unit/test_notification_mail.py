"""The email on the wire (N1, N6): built faster, byte for byte what the email package writes."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime

import pytest

from notification import catalog, kinds, mail

NAMES = ("Camille Martin", "Zoé Müller", "Ada Lovelace: CSR", "O'Brien, Pat", "A" * 90)
SUBJECTS = ("Your order EU-100234 has shipped", "x" * 120, "Bestellung über 59,70 €", "two  spaces\tand a tab")


def _activities():
    for template in catalog.predefined().all():
        for _, context in kinds.samples(template.kind, template.variables):
            rendered = template.compiled().render({**context, "language": template.language})
            for to_name in NAMES:
                for subject in (rendered.subject, *SUBJECTS):
                    yield {
                        "_id": "5f0c2a9e7d3b4c1a8e6f9d2b3c4a5e6f",
                        "sender": "OMS <no-reply@oms.local>",
                        "to": "camille.martin@example.com",
                        "to_name": to_name,
                        "subject": subject,
                        "created_at": datetime(2026, 12, 4, 6, 15, 3, tzinfo=UTC),
                        "language": template.language,
                        "initiated_by": "system",
                        "message_id": mail.message_id("5f0c2a9e", "OMS <no-reply@oms.local>"),
                        "text": rendered.text,
                        "html": rendered.html,
                    }


def test_n6_an_email_is_built_byte_for_byte_as_the_email_package_writes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers that need no folding skip compat32's Header machinery: the bytes must not
    change (every attempt of an email, before and after this, sends the same message)."""
    activities = list(_activities())
    fast = [mail.build(activity) for activity in activities]
    monkeypatch.setattr(mail, "_WIRE", email.policy.compat32.clone(linesep="\r\n"))
    stock = [mail.build(activity) for activity in activities]
    assert len(activities) > 100
    assert fast == stock
    assert any(b"=?utf-8?" in message for message in fast), "non-ASCII headers were among them"
    assert any(b"\r\n " in message.split(b"\r\n\r\n", 1)[0] for message in fast), "folded headers too"
