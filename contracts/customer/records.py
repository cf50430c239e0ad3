"""Customer service contract, version 1: commands, replies and events (C1-C20, I1).

Commands go to ``<ns>.commands`` with routing key ``customer.<command>.v1`` and are answered
with a typed reply. Events come out on ``<ns>.events`` as ``customer.<event>.v1``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from contracts.envelope import Command, Event
from contracts.replies import Error, Reply
from contracts.types import (
    CountryCode,
    Identifier,
    LanguageTag,
    OptionalHttpsLink,
    OptionalText,
    Text,
    visible_text,
)

CustomerState = Literal["active", "inactive", "disabled", "waiting_approval", "rejected", "retired", "erased"]
AccountType = Literal["registered", "guest"]
CustomerKind = Literal["customer", "organization"]
Flag = Literal["red", "orange", "yellow", "green", "blue", "purple", "CHK"]
CreationChannel = Literal["csr", "import", "order", "storefront"]
StateAction = Literal["activate", "deactivate", "disable", "enable", "approve", "reject"]
#: ``state_reason`` of an account the sign-in policy disabled after failed sign-ins in a row
#: (C15): a CSR may enable it again (the console's Unlock), as the emailed reset link does.
SIGN_IN_LOCK_REASON = "too many failed sign-ins"
AttributeType = Literal["string", "integer", "decimal", "boolean", "date", "enum"]
SortKey = Literal["name", "created", "last_activity"]

CustomerCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=20)]
ScopeId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
AttributeValue = str | int | Decimal | bool | date | None
#: The longest notes a CSR may keep on a customer (C9): a few paragraphs, not a file.
MAX_NOTES = 4000


def clean_notes(value: Any) -> Any:
    """Notes keep their line breaks; each line is cleaned as any text is (``visible_text``:
    no invisible or control characters), trailing spaces go, and blank notes are None."""
    if not isinstance(value, str):
        return value
    lines = [visible_text(line).rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n ") or None


#: Free text a CSR writes on the record (C9): "prefers calls after 5 pm", "VIP since 2019".
Notes = Annotated[
    Annotated[str, StringConstraints(max_length=MAX_NOTES)] | None,
    BeforeValidator(clean_notes),
    Field(description=f"Free text by staff, line breaks kept, at most {MAX_NOTES} characters."),
]


class _In(BaseModel):
    """Command payloads: strict about unknown fields, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- scopes and account templates (C2, C3) ---------------------------------------------


class ScopeInput(_In):
    scope_id: ScopeId
    name: Text
    country: CountryCode = Field(description="Assumed for phone numbers written without a country code.")
    default_language: LanguageTag = "en"
    requires_approval: bool = Field(default=False, description="New self-registered accounts wait for approval (C10).")
    account_url: OptionalHttpsLink = Field(
        default=None,
        description="Base URL (https) of the storefront's account pages; emailed links point there "
        "(default: the service's OMS_ACCOUNT_URL).",
    )


class ScopeView(_Out):
    scope_id: str
    name: str
    country: str
    default_language: str
    requires_approval: bool
    account_url: str | None = None
    created_at: datetime


class AttributeField(_In):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
    label: OptionalText = None
    type: AttributeType
    required: bool = False
    allowed_values: list[str] = Field(default_factory=list, description="For type enum.")


class AccountTemplateInput(_In):
    scope_id: ScopeId
    fields: list[AttributeField] = Field(max_length=200)


class AccountTemplateView(_Out):
    scope_id: str
    version: int
    fields: list[AttributeField]


# --- customers (C1, C4, C8, C9, C10, C12, C17) -----------------------------------------


class AddressInput(_In):
    label: OptionalText = Field(default=None, description="e.g. 'home', 'chalet'.")
    first_name: OptionalText = None
    last_name: OptionalText = None
    company: OptionalText = None
    line1: Text
    line2: OptionalText = None
    city: Text
    region: OptionalText = None
    postal_code: OptionalText = None
    country: CountryCode
    phone: OptionalText = None
    default_shipping: bool = False
    default_billing: bool = False


class AddressView(_Out):
    address_id: str
    label: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str | None = None
    country: str
    phone: str | None = None
    default_shipping: bool = False
    default_billing: bool = False


