"""The JSON API (I4): each route is one or two of the services' commands, as the signed-in
staff member; the OpenAPI document is at ``/api/openapi.json``.

Request bodies are the contracts' own payload models (or a route's body around one), so a
bad field is a 422 naming it before anything is sent; errors from the services come back
through ``bridge.STATUS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from contracts.customer import history as h
from contracts.customer import merges as m
from contracts.customer import privacy as p
from contracts.customer import records as c
from contracts.notification import emails as n
from contracts.order_sync import linking as o
from contracts.replies import Error, FieldError
from contracts.routing import SERVICES
from contracts.types import OptionalText, Text

from . import rights
from .auth import COOKIE, allow, client_address, require_right, signed_in
from .bridge import CommandFailed, error_body
from .deadletters import DeadLetterView, ReplayResult
from .staff import SignInLimits, SignInThrottled, StaffError, StaffSession
from .state import dead_letter_store, gateway_settings, services, staff_store

router = APIRouter(prefix="/api")
Code = Annotated[str, Field(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")]


def data(model: BaseModel) -> dict[str, Any]:
    """What was sent, no more: an absent field stays absent (it means 'leave it alone')."""
    return model.model_dump(mode="json", exclude_unset=True)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- session -----------------------------------------------------------------------------------


class SignIn(_Body):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class SessionView(BaseModel):
    username: str
    name: str
    role: str
    csrf_token: str = Field(description="Send it back in the X-CSRF-Token header of every change.")
    rights: list[str]


def session_view(session: StaffSession) -> SessionView:
    return SessionView(
        username=session.username,
        name=session.name,
        role=session.role,
        csrf_token=session.csrf_token,
        rights=sorted(rights.RIGHTS[session.role]),  # type: ignore[index]
    )


async def start_session(request: Request, response: Response, username: str, password: str) -> StaffSession | None:
    """Check the password; on success set the session cookie. Every outcome is audited; a
    throttled attempt (I4: too many failures for the account or from the address) raises
    ``rate_limited`` with ``retry_after_seconds``, whatever the password."""
    store = staff_store(request)
    settings = gateway_settings(request)
    source = client_address(request)
    try:
        staff = await store.verify(username, password, source=source, limits=SignInLimits.from_settings(settings))
    except SignInThrottled as exc:
        await store.audit(username[:100], None, "session.sign_in", None, "rate_limited", source=source)
        raise CommandFailed(
            Error(code="rate_limited", message=str(exc), details={"retry_after_seconds": exc.retry_after_seconds})
        ) from None
    if staff is None:
        await store.audit(username[:100], None, "session.sign_in", None, "unauthenticated", source=source)
        return None
    token, session = await store.open_session(staff, settings.session_minutes)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_minutes * 60,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    await store.audit(session.username, session.role, "session.sign_in", None, "ok", source=source)
    return session


@router.post(
    "/session",
    response_model=SessionView,
    tags=["session"],
    responses={
        401: {"description": "wrong username or password"},
        429: {
            "description": "too many failed sign-ins for this account or from this address; "
            "error.details.retry_after_seconds and the Retry-After header say when to try again"
        },
    },
)
async def sign_in(body: SignIn, request: Request, response: Response) -> Any:
    """Sign in; the session cookie is HttpOnly, Secure and SameSite=Lax."""
    try:
        session = await start_session(request, response, body.username, body.password)
    except CommandFailed as exc:
        if exc.error.code != "rate_limited":
            raise
        return JSONResponse(
            error_body(exc.error),
            status_code=exc.status,
            headers={"Retry-After": str(exc.error.details["retry_after_seconds"])},
        )
    if session is None:
        raise CommandFailed(Error(code="unauthenticated", message="wrong username or password"))
    return session_view(session)


@router.get("/session", response_model=SessionView, tags=["session"])
async def who_am_i(session: Annotated[StaffSession, Depends(signed_in)]) -> Any:
    return session_view(session)


@router.delete("/session", status_code=204, tags=["session"])
async def sign_out(request: Request, response: Response, session: Annotated[StaffSession, Depends(signed_in)]) -> None:
    await staff_store(request).close_session(session)
    await staff_store(request).audit(session.username, session.role, "session.sign_out", None, "ok")
    response.delete_cookie(COOKIE, path="/")


class NewStaff(_Body):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(max_length=200)] = ""
    role: rights.Role
    password: Annotated[str, Field(min_length=1, max_length=200)]


class StaffView(BaseModel):
    username: str
    name: str
    role: str


@router.post("/staff", status_code=201, response_model=StaffView, tags=["staff"])
async def create_staff(
    body: NewStaff, request: Request, who: Annotated[StaffSession, Depends(allow("staff.manage"))]
) -> Any:
    store = staff_store(request)
    try:
        created = await store.create(body.username, body.name, body.role, body.password)
    except StaffError as exc:
        await store.audit(who.username, who.role, "staff.create", body.username, "validation", str(exc))
        raise CommandFailed(
            Error(code="validation", message=str(exc), fields=[FieldError(field=exc.field, reason=exc.reason)])
        ) from None
    await store.audit(who.username, who.role, "staff.create", created["_id"], "ok", f"role {body.role}")
    return StaffView(username=created["_id"], name=created["name"], role=created["role"])


class StaffAccountView(StaffView):
    disabled: bool
    failed_sign_ins: int = Field(description="Failed sign-ins in a row, not yet forgotten.")
    locked_until: datetime | None = Field(description="Set while too many failed sign-ins lock the account.")


@router.get("/staff", response_model=list[StaffAccountView], tags=["staff"])
async def list_staff(request: Request, who: Annotated[StaffSession, Depends(allow("staff.manage"))]) -> Any:
    """Staff accounts with their sign-in state: an administrator sees who is locked out."""
    limits = SignInLimits.from_settings(gateway_settings(request))
    return [
        StaffAccountView(
            username=doc["_id"],
            name=doc["name"],
            role=doc["role"],
            disabled=doc.get("disabled", False),
            failed_sign_ins=doc["failed_sign_ins"],
            locked_until=doc["locked_until"],
        )
        for doc in await staff_store(request).accounts(limits)
    ]


@router.post("/staff/{username}/unlock", status_code=204, tags=["staff"])
async def unlock_staff(
    username: Annotated[str, Path(min_length=1, max_length=100)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("staff.manage"))],
) -> None:
    """Lift a lock after failed sign-ins, and forget the failures."""
    store = staff_store(request)
    if not await store.unlock(username):
        await store.audit(who.username, who.role, "staff.unlock", username[:100], "not_found")
        raise CommandFailed(Error(code="not_found", message=f"no staff account {username!r}"))
    await store.audit(who.username, who.role, "staff.unlock", username.strip().lower(), "ok")


# --- customers ---------------------------------------------------------------------------------


#: What a search box may hold (the service's own limit on text).
SearchText = Annotated[str, Field(max_length=500)]


class SearchQuery(BaseModel):
    """C11: every criterion optional; name and email match by prefix."""

    model_config = ConfigDict(extra="forbid")
    scope_id: Annotated[str, Field(max_length=50)] | None = None
    code: SearchText | None = None
    name: SearchText | None = None
    email: SearchText | None = None
    phone: SearchText | None = None
    postal_code: SearchText | None = None
    tag: SearchText | None = None
    kind: c.CustomerKind | None = None
    state: c.CustomerState | None = None
    flag: c.Flag | None = None
    organization: SearchText | None = None
    group: SearchText | None = None
    sort: c.SortKey = "name"
    descending: bool = False
    cursor: SearchText | None = None


def search_payload(query: SearchQuery) -> dict[str, Any]:
    # Empty form fields mean "any", not "equal to nothing".
    return {k: v for k, v in query.model_dump(mode="json").items() if v not in (None, "")}


@router.get("/customers", response_model=c.SearchPage, tags=["customers"])
async def search_customers(
    query: Annotated[SearchQuery, Query()],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
) -> Any:
    return await services(request).call(who, c.SearchCustomers, search_payload(query))


@router.get("/customers/summary", response_model=c.StateSummary, tags=["customers"])
async def state_summary(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
    scope_id: Annotated[str | None, Query(max_length=50)] = None,
) -> Any:
    return await services(request).call(who, c.GetStateSummary, {"scope_id": scope_id} if scope_id else {})


@router.get("/customers/lookup", response_model=c.EmailLookup, tags=["customers"])
async def lookup_email(
    email: Annotated[str, Query(min_length=1, max_length=320)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
) -> Any:
    """C2: search before create: every account using this email, in every scope."""
    return await services(request).call(who, c.FindAccountsByEmail, {"email": email})


@router.post("/customers", status_code=201, response_model=c.CustomerView, tags=["customers"])
async def create_customer(
    body: c.NewCustomer, request: Request, who: Annotated[StaffSession, Depends(allow("customer.create"))]
) -> Any:
    return await services(request).call(
        who, c.CreateCustomer, data(body), audit="customer.create", target=body.scope_id
    )


@router.get("/customers/{code}", response_model=c.CustomerView, tags=["customers"])
async def get_customer(
    code: Code, request: Request, who: Annotated[StaffSession, Depends(allow("customer.read"))]
) -> Any:
    return await services(request).call(who, c.GetCustomer, {"customer_code": code})


class CustomerUpdate(_Body):
    expected_version: int = Field(ge=1, description="The version read; a stale one answers 409 with current_version.")
    changes: c.CustomerChanges


def on_behalf_of(request: Request, session: StaffSession, code: str) -> str | None:
    """The on-behalf session to name on a change of ``code``: the header's (API) or the
    console's, when it is for this customer."""
    if header := request.headers.get("X-OMS-On-Behalf-Session"):
        return header[:200]
    if session.on_behalf and session.on_behalf.get("customer_code") == code.upper():
        return session.on_behalf["session_id"]
    return None


