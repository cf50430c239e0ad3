"""The email as it goes over the wire: multipart/alternative, plain text first, then HTML.

Everything in it comes from the activity, Date and Message-ID included, so every attempt
sends byte for byte the same message: a server or a mailbox that recognises the
Message-ID sees one email, not several.
"""

from __future__ import annotations

import email.policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from email_validator import EmailNotValidError, validate_email


def sender_address(smtp_from: str) -> str:
    """``OMS <no-reply@oms.local>`` -> ``no-reply@oms.local``: the envelope sender."""
    return parseaddr(smtp_from)[1] or smtp_from


def message_id(activity_id: str, smtp_from: str) -> str:
    domain = sender_address(smtp_from).rpartition("@")[2] or "oms.local"
    return f"<{activity_id}@{domain}>"


def display_name(first_name: str, last_name: str) -> str:
    # Names come from customers: one line, whatever they typed.
    return " ".join(f"{first_name} {last_name}".split())


def _address(name: str, address: str) -> Address:
    # An Address, not a formatted string: the header policy quotes the name itself, so a
    # name with ':' or ',' in it stays a name.
    return Address(display_name=name, addr_spec=address)


def build(activity: dict[str, Any]) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    sender_name, sender = parseaddr(activity["sender"])
    message["From"] = _address(sender_name, sender or activity["sender"])
    message["To"] = _address(activity["to_name"], activity["to"])
    message["Subject"] = activity["subject"]
    message["Date"] = format_datetime(activity["created_at"])
    message["Message-ID"] = activity["message_id"]
    if activity["initiated_by"] == "system":
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-OMS-Activity-Id"] = activity["_id"]
    message.set_content(activity["text"], subtype="plain", charset="utf-8")
    message.add_alternative(activity["html"], subtype="html", charset="utf-8")
    message.set_boundary(f"=_oms_{activity['_id']}")  # the default one is random
    # After the body: set_content clears every Content-* header.
    message["Content-Language"] = activity["language"]
    return message


def needs_smtputf8(address: str) -> bool:
    return not address.isascii()


def address_problem(address: str) -> str | None:
    """Why no server would take this address, or None. Syntax only: no DNS lookups here."""
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None
