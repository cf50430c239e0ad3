"""The CSR console (I5): server-rendered pages (Jinja2) made lively with htmx, vendored
under /static, no build step. Every page goes through the same rights, CSRF and commands
as the JSON API (``api``), as the signed-in staff member.

Plain forms post and redirect (a notice key in the query string says what happened); the
record's tabs load with htmx and work without it too (``?tab=``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

import phonenumbers
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contracts.customer import history as h
from contracts.customer import merges as m
from contracts.customer import records as c
from contracts.customer import relations as r
from contracts.notification import emails as n
from contracts.order_sync import linking as o
from contracts.replies import Error, FieldError
from contracts.routing import SERVICES

from . import local_time, rights
from .api import SearchQuery, recipient, search_payload, start_session
from .auth import COOKIE, allow, require_right, signed_in, tokens_match
from .bridge import CommandFailed
from .staff import StaffSession
from .state import dead_letter_store, gateway_settings, services, staff_store

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["can"] = rights.allowed
templates.env.globals["sign_in_lock_reason"] = c.SIGN_IN_LOCK_REASON
local_time.install(templates.env)


def readable_phone(e164: str | None) -> str:
    """'+33612345678' as a CSR reads it back to a caller: '+33 6 12 34 56 78'."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


templates.env.filters["phone"] = readable_phone

LOGIN_CSRF_COOKIE = "oms_login_csrf"
TABS = {
    "account": "Account",
    "attributes": "Custom Attributes",
    "addresses": "Addresses",
    "organizations": "Organizations",
    "stores": "Stores",
    "orders": "Orders",
    "carts": "Active Carts",
    "payments": "Saved Payments",
    "invoices": "Invoices",
    "order_payments": "Payments",
    "activities": "Activities",
    "audit": "Audit",
    "merges": "Merges",
}
#: The administrators' screens, in the top bar's Administration menu: (right, path, label).
ADMIN_LINKS = (
    ("template.manage", "/admin/templates", "Templates"),
    ("account_template.manage", "/admin/account-template", "Account template"),
    ("dead_letter.read", "/admin/dead-letters", "Dead letters"),
    ("staff.manage", "/admin/staff", "Staff"),
    ("staff.manage", "/admin/staff-audit", "Staff audit"),
    ("customer.invite_without_password", "/admin/set-empty-passwords", "Set empty passwords"),
    ("customer.import", "/admin/import", "Import customers"),
)
templates.env.globals["admin_links_for"] = lambda role: [link for link in ADMIN_LINKS if rights.allowed(role, link[0])]
HISTORY_TABS = {
    "orders": "order",
    "carts": "cart",
    "payments": "payment_method",
    "invoices": "invoice",
    "order_payments": "payment",
}
NOTICES = {
    "created": "Customer created.",
    "saved": "Changes saved.",
    "reset": "A password reset email is on its way to the customer.",
    "state": "The customer's state was changed.",
    "on_behalf": "You are now acting on behalf of this customer.",
    "on_behalf_ended": "You stopped acting on behalf of the customer.",
    "email": "The email was queued; it is in the Activities tab.",
    "merged": "The customers were merged.",
    "unmerged": "The merge was undone.",
    "resolved": "The order was linked.",
    "template": "Template saved.",
    "account_template": "Account template saved.",
    "replayed": "The dead letter was replayed.",
}
SEARCH_FIELDS = ("code", "name", "email", "phone", "postal_code", "tag", "kind", "state", "flag")
STATES = list(c.CustomerState.__args__)  # type: ignore[attr-defined]
FLAGS = list(c.Flag.__args__)  # type: ignore[attr-defined]


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    staff = getattr(request.state, "staff", None)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    with local_time.rendering_in(staff.time_zone if staff else None):  # the response renders here
        return templates.TemplateResponse(
            request, name, {"staff": staff, "notice": notice, "tabs": TABS, **context}, status_code=status
        )


def error_page(request: Request, error: Error, status: int) -> Response:
    partial = bool(request.headers.get("HX-Request"))
    return page(request, "error.html", status, error=error, partial=partial)


def redirect(path: str, **query: Any) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


Staff = Annotated[StaffSession, Depends(allow("customer.read"))]


# --- form values (security step 12) ----------------------------------------------------------------
# Every value a page posts or puts in its query string is read into a type here, with its
# length, range or choices; a bad one is ``validation`` 422 naming the form field, shown on
# the form it came from (or on the error page), never a 500. What a text box says is the
# service's to judge (it cleans and validates it); its length is ours, so nothing huge is sent.