@router.patch(
    "/customers/{code}",
    response_model=c.CustomerView,
    responses={409: {"description": "stale expected_version; error.current_version is the record's"}},
    tags=["customers"],
)
async def update_customer(
    code: Code, body: CustomerUpdate, request: Request, who: Annotated[StaffSession, Depends(allow("customer.update"))]
) -> Any:
    payload = {"customer_code": code, "expected_version": body.expected_version, "changes": data(body.changes)}
    return await services(request).call(
        who,
        c.UpdateCustomer,
        payload,
        audit="customer.update",
        target=code,
        on_behalf_session=on_behalf_of(request, who, code),
    )


class StateChange(_Body):
    expected_version: int = Field(ge=1)
    action: c.StateAction
    reason: OptionalText = None


@router.post("/customers/{code}/state", response_model=c.CustomerView, tags=["customers"])
async def change_state(
    code: Code, body: StateChange, request: Request, who: Annotated[StaffSession, Depends(allow("customer.read"))]
) -> Any:
    """Activate, deactivate, disable (CSR); enable, approve, reject (supervisor); enable an
    account locked by failed sign-ins (CSR: unlock)."""
    right = rights.STATE_ACTION_RIGHTS[body.action]
    if body.action == "enable":
        current = await services(request).call(who, c.GetCustomer, {"customer_code": code})
        right = rights.state_action_right(body.action, current.state, current.state_reason)
    require_right(who, right)
    return await services(request).call(
        who, c.ChangeCustomerState, {"customer_code": code, **data(body)}, audit=right, target=code
    )


