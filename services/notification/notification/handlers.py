"""Messages in and out of the notification service.

The events that trigger system emails share one queue, ``<ns>.notification.emails``, bound
to exactly their routing keys: the service never receives, and so never has to dead-letter,
the many customer and order events it has nothing to say about, and it costs the broker one
quorum queue rather than one per event. Commands arrive on the service's command queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any

from faststream.rabbit import RabbitQueue, RabbitRouter
from pymongo.errors import DuplicateKeyError

from contracts.customer.records import (
    EmailVerificationRequested,
    PasswordChanged,
    PasswordResetRequested,
    PasswordSetupInvited,
)
from contracts.envelope import Command, Envelope, Event
from contracts.notification.emails import (
    ActivityPage,
    ActivityPageReply,
    EmailFailed,
    EmailQueued,
    EmailQueuedReply,
    EmailSent,
    GetActivities,
    GetTemplate,
    ListTemplates,
    PreviewTemplate,
    RemoveTemplate,
    RenderedEmail,
    RenderedEmailReply,
    ResendEmail,
    SendTemplateEmail,
    SetTemplate,
    TemplateListReply,
    TemplateRemoved,
    TemplateRemovedReply,
    TemplateReply,
    TemplateSummary,
    TemplateView,
)
from contracts.order_sync.linking import CustomerOrderShipped, CustomerPaymentReceived, CustomerPaymentRequested
from plumbing.batching import Batcher, Pending
from plumbing.errors import Rejected
from plumbing.messaging import events_exchange, routed_as, work_queue
from plumbing.runtime import CommandHandler, Injected, Runtime, ServiceRuntime
from plumbing.sealing import SealBroken
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import catalog, domain, emails, kinds, merging, privacy, rendering, store, templates
from .catalog import StoredTemplate
from .emails import TemplateMissing
from .kinds import EmailRequest
from .outbound import Outbound
from .templates import TemplateProblem

#: Handlers declare ``outbound: Sender`` to wake the background sender.
Sender = Annotated[Outbound, Injected("outbound")]
#: Handlers that render declare ``renderer: Renders`` (the sandboxed render processes).
Renders = Annotated[rendering.Renderer, Injected("renderer")]


async def queue_email(
    runtime: ServiceRuntime,
    outbound: Outbound,
    renderer: rendering.Renderer,
    cause: Command[Any],
    request: EmailRequest,
) -> EmailQueued:
    """Render a CSR's email and record it as a queued activity, once per command (N4, N5, N6):
    a command delivered again gets the first delivery's answer back, and nothing is queued twice.
    (System emails go in batches: ``queue_system_emails``.)
    """
    composed = await emails.compose(
        runtime.db,
        catalog.predefined(),
        request,
        fall_back=request.initiated_by == "system",
        renderer=renderer,
    )
    activity = emails.activity_document(request, composed, runtime.settings, outbound.sealer)

    async def work(uow: UnitOfWork) -> EmailQueued:
        stored, new = await store.record_activity(uow, activity)
        if new and stored["status"] == "failed":
            uow.publish(emails.failed_event(stored))
        return _queued(stored)

    # The reply is kept for the command's retries.
    queued = await apply_once(runtime, cause, work, EmailQueued)
    outbound.wake()
    return queued


# --- system emails (N1, N2, N4), in batches ------------------------------------------------------------
#
# The events that cause system emails arrive in bursts (a million invitations to set a
# password, a day's shipments): their handlers hand each email to a batcher, and what
# arrives together is composed with one read of the administrators' templates and recorded
# with one unordered insert of the activities, not one transaction each. An activity's key is
# made of its event's message id (domain.email_key), so it is the event's inbox record too: an
# event delivered again finds its activity and changes nothing. Only a batch with an email
# failed at once (its EmailFailed event goes through the outbox) takes a transaction.

SystemEmailBatcher = Batcher[tuple[Envelope[Any], EmailRequest], None]
#: The event handlers of system emails declare ``system_emails: SystemEmails``.
SystemEmails = Annotated[SystemEmailBatcher, Injected("system-emails")]


def system_emails_batcher(
    runtime: ServiceRuntime, outbound: Outbound, renderer: rendering.Renderer
) -> SystemEmailBatcher:
    """The worker's one batcher of system emails (built by ``app.py``)."""
    return runtime.batcher(
        "system-emails",
        lambda batch: queue_system_emails(runtime, outbound, renderer, batch),
        max_size=128,
        max_in_flight=2,  # one batch renders while the other commits
        linger=0.005,  # a burst's events arrive one by one: gather them into fewer transactions
    )