class NewCustomer(_In):
    """C1: first name, last name and email are mandatory; everything else is optional. The
    one exception: a guest created from an order placed without an email (a POS sale) (O3)."""

    scope_id: ScopeId
    first_name: Text
    last_name: Text
    email: OptionalText = None
    phone: OptionalText = None
    work_phone: OptionalText = None
    fax: OptionalText = None
    phone_extension: OptionalText = None
    preferred_language: LanguageTag | None = None
    account_type: AccountType = "registered"
    kind: CustomerKind = "customer"
    active: bool = True
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=100)
    flag: Flag | None = None
    addresses: list[AddressInput] = Field(default_factory=list, max_length=50)
    channel: CreationChannel = "csr"
    idempotency_key: OptionalText = Field(
        default=None,
        description="Same key, same scope: the customer created the first time is returned "
        "and nothing changes (bulk import, retried orders).",
    )


class CustomerChanges(_In):
    """C12: any field but the logon id. Absent fields are left alone; null clears an optional one."""

    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = Field(default=None, description="Needs verification of the new address (C20).")
    phone: OptionalText = None
    work_phone: OptionalText = None
    fax: OptionalText = None
    phone_extension: OptionalText = None
    preferred_language: LanguageTag | None = None
    account_type: AccountType | None = None
    attributes: dict[str, AttributeValue] | None = Field(
        default=None, description="Merged into the current attributes; a null value removes one."
    )
    tags: list[Tag] | None = Field(default=None, max_length=100)
    flag: Flag | None = None
    notes: Notes = None


class StoreUse(_Out):
    """C6: a store the customer ordered from, and how often."""

    store_id: str
    orders: int
    last_order_at: datetime


#: The most used stores kept on a customer (C6), most used first.
MAX_STORES = 10


class CustomerView(_Out):
    """A customer record as the service answers it."""

    code: str = Field(description="Human-friendly, unique, never reused; the customer's id.")
    scope_id: str
    version: int = Field(description="Send it back as expected_version to change the record.")
    logon_id: str | None = Field(description="The email it registered with; never changes.")
    email: str | None = Field(description="None only for a guest from an order placed without one.")
    email_verified: bool
    first_name: str
    last_name: str
    phone: str | None = None
    work_phone: str | None = None
    fax: str | None = None
    phone_extension: str | None = None
    preferred_language: str | None = None
    account_type: AccountType
    kind: CustomerKind
    state: CustomerState
    state_reason: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    flag: Flag | None = None
    notes: str | None = Field(default=None, description="Free text by staff (C9).")
    addresses: list[AddressView] = Field(default_factory=list)
    channel: CreationChannel
    has_password: bool = False
    pending_email: str | None = Field(default=None, description="A new email waiting for verification (C20).")
    claim_pending: bool = Field(default=False, description="A guest asked to register; waits for verification.")
    merged_into: str | None = Field(default=None, description="Set when the record was retired by a merge.")
    organizations: list[str] = Field(default_factory=list, description="C5: codes of the organizations it belongs to.")
    groups: list[str] = Field(
        default_factory=list, description="C19: its static groups and the segments it matches (as read)."
    )
    registered_at: datetime
    last_login_at: datetime | None = None
    last_activity_at: datetime | None = None
    last_password_reset_at: datetime | None = None
    updated_at: datetime
    # C6, C7: kept from order-sync's events (customer.history).
    order_count: int = Field(default=0, description="Orders linked to the customer, each counted once.")
    last_order_at: datetime | None = None
    stores: list[StoreUse] = Field(default_factory=list, description=f"Most used first, at most {MAX_STORES}.")
    preferred_store_id: str | None = None


class CustomerSummary(_Out):
    """One search result."""

    code: str
    scope_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None = None
    postal_code: str | None = None
    kind: CustomerKind
    state: CustomerState
    account_type: AccountType
    flag: Flag | None = None
    tags: list[str] = Field(default_factory=list)
    registered_at: datetime
    last_activity_at: datetime | None = None


class ImportInput(_In):
    """C17: a batch of rows of a bulk import; each row carries an idempotency_key."""

    rows: list[NewCustomer] = Field(min_length=1, max_length=1000)


class ImportRowResult(_Out):
    index: int
    status: Literal["created", "unchanged", "rejected"]
    code: str | None = None
    error: Error | None = None


class ImportResult(_Out):
    rows: list[ImportRowResult]


class CreateCustomersInput(_In):
    """C1, O3: several customers at once, such as the new customers of the orders that arrived
    together. Each carries an idempotency_key, and each is created, found (its key was seen
    before) or refused on its own, as ``CreateCustomer`` would."""

    customers: list[NewCustomer] = Field(min_length=1, max_length=100)