@router.post("/customers/{code}/password-reset", response_model=c.Accepted, tags=["customers"])
async def reset_password(
    code: Code, request: Request, who: Annotated[StaffSession, Depends(allow("customer.reset_password"))]
) -> Any:
    """C14: email the customer a single-use, expiring reset link."""
    return await services(request).call(
        who, c.RequestPasswordReset, {"customer_code": code}, audit="customer.reset_password", target=code
    )


class OnBehalfStart(_Body):
    reason: Text
    minutes: int = Field(default=30, ge=1, le=480)


@router.post("/customers/{code}/on-behalf", response_model=c.OnBehalfSession, tags=["customers"])
async def start_on_behalf(
    code: Code,
    body: OnBehalfStart,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.on_behalf"))],
) -> Any:
    """C16: act for the customer; name the session in X-OMS-On-Behalf-Session on changes."""
    return await services(request).call(
        who,
        c.StartOnBehalfSession,
        {"customer_code": code, **data(body)},
        audit="customer.on_behalf.start",
        target=code,
    )


@router.delete("/on-behalf/{session_id}", response_model=c.OnBehalfSession, tags=["customers"])
async def end_on_behalf(
    session_id: Annotated[str, Field(min_length=1, max_length=100)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.on_behalf"))],
) -> Any:
    return await services(request).call(
        who, c.EndOnBehalfSession, {"session_id": session_id}, audit="customer.on_behalf.end", target=session_id
    )


@router.get("/customers/{code}/audit", response_model=c.AuditPage, tags=["customers"])
async def customer_audit(
    code: Code,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    payload = {"customer_code": code, **({"cursor": cursor} if cursor else {})}
    return await services(request).call(who, c.GetCustomerAudit, payload)


@router.get("/customers/{code}/history/{kind}", response_model=h.HistoryPage, tags=["customers"])
async def customer_history(
    code: Code,
    kind: h.HistoryKind,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    payload = {"customer_code": code, "kind": kind, **({"cursor": cursor} if cursor else {})}
    return await services(request).call(who, h.GetCustomerHistory, payload)


@router.get("/customers/{code}/activities", response_model=n.ActivityPage, tags=["customers"])
async def customer_activities(
    code: Code,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    payload = {"customer_code": code, **({"cursor": cursor} if cursor else {})}
    return await services(request).call(who, n.GetActivities, payload, reply_type=n.ActivityPageReply)


@router.get("/customers/{code}/merges", response_model=m.MergeJournalPage, tags=["merges"])
async def customer_merges(
    code: Code, request: Request, who: Annotated[StaffSession, Depends(allow("customer.read"))]
) -> Any:
    return await services(request).call(who, m.GetMergeJournal, {"customer_code": code})


class EmailRequest(_Body):
    template: Annotated[str, Field(min_length=1, max_length=100)] = "customer-message"
    variables: dict[str, str] = Field(default_factory=dict, max_length=50)
    order: n.OrderReference | None = None


async def recipient(request: Request, who: StaffSession, code: str) -> dict[str, Any]:
    """The customer as the customer service has it, the scope's language as fallback."""
    customer = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    scopes = await services(request).call(who, c.ListScopes, {})
    if not customer.email:
        raise CommandFailed(Error(code="invalid_state", message=f"{customer.code} has no email address"))
    return {
        "customer_code": customer.code,
        "scope_id": customer.scope_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "preferred_language": customer.preferred_language,
        "scope_language": next((s.default_language for s in scopes if s.scope_id == customer.scope_id), None),
    }


@router.post("/customers/{code}/emails", status_code=201, response_model=n.EmailQueued, tags=["customers"])
async def send_email(
    code: Code,
    body: EmailRequest,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.send_email"))],
) -> Any:
    """N4: email the customer from a customer-message template; recorded as an activity."""
    payload = {"recipient": await recipient(request, who, code), **data(body)}
    return await services(request).call(
        who, n.SendTemplateEmail, payload, reply_type=n.EmailQueuedReply, audit="customer.send_email", target=code
    )


@router.post(
    "/customers/{code}/emails/{activity_id}/resend", status_code=201, response_model=n.EmailQueued, tags=["customers"]
)
async def resend_email(
    code: Code,
    activity_id: Annotated[str, Field(min_length=1, max_length=200)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.send_email"))],
) -> Any:
    """N4, N5: send one of the customer's earlier emails again (a shipping confirmation):
    the same content to the same address, recorded as a new activity."""
    return await services(request).call(
        who,
        n.ResendEmail,
        {"customer_code": code, "activity_id": activity_id},
        reply_type=n.EmailQueuedReply,
        audit="customer.send_email",
        target=code,
    )


class PrivacyReason(_Body):
    reason: Text = Field(description="Why: the data subject's request, its ticket number; audited.")


@router.post("/customers/{code}/export", response_model=p.CustomerDataExport, tags=["privacy"])
async def export_customer(
    code: Code, body: PrivacyReason, request: Request, who: Annotated[StaffSession, Depends(allow("customer.export"))]
) -> Any:
    """C18: everything every service holds about the customer, as one document."""
    return await services(request).call(
        who, p.ExportCustomerData, {"customer_code": code, **data(body)}, audit="customer.export", target=code
    )


@router.post("/customers/{code}/erase", response_model=p.ErasureReceipt, tags=["privacy"])
async def erase_customer(
    code: Code, body: PrivacyReason, request: Request, who: Annotated[StaffSession, Depends(allow("customer.erase"))]
) -> Any:
    """C18: anonymize the customer in every service (orders keep the code); answers the receipt."""
    return await services(request).call(
        who, p.EraseCustomerData, {"customer_code": code, **data(body)}, audit="customer.erase", target=code
    )


@router.post("/customers/set-empty-passwords", response_model=c.InviteProgress, tags=["customers"])
async def set_empty_passwords(
    body: c.InviteWithoutPasswordInput,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.invite_without_password"))],
) -> Any:
    """C14: invite one batch of registered customers without a password to set one; send
    ``last_code`` back as ``after_code`` until ``done``."""
    return await services(request).call(
        who,
        c.InviteCustomersWithoutPassword,
        data(body),
        audit="customer.invite_without_password",
        target=body.scope_id or "*",
    )


# --- merges ------------------------------------------------------------------------------------


@router.post("/merges", status_code=201, response_model=m.MergeOutcome, tags=["merges"])
async def merge_customers(
    body: m.MergeInput, request: Request, who: Annotated[StaffSession, Depends(allow("customer.merge"))]
) -> Any:
    """C13: merge ``merged_code`` into ``survivor_code`` at the versions read."""
    return await services(request).call(
        who, m.MergeCustomers, data(body), audit="customer.merge", target=f"{body.merged_code}->{body.survivor_code}"
    )


class UndoMerge(_Body):
    reason: OptionalText = None


@router.post("/merges/{merge_id}/undo", response_model=m.UnmergeOutcome, tags=["merges"])
async def unmerge_customers(
    merge_id: Annotated[str, Field(min_length=1, max_length=100)],
    body: UndoMerge,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.unmerge"))],
) -> Any:
    return await services(request).call(
        who, m.UnmergeCustomers, {"merge_id": merge_id, **data(body)}, audit="customer.unmerge", target=merge_id
    )


@router.get("/merges/{merge_id}", response_model=m.MergeJournalPage, tags=["merges"])
async def merge_journal(
    merge_id: Annotated[str, Field(min_length=1, max_length=100)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
) -> Any:
    return await services(request).call(who, m.GetMergeJournal, {"merge_id": merge_id})


# --- orders ---------------------------------------------------------------------------------------


@router.get("/orders", response_model=list[o.OrderLinkView], tags=["orders"])
async def find_orders(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("customer.read"))],
    number: Annotated[str, Query(min_length=1, max_length=100)],
    scope_id: Annotated[str | None, Query(max_length=50)] = None,
) -> Any:
    """O2, O8: orders by the number the customer reads ('#1001') or the platform's, newest
    first, each with its customer or its review."""
    return await services(request).call(
        who, o.FindOrders, {"number": number, **({"scope_id": scope_id} if scope_id else {})}
    )


# --- the order review queue ----------------------------------------------------------------------


@router.get("/reviews", response_model=o.ReviewPage, tags=["reviews"])
async def list_reviews(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("review.read"))],
    status: Literal["open", "resolved"] = "open",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    return await services(request).call(
        who, o.ListReviews, {"status": status, **({"cursor": cursor} if cursor else {})}
    )


class Resolution(_Body):
    action: Literal["link", "create"]
    customer_code: Code | None = None


@router.post("/reviews/{review_id}/resolve", response_model=o.ReviewItem, tags=["reviews"])
async def resolve_review(
    review_id: Annotated[str, Field(min_length=1, max_length=100)],
    body: Resolution,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("review.resolve"))],
) -> Any:
    """O5: link the order to one of its candidates, or create a new customer for it."""
    return await services(request).call(
        who, o.ResolveReview, {"review_id": review_id, **data(body)}, audit="review.resolve", target=review_id
    )


# --- templates and account templates (administrators) ----------------------------------------------


@router.get("/templates", response_model=list[n.TemplateSummary], tags=["templates"])
async def list_templates(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("template.read"))],
    scope_id: Annotated[str | None, Query(max_length=50)] = None,
) -> Any:
    return await services(request).call(
        who, n.ListTemplates, {"scope_id": scope_id} if scope_id else {}, reply_type=n.TemplateListReply
    )


