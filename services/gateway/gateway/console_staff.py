"""The administrators' staff screens (I4, I5): staff accounts (create, change the role,
disable and enable, reset the password, lift a sign-in lock) and the staff audit (who did
what, filtered by staff member and action, in pages).

Everything needs ``staff.manage``; every change is audited as ``staff.<what>`` with its
outcome, refusals included. An administrator cannot disable or demote themselves, so that
the last one cannot lock everybody out by mistake. A reset password is random, shown once
on the page that answers the reset (never in a URL, never stored but as its hash), and ends
the account's sessions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from contracts.replies import Error, FieldError

from . import rights
from .auth import allow
from .console import NOTICES, page, redirect
from .staff import SignInLimits, StaffError, StaffSession
from .state import gateway_settings, staff_store

router = APIRouter(include_in_schema=False)
Admin = Annotated[StaffSession, Depends(allow("staff.manage"))]
Username = Annotated[str, Form(min_length=1, max_length=100)]
NOTICES.update(
    {
        "staff_created": "Staff account created.",
        "staff_role": "Role changed; their open sessions have it now.",
        "staff_disabled": "Staff account disabled; its sessions ended.",
        "staff_enabled": "Staff account enabled.",
        "staff_unlocked": "Sign-in lock lifted.",
    }
)
AUDIT_PAGE = 50


async def accounts_page(
    request: Request,
    who: StaffSession,
    status: int = 200,
    error: Error | None = None,
    form: dict[str, str] | None = None,
    reset: dict[str, str] | None = None,
) -> Response:
    limits = SignInLimits.from_settings(gateway_settings(request))
    accounts = await staff_store(request).accounts(limits)
    return page(
        request, "staff.html", status, accounts=accounts, roles=rights.ROLES, error=error, form=form or {}, reset=reset
    )


async def refuse(request: Request, who: StaffSession, action: str, target: str, error: Error, status: int) -> Response:
    await staff_store(request).audit(who.username, who.role, action, target, error.code, error.message)
    return await accounts_page(request, who, status, error=error)


def not_yourself(who: StaffSession, username: str, what: str) -> Error | None:
    if username.strip().lower() == who.username:
        return Error(code="validation", message=f"you cannot {what} your own account; ask another administrator")
    return None


def no_such(username: str) -> Error:
    return Error(code="not_found", message=f"no staff account {username!r}")


@router.get("/admin/staff")
async def staff_accounts(request: Request, who: Admin) -> Response:
    return await accounts_page(request, who)


@router.post("/admin/staff")
async def create_staff(
    request: Request,
    who: Admin,
    username: Username,
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=200)],
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        created = await staff_store(request).create(username, name, role, password)
    except StaffError as exc:
        error = Error(code="validation", message=str(exc), fields=[FieldError(field=exc.field, reason=exc.reason)])
        await staff_store(request).audit(who.username, who.role, "staff.create", username[:100], "validation", str(exc))
        return await accounts_page(
            request, who, 422, error=error, form={"username": username, "name": name, "role": role}
        )
    await staff_store(request).audit(who.username, who.role, "staff.create", created["_id"], "ok", f"role {role}")
    return redirect("/admin/staff", notice="staff_created")


@router.post("/admin/staff/{username}/role")
async def change_role(
    request: Request, username: str, who: Admin, role: Annotated[str, Form(max_length=20)]
) -> Response:
    if role != who.role and (refused := not_yourself(who, username, "change the role of")):
        return await refuse(request, who, "staff.role", username, refused, 422)
    try:
        found = await staff_store(request).set_role(username, role)
    except StaffError as exc:
        return await refuse(request, who, "staff.role", username, Error(code="validation", message=str(exc)), 422)
    if not found:
        return await refuse(request, who, "staff.role", username, no_such(username), 404)
    await staff_store(request).audit(who.username, who.role, "staff.role", username.lower(), "ok", f"role {role}")
    return redirect("/admin/staff", notice="staff_role")


@router.post("/admin/staff/{username}/disable")
async def disable_staff(request: Request, username: str, who: Admin) -> Response:
    if refused := not_yourself(who, username, "disable"):
        return await refuse(request, who, "staff.disable", username, refused, 422)
    if not await staff_store(request).set_disabled(username, True):
        return await refuse(request, who, "staff.disable", username, no_such(username), 404)
    await staff_store(request).audit(who.username, who.role, "staff.disable", username.lower(), "ok")
    return redirect("/admin/staff", notice="staff_disabled")


@router.post("/admin/staff/{username}/enable")
async def enable_staff(request: Request, username: str, who: Admin) -> Response:
    if not await staff_store(request).set_disabled(username, False):
        return await refuse(request, who, "staff.enable", username, no_such(username), 404)
    await staff_store(request).audit(who.username, who.role, "staff.enable", username.lower(), "ok")
    return redirect("/admin/staff", notice="staff_enabled")


@router.post("/admin/staff/{username}/reset-password")
async def reset_staff_password(request: Request, username: str, who: Admin) -> Response:
    password = await staff_store(request).reset_password(username)
    if password is None:
        return await refuse(request, who, "staff.reset_password", username, no_such(username), 404)
    await staff_store(request).audit(who.username, who.role, "staff.reset_password", username.lower(), "ok")
    # Shown on this answer only: not a redirect, so that it never sits in a URL or a history.
    response = await accounts_page(request, who, reset={"username": username.lower(), "password": password})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/staff/{username}/unlock")
async def unlock_staff(request: Request, username: str, who: Admin) -> Response:
    if not await staff_store(request).unlock(username):
        return await refuse(request, who, "staff.unlock", username, no_such(username), 404)
    await staff_store(request).audit(who.username, who.role, "staff.unlock", username.lower(), "ok")
    return redirect("/admin/staff", notice="staff_unlocked")


@router.get("/admin/staff-audit")
async def staff_audit(
    request: Request,
    who: Admin,
    username: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    before: Annotated[str, Query(max_length=24)] = "",
) -> Response:
    """Who did what: sign-ins (failures included), every change and every refusal."""
    entries, next_before = await staff_store(request).audit_page(
        username=username or None, action=action or None, before=before or None, limit=AUDIT_PAGE
    )
    limits = SignInLimits.from_settings(gateway_settings(request))
    members = [a["_id"] for a in await staff_store(request).accounts(limits)]
    filters: dict[str, Any] = {"username": username, "action": action}
    return page(
        request,
        "staff_audit.html",
        entries=entries,
        next_before=next_before,
        before=before,
        filters=filters,
        members=members,
        actions=await staff_store(request).audited_actions(),
    )