#: A text box.
Box = Annotated[str, StringConstraints(max_length=500)]
#: A longer one (tags, allowed values, a template's variables).
LongBox = Annotated[str, StringConstraints(max_length=20_000)]
#: A record version from a hidden field: what MongoDB can hold.
MAX_VERSION = 2**63 - 1
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
#: A custom attribute's name, as account templates define it.
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
#: An account template has at most 200 fields; its form one blank row more.
MAX_TEMPLATE_ROWS = 201

FormT = TypeVar("FormT", bound=BaseModel)


class _Form(BaseModel):
    # A page posts its CSRF token and its buttons too: fields a model does not name are left alone.
    model_config = ConfigDict(extra="ignore", frozen=True)


def _row_field_name(i: int) -> Callable[[tuple[Any, ...]], str]:
    """How the page calls a field of its row ``i``: ``name_3``, or ``row 3`` for the row."""

    def name(loc: tuple[Any, ...]) -> str:
        return f"{loc[0]}_{i}" if loc else f"row {i}"

    return name


def read_form(
    model: type[FormT],
    values: Mapping[str, Any],
    field_name: Callable[[tuple[Any, ...]], str] = lambda loc: ".".join(map(str, loc)),
) -> FormT:
    """``values`` (a form, a query string) as ``model``, or ``CommandFailed`` ``validation``
    naming each bad field as the page calls it."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise CommandFailed(
            Error(
                code="validation",
                message="the form has invalid fields",
                fields=[FieldError(field=field_name(tuple(e["loc"])) or "form", reason=e["msg"]) for e in exc.errors()],
            )
        ) from None


def form_field(name: str) -> str:
    """A field error's path as the record's form names its input: 'payload.changes.first_name'
    is 'first_name', 'payload.changes.attributes.tier' is 'attr.tier'."""
    for prefix in ("payload.changes.", "payload.", "changes."):
        if name.startswith(prefix):
            name = name.removeprefix(prefix)
            break
    return "attr." + name.split(".", 1)[1] if name.startswith("attributes.") else name


def errors_by_field(error: Any) -> dict[str, str]:
    """Each field error, by the input it belongs beside (all of them: none hides another)."""
    found: dict[str, str] = {}
    for field_error in getattr(error, "fields", None) or []:
        key = form_field(field_error.field)
        found[key] = f"{found[key]}; {field_error.reason}" if key in found else field_error.reason
    return found


templates.env.globals["errors_by_field"] = errors_by_field
templates.env.globals["form_field"] = form_field


def field_label(name: str) -> str:
    """A form field's name as its label reads: 'postal_code' is 'Postal code'."""
    return name.removeprefix("attr.").replace("_", " ").capitalize()


templates.env.globals["field_label"] = field_label


