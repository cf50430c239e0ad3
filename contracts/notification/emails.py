"""Notification service contract, version 1: templates, customer emails and activities (N1-N6).

Commands go to ``<ns>.commands`` as ``notification.<command>.v1`` and are answered with a
typed reply. Events come out on ``<ns>.events`` as ``notification.<event>.v1``.

The service never asks another service for data: a command that emails a customer carries
the ``Recipient`` its caller already read from the customer service, and system emails take
theirs from the event that triggers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.customer.records import CustomerCode, Recipient, ScopeId
from contracts.envelope import Command, Event
from contracts.replies import Reply
from contracts.types import Identifier, LanguageTag, OptionalText

#: A template's name: one of the predefined kinds below, or an administrator's own name.
TemplateName = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9-]{1,49}$")
]
#: A variable a CSR fills in for a customer-message template, e.g. ``reason``.
VariableName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,49}$")]
VariableValue = Annotated[str, StringConstraints(max_length=5000)]

#: What a template is for; it decides which data the template sees (see the README).
TemplateKind = Literal[
    "welcome",  # set-password invitation, on customer.password-setup-invited
    "password-reset",  # on customer.password-reset-requested
    "password-changed",  # on customer.password-changed
    "email-verification",  # on customer.email-verification-requested
    "shipping-confirmation",  # on order-sync.customer-order-shipped
    "payment-request",  # on order-sync.customer-payment-requested
    "payment-confirmation",  # on order-sync.customer-payment-received
    "customer-message",  # sent by a CSR (SendTemplateEmail)
]
TemplateSource = Literal["predefined", "custom"]
EmailStatus = Literal["queued", "sending", "sent", "failed"]
Initiator = Literal["system", "csr"]


class _In(BaseModel):
    """Command payloads: strict about unknown fields, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OrderReference(_In):
    """An order as the upstream system numbers it (the order-sync contract's identity)."""

    source_system: Identifier
    order_number: Identifier


# --- sending (N4) ---------------------------------------------------------------------------


class ResendEmailInput(_In):
    """N4, N5: a CSR sends an email the customer already had (a shipping confirmation, a
    payment request) again, the same content to the same address, recorded as a new activity.
    Emails that carried a single-use link are not resent: a new link is asked for instead."""

    activity_id: Identifier = Field(description="The activity of the email to send again.")
    customer_code: CustomerCode = Field(description="Whose email it is: a resend never crosses customers.")


class SendTemplateEmailInput(_In):
    """N4: a CSR emails a customer from a customer-message template, optionally about an order."""

    recipient: Recipient = Field(description="The customer as the CSR tool read it from the customer service.")
    template: TemplateName = Field(description="A template of kind customer-message.")
    order: OrderReference | None = Field(
        default=None, description="Records the email on the order's activities too (N5)."
    )
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict, max_length=50, description="Values of the template's variables."
    )


class EmailQueued(_Out):
    """The email was rendered, recorded as an activity and queued for delivery."""

    activity_id: str
    status: EmailStatus
    template: str
    template_source: TemplateSource
    language: str
    to: str
    subject: str


# --- the template manager (N1-N3) ---------------------------------------------------------------


class TemplateInput(_In):
    """N3: add or override a template for one language, in one scope or (no scope) in all."""

    name: TemplateName = Field(
        description="A predefined name overrides that template; a new name adds a customer-message template."
    )
    scope_id: ScopeId | None = Field(default=None, description="None: every scope without its own override.")
    language: LanguageTag
    subject: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    html: Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict,
        max_length=50,
        description="customer-message templates: the variables a CSR fills in, each with a sample value "
        "used to check the template.",
    )
    description: OptionalText = None


class TemplateSummary(_Out):
    name: str
    kind: TemplateKind
    source: TemplateSource
    scope_id: str | None
    language: str
    version: int
    description: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class TemplateView(TemplateSummary):
    subject: str
    html: str
    text: str
    variables: dict[str, str] = Field(default_factory=dict)