@router.get("/templates/{name}", response_model=n.TemplateView, tags=["templates"])
async def get_template(
    name: Annotated[str, Field(min_length=1, max_length=100)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("template.read"))],
    scope_id: Annotated[str | None, Query(max_length=50)] = None,
    language: Annotated[str, Query(min_length=2, max_length=20)] = "en",
) -> Any:
    payload = {"name": name, "language": language, **({"scope_id": scope_id} if scope_id else {})}
    return await services(request).call(who, n.GetTemplate, payload, reply_type=n.TemplateReply)


@router.put("/templates", response_model=n.TemplateView, tags=["templates"])
async def set_template(
    body: n.TemplateInput, request: Request, who: Annotated[StaffSession, Depends(allow("template.manage"))]
) -> Any:
    """N3: add or override a template; a broken one is refused with the reason (422)."""
    return await services(request).call(
        who,
        n.SetTemplate,
        data(body),
        reply_type=n.TemplateReply,
        audit="template.manage",
        target=f"{body.name}/{body.scope_id or '*'}/{body.language}",
    )


@router.post("/templates/preview", response_model=n.RenderedEmail, tags=["templates"])
async def preview_template(
    body: n.PreviewInput, request: Request, who: Annotated[StaffSession, Depends(allow("template.manage"))]
) -> Any:
    return await services(request).call(who, n.PreviewTemplate, data(body), reply_type=n.RenderedEmailReply)