class CustomerCreation(_Out):
    """One customer of a ``CreateCustomers``: its index there, and the customer or, if refused,
    the error ``CreateCustomer`` would answer for it."""

    index: int
    status: Literal["created", "unchanged", "rejected"]
    customer: CustomerView | None = None
    error: Error | None = None


class CreationsResult(_Out):
    customers: list[CustomerCreation]


class CustomerRef(_In):
    customer_code: CustomerCode


class VersionedRef(_In):
    customer_code: CustomerCode
    expected_version: int = Field(ge=1, description="The version the caller read; a stale one is a conflict.")


class UpdateCustomerInput(VersionedRef):
    changes: CustomerChanges


class AddAddressInput(VersionedRef):
    address: AddressInput


class ChangeAddressInput(VersionedRef):
    address_id: Identifier
    address: AddressInput


class RemoveAddressInput(VersionedRef):
    address_id: Identifier


class ChangeStateInput(VersionedRef):
    action: StateAction
    reason: OptionalText = None


class StateSummaryInput(_In):
    scope_id: ScopeId | None = None


class StateSummary(_Out):
    scope_id: str | None
    counts: dict[CustomerState, int]
    counted_at: datetime | None = Field(
        default=None,
        description="When the counts were taken: at the request up to 100,000 customers; above, the last "
        "count, at most 30 s old while the summary is read (since v1.1).",
    )


class EmailLookupInput(_In):
    email: Text


class EmailLookup(_Out):
    """C2: every account that uses an email, in every scope: search before create."""

    email: str
    accounts: list[CustomerSummary]


class SearchInput(_In):
    """C11: criteria combine with AND; name and email match by prefix, ignoring case and accents."""

    scope_id: ScopeId | None = None
    code: OptionalText = None
    name: OptionalText = None
    email: OptionalText = None
    phone: OptionalText = None
    postal_code: OptionalText = None
    tag: OptionalText = None
    kind: CustomerKind | None = None
    state: CustomerState | None = None
    flag: Flag | None = None
    organization: OptionalText = Field(default=None, description="C5: members of this organization (its code).")
    group: OptionalText = Field(default=None, description="C19: members of this group or segment (its id).")
    sort: SortKey = "name"
    descending: bool = False
    limit: int = Field(default=20, ge=1, le=20)
    cursor: OptionalText = Field(default=None, description="next_cursor of the previous page.")


class SearchPage(_Out):
    items: list[CustomerSummary]
    next_cursor: str | None
    total: int
    total_is_exact: bool = Field(description="False when there are more matches than were counted (200).")
    sorted_by: Literal["name", "created", "last_activity", "code", "email"] = Field(
        description="How the rows are ordered: as asked, or, for a code or email prefix "
        "matching more than 200 customers, by that key."
    )


# --- accounts: passwords, verification, sign-in, acting on behalf (C14, C15, C16, C20) ----


class PasswordResetRequestInput(_In):
    """By a CSR (customer_code) or by the customer (scope and email)."""

    customer_code: CustomerCode | None = None
    scope_id: ScopeId | None = None
    email: OptionalText = None


class Accepted(_Out):
    """The request was taken; for a reset by email, whether or not the account exists."""

    accepted: bool = True


class CompletePasswordResetInput(_In):
    token: Annotated[str, StringConstraints(min_length=16, max_length=200)]
    new_password: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class InviteWithoutPasswordInput(_In):
    scope_id: ScopeId | None = None
    batch_size: int = Field(default=500, ge=1, le=5000)
    after_code: OptionalText = Field(default=None, description="Resume after this customer code.")


class InviteProgress(_Out):
    invited: int = Field(description="Customers invited by this batch.")
    last_code: str | None = Field(description="Resume after this code (after_code of the next batch).")
    done: bool


class EmailVerificationRequestInput(_In):
    customer_code: CustomerCode


class VerifyEmailInput(_In):
    token: Annotated[str, StringConstraints(min_length=16, max_length=200)]


class RegisterInput(_In):
    """Self-registration from a storefront; claims a guest record with the same email (C20)."""

    scope_id: ScopeId
    email: Text
    first_name: Text
    last_name: Text
    preferred_language: LanguageTag | None = None


class AuthenticateInput(_In):
    """C15: the caller's address or channel goes in the command's ``actor.source``."""

    scope_id: ScopeId
    email: Text
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Authenticated(_Out):
    customer_code: str
    first_name: str
    last_name: str