class TemplateQuery(_In):
    scope_id: ScopeId | None = Field(default=None, description="Only the overrides of this scope (and the others).")
    name: TemplateName | None = None


class TemplateRef(_In):
    """For GetTemplate: the template a customer of ``scope_id`` who reads ``language`` gets."""

    name: TemplateName
    scope_id: ScopeId | None = None
    language: LanguageTag = "en"


class TemplateRemoval(_In):
    """Remove an administrator's template; predefined ones stay."""

    name: TemplateName
    scope_id: ScopeId | None = None
    language: LanguageTag


class TemplateRemoved(_Out):
    name: str
    scope_id: str | None
    language: str


class PreviewInput(_In):
    """Render a template against sample data (or the given recipient and variables).

    With ``subject``, ``html`` and ``text``, a draft is checked and rendered without being
    stored; without them, the template that ``name``, ``scope_id`` and ``language`` resolve to.
    """

    name: TemplateName
    scope_id: ScopeId | None = None
    language: LanguageTag = "en"
    subject: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    html: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] | None = None
    variables: dict[VariableName, VariableValue] = Field(default_factory=dict, max_length=50)
    recipient: Recipient | None = None

    @model_validator(mode="after")
    def _draft_is_whole(self) -> PreviewInput:
        given = [part is not None for part in (self.subject, self.html, self.text)]
        if any(given) and not all(given):
            raise ValueError("a draft needs subject, html and text together")
        return self


class RenderedEmail(_Out):
    name: str
    kind: TemplateKind
    source: TemplateSource | Literal["draft"]
    scope_id: str | None
    language: str
    subject: str
    html: str
    text: str


# --- activities (N5) -------------------------------------------------------------------------


class ActivityQuery(_In):
    """N5: a customer's or an order's activities, newest first, in keyset pages."""

    customer_code: CustomerCode | None = None
    order: OrderReference | None = None
    limit: int = Field(default=20, ge=1, le=20)
    cursor: OptionalText = Field(default=None, description="next_cursor of the previous page.")

    @model_validator(mode="after")
    def _one_subject(self) -> ActivityQuery:
        if (self.customer_code is None) == (self.order is None):
            raise ValueError("give either customer_code or order")
        return self


class DeliveryError(_Out):
    at: datetime
    attempt: int
    code: int | None = Field(description="The SMTP reply code; None for a network error or a timeout.")
    error: str
    permanent: bool


class LinkSent(_Out):
    """C14: the single-use link an email carried. Staff see that it was sent and until when,
    never the link: the activity's subject, HTML and text show it with its token redacted."""

    purpose: Literal["password_setup", "password_reset", "email_verification"]
    summary: str = Field(description="What was sent, e.g. 'reset link sent'.")
    expires_at: datetime


class ActivityView(_Out):
    """One email as sent (or tried): its rendered content, a single-use link's token
    redacted, and its delivery status."""

    activity_id: str
    kind: Literal["email"] = "email"
    customer_code: str
    scope_id: str
    order: OrderReference | None = None
    initiated_by: Initiator
    actor_id: str | None = Field(default=None, description="The CSR who sent it, for initiated_by csr.")
    cause_type: str = Field(description="The message that caused it, e.g. customer.password-reset-requested.v1.")
    template: str
    template_source: TemplateSource
    template_version: int
    template_note: str | None = Field(
        default=None, description="Why the predefined template was used when an administrator's one failed."
    )
    language: str
    sender: str
    to: str
    subject: str
    html: str
    text: str
    message_id: str = Field(description="The email's Message-ID header: the same on every attempt.")
    link_sent: LinkSent | None = Field(default=None, description="Set when the email carried a single-use link.")
    status: EmailStatus
    attempts: int
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    errors: list[DeliveryError] = Field(default_factory=list)
    outcome_unknown: bool = Field(
        default=False,
        description="A worker stopped while the server was taking the message: it may have arrived, "
        "so it is not sent again.",
    )
    created_at: datetime
    sent_at: datetime | None = None
    failed_at: datetime | None = None