@router.get("/scopes", response_model=list[c.ScopeView], tags=["templates"])
async def list_scopes(request: Request, who: Annotated[StaffSession, Depends(allow("customer.read"))]) -> Any:
    return await services(request).call(who, c.ListScopes, {})


ScopeId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]


@router.get("/scopes/{scope_id}/account-template", response_model=c.AccountTemplateView, tags=["templates"])
async def get_account_template(
    scope_id: ScopeId, request: Request, who: Annotated[StaffSession, Depends(allow("account_template.read"))]
) -> Any:
    return await services(request).call(who, c.GetAccountTemplate, {"scope_id": scope_id})


class AccountTemplateFields(_Body):
    fields: list[c.AttributeField] = Field(max_length=200)


@router.put("/scopes/{scope_id}/account-template", response_model=c.AccountTemplateView, tags=["templates"])
async def set_account_template(
    scope_id: ScopeId,
    body: AccountTemplateFields,
    request: Request,
    who: Annotated[StaffSession, Depends(allow("account_template.manage"))],
) -> Any:
    return await services(request).call(
        who,
        c.SetAccountTemplate,
        {"scope_id": scope_id, **data(body)},
        audit="account_template.manage",
        target=scope_id,
    )


# --- dead letters (administrators) -------------------------------------------------------------------