def form_text(value: Any) -> str | None:
    """A stored attribute as the form sends it back: booleans as 'true'/'false'."""
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def submitted(form: Mapping[str, Any]) -> dict[str, str]:
    """What was typed, to show it again on the form next to the error (files are not text)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


class CreateForm(_Form):
    scope_id: Box = ""
    first_name: Box = ""
    last_name: Box = ""
    email: Box = ""
    phone: Box = ""
    work_phone: Box = ""
    preferred_language: Box = ""
    account_type: Box = ""
    active: bool = False  # a checkbox: "on" when ticked


class EditForm(_Form):
    version: Version
    first_name: Box | None = None
    last_name: Box | None = None
    email: Box | None = None
    phone: Box | None = None
    work_phone: Box | None = None
    fax: Box | None = None
    phone_extension: Box | None = None
    preferred_language: Box | None = None
    account_type: Box | None = None
    flag: Box | None = None
    tags: LongBox | None = None
    notes: Annotated[str, StringConstraints(max_length=c.MAX_NOTES + 1000)] | None = None  # the service counts
    attributes: dict[AttributeName, Box] = Field(default_factory=dict, max_length=200)  # the form's attr.<name>


def edit_field(loc: tuple[Any, ...]) -> str:
    if loc[0] == "attributes" and len(loc) > 1:
        return f"attr.{loc[1]}"
    return ".".join(map(str, loc))


class AccountTemplateForm(_Form):
    scope_id: Annotated[str, StringConstraints(max_length=50)] = ""
    rows: int = Field(default=0, ge=0, le=MAX_TEMPLATE_ROWS)


class AccountTemplateRow(_Form):
    """Row ``i`` of the account template form: its fields are posted as ``name_<i>``, ``type_<i>``..."""

    name: Annotated[str, StringConstraints(max_length=50)] = ""
    label: Box = ""
    type: c.AttributeType = "string"
    required: bool = False
    allowed: LongBox = ""
    remove: bool = False


class TemplateForm(_Form):
    name: Annotated[str, StringConstraints(max_length=100)] = ""
    scope_id: Annotated[str, StringConstraints(max_length=50)] = ""
    language: Annotated[str, StringConstraints(max_length=20)] = ""
    subject: Annotated[str, StringConstraints(max_length=1000)] = ""
    html: Annotated[str, StringConstraints(max_length=200_000)] = ""
    text: Annotated[str, StringConstraints(max_length=100_000)] = ""
    description: Box = ""
    variables: LongBox = ""
    intent: Literal["save", "preview"] = "save"


# --- sign-in -------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", login_csrf=token, next=next if next.startswith("/") else "/")
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=gateway_settings(request).cookie_secure,
        path="/login",
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    # Login CSRF: the form's token must match the cookie set with the form (double submit).
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return page(
            request, "login.html", 403, error="The form expired; please sign in again.", login_csrf="", next="/"
        )
    response = redirect(next if next.startswith("/") and not next.startswith("//") else "/")
    session = await start_session(request, response, username, password)
    if session is None:
        token = secrets.token_urlsafe(24)
        failed = page(request, "login.html", 401, error="Wrong username or password.", login_csrf=token, next=next)
        failed.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=gateway_settings(request).cookie_secure,
            path="/login",
        )
        return failed
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, who: Annotated[StaffSession, Depends(signed_in)]) -> Response:
    await staff_store(request).close_session(who)
    await staff_store(request).audit(who.username, who.role, "session.sign_out", None, "ok")
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


# --- Customer Manager ----------------------------------------------------------------------------


def search_query(request: Request) -> SearchQuery:
    params = request.query_params
    fields: dict[str, str | bool] = {
        k: params[k] for k in (*SEARCH_FIELDS, "scope_id", "sort", "cursor") if params.get(k)
    }
    if params.get("descending") in ("1", "true"):
        fields["descending"] = True
    return read_form(SearchQuery, fields)


async def search(request: Request, who: StaffSession) -> tuple[SearchQuery, Any, Error | None]:
    """The query, its page of results, or the service's refusal of a criterion (a phone that is
    no number of the scope's country), said once in plain words above the results."""
    query = search_query(request)
    searched = any(getattr(query, k) for k in SEARCH_FIELDS)
    try:
        result = await services(request).call(who, c.SearchCustomers, search_payload(query)) if searched else None
    except CommandFailed as failed:
        if failed.error.code != "validation":
            raise
        return query, None, failed.error
    scope_id = query.scope_id or ""
    if searched and "scope_id" in request.query_params and scope_id != who.preferences.get("scope_id", ""):
        # The scope selector is remembered per staff member: their next search starts there.
        who.preferences = {**who.preferences, "scope_id": scope_id}
        await staff_store(request).set_preferences(who.username, who.preferences)
    return query, result, None


def sort_link(query: SearchQuery, key: str) -> str:
    fields = {k: v for k, v in query.model_dump().items() if v not in (None, "", False) and k not in ("cursor", "sort")}
    fields["sort"] = key
    if query.sort == key and not query.descending:
        fields["descending"] = "1"
    return "/customers/results?" + urlencode(fields)


# How many pages back *Previous 20* can go: the cursors of the pages before travel in the
# link (the service's paging is forward-only); past them, *First page* is still there.
MAX_TRAIL = 20


def search_trail(request: Request) -> list[str]:
    """The cursors of the result pages before this one, oldest first ('before' in the link)."""
    return [c for c in request.query_params.getlist("before") if 0 < len(c) <= 500][-MAX_TRAIL:]


def page_link(query: SearchQuery, cursor: str, trail: Sequence[str] = ()) -> str:
    fields: list[tuple[str, Any]] = [
        (k, v) for k, v in query.model_dump().items() if v not in (None, "", False) and k != "cursor"
    ]
    if query.descending:
        fields = [(k, v) for k, v in fields if k != "descending"] + [("descending", "1")]
    if cursor:  # none: the first page
        fields.append(("cursor", cursor))
        fields += [("before", c) for c in trail[-MAX_TRAIL:]]
    return "/?" + urlencode(fields)


def next_link(query: SearchQuery, cursor: str, trail: Sequence[str] = ()) -> str:
    """The page after the one shown (reached through `trail`), which remembers the way back."""
    return page_link(query, cursor, [*trail, query.cursor] if query.cursor else [])


def previous_link(query: SearchQuery, trail: Sequence[str]) -> str:
    return page_link(query, trail[-1], trail[:-1]) if trail else page_link(query, "")


