"""The notification service's rules, without I/O: which template and language an email uses,
what makes an email unique, when a failed delivery is tried again, how pages are cut."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, get_args

from pydantic import AwareDatetime, StringConstraints, TypeAdapter

from contracts.notification.emails import TemplateKind, TemplateSource
from plumbing import cursors

DEFAULT_LANGUAGE = "en"
KINDS: tuple[str, ...] = get_args(TemplateKind)
#: What a template with an administrator's own name is: only a CSR sends it.
CUSTOM_KIND = "customer-message"
#: Templates sent on events; a CSR cannot send them (their data comes with the event).
SYSTEM_KINDS = frozenset(KINDS) - {CUSTOM_KIND}


def kind_of(name: str) -> str:
    """A predefined name is its own kind; any other name is a customer-message template."""
    return name if name in KINDS else CUSTOM_KIND


# --- language (N2) ------------------------------------------------------------------------------


def language_candidates(preferred: str | None, scope_language: str | None) -> list[str]:
    """Languages to try, best first: the customer's, the scope's, then English.

    A regional tag also tries its base language ("fr-CA" before "fr"), because a template
    written for French serves a Canadian reader better than the English fallback.
    """
    candidates: list[str] = []
    for tag in (preferred, scope_language, DEFAULT_LANGUAGE):
        if not tag:
            continue
        tag = tag.strip().lower().replace("_", "-")
        for candidate in (tag, tag.split("-")[0]):
            if candidate and candidate not in candidates:
                candidates.append(candidate)
    return candidates


@dataclass(frozen=True)
class TemplateChoice:
    source: TemplateSource
    scope_id: str | None
    language: str


def choose_template(
    scope_id: str | None,
    candidates: Iterable[str],
    custom: Iterable[tuple[str | None, str]],
    predefined: Iterable[str],
) -> TemplateChoice | None:
    """The template an email uses, given what exists for its name.

    ``custom`` holds (scope_id or None for every scope, language) of the administrator's
    templates, ``predefined`` the languages shipped with the service. Language comes first:
    a reader gets their own language from any source before an override in another one.
    Within a language, the scope's own override beats the one for every scope, which beats
    the predefined template.
    """
    custom = set(custom)
    predefined = set(predefined)
    for language in candidates:
        if (scope_id, language) in custom:
            return TemplateChoice("custom", scope_id, language)
        if (None, language) in custom:
            return TemplateChoice("custom", None, language)
        if language in predefined:
            return TemplateChoice("predefined", None, language)
    return None


# --- at most once (N6) --------------------------------------------------------------------------


def email_key(cause_message_id: str, template: str, recipient_email: str) -> str:
    """The identity of one email: the same (cause, template, recipient) is the same email.

    It is the activity's id and, in the Message-ID header, the email's, so a duplicate event
    finds the activity already there and a retry sends the very same message.
    """
    raw = "\n".join((cause_message_id, template, recipient_email.strip().lower()))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def needs_transaction(statuses: Iterable[str]) -> bool:
    """N6: a batch of system emails is recorded in a transaction only when an email of it
    failed at once (an address no server takes): its ``EmailFailed`` event goes through the
    outbox. A batch of queued emails (or claimed as they are recorded) has nothing to
    publish: one unordered insert."""
    return any(status == "failed" for status in statuses)


# --- retries (N6) -----------------------------------------------------------------------------


def is_permanent(code: int | None) -> bool:
    """A 5xx reply will not change on a retry; 4xx replies, network errors and timeouts may."""
    return code is not None and 500 <= code <= 599


def retry_delay(attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first).

    Exponential (base, 2 base, 4 base, ... up to cap) with "equal jitter": half the step is
    fixed, half random, so waits still grow while emails that failed together (a server
    outage) come back spread out instead of all at once.
    """
    step = min(cap, base * 2 ** (max(attempt, 1) - 1))
    return float(step / 2 + rand() * step / 2)


@dataclass(frozen=True)
class AfterFailure:
    retry_in: float | None  # seconds; None: give up

    @property
    def gives_up(self) -> bool:
        return self.retry_in is None


def after_failure(
    attempt: int,
    *,
    permanent: bool,
    max_attempts: int,
    base: float,
    cap: float,
    rand: Callable[[], float] = random.random,
) -> AfterFailure:
    if permanent or attempt >= max_attempts:
        return AfterFailure(None)
    return AfterFailure(retry_delay(attempt, base=base, cap=cap, rand=rand))


# --- keyset pages (N5) ------------------------------------------------------------------------------


#: An activities cursor, read back strictly (plumbing.cursors): the last email's time and id.
_CURSOR = TypeAdapter(tuple[AwareDatetime, Annotated[str, StringConstraints(min_length=1, max_length=200)]])


def encode_cursor(created_at: datetime, activity_id: str) -> str:
    return cursors.encode_cursor([created_at, activity_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of ours names; anything else is ``Rejected`` on payload.cursor."""
    return cursors.decode_cursor(cursor, _CURSOR)