async def queue_system_emails(
    runtime: ServiceRuntime,
    outbound: Outbound,
    renderer: rendering.Renderer,
    batch: list[Pending[tuple[Envelope[Any], EmailRequest], None]],
) -> None:
    """``queue_email`` for the system emails that arrived together: each is settled with its
    own outcome (an email whose template is missing fails alone, its event is retried)."""
    await outbound.room_for(len(batch))
    requests = [pending.item[1] for pending in batch]
    composed = await emails.compose_batch(runtime.db, catalog.predefined(), requests, renderer=renderer)
    ready = _activities(batch, composed, runtime, outbound)
    if not ready:
        return
    await record_and_send(runtime, outbound, [activity for _, activity in ready])
    for pending, _ in ready:
        pending.resolve(None)
    outbound.wake()


def _activities(
    batch: list[Pending[tuple[Envelope[Any], EmailRequest], None]],
    composed: list[emails.Composed | BaseException],
    runtime: ServiceRuntime,
    outbound: Outbound,
) -> list[tuple[Pending[Any, None], dict[str, Any]]]:
    """The activity of each email composed; an email that was not fails alone, now."""
    ready: list[tuple[Pending[Any, None], dict[str, Any]]] = []
    for pending, result in zip(batch, composed, strict=True):
        if isinstance(result, BaseException):
            pending.fail(result)
            continue
        _, request = pending.item
        ready.append((pending, emails.activity_document(request, result, runtime.settings, outbound.sealer)))
    return ready


async def record_and_send(runtime: ServiceRuntime, outbound: Outbound, activities: list[dict[str, Any]]) -> None:
    """Record a batch's emails, those this worker's connections have room for claimed by it
    (``Outbound.take``), and send those. A failover may answer the insert with an error after
    applying it (a step-down's interrupted wait for the majority): the batch is then tried
    again, and finds them recorded, so the emails applied under this worker's claim are read
    back and sent now, not left to their lease (two minutes)."""
    taken, claim = outbound.take(activities)
    recorded: list[dict[str, Any]] = []
    try:
        recorded = await _record_activities(runtime, taken)
    except Exception:
        if claim is not None:
            recorded = await store.held_under(runtime.db, taken, claim)
        raise
    finally:
        outbound.recorded(claim, recorded)