class StartOnBehalfInput(_In):
    customer_code: CustomerCode
    reason: Text
    minutes: int = Field(default=30, ge=1, le=480)


class OnBehalfSession(_Out):
    session_id: str
    csr_id: str
    customer_code: str
    reason: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


class EndOnBehalfInput(_In):
    session_id: Identifier


class AuditInput(_In):
    customer_code: CustomerCode
    limit: int = Field(default=20, ge=1, le=100)
    cursor: OptionalText = None


class AuditEntry(_Out):
    at: datetime
    action: str
    actor_kind: str
    actor_id: str
    on_behalf_session: str | None = None
    on_behalf_reason: str | None = None
    changed: list[str] = Field(default_factory=list)


class AuditPage(_Out):
    items: list[AuditEntry]
    next_cursor: str | None


# --- the commands ------------------------------------------------------------------------


class ListScopesInput(_In):
    pass


class ScopeRef(_In):
    scope_id: ScopeId


ScopeReply = Reply[ScopeView]
ScopeListReply = Reply[list[ScopeView]]
AccountTemplateReply = Reply[AccountTemplateView]
CustomerReply = Reply[CustomerView]
ImportReply = Reply[ImportResult]
CreationsReply = Reply[CreationsResult]
StateSummaryReply = Reply[StateSummary]
EmailLookupReply = Reply[EmailLookup]
SearchReply = Reply[SearchPage]
AcceptedReply = Reply[Accepted]
InviteProgressReply = Reply[InviteProgress]
AuthenticatedReply = Reply[Authenticated]
OnBehalfReply = Reply[OnBehalfSession]
AuditReply = Reply[AuditPage]


class CreateScope(Command[ScopeInput]):
    """C2: create a scope (site, brand, country store)."""

    DOMAIN = "customer"
    REPLY = ScopeReply
    message_type: Literal["create-scope"] = "create-scope"
    schema_version: Literal[1] = 1


class ListScopes(Command[ListScopesInput]):
    """C2: every scope."""

    DOMAIN = "customer"
    REPLY = ScopeListReply
    message_type: Literal["list-scopes"] = "list-scopes"
    schema_version: Literal[1] = 1


class SetAccountTemplate(Command[AccountTemplateInput]):
    """C3: the typed attribute fields of a scope."""

    DOMAIN = "customer"
    REPLY = AccountTemplateReply
    message_type: Literal["set-account-template"] = "set-account-template"
    schema_version: Literal[1] = 1


class GetAccountTemplate(Command[ScopeRef]):
    """C3: a scope's template."""

    DOMAIN = "customer"
    REPLY = AccountTemplateReply
    message_type: Literal["get-account-template"] = "get-account-template"
    schema_version: Literal[1] = 1


class CreateCustomer(Command[NewCustomer]):
    """C1, C17: create a customer."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["create-customer"] = "create-customer"
    schema_version: Literal[1] = 1


class CreateCustomers(Command[CreateCustomersInput]):
    """C1, O3: create several customers at once, each on its own terms."""

    DOMAIN = "customer"
    REPLY = CreationsReply
    message_type: Literal["create-customers"] = "create-customers"
    schema_version: Literal[1] = 1


class ImportCustomers(Command[ImportInput]):
    """C17: create a batch of customers (bulk import)."""

    DOMAIN = "customer"
    REPLY = ImportReply
    message_type: Literal["import-customers"] = "import-customers"
    schema_version: Literal[1] = 1


class GetCustomer(Command[CustomerRef]):
    """Read a customer; a merged-away code answers the survivor."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["get-customer"] = "get-customer"
    schema_version: Literal[1] = 1


class UpdateCustomer(Command[UpdateCustomerInput]):
    """C12: change fields, at an expected version."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["update-customer"] = "update-customer"
    schema_version: Literal[1] = 1


class AddAddress(Command[AddAddressInput]):
    """C4: add an address to the address book."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["add-address"] = "add-address"
    schema_version: Literal[1] = 1


class ChangeAddress(Command[ChangeAddressInput]):
    """C4: change an address."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["change-address"] = "change-address"
    schema_version: Literal[1] = 1


class RemoveAddress(Command[RemoveAddressInput]):
    """C4: delete an address."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["remove-address"] = "remove-address"
    schema_version: Literal[1] = 1


