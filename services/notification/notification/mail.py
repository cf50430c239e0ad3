"""The email as it goes over the wire: multipart/alternative, plain text first, then HTML.

Everything in it comes from the activity, Date, Message-ID and MIME boundary included, so
every attempt sends byte for byte the same message: a server or a mailbox that recognises
the Message-ID sees one email, not several.

Written as the ``compat32`` MIME classes write it, without building them: the modern
``EmailMessage`` API parses every header it is given and cost several milliseconds of CPU
per email, and even compat32's objects and generator a millisecond, a ceiling of their own
on a worker's rate. Addresses that need SMTPUTF8 (rare) take the modern API, which can
write raw UTF-8 headers.
"""

from __future__ import annotations

import email.base64mime
import email.policy
import email.quoprimime
import re
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

#: How compat32 writes a header that needs folding (or encoding), CRLF line endings.
_WIRE = email.policy.compat32.clone(linesep="\r\n")
#: Where the parts' line breaks are, as the email package's generator finds them.
_NEWLINES = re.compile(r"\r\n|\r|\n")
_SPACE = re.compile(r"\s")


#: What quoted-printable writes for each byte of a body (readable in a raw view, safe over
#: 7-bit servers): the email package's own table, so that the bytes are the ones it writes.
_QP: list[str] = email.quoprimime._QUOPRI_BODY_MAP  # type: ignore[attr-defined]  # private, not in typeshed
_QP_LINE = 76
#: The longest encoded word the email package writes on the Subject line without folding it.
_ENCODED_WORD_FITS = 78


@lru_cache(maxsize=16)
def _parsed(smtp_from: str) -> tuple[str, str]:
    return parseaddr(smtp_from)  # one setting for every email: parsed once


def sender_address(smtp_from: str) -> str:
    """``OMS <no-reply@oms.local>`` -> ``no-reply@oms.local``: the envelope sender."""
    return _parsed(smtp_from)[1] or smtp_from


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
    """The message's bytes, CRLF line endings, ready for DATA.

    Written directly, as the email package's compat32 generator would write this
    MIMEMultipart of two MIMEText parts (``tests/unit/notification/test_notification_mail.py`` holds it to
    that, byte for byte): building the message objects and running the generator over them
    took a millisecond of CPU per email, more than anything else the sender does."""
    if needs_smtputf8(activity):
        return _build_utf8(activity)
    sender_name, sender = _parsed(activity["sender"])
    boundary = f"=_oms_{activity['_id']}"  # the default is random
    out = [
        _content_type(boundary),
        "MIME-Version: 1.0\r\n",
        # formataddr quotes or encodes the name, so a name with ':' or ',' stays a name.
        _fold("From", formataddr((sender_name, sender or activity["sender"]), charset="utf-8")),
        _fold("To", formataddr((activity["to_name"], activity["to"]), charset="utf-8")),
        _subject(activity["subject"]),
        *(_fold(name, value) for name, value in _headers(activity)),
        "\r\n",
    ]
    for subtype, body in (("plain", activity["text"]), ("html", activity["html"])):
        out.append(f"--{boundary}\r\n" if subtype == "plain" else f"\r\n--{boundary}\r\n")
        out.append(f'Content-Type: text/{subtype}; charset="utf-8"\r\n')
        out.append("MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
        out.append(_quoted_printable(body))
    out.append(f"\r\n--{boundary}--\r\n")
    return "".join(out).encode("ascii")


def _quoted_printable(body: str) -> str:
    """``body`` in UTF-8, quoted-printable, CRLF line endings: what the email package's
    utf-8 charset writes (``email.quoprimime.body_encode``), line by line. A template's
    lines are the same in every email it renders but for a few (a name, a link), and each
    line is encoded alone: so the lines are encoded once and kept, and an email costs the
    encoding of its own few lines only."""
    return "\r\n".join(map(_qp_line, _NEWLINES.split(body.encode("utf-8").decode("latin-1"))))


@lru_cache(maxsize=4096)
def _qp_line(line: str) -> str:
    """One line of a body (its bytes as latin-1 characters, no line break), encoded and cut
    into lines of at most 76 characters with soft breaks, as ``body_encode`` cuts it."""
    line = line.translate(_QP)
    out = []
    start, laststart, stop_offset = 0, len(line) - 1 - _QP_LINE, _QP_LINE - 1
    while start <= laststart:  # never cut an =XX escape in two
        stop = start + stop_offset
        if line[stop - 2] == "=":
            out.append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            out.append(line[start:stop])
            start = stop - 1
        else:
            out.append(line[start:stop] + "=")
            start = stop
    if line and line[-1] in " \t":  # whitespace ending a line is encoded, or followed by a soft break
        room = start - laststart
        if room >= 3:
            last = f"={ord(line[-1]):02X}"
        elif room == 2:
            last = line[-1] + "=\r\n"
        else:
            last = f"=\r\n={ord(line[-1]):02X}"
        out.append(line[start:-1] + last)
    else:
        out.append(line[start:])
    return "\r\n".join(out)


def _subject(subject: str) -> str:
    """The Subject header. Not ASCII, it is one RFC 2047 encoded word, base64 or quoted-
    printable whichever is shorter, when that word fits the line (as the email package
    writes it: tested); a longer one is folded by the email package, which costs a
    millisecond."""
    if subject.isascii():
        return _fold("Subject", subject)
    raw = subject.encode("utf-8")
    encoding = (
        email.base64mime
        if email.base64mime.header_length(raw) < email.quoprimime.header_length(raw)
        else email.quoprimime
    )
    word = encoding.header_encode(raw, "utf-8")
    if len(word) <= _ENCODED_WORD_FITS:
        return f"Subject: {word}\r\n"
    return _fold("Subject", Header(subject, "utf-8"))


def _content_type(boundary: str) -> str:
    """The message's Content-Type, folded at its parameter as compat32 folds it when the
    boundary (the activity's id) makes the line too long: no Header machinery for it."""
    value = f'multipart/alternative; boundary="{boundary}"'
    if len(value) + 14 > 78 and len(boundary) + 12 <= 78 and not _SPACE.search(boundary):
        return f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
    return _fold("Content-Type", value)


def _fold(name: str, value: Any) -> str:
    """The header's line(s) as compat32 writes them. A single ASCII line that fits comes out
    of its Header machinery unchanged (the slow part): written directly."""
    if (
        isinstance(value, str)
        and value.isascii()
        and len(name) + 2 + len(value) <= 78
        and "\n" not in value
        and "\r" not in value
    ):
        return f"{name}: {value}\r\n"
    return str(_WIRE.fold(name, value))


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