@router.get("/")
async def manager(request: Request, who: Staff) -> Response:
    call = services(request).call  # four independent reads, side by side (issue 22)
    (query, result, search_error), summary, waiting, scopes = await asyncio.gather(
        search(request, who),
        call(who, c.GetStateSummary, {}),
        call(who, c.SearchCustomers, {"state": "waiting_approval"}),
        call(who, c.ListScopes, {}),
    )
    return page(
        request,
        "manager.html",
        422 if search_error else 200,
        query=query,
        result=result,
        search_error=search_error,
        scopes=scopes,
        scope_now=query.scope_id if result is not None else who.preferences.get("scope_id", ""),
        summary=summary,
        waiting=waiting,
        states=STATES,
        flags=FLAGS,
        sort_link=sort_link,
        next_link=next_link,
        previous_link=previous_link,
        trail=search_trail(request),
    )


@router.get("/orders")
async def orders(request: Request, who: Staff, number: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The call "I am calling about order #1001": the order, its customer, how they were tied."""
    found = await services(request).call(who, o.FindOrders, {"number": number}) if number.strip() else None
    return page(request, "orders.html", number=number, found=found)


@router.get("/customers/results")
async def results(request: Request, who: Staff) -> Response:
    query, result, search_error = await search(request, who)
    return page(
        request,
        "results.html",
        422 if search_error else 200,
        query=query,
        result=result,
        search_error=search_error,
        sort_link=sort_link,
        next_link=next_link,
        previous_link=previous_link,
        trail=search_trail(request),
    )


# --- create, with search before create ----------------------------------------------------------


@router.get("/customers/lookup")
async def lookup(request: Request, who: Staff, email: Annotated[str, Query(max_length=320)] = "") -> Response:
    found = await services(request).call(who, c.FindAccountsByEmail, {"email": email}) if "@" in email else None
    return page(request, "lookup.html", found=found)


@router.get("/customers/new")
async def new_customer(request: Request, who: Annotated[StaffSession, Depends(allow("customer.create"))]) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    return page(request, "create.html", scopes=scopes, form={}, error=None)


@router.post("/customers/new")
async def create_customer(
    request: Request, who: Annotated[StaffSession, Depends(allow("customer.create"))]
) -> Response:
    form = await request.form()
    try:
        fields = read_form(CreateForm, form)
        payload: dict[str, Any] = {k: v.strip() for k, v in fields.model_dump(exclude={"active"}).items() if v.strip()}
        payload["active"] = fields.active
        created = await services(request).call(
            who, c.CreateCustomer, payload, audit="customer.create", target=fields.scope_id
        )
    except CommandFailed as exc:
        scopes = await services(request).call(who, c.ListScopes, {})
        return page(request, "create.html", exc.status, scopes=scopes, form=submitted(form), error=exc.error)
    return redirect(f"/customers/{created.code}", notice="created")


# --- the customer record ------------------------------------------------------------------------


#: What a tab shows that a screen's own module reads (console_account: the Account tab's groups).
TAB_EXTRAS: dict[str, Callable[[Request, StaffSession, Any, str | None], Awaitable[dict[str, Any]]]] = {}


async def tab_context(
    request: Request, who: StaffSession, customer: Any, tab: str, cursor: str | None = None
) -> dict[str, Any]:
    call = services(request).call
    code = customer.code
    if tab in TAB_EXTRAS:
        return await TAB_EXTRAS[tab](request, who, customer, cursor)
    if tab == "attributes":
        try:
            template = await call(who, c.GetAccountTemplate, {"scope_id": customer.scope_id})
        except CommandFailed:
            template = None
        return {"template": template}
    if tab == "organizations":
        return {
            "organizations": [
                (await call(who, r.GetOrganization, {"organization_code": org, "limit": 1})).organization
                for org in customer.organizations
            ]
        }
    if tab in HISTORY_TABS:
        query = {"customer_code": code, "kind": HISTORY_TABS[tab], **({"cursor": cursor} if cursor else {})}
        return {"history": await call(who, h.GetCustomerHistory, query), "cursor": cursor}
    page_of = {"customer_code": code, **({"cursor": cursor} if cursor else {})}
    if tab == "activities":
        found = await call(who, n.GetActivities, page_of, reply_type=n.ActivityPageReply)
        return {"activities": found, "paged": found, "cursor": cursor}
    if tab == "audit":
        found = await call(who, c.GetCustomerAudit, page_of)
        return {"audit": found, "paged": found, "cursor": cursor}
    if tab == "merges":
        return {"merges": await call(who, m.GetMergeJournal, {"customer_code": code})}
    return {}


async def record_page(
    request: Request, who: StaffSession, code: str, tab: str, status: int = 200, cursor: str | None = None, **extra: Any
) -> Response:
    tab = tab if tab in TABS else "account"
    customer = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    if customer.code != code.upper():  # a merged-away code answers its survivor
        return redirect(f"/customers/{customer.code}", tab=tab)
    if customer.kind == "organization":  # its own record: console_organizations
        return redirect(f"/organizations/{customer.code}")
    partial = bool(request.headers.get("HX-Request") and request.headers.get("HX-Target") == "tab-panel")

    async def email_templates() -> list[Any]:  # the full page's Send email form
        found = await services(request).call(who, n.ListTemplates, {}, reply_type=n.TemplateListReply)
        return [t for t in found if t.kind == "customer-message"]

    # What the page needs once the record is read, side by side (issue 22).
    _, shown, templates_for_email = await asyncio.gather(
        staff_store(request).remember_record(who, customer.code, f"{customer.first_name} {customer.last_name}"),
        tab_context(request, who, customer, tab, cursor),
        asyncio.sleep(0, []) if partial else email_templates(),
    )
    context = {"customer": customer, "tab": tab, **shown, **extra}
    if partial:
        return page(request, "tab.html", status, **context)
    return page(request, "record.html", status, email_templates=templates_for_email, **context)


@router.get("/customers/{code}")
async def record(
    request: Request,
    code: str,
    who: Staff,
    tab: Annotated[str, Query(max_length=50)] = "account",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    return await record_page(request, who, code, tab, cursor=cursor)


@router.get("/customers/{code}/tab/{tab}")
async def record_tab(
    request: Request, code: str, tab: str, who: Staff, cursor: Annotated[str | None, Query(max_length=1000)] = None
) -> Response:
    customer = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    context = {"customer": customer, "tab": tab, **await tab_context(request, who, customer, tab, cursor)}
    return page(request, "tab.html", **context)


@router.post("/customers/{code}/close")
async def close_record(request: Request, code: str, who: Staff) -> Response:
    await staff_store(request).forget_record(who, code.upper())
    remaining = who.open_records
    return redirect(f"/customers/{remaining[-1]['code']}" if remaining else "/")


EDITABLE = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "work_phone",
    "fax",
    "phone_extension",
    "preferred_language",
    "account_type",
    "flag",
    "notes",
)


@router.post("/customers/{code}/edit")
async def edit(
    request: Request, code: str, who: Annotated[StaffSession, Depends(allow("customer.update"))]
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("attr.")}
    values["attributes"] = {k[5:]: v for k, v in form.items() if k.startswith("attr.")}
    changes: dict[str, Any] = {}
    try:
        fields = read_form(EditForm, values, edit_field)
        before = await services(request).call(who, c.GetCustomer, {"customer_code": code})
        for name in EDITABLE:
            if name not in fields.model_fields_set:
                continue
            value = (getattr(fields, name) or "").strip() or None
            if name == "notes":  # a textarea posts CRLF: compared as the service keeps notes
                value = c.clean_notes(value)
            if value != getattr(before, name):
                changes[name] = value
        tags = [t.strip() for t in (fields.tags or "").split(",") if t.strip()]
        if fields.tags is not None and tags != before.tags:
            changes["tags"] = tags
        for name, value in fields.attributes.items():
            new = value.strip() or None
            if new != form_text(before.attributes.get(name)):
                changes.setdefault("attributes", {})[name] = new
        payload = {"customer_code": code, "expected_version": fields.version, "changes": changes}
        on_behalf = (
            who.on_behalf["session_id"] if who.on_behalf and who.on_behalf["customer_code"] == code.upper() else None
        )
        await services(request).call(
            who, c.UpdateCustomer, payload, audit="customer.update", target=code, on_behalf_session=on_behalf
        )
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise  # no record to show the form on
        tab = "attributes" if "attributes" in changes or values["attributes"] else "account"
        shown = submitted(form)
        if any(f.field == "version" for f in exc.error.fields):
            shown.pop("version", None)  # the form is shown again with the version read, not the bad one
        return await record_page(request, who, code, tab, exc.status, edit_error=exc.error, submitted=shown)
    return redirect(f"/customers/{code}", tab="attributes" if "attributes" in changes else "account", notice="saved")


@router.post("/customers/{code}/reset-password")
async def reset_password(
    request: Request, code: str, who: Annotated[StaffSession, Depends(allow("customer.reset_password"))]
) -> Response:
    await services(request).call(
        who, c.RequestPasswordReset, {"customer_code": code}, audit="customer.reset_password", target=code
    )
    return redirect(f"/customers/{code}", notice="reset")


#: State changes a staff member must give a reason for (shown on the record afterwards).
REASONED_STATE_ACTIONS = frozenset({"disable", "deactivate", "reject"})


@router.post("/customers/{code}/state")
async def change_state(
    request: Request,
    code: str,
    who: Staff,
    action: Annotated[c.StateAction, Form()],
    version: Annotated[int | None, Form(ge=1, le=MAX_VERSION)] = None,
    reason: Annotated[str, Form(max_length=500)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    if action in REASONED_STATE_ACTIONS and not reason.strip():
        # The contract leaves the reason optional (the sign-in policy, imports); a person
        # taking an account away or refusing one says why, and the record shows it.
        raise CommandFailed(
            Error(
                code="validation",
                message=f"Say why you {action} this account.",
                fields=[FieldError(field="reason", reason=f"a reason to {action} is required")],
            )
        )
    right = rights.STATE_ACTION_RIGHTS[action]
    if version is None or action == "enable":
        current = await services(request).call(who, c.GetCustomer, {"customer_code": code})
        right = rights.state_action_right(action, current.state, current.state_reason)
        version = version or current.version  # from a list (waiting approval): the record as it is now
    require_right(who, right)
    payload = {
        "customer_code": code,
        "expected_version": version,
        "action": action,
        **({"reason": reason} if reason else {}),
    }
    await services(request).call(who, c.ChangeCustomerState, payload, audit=right, target=code)
    return redirect(back if back == "/" else f"/customers/{code}", notice="state")


@router.post("/customers/{code}/on-behalf")
async def start_on_behalf(
    request: Request,
    code: str,
    who: Annotated[StaffSession, Depends(allow("customer.on_behalf"))],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    session = await services(request).call(
        who,
        c.StartOnBehalfSession,
        {"customer_code": code, "reason": reason},
        audit="customer.on_behalf.start",
        target=code,
    )
    customer = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    await staff_store(request).set_on_behalf(
        who,
        {
            "session_id": session.session_id,
            "customer_code": session.customer_code,
            "name": f"{customer.first_name} {customer.last_name}",
            "reason": session.reason,
            "expires_at": session.expires_at.isoformat(),
        },
    )
    return redirect(f"/customers/{code}", notice="on_behalf")


@router.post("/on-behalf/end")
async def end_on_behalf(
    request: Request, who: Annotated[StaffSession, Depends(allow("customer.on_behalf"))]
) -> Response:
    current = who.on_behalf
    if current:
        try:
            await services(request).call(
                who,
                c.EndOnBehalfSession,
                {"session_id": current["session_id"]},
                audit="customer.on_behalf.end",
                target=current["customer_code"],
            )
        finally:
            await staff_store(request).set_on_behalf(who, None)
        return redirect(f"/customers/{current['customer_code']}", notice="on_behalf_ended")
    return redirect("/")


@router.post("/customers/{code}/email")
async def send_email(
    request: Request,
    code: str,
    who: Annotated[StaffSession, Depends(allow("customer.send_email"))],
    template: Annotated[str, Form(max_length=100)] = "customer-message",
    subject: Annotated[str, Form(max_length=1000)] = "",
    message: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    payload = {
        "recipient": await recipient(request, who, code),
        "template": template,
        "variables": {k: v for k, v in {"subject": subject, "message": message}.items() if v},
    }
    await services(request).call(
        who, n.SendTemplateEmail, payload, reply_type=n.EmailQueuedReply, audit="customer.send_email", target=code
    )
    return redirect(f"/customers/{code}", tab="activities", notice="email")


@router.post("/customers/{code}/emails/{activity_id}/resend")
async def resend_email(
    request: Request,
    code: str,
    activity_id: str,
    who: Annotated[StaffSession, Depends(allow("customer.send_email"))],
) -> Response:
    """The call "please send me the shipping email again", in one click on the email."""
    await services(request).call(
        who,
        n.ResendEmail,
        {"customer_code": code, "activity_id": activity_id},
        reply_type=n.EmailQueuedReply,
        audit="customer.send_email",
        target=code,
    )
    return redirect(f"/customers/{code}", tab="activities", notice="email")


# --- merge and undo ---------------------------------------------------------------------------------


def what_moves(survivor: Any, merged: Any) -> list[tuple[str, str]]:
    """A preview for the CSR, read from both records; the service decides in one transaction."""
    moves = []
    mine = {(a.line1.lower(), a.city.lower(), (a.postal_code or "").replace(" ", "")) for a in survivor.addresses}
    for a in merged.addresses:
        key = (a.line1.lower(), a.city.lower(), (a.postal_code or "").replace(" ", ""))
        moves.append(
            ("address", f"{a.line1}, {a.postal_code or ''} {a.city}" + (" (already there)" if key in mine else ""))
        )
    own_tags = {t.lower() for t in survivor.tags}
    moves += [("tag", t) for t in merged.tags if t.lower() not in own_tags]
    moves += [("attribute", f"{k} = {v}") for k, v in merged.attributes.items() if k not in survivor.attributes]
    for name in ("phone", "work_phone", "fax"):
        if getattr(merged, name) and not getattr(survivor, name):
            moves.append((name, getattr(merged, name)))
    moves += [("organization", org) for org in merged.organizations if org not in survivor.organizations]
    if merged.order_count:
        moves.append(("orders", f"{merged.order_count} order(s), with carts, payments and activities"))
    return moves


@router.get("/customers/{code}/merge")
async def merge_preview(
    request: Request,
    code: str,
    who: Annotated[StaffSession, Depends(allow("customer.merge"))],
    other: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    survivor = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    merged = await services(request).call(who, c.GetCustomer, {"customer_code": other.strip()})
    if merged.code == survivor.code:
        raise CommandFailed(Error(code="validation", message="a customer cannot be merged into itself"))
    return page(request, "merge.html", survivor=survivor, merged=merged, moves=what_moves(survivor, merged))


@router.post("/customers/{code}/merge")
async def merge(
    request: Request,
    code: str,
    who: Annotated[StaffSession, Depends(allow("customer.merge"))],
    merged_code: Annotated[str, Form(max_length=20)],
    survivor_version: Annotated[int, Form(ge=1, le=MAX_VERSION)],
    merged_version: Annotated[int, Form(ge=1, le=MAX_VERSION)],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    payload = {
        "survivor_code": code,
        "survivor_version": survivor_version,
        "merged_code": merged_code,
        "merged_version": merged_version,
        "reason": reason,
    }
    await services(request).call(
        who, m.MergeCustomers, payload, audit="customer.merge", target=f"{merged_code}->{code}"
    )
    await staff_store(request).forget_record(who, merged_code.upper())
    return redirect(f"/customers/{code}", tab="merges", notice="merged")


@router.post("/merges/{merge_id}/undo")
async def unmerge(
    request: Request,
    merge_id: str,
    who: Annotated[StaffSession, Depends(allow("customer.unmerge"))],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    outcome = await services(request).call(
        who,
        m.UnmergeCustomers,
        {"merge_id": merge_id, **({"reason": reason} if reason else {})},
        audit="customer.unmerge",
        target=merge_id,
    )
    return redirect(f"/customers/{outcome.survivor.code}", tab="merges", notice="unmerged")


# --- the order review queue -----------------------------------------------------------------------


@router.get("/reviews")
async def reviews(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("review.read"))],
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    found = await services(request).call(
        who, o.ListReviews, {"status": "open", **({"cursor": cursor} if cursor else {})}
    )
    return page(request, "reviews.html", reviews=found)


@router.post("/reviews/{review_id}/resolve")
async def resolve(
    request: Request,
    review_id: str,
    who: Annotated[StaffSession, Depends(allow("review.resolve"))],
    action: Annotated[Literal["link", "create"], Form()],
    customer_code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    payload = {"review_id": review_id, "action": action, **({"customer_code": customer_code} if customer_code else {})}
    await services(request).call(who, o.ResolveReview, payload, audit="review.resolve", target=review_id)
    return redirect("/reviews", notice="resolved")


# --- administrators: templates, account templates, dead letters ---------------------------------


@router.get("/admin/templates")
async def admin_templates(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("template.manage"))],
    name: Annotated[str, Query(max_length=100)] = "",
    scope_id: Annotated[str, Query(max_length=50)] = "",
    language: Annotated[str, Query(max_length=20)] = "en",
) -> Response:
    listed = await services(request).call(who, n.ListTemplates, {}, reply_type=n.TemplateListReply)
    current = None
    if name:
        current = await services(request).call(
            who,
            n.GetTemplate,
            {"name": name, "language": language, **({"scope_id": scope_id} if scope_id else {})},
            reply_type=n.TemplateReply,
        )
    return page(request, "templates.html", templates=listed, current=current, form=None, preview=None, error=None)


@router.post("/admin/templates")
async def save_template(request: Request, who: Annotated[StaffSession, Depends(allow("template.manage"))]) -> Response:
    posted = await request.form()
    form = submitted(posted)
    listed = await services(request).call(who, n.ListTemplates, {}, reply_type=n.TemplateListReply)
    preview = error = None
    try:
        fields = read_form(TemplateForm, posted)
        draft = {k: v for k, v in fields.model_dump(exclude={"variables", "intent"}).items() if v.strip()}
        variables = {}
        for line in fields.variables.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                variables[key.strip()] = value.strip()
        if fields.intent == "preview":
            preview = await services(request).call(
                who,
                n.PreviewTemplate,
                {k: v for k, v in {**draft, "variables": variables}.items() if k != "description"},
                reply_type=n.RenderedEmailReply,
            )
        else:
            await services(request).call(
                who,
                n.SetTemplate,
                {**draft, "variables": variables},
                reply_type=n.TemplateReply,
                audit="template.manage",
                target=f"{draft.get('name')}/{draft.get('scope_id', '*')}/{draft.get('language')}",
            )
            return redirect(
                "/admin/templates",
                name=draft.get("name"),
                scope_id=draft.get("scope_id"),
                language=draft.get("language"),
                notice="template",
            )
    except CommandFailed as exc:
        error = exc.error
    return page(
        request,
        "templates.html",
        422 if error else 200,
        templates=listed,
        current=None,
        form=form,
        preview=preview,
        error=error,
    )


@router.get("/admin/account-template")
async def account_template(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("account_template.manage"))],
    scope_id: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    scope_id = scope_id or (scopes[0].scope_id if scopes else "")
    template = await services(request).call(who, c.GetAccountTemplate, {"scope_id": scope_id}) if scope_id else None
    return page(request, "account_template.html", scopes=scopes, scope_id=scope_id, template=template, error=None)


@router.post("/admin/account-template")
async def save_account_template(
    request: Request, who: Annotated[StaffSession, Depends(allow("account_template.manage"))]
) -> Response:
    form = await request.form()
    scope_id = form.get("scope_id") if isinstance(form.get("scope_id"), str) else ""
    try:
        head = read_form(AccountTemplateForm, form)
        scope_id = head.scope_id
        fields = []
        for i in range(head.rows):
            row = read_form(
                AccountTemplateRow,
                {k: form[f"{k}_{i}"] for k in AccountTemplateRow.model_fields if f"{k}_{i}" in form},
                _row_field_name(i),
            )
            if not row.name.strip() or row.remove:
                continue
            field: dict[str, Any] = {"name": row.name.strip(), "type": row.type, "required": row.required}
            if label := row.label.strip():
                field["label"] = label
            if allowed_values := [v.strip() for v in row.allowed.split(",") if v.strip()]:
                field["allowed_values"] = allowed_values
            fields.append(field)
        await services(request).call(
            who,
            c.SetAccountTemplate,
            {"scope_id": scope_id, "fields": fields},
            audit="account_template.manage",
            target=scope_id,
        )
    except CommandFailed as exc:
        scopes = await services(request).call(who, c.ListScopes, {})
        try:
            template = await services(request).call(who, c.GetAccountTemplate, {"scope_id": scope_id})
        except CommandFailed:
            template = None  # no such scope: the error says so
        return page(
            request,
            "account_template.html",
            exc.status,
            scopes=scopes,
            scope_id=scope_id,
            template=template,
            error=exc.error,
        )
    return redirect("/admin/account-template", scope_id=scope_id, notice="account_template")


@router.get("/admin/dead-letters")
async def dead_letters(
    request: Request,
    who: Annotated[StaffSession, Depends(allow("dead_letter.read"))],
    service: Annotated[str, Query(max_length=50)] = "customer",
) -> Response:
    service = service if service in SERVICES else "customer"
    letters = await dead_letter_store(request).list(service)
    return page(request, "dead_letters.html", services=SERVICES, service=service, letters=letters, letter=None)


@router.get("/admin/dead-letters/{service}/{message_id}")
async def dead_letter(
    request: Request, service: str, message_id: str, who: Annotated[StaffSession, Depends(allow("dead_letter.read"))]
) -> Response:
    if service not in SERVICES:
        raise CommandFailed(Error(code="not_found", message=f"no service {service!r}"))
    letter = await dead_letter_store(request).show(service, message_id)
    return page(request, "dead_letters.html", services=SERVICES, service=service, letters=None, letter=letter)


@router.post("/admin/dead-letters/{service}/{message_id}/replay")
async def replay(
    request: Request, service: str, message_id: str, who: Annotated[StaffSession, Depends(allow("dead_letter.replay"))]
) -> Response:
    if service not in SERVICES:
        raise CommandFailed(Error(code="not_found", message=f"no service {service!r}"))
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
    return redirect("/admin/dead-letters", service=service, notice="replayed")