class ChangeCustomerState(Command[ChangeStateInput]):
    """C10, C15: activate, deactivate, disable, enable, approve, reject."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["change-customer-state"] = "change-customer-state"
    schema_version: Literal[1] = 1


class GetStateSummary(Command[StateSummaryInput]):
    """C10: how many customers are in each state."""

    DOMAIN = "customer"
    REPLY = StateSummaryReply
    message_type: Literal["get-state-summary"] = "get-state-summary"
    schema_version: Literal[1] = 1


class FindAccountsByEmail(Command[EmailLookupInput]):
    """C2: every account using an email, in every scope."""

    DOMAIN = "customer"
    REPLY = EmailLookupReply
    message_type: Literal["find-accounts-by-email"] = "find-accounts-by-email"
    schema_version: Literal[1] = 1


class SearchCustomers(Command[SearchInput]):
    """C11: search, sorted, in pages of at most 20."""

    DOMAIN = "customer"
    REPLY = SearchReply
    message_type: Literal["search-customers"] = "search-customers"
    schema_version: Literal[1] = 1


class RequestPasswordReset(Command[PasswordResetRequestInput]):
    """C14: email a single-use, expiring reset link."""

    DOMAIN = "customer"
    REPLY = AcceptedReply
    message_type: Literal["request-password-reset"] = "request-password-reset"
    schema_version: Literal[1] = 1


class CompletePasswordReset(Command[CompletePasswordResetInput]):
    """C14: set the password with a reset or invitation token."""

    DOMAIN = "customer"
    REPLY = AcceptedReply
    message_type: Literal["complete-password-reset"] = "complete-password-reset"
    schema_version: Literal[1] = 1


class InviteCustomersWithoutPassword(Command[InviteWithoutPasswordInput]):
    """C14: 'set empty passwords', one batch at a time."""

    DOMAIN = "customer"
    REPLY = InviteProgressReply
    message_type: Literal["invite-customers-without-password"] = "invite-customers-without-password"
    schema_version: Literal[1] = 1


class RequestEmailVerification(Command[EmailVerificationRequestInput]):
    """C20: email a verification link."""

    DOMAIN = "customer"
    REPLY = AcceptedReply
    message_type: Literal["request-email-verification"] = "request-email-verification"
    schema_version: Literal[1] = 1


class VerifyEmail(Command[VerifyEmailInput]):
    """C20: prove ownership of the email with its token."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["verify-email"] = "verify-email"
    schema_version: Literal[1] = 1


class RegisterCustomer(Command[RegisterInput]):
    """C20: self-registration; claims a guest record after verification."""

    DOMAIN = "customer"
    REPLY = CustomerReply
    message_type: Literal["register-customer"] = "register-customer"
    schema_version: Literal[1] = 1


class Authenticate(Command[AuthenticateInput]):
    """C15: check a password."""

    DOMAIN = "customer"
    REPLY = AuthenticatedReply
    message_type: Literal["authenticate"] = "authenticate"
    schema_version: Literal[1] = 1


class StartOnBehalfSession(Command[StartOnBehalfInput]):
    """C16: a CSR starts acting for a customer."""

    DOMAIN = "customer"
    REPLY = OnBehalfReply
    message_type: Literal["start-on-behalf-session"] = "start-on-behalf-session"
    schema_version: Literal[1] = 1


class EndOnBehalfSession(Command[EndOnBehalfInput]):
    """C16: end an on-behalf session."""

    DOMAIN = "customer"
    REPLY = OnBehalfReply
    message_type: Literal["end-on-behalf-session"] = "end-on-behalf-session"
    schema_version: Literal[1] = 1


class GetCustomerAudit(Command[AuditInput]):
    """C16: who changed the record, and for whom."""

    DOMAIN = "customer"
    REPLY = AuditReply
    message_type: Literal["get-customer-audit"] = "get-customer-audit"
    schema_version: Literal[1] = 1


# --- events --------------------------------------------------------------------------------


class Recipient(_Out):
    """What the notification service needs to address and localize an email."""

    customer_code: str
    scope_id: str
    email: str
    first_name: str
    last_name: str
    preferred_language: str | None = None
    scope_language: str | None = Field(default=None, description="The scope's default language: the fallback.")


class CustomerCreatedPayload(_Out):
    customer: CustomerView


class CustomersImportedPayload(_Out):
    customers: list[CustomerView] = Field(
        description="Each customer the part created, once; a row answered unchanged or refused is not here."
    )


class CustomerUpdatedPayload(_Out):
    customer_code: str
    version: int
    changed: dict[str, Any] = Field(description="The new value of each changed field.")


