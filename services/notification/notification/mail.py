"""The email as it goes over the wire: multipart/alternative, plain text first, then HTML.

Everything in it comes from the activity, Date, Message-ID and MIME boundary included, so
every attempt sends byte for byte the same message: a server or a mailbox that recognises
the Message-ID sees one email, not several.

Built with the ``compat32`` MIME classes: the modern ``EmailMessage`` API parses every
header it is given and cost several milliseconds of CPU per email, a ceiling of its own on
a worker's rate. Addresses that need SMTPUTF8 (rare) take the modern API, which can write
raw UTF-8 headers.
"""

from __future__ import annotations

import email.policy
from email._policybase import Compat32
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from email_validator import EmailNotValidError, validate_email


class _Wire(Compat32):
    """compat32, with headers that need no folding written as they are.

    compat32 runs every header through ``email.header.Header`` to fold it, which took most
    of the CPU time of building an email (a dozen headers each). A single ASCII line that
    fits in ``max_line_length`` comes out of it unchanged, so it is written directly: the
    same bytes, faster. Anything else (long, non-ASCII, a Header object) goes the long way.
    """

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
            and "\n" not in value
            and "\r" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))


_WIRE = _Wire(linesep="\r\n")
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in a raw view, safe over 7-bit servers


def sender_address(smtp_from: str) -> str:
    """``OMS <no-reply@oms.local>`` -> ``no-reply@oms.local``: the envelope sender."""
    return parseaddr(smtp_from)[1] or smtp_from


def message_id(activity_id: str, smtp_from: str) -> str:
    domain = sender_address(smtp_from).rpartition("@")[2] or "oms.local"
    return f"<{activity_id}@{domain}>"


def display_name(first_name: str, last_name: str) -> str:
    # Names come from customers: one line, whatever they typed.
    return " ".join(f"{first_name} {last_name}".split())


def needs_smtputf8(activity: dict[str, Any]) -> bool:
    return not (activity["to"].isascii() and sender_address(activity["sender"]).isascii())


def _headers(activity: dict[str, Any]) -> list[tuple[str, Any]]:
    headers = [
        ("Date", format_datetime(activity["created_at"])),
        ("Message-ID", activity["message_id"]),
        ("Content-Language", activity["language"]),
        ("X-OMS-Activity-Id", activity["_id"]),
    ]
    if activity["initiated_by"] == "system":
        headers.append(("Auto-Submitted", "auto-generated"))  # RFC 3834: no auto-replies, please
    return headers


def build(activity: dict[str, Any]) -> bytes:
    """The message's bytes, CRLF line endings, ready for DATA."""
    if needs_smtputf8(activity):
        return _build_utf8(activity)
    sender_name, sender = parseaddr(activity["sender"])
    message = MIMEMultipart("alternative", boundary=f"=_oms_{activity['_id']}")  # the default is random
    # formataddr quotes or encodes the name, so a name with ':' or ',' stays a name.
    message["From"] = formataddr((sender_name, sender or activity["sender"]), charset="utf-8")
    message["To"] = formataddr((activity["to_name"], activity["to"]), charset="utf-8")
    subject = activity["subject"]
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    for name, value in _headers(activity):
        message[name] = value
    message.attach(MIMEText(activity["text"], "plain", _UTF8))
    message.attach(MIMEText(activity["html"], "html", _UTF8))
    return message.as_bytes(policy=_WIRE)


def _address(name: str, address: str) -> Address:
    # From its parts: parsing an addr_spec refuses the non-ASCII local part SMTPUTF8 allows.
    username, _, domain = address.rpartition("@")
    return Address(display_name=name, username=username, domain=domain)


def _build_utf8(activity: dict[str, Any]) -> bytes:
    message = EmailMessage(policy=email.policy.SMTPUTF8)
    sender_name, sender = parseaddr(activity["sender"])
    message["From"] = _address(sender_name, sender or activity["sender"])
    message["To"] = _address(activity["to_name"], activity["to"])
    message["Subject"] = activity["subject"]
    message.set_content(activity["text"], subtype="plain", charset="utf-8")
    message.add_alternative(activity["html"], subtype="html", charset="utf-8")
    message.set_boundary(f"=_oms_{activity['_id']}")
    for name, value in _headers(activity):  # after the body: set_content clears Content-* headers
        message[name] = value
    return message.as_bytes(policy=email.policy.SMTPUTF8)


def address_problem(address: str) -> str | None:
    """Why no server would take this address, or None. Syntax only: no DNS lookups here."""
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None