Service = Literal[SERVICES]  # type: ignore[valid-type]


@router.get("/dead-letters/{service}", response_model=list[DeadLetterView], tags=["dead letters"])
async def list_dead_letters(
    service: Service, request: Request, who: Annotated[StaffSession, Depends(allow("dead_letter.read"))]
) -> Any:
    return await dead_letter_store(request).list(service)


@router.get("/dead-letters/{service}/{message_id}", response_model=DeadLetterView, tags=["dead letters"])
async def show_dead_letter(
    service: Service,
    message_id: Annotated[str, Field(min_length=1, max_length=200)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("dead_letter.read"))],
) -> Any:
    return await dead_letter_store(request).show(service, message_id)


@router.post("/dead-letters/{service}/{message_id}/replay", response_model=ReplayResult, tags=["dead letters"])
async def replay_dead_letter(
    service: Service,
    message_id: Annotated[str, Field(min_length=1, max_length=200)],
    request: Request,
    who: Annotated[StaffSession, Depends(allow("dead_letter.replay"))],
) -> Any:
    result = await dead_letter_store(request).replay(service, message_id)
    await staff_store(request).audit(
        who.username,
        who.role,
        "dead_letter.replay",
        f"{service}/{message_id}",
        "ok" if result.replayed else "not_found",
    )
    if not result.replayed:
        raise CommandFailed(Error(code="not_found", message=f"no dead letter {message_id} in {service}"))
    return result
