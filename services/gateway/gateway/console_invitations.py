"""'Set empty passwords' (C14, I5), for administrators: invite every registered customer who
has no password and was never invited to set one, a batch at a time, with the progress so
far; each batch resumes after the last code the previous one reached, so a run stopped half
way goes on where it was. Needs ``customer.invite_without_password``; each batch is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from contracts.customer import records as c

from .auth import allow
from .bridge import CommandFailed
from .console import page
from .staff import StaffSession
from .state import services

router = APIRouter(include_in_schema=False)
Admin = Annotated[StaffSession, Depends(allow("customer.invite_without_password"))]


@router.get("/admin/set-empty-passwords")
async def invitations(request: Request, who: Admin) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    return page(request, "set_empty_passwords.html", scopes=scopes, run=None, error=None)


@router.post("/admin/set-empty-passwords")
async def invite_batch(
    request: Request,
    who: Admin,
    scope_id: Annotated[str, Form(max_length=50)] = "",
    batch_size: Annotated[int, Form(ge=1, le=5000)] = 500,
    after_code: Annotated[str, Form(max_length=20)] = "",
    invited_so_far: Annotated[int, Form(ge=0, le=2**62)] = 0,
    batches_so_far: Annotated[int, Form(ge=0, le=2**62)] = 0,
) -> Response:
    """One batch; the page answers the progress and, until done, a button for the next one."""
    scopes = await services(request).call(who, c.ListScopes, {})
    payload = {
        "batch_size": batch_size,
        **({"scope_id": scope_id} if scope_id else {}),
        **({"after_code": after_code} if after_code else {}),
    }
    try:
        progress = await services(request).call(
            who,
            c.InviteCustomersWithoutPassword,
            payload,
            audit="customer.invite_without_password",
            target=scope_id or "*",
        )
    except CommandFailed as exc:
        return page(request, "set_empty_passwords.html", exc.status, scopes=scopes, run=None, error=exc.error)
    run = {
        "scope_id": scope_id,
        "batch_size": batch_size,
        "invited": invited_so_far + progress.invited,
        "batches": batches_so_far + 1,
        "last_code": progress.last_code or "",
        "done": progress.done,
    }
    return page(request, "set_empty_passwords.html", scopes=scopes, run=run, error=None)
