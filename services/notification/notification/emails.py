"""Composing an email: which template it uses, what it says, and the activity that records it.

An email that carries a single-use link (C14) is rendered twice with the same template: once
with the link, for the customer, and once with its token redacted, for the record. The
activity shows the redacted copy; the one that goes to SMTP is kept sealed with
``OMS_LINK_KEY`` until it is sent or given up (``store.mark_sent``, ``store.mark_failed``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts.notification.emails import EmailFailed, EmailFailedPayload, EmailSent, EmailSentPayload, OrderReference

from . import domain, mail, store
from .catalog import Catalog, StoredTemplate
from .kinds import EmailRequest
from .rendering import Renderer
from .templates import Rendered, TemplateProblem

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from plumbing.sealing import Sealer
    from plumbing.settings import ServiceSettings

log = logging.getLogger("oms.notification")

PRODUCER = "notification"


class TemplateMissing(LookupError):
    pass


@dataclass(frozen=True)
class Composed:
    template: StoredTemplate
    rendered: Rendered
    #: Set when an administrator's template failed on this email's data and the predefined
    #: one was used instead: the customer still gets the email, the activity says why.
    fallback_reason: str | None = None
    #: The copy that is recorded when the email carries a single-use link: its token redacted.
    recorded: Rendered | None = None


async def resolve(
    db: AsyncDatabase[dict[str, Any]], catalog: Catalog, name: str, scope_id: str | None, candidates: list[str]
) -> StoredTemplate | None:
    """The template an email for ``scope_id`` in the first possible of ``candidates`` uses."""
    customs = await store.custom_templates_for(db, [name], [scope_id], candidates)
    return choose(catalog, customs, name, scope_id, candidates)


def choose(
    catalog: Catalog, customs: list[StoredTemplate], name: str, scope_id: str | None, candidates: list[str]
) -> StoredTemplate | None:
    """``resolve`` among administrators' templates already read (``customs`` may hold others too:
    those of a whole batch of emails, read at once)."""
    customs = [t for t in customs if t.name == name and t.scope_id in (scope_id, None)]
    choice = domain.choose_template(
        scope_id, candidates, [(t.scope_id, t.language) for t in customs], catalog.languages(name)
    )
    if choice is None:
        return None
    if choice.source == "predefined":
        return catalog.get(name, choice.language)
    return next(t for t in customs if (t.scope_id, t.language) == (choice.scope_id, choice.language))


def candidates_of(request: EmailRequest) -> list[str]:
    recipient = request.recipient
    return domain.language_candidates(recipient.preferred_language, recipient.scope_language)


async def render(renderer: Renderer, template: StoredTemplate, context: dict[str, Any]) -> Rendered:
    """The email from ``template``: the predefined ones (the service's own, checked at start)
    here; an administrator's in the renderer's processes, with a time and a memory limit."""
    context = {**context, "language": template.language}
    if template.source == "predefined":
        return template.compiled().render(context, trusted=True)
    return await renderer.render(template.sources, context)


async def _composed(
    renderer: Renderer, template: StoredTemplate, request: EmailRequest, fallback_reason: str | None = None
) -> Composed:
    if request.recorded_context is None:
        return Composed(template, await render(renderer, template, request.context), fallback_reason)
    # The recorded copy first: a template that fails then quotes redacted data only.
    recorded = await render(renderer, template, request.recorded_context)
    try:
        sent = await render(renderer, template, request.context)
    except TemplateProblem as problem:
        # Its message could quote the link (and so would a chained traceback): where, not what.
        raise TemplateProblem(problem.part, problem.line, "fails on the link itself (details withheld)") from None
    return Composed(template, sent, fallback_reason, recorded)


async def compose(
    db: AsyncDatabase[dict[str, Any]],
    catalog: Catalog,
    request: EmailRequest,
    *,
    fall_back: bool,
    renderer: Renderer,
    customs: list[StoredTemplate] | None = None,
) -> Composed:
    """Pick and render the template. Raises TemplateMissing, or TemplateProblem when the
    chosen template fails and ``fall_back`` is off (a CSR is told; a system email is not
    held up by an administrator's mistake). ``customs``: the administrators' templates,
    when the caller read them for several emails at once."""
    recipient = request.recipient
    candidates = candidates_of(request)
    if customs is None:
        template = await resolve(db, catalog, request.template, recipient.scope_id, candidates)
    else:
        template = choose(catalog, customs, request.template, recipient.scope_id, candidates)
    if template is None:
        raise TemplateMissing(request.template)
    try:
        return await _composed(renderer, template, request)
    except TemplateProblem as problem:
        if not fall_back or template.source == "predefined":
            raise
        choice = domain.choose_template(recipient.scope_id, candidates, [], catalog.languages(request.template))
        predefined = None if choice is None else catalog.get(request.template, choice.language)
        if predefined is None:
            raise
        reason = (
            f"custom template {template.name} ({template.scope_id or 'every scope'}, {template.language}, "
            f"version {template.version}) failed in {problem.part}: {problem.reason}; the predefined one was used"
        )
        log.warning("%s", reason)
        return await _composed(renderer, predefined, request, reason)


async def compose_batch(
    db: AsyncDatabase[dict[str, Any]], catalog: Catalog, requests: list[EmailRequest], *, renderer: Renderer
) -> list[Composed | BaseException]:
    """``compose`` for system emails that arrived together (N6), each falling back on the
    predefined template: one read of the administrators' templates for all of them, then each
    email's outcome, a failure too (``TemplateMissing``), in the order of ``requests``."""
    customs = await store.custom_templates_for(
        db,
        [r.template for r in requests],
        [r.recipient.scope_id for r in requests],
        [language for r in requests for language in candidates_of(r)],
    )
    return await asyncio.gather(
        *(compose(db, catalog, r, fall_back=True, renderer=renderer, customs=customs) for r in requests),
        return_exceptions=True,
    )


def activity_document(
    request: EmailRequest, composed: Composed, settings: ServiceSettings, sealer: Sealer
) -> dict[str, Any]:
    """The activity that records the email (N5) and drives its delivery (N6)."""
    recipient = request.recipient
    shown = composed.recorded or composed.rendered
    key = domain.email_key(request.cause_id, request.template, recipient.email)
    created = store.creation_time()
    template = composed.template
    doc: dict[str, Any] = {
        "_id": key,
        "customer_code": recipient.customer_code,
        "scope_id": recipient.scope_id,
        "order": request.order.model_dump() if request.order else None,
        "initiated_by": request.initiated_by,
        "actor_id": request.actor_id,
        "cause_id": request.cause_id,
        "cause_type": request.cause_type,
        "correlation_id": request.correlation_id,
        "template": request.template,
        "template_source": template.source,
        "template_scope_id": template.scope_id,
        "template_version": template.version,
        "template_note": composed.fallback_reason,
        "language": template.language,
        "sender": settings.smtp_from,
        "to": recipient.email,
        "to_name": mail.display_name(recipient.first_name, recipient.last_name),
        "subject": shown.subject,
        "html": shown.html,
        "text": shown.text,
        "link_sent": request.link_sent,
        "message_id": mail.message_id(key, settings.smtp_from),
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": created,
        "last_error": None,
        "errors": [],
        "outcome_unknown": False,
        "created_at": created,
        "sent_at": None,
        "failed_at": None,
    }
    if composed.recorded is not None:
        sent = composed.rendered
        doc["sealed"] = sealer.seal(json.dumps({"subject": sent.subject, "html": sent.html, "text": sent.text}))
    problem = mail.address_problem(recipient.email)
    if problem is not None:
        # No server would take it: failed at once, visibly, rather than tried eight times.
        error = f"invalid recipient address: {problem}"
        doc.update(status="failed", next_attempt_at=None, failed_at=created, last_error=error)
        doc.pop("sealed", None)  # never sent: nothing to keep
        doc["errors"] = [{"at": created, "attempt": 0, "code": None, "error": error, "permanent": True}]
    return doc


#: What a resent email copies from the first: its content, address and what it was about.
_RESENT_FIELDS = (
    "customer_code",
    "scope_id",
    "order",
    "template",
    "template_source",
    "template_scope_id",
    "template_version",
    "template_note",
    "language",
    "sender",
    "to",
    "to_name",
    "subject",
    "html",
    "text",
)


def resent_activity(original: dict[str, Any], *, cause_id: str, cause_type: str, actor_id: str) -> dict[str, Any]:
    """A new activity that sends ``original``'s email again, as a CSR asked (N4): a new key and
    Message-ID (a new email, not a retry of the first), queued now, pointing at the first."""
    key = domain.email_key(cause_id, original["template"], original["to"])
    created = store.creation_time()
    return {
        "_id": key,
        **{name: original.get(name) for name in _RESENT_FIELDS},
        "initiated_by": "csr",
        "actor_id": actor_id,
        "cause_id": cause_id,
        "cause_type": cause_type,
        "correlation_id": cause_id,
        "resent_from": original["_id"],
        "link_sent": None,
        "message_id": mail.message_id(key, original["sender"]),
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": created,
        "last_error": None,
        "errors": [],
        "outcome_unknown": False,
        "created_at": created,
        "sent_at": None,
        "failed_at": None,
    }


def as_sent(activity: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """The activity with the content that goes to SMTP: its sealed copy opened, if it has one.
    Raises SealBroken when this service's key cannot open it."""
    if not activity.get("sealed"):
        return activity
    return {**activity, **json.loads(sealer.open(activity["sealed"]))}


# --- events about an email's outcome -------------------------------------------------------------


def _outcome(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "activity_id": doc["_id"],
        "customer_code": doc["customer_code"],
        "scope_id": doc["scope_id"],
        "order": OrderReference(**doc["order"]) if doc.get("order") else None,
        "initiated_by": doc["initiated_by"],
        "template": doc["template"],
        "language": doc["language"],
        "to": doc["to"],
        "subject": doc["subject"],
        "message_id": doc["message_id"],
        "attempts": doc["attempts"],
    }


def _envelope(doc: dict[str, Any]) -> dict[str, Any]:
    return {"producer": PRODUCER, "correlation_id": doc.get("correlation_id"), "causation_id": doc.get("cause_id")}


def sent_event(doc: dict[str, Any]) -> EmailSent:
    return EmailSent(**_envelope(doc), payload=EmailSentPayload(**_outcome(doc), sent_at=doc["sent_at"]))


def failed_event(doc: dict[str, Any]) -> EmailFailed:
    last = (doc.get("errors") or [{}])[-1]
    return EmailFailed(
        **_envelope(doc),
        payload=EmailFailedPayload(
            **_outcome(doc),
            error=doc.get("last_error") or "failed",
            code=last.get("code"),
            permanent=bool(last.get("permanent")),
            outcome_unknown=doc.get("outcome_unknown", False),
            failed_at=doc["failed_at"],
        ),
    )