async def _record_activities(runtime: ServiceRuntime, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch's activities: one unordered insert, or one transaction when an email of it
    failed at once. Returns those recorded now (not those an earlier delivery recorded)."""
    if domain.needs_transaction(activity["status"] for activity in activities):
        return await _record_with_failures(runtime, activities)
    # Nothing to publish: no transaction, one unordered insert (an activity already
    # there is an event delivered again; its key is the inbox record).
    return await store.insert_activities(runtime.db, activities)


async def _record_with_failures(runtime: ServiceRuntime, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch with emails failed at once (an address no server takes): their activities
    and ``EmailFailed`` events in one transaction."""

    async def work(uow: UnitOfWork) -> list[dict[str, Any]]:
        recorded = await store.record_activities(uow, activities)
        for stored in recorded:
            if stored["status"] == "failed":
                uow.publish(emails.failed_event(stored))
        return recorded

    for _ in range(2):
        try:
            return await apply_once(runtime, None, work)
        except DuplicateKeyError:
            # Another worker recorded one of these emails (a duplicate event) since this
            # transaction's snapshot: the next attempt finds it and leaves it alone.
            continue
    return await apply_once(runtime, None, work)


def _opened_link(
    event: PasswordSetupInvited | PasswordResetRequested | EmailVerificationRequested, outbound: Outbound
) -> str:
    """The usable link, opened only to render the email (C14); a link this service cannot open
    is refused (dead-lettered with the reason), never emailed broken."""
    try:
        return outbound.sealer.open(event.payload.sealed_link)
    except SealBroken as exc:
        raise Rejected.invalid("payload.sealed_link", str(exc)) from None


async def password_setup_invited(event: PasswordSetupInvited, outbound: Sender, system_emails: SystemEmails) -> None:
    """The welcome email with its set-password link."""
    await system_emails.submit((event, kinds.welcome(event, _opened_link(event, outbound))))


async def password_reset_requested(
    event: PasswordResetRequested, outbound: Sender, system_emails: SystemEmails
) -> None:
    """The password reset email with its single-use link."""
    await system_emails.submit((event, kinds.password_reset(event, _opened_link(event, outbound))))


async def password_changed(event: PasswordChanged, outbound: Sender, system_emails: SystemEmails) -> None:
    """The notice that the password was set or changed."""
    await system_emails.submit((event, kinds.password_changed(event)))


async def email_verification_requested(
    event: EmailVerificationRequested, outbound: Sender, system_emails: SystemEmails
) -> None:
    """The email address verification link."""
    await system_emails.submit((event, kinds.email_verification(event, _opened_link(event, outbound))))


async def customer_order_shipped(event: CustomerOrderShipped, outbound: Sender, system_emails: SystemEmails) -> None:
    """The shipping confirmation, recorded on the customer and the order."""
    if event.payload.recipient is None:
        return  # a customer without an email: nothing to send
    await system_emails.submit((event, kinds.shipping_confirmation(event)))


async def customer_payment_requested(
    event: CustomerPaymentRequested, outbound: Sender, system_emails: SystemEmails
) -> None:
    """The payment request, recorded on the customer and the order."""
    if event.payload.recipient is None:
        return  # a customer without an email: nothing to send
    await system_emails.submit((event, kinds.payment_request(event)))


async def customer_payment_received(
    event: CustomerPaymentReceived, outbound: Sender, system_emails: SystemEmails
) -> None:
    """The payment confirmation, recorded on the customer and the order."""
    if event.payload.recipient is None:
        return  # a customer without an email: nothing to send
    await system_emails.submit((event, kinds.payment_confirmation(event)))


#: What a system email's event handler is: FastStream injects its sender and batcher by name.
SystemEmailHandler = Callable[..., Awaitable[None]]
SYSTEM_EMAILS: tuple[tuple[type[Event[Any]], SystemEmailHandler], ...] = (
    (PasswordSetupInvited, password_setup_invited),
    (PasswordResetRequested, password_reset_requested),
    (PasswordChanged, password_changed),
    (EmailVerificationRequested, email_verification_requested),
    (CustomerOrderShipped, customer_order_shipped),
    (CustomerPaymentRequested, customer_payment_requested),
    (CustomerPaymentReceived, customer_payment_received),
)


# --- a CSR's email (N4) ------------------------------------------------------------------------------


def _actor_id(cmd: Command[Any]) -> str:
    if cmd.actor is None:
        raise Rejected.invalid("actor", "required: the activity records who did this")
    return cmd.actor.id


async def send_template_email(
    cmd: SendTemplateEmail, runtime: Runtime, outbound: Sender, renderer: Renders
) -> EmailQueuedReply:
    """A CSR emails a customer from a customer-message template, optionally about an order."""
    p = cmd.payload
    actor_id = _actor_id(cmd)
    if domain.kind_of(p.template) in domain.SYSTEM_KINDS:
        raise Rejected.invalid(
            "payload.template", f"{p.template!r} goes out on its event; a CSR sends customer-message templates"
        )
    request = EmailRequest(
        template=p.template,
        recipient=p.recipient,
        context=kinds.customer_message_context(p.recipient, p.order, p.variables),
        cause_id=cmd.message_id,
        cause_type=cmd.routing_key(),
        correlation_id=cmd.correlation_id or cmd.message_id,
        order=p.order,
        initiated_by="csr",
        actor_id=actor_id,
    )
    try:
        queued = await queue_email(runtime, outbound, renderer, cmd, request)
    except TemplateMissing:
        raise Rejected.not_found("template", p.template, field="payload.template") from None
    except TemplateProblem as problem:
        # The template was checked when stored: what fails now is this email's variables.
        raise Rejected.invalid("payload.variables", f"{problem.part}: {problem.reason}") from None
    return EmailQueuedReply.success(queued)


async def resend_email(cmd: ResendEmail, runtime: Runtime, outbound: Sender) -> EmailQueuedReply:
    """A CSR sends a customer's earlier email again: the same content to the same address, as
    a new activity initiated by the CSR (the original stays as it was)."""
    p = cmd.payload
    actor_id = _actor_id(cmd)
    original = await store.activity(runtime.db, p.activity_id)
    if original is None or original["customer_code"] != p.customer_code:
        raise Rejected.not_found("email", p.activity_id, field="payload.activity_id")
    if original.get("link_sent") or original.get("sealed"):
        raise Rejected.invalid(
            "payload.activity_id", "it carried a single-use link: send a new one (Reset password) instead"
        )
    activity = emails.resent_activity(
        original, cause_id=cmd.message_id, cause_type=cmd.routing_key(), actor_id=actor_id
    )

    async def work(uow: UnitOfWork) -> EmailQueued:
        stored, _ = await store.record_activity(uow, activity)
        return _queued(stored)

    queued = await apply_once(runtime, cmd, work, EmailQueued)
    outbound.wake()
    return EmailQueuedReply.success(queued)


# --- the template manager (N3) ---------------------------------------------------------------------


def _view(template: StoredTemplate) -> TemplateView:
    return TemplateView(
        name=template.name,
        kind=template.kind,
        source=template.source,
        scope_id=template.scope_id,
        language=template.language,
        version=template.version,
        description=template.description,
        updated_at=template.updated_at,
        updated_by=template.updated_by,
        subject=template.subject,
        html=template.html,
        text=template.text,
        variables=template.variables,
    )


async def _checked(
    renderer: rendering.Renderer, sources: templates.Sources, kind: str, language: str, variables: dict[str, str]
) -> None:
    try:
        await renderer.check(sources, kind, language, variables)
    except TemplateProblem as problem:
        raise Rejected.invalid(f"payload.{problem.part}", problem.reason) from None


async def set_template(cmd: SetTemplate, runtime: Runtime, renderer: Renders) -> TemplateReply:
    """Add or override a template, once it compiled and rendered against sample data."""
    p = cmd.payload
    actor_id = _actor_id(cmd)
    kind = domain.kind_of(p.name)
    if p.variables and kind != domain.CUSTOM_KIND:
        raise Rejected.invalid("payload.variables", f"a {kind} template gets its data from its event")
    sent = catalog.given(p, kind, "custom", templates.Sources(subject=p.subject, html=p.html, text=p.text))
    template = replace(sent, description=p.description, updated_at=store.now(), updated_by=actor_id)
    await _checked(renderer, template.sources, kind, template.language, template.variables)

    async def work(uow: UnitOfWork) -> TemplateView:
        return _view(await store.save_template(uow, template))

    return TemplateReply.success(await apply_once(runtime, cmd, work, TemplateView))


async def remove_template(cmd: RemoveTemplate, runtime: Runtime) -> TemplateRemovedReply:
    """Remove an administrator's template; the predefined one (or a wider override) applies again."""
    p = cmd.payload
    _actor_id(cmd)
    language = p.language.lower()

    async def work(uow: UnitOfWork) -> TemplateRemoved:
        if not await store.remove_template(uow, p.name, p.scope_id, language):
            raise Rejected.not_found(
                "template", f"{p.name} ({p.scope_id or 'every scope'}, {language})", field="payload.name"
            )
        return TemplateRemoved(name=p.name, scope_id=p.scope_id, language=language)

    return TemplateRemovedReply.success(await apply_once(runtime, cmd, work, TemplateRemoved))


def _summary(template: StoredTemplate) -> TemplateSummary:
    return TemplateSummary(**_view(template).model_dump(include=set(TemplateSummary.model_fields)))


async def list_templates(cmd: ListTemplates, runtime: Runtime) -> TemplateListReply:
    """Predefined templates and administrators' templates, by name, scope and language."""
    p = cmd.payload
    predefined = [t for t in catalog.predefined().all() if p.name in (None, t.name)]
    custom = await store.custom_templates(runtime.db, name=p.name, scope_id=p.scope_id)
    ordered = sorted(
        predefined + custom, key=lambda t: (t.name, t.source != "predefined", t.scope_id or "", t.language)
    )
    return TemplateListReply.success([_summary(t) for t in ordered])


async def get_template(cmd: GetTemplate, runtime: Runtime) -> TemplateReply:
    """The template a customer of the scope who reads the language gets."""
    p = cmd.payload
    return TemplateReply.success(_view(await _resolved(runtime, p.name, p.scope_id, p.language)))


async def _resolved(runtime: Runtime, name: str, scope_id: str | None, language: str) -> StoredTemplate:
    """The template a customer of the scope who reads the language gets; not found if none."""
    candidates = domain.language_candidates(language, None)
    template = await emails.resolve(runtime.db, catalog.predefined(), name, scope_id, candidates)
    if template is None:
        raise Rejected.not_found("template", name, field="payload.name")
    return template


async def preview_template(cmd: PreviewTemplate, runtime: Runtime, renderer: Renders) -> RenderedEmailReply:
    """Render a stored template, or check and render a draft, against sample data."""
    p = cmd.payload
    kind = domain.kind_of(p.name)
    draft = catalog.draft(p, kind)
    if draft is not None:
        await _checked(renderer, draft.sources, kind, draft.language, draft.variables)
    template = draft if draft is not None else await _resolved(runtime, p.name, p.scope_id, p.language.lower())
    context = kinds.preview_context(kind, p.variables or template.variables, p.recipient)
    try:
        rendered = await emails.render(renderer, template, context)
    except TemplateProblem as problem:
        raise Rejected.invalid("payload.variables", f"{problem.part}: {problem.reason}") from None
    return RenderedEmailReply.success(_rendered(template, kind, rendered))


def _rendered(template: StoredTemplate, kind: str, rendered: templates.Rendered) -> RenderedEmail:
    return RenderedEmail(
        name=template.name,
        kind=kind,
        source=template.source,
        scope_id=template.scope_id,
        language=template.language,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
    )


# --- activities (N5) ----------------------------------------------------------------------------------


async def get_activities(cmd: GetActivities, runtime: Runtime) -> ActivityPageReply:
    """A customer's or an order's emails, newest first, in keyset pages of at most 20."""
    p = cmd.payload
    after = domain.decode_cursor(p.cursor) if p.cursor else None
    docs, more = await store.activities_page(
        runtime.db, customer_code=p.customer_code, order=p.order, limit=p.limit, after=after
    )
    next_cursor = domain.encode_cursor(docs[-1]["created_at"], docs[-1]["_id"]) if more else None
    return ActivityPageReply.success(ActivityPage(items=[store.to_view(d) for d in docs], next_cursor=next_cursor))


COMMANDS: tuple[tuple[type[Command[Any]], CommandHandler], ...] = (
    (SendTemplateEmail, send_template_email),
    (ResendEmail, resend_email),
    (SetTemplate, set_template),
    (RemoveTemplate, remove_template),
    (ListTemplates, list_templates),
    (GetTemplate, get_template),
    (PreviewTemplate, preview_template),
    (GetActivities, get_activities),
)


EMAILS_QUEUE = "emails"


def emails_queue(runtime: ServiceRuntime) -> RabbitQueue:
    first, _ = SYSTEM_EMAILS[0]
    return work_queue(
        runtime.settings.topology,
        runtime.name,
        EMAILS_QUEUE,
        binding=first.routing_key(),
        max_attempts=runtime.settings.max_attempts,
    )


async def bind_emails_queue(runtime: ServiceRuntime) -> None:
    """Startup hook: bind the emails queue to every event that sends an email.

    FastStream binds a queue with one routing key; the others are bound here, before the
    subscriber starts, so that no event published once the service is ready is missed.
    """
    queue = await runtime.broker.declare_queue(emails_queue(runtime))
    exchange = await runtime.broker.declare_exchange(events_exchange(runtime.settings.topology))
    for event, _ in SYSTEM_EMAILS:
        await queue.bind(exchange, routing_key=event.routing_key())


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    topology = runtime.settings.topology
    router = RabbitRouter()
    keys = ", ".join(event.routing_key() for event, _ in SYSTEM_EMAILS)
    emails = router.subscriber(
        emails_queue(runtime),
        events_exchange(topology),
        channel=runtime.batching_channel(),  # system emails are recorded in batches
        title=f"{runtime.name}.{EMAILS_QUEUE}",
        description=f"The events that send a system email, bound by routing key: {keys}.",
    )
    for event, on_event in SYSTEM_EMAILS:
        emails(filter=routed_as(event.routing_key()))(on_event)
    routers = [router, merging.build_router(runtime)]
    for published in (EmailSent, EmailFailed):
        # Published through the outbox, not by these objects: they put the events in the
        # AsyncAPI document for the systems that react to them. One router each, because a
        # router keeps its publishers in a set and the document's order must be stable.
        events = RabbitRouter()
        events.publisher(
            exchange=events_exchange(topology),
            routing_key=published.routing_key(),
            schema=published,
            title=f"{runtime.name}.{published.type_name()}",
            description=published.__doc__,
        )
        routers.append(events)
    for command, handler in COMMANDS + privacy.COMMANDS:
        runtime.on_command(command, handler)
    return routers


def _queued(stored: dict[str, Any]) -> EmailQueued:
    """The answer to whoever asked for an email: the activity as recorded."""
    return EmailQueued(
        activity_id=stored["_id"],
        status=stored["status"],
        template=stored["template"],
        template_source=stored["template_source"],
        language=stored["language"],
        to=stored["to"],
        subject=stored["subject"],
    )