class AddressChangedPayload(_Out):
    customer_code: str
    version: int
    change: Literal["added", "changed", "removed"]
    address_id: str
    address: AddressView | None = None


class StateChangedPayload(_Out):
    customer_code: str
    version: int
    previous: CustomerState
    state: CustomerState
    reason: str | None = None


class LinkPayload(_Out):
    """An email with a single-use link: set-password invitation, reset, verification.

    The token is never readable on the way (C14): ``link`` is where the link points, with the
    token replaced by ``[redacted]``; ``sealed_link`` is the whole link encrypted and
    authenticated (Fernet) with ``OMS_LINK_KEY``, which only the customer and notification
    services hold (since v1.1; an event without it is refused).
    """

    recipient: Recipient
    link: str = Field(description="The link with its token replaced by [redacted]: safe to store and show.")
    sealed_link: str = Field(description="The usable link, sealed for the notification service (Fernet, OMS_LINK_KEY).")
    expires_at: AwareDatetime


class RecipientPayload(_Out):
    recipient: Recipient


class OnBehalfPayload(_Out):
    session: OnBehalfSession


class CustomerCreated(Event[CustomerCreatedPayload]):
    """A customer was created (any channel but a bulk import: ``CustomersImported``)."""

    DOMAIN = "customer"
    message_type: Literal["customer-created"] = "customer-created"
    schema_version: Literal[1] = 1


class CustomersImported(Event[CustomersImportedPayload]):
    """C17: customers created by one transaction of an ``ImportCustomers`` batch (a part of
    up to 500 rows), in one event instead of one ``CustomerCreated`` each: what a
    ``CustomerCreated`` says of each of them. No partition key (many customers)."""

    DOMAIN = "customer"
    message_type: Literal["customers-imported"] = "customers-imported"
    schema_version: Literal[1] = 1


class CustomerUpdated(Event[CustomerUpdatedPayload]):
    """Fields of a customer changed."""

    DOMAIN = "customer"
    message_type: Literal["customer-updated"] = "customer-updated"
    schema_version: Literal[1] = 1


class CustomerAddressChanged(Event[AddressChangedPayload]):
    """An address was added, changed or removed."""

    DOMAIN = "customer"
    message_type: Literal["customer-address-changed"] = "customer-address-changed"
    schema_version: Literal[1] = 1


class CustomerStateChanged(Event[StateChangedPayload]):
    """A customer moved to another lifecycle state."""

    DOMAIN = "customer"
    message_type: Literal["customer-state-changed"] = "customer-state-changed"
    schema_version: Literal[1] = 1


class PasswordSetupInvited(Event[LinkPayload]):
    """C14: welcome email with a set-password link."""

    DOMAIN = "customer"
    message_type: Literal["password-setup-invited"] = "password-setup-invited"
    schema_version: Literal[1] = 1


class PasswordResetRequested(Event[LinkPayload]):
    """C14: reset email with a single-use link."""

    DOMAIN = "customer"
    message_type: Literal["password-reset-requested"] = "password-reset-requested"
    schema_version: Literal[1] = 1


class PasswordChanged(Event[RecipientPayload]):
    """C14: the password was set or changed."""

    DOMAIN = "customer"
    message_type: Literal["password-changed"] = "password-changed"
    schema_version: Literal[1] = 1


class EmailVerificationRequested(Event[LinkPayload]):
    """C20: verification email."""

    DOMAIN = "customer"
    message_type: Literal["email-verification-requested"] = "email-verification-requested"
    schema_version: Literal[1] = 1


class EmailVerified(Event[RecipientPayload]):
    """C20: the customer proved the email is theirs."""

    DOMAIN = "customer"
    message_type: Literal["email-verified"] = "email-verified"
    schema_version: Literal[1] = 1


class OnBehalfSessionStarted(Event[OnBehalfPayload]):
    """C16: a CSR acts for a customer."""

    DOMAIN = "customer"
    message_type: Literal["on-behalf-session-started"] = "on-behalf-session-started"
    schema_version: Literal[1] = 1


class OnBehalfSessionEnded(Event[OnBehalfPayload]):
    """C16: the CSR stopped acting for the customer."""

    DOMAIN = "customer"
    message_type: Literal["on-behalf-session-ended"] = "on-behalf-session-ended"
    schema_version: Literal[1] = 1


CUSTOMER_COMMANDS = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Command) and cls is not Command
)
CUSTOMER_EVENTS = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)