class ActivityPage(_Out):
    items: list[ActivityView]
    next_cursor: str | None


# --- events -----------------------------------------------------------------------------------


class EmailOutcome(_Out):
    activity_id: str
    customer_code: str
    scope_id: str
    order: OrderReference | None = None
    initiated_by: Initiator
    template: str
    language: str
    to: str
    subject: str
    message_id: str
    attempts: int


class EmailSentPayload(EmailOutcome):
    sent_at: datetime


class EmailFailedPayload(EmailOutcome):
    error: str
    code: int | None = None
    permanent: bool = Field(description="The server refused it (5xx) rather than retries running out.")
    outcome_unknown: bool = False
    failed_at: datetime


class SendTemplateEmail(Command[SendTemplateEmailInput]):
    """N4: a CSR emails a customer from a template."""

    DOMAIN = "notification"
    message_type: Literal["send-template-email"] = "send-template-email"
    schema_version: Literal[1] = 1


class ResendEmail(Command[ResendEmailInput]):
    """N4, N5: a CSR sends a customer's earlier email again (the call "please send me the
    shipping email again")."""

    DOMAIN = "notification"
    message_type: Literal["resend-email"] = "resend-email"
    schema_version: Literal[1] = 1


class SetTemplate(Command[TemplateInput]):
    """N3: add or override a template, checked before it is stored."""

    DOMAIN = "notification"
    message_type: Literal["set-template"] = "set-template"
    schema_version: Literal[1] = 1


class RemoveTemplate(Command[TemplateRemoval]):
    """N3: remove an administrator's template."""

    DOMAIN = "notification"
    message_type: Literal["remove-template"] = "remove-template"
    schema_version: Literal[1] = 1


class ListTemplates(Command[TemplateQuery]):
    """N3: predefined and custom templates."""

    DOMAIN = "notification"
    message_type: Literal["list-templates"] = "list-templates"
    schema_version: Literal[1] = 1


class GetTemplate(Command[TemplateRef]):
    """N3: the template a scope and language resolve to."""

    DOMAIN = "notification"
    message_type: Literal["get-template"] = "get-template"
    schema_version: Literal[1] = 1


class PreviewTemplate(Command[PreviewInput]):
    """N3: render a template or a draft against sample data."""

    DOMAIN = "notification"
    message_type: Literal["preview-template"] = "preview-template"
    schema_version: Literal[1] = 1


class GetActivities(Command[ActivityQuery]):
    """N5: a customer's or an order's activities, in pages."""

    DOMAIN = "notification"
    message_type: Literal["get-activities"] = "get-activities"
    schema_version: Literal[1] = 1


class EmailSent(Event[EmailSentPayload]):
    """N6: the SMTP server accepted the email."""

    DOMAIN = "notification"
    message_type: Literal["email-sent"] = "email-sent"
    schema_version: Literal[1] = 1


class EmailFailed(Event[EmailFailedPayload]):
    """N6: the email will not be delivered; see error."""

    DOMAIN = "notification"
    message_type: Literal["email-failed"] = "email-failed"
    schema_version: Literal[1] = 1


EmailQueuedReply = Reply[EmailQueued]
TemplateReply = Reply[TemplateView]
TemplateListReply = Reply[list[TemplateSummary]]
TemplateRemovedReply = Reply[TemplateRemoved]
RenderedEmailReply = Reply[RenderedEmail]
ActivityPageReply = Reply[ActivityPage]

NOTIFICATION_COMMANDS = (
    SendTemplateEmail,
    SetTemplate,
    RemoveTemplate,
    ListTemplates,
    GetTemplate,
    PreviewTemplate,
    GetActivities,
)
NOTIFICATION_EVENTS = (EmailSent, EmailFailed)
