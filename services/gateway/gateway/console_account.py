"""The Account tab's review flag, tags, notes and groups (C9, C19, I5).

The review flag (a colour or "CHK"), the tags and the staff's notes are fields of the
account form, saved with it (``console.edit``, audited ``customer.update``); this module
offers the flag's choices and the notes' length. Groups: the groups and
segments a customer is in, adding them to a static group of their scope and taking them out
of one. A segment's members are whom its rules match, so a segment is shown, never joined or
left by hand. Both need ``customer.update`` and are audited (``customer.group.add``,
``customer.group.remove``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from contracts.customer import records as c
from contracts.customer import relations as r

from .auth import allow
from .bridge import CommandFailed
from .console import FLAGS, NOTICES, TAB_EXTRAS, record_page, redirect, templates
from .staff import StaffSession
from .state import services

router = APIRouter(include_in_schema=False)
Updater = Annotated[StaffSession, Depends(allow("customer.update"))]
NOTICES.update({"group_added": "Added to the group.", "group_removed": "Removed from the group."})
templates.env.globals["review_flags"] = FLAGS
templates.env.globals["max_notes"] = c.MAX_NOTES


async def account_context(request: Request, who: StaffSession, customer: Any, cursor: str | None) -> dict[str, Any]:
    """The scope's groups, for the Account tab's groups section."""
    groups = await services(request).call(who, r.ListGroups, {"scope_id": customer.scope_id})
    return {"scope_groups": {g.group_id: g for g in groups}}


TAB_EXTRAS["account"] = account_context


async def change_membership(
    request: Request, who: StaffSession, code: str, group_id: str, command: type[Any], what: str
) -> Response:
    payload = {"group_id": group_id, "customer_codes": [code]}
    try:
        await services(request).call(who, command, payload, audit=f"customer.group.{what}", target=code)
    except CommandFailed as exc:
        return await record_page(request, who, code, "account", exc.status, group_error=exc.error)
    return redirect(f"/customers/{code}", notice="group_added" if what == "add" else "group_removed")


@router.post("/customers/{code}/groups")
async def add_to_group(
    request: Request, code: str, who: Updater, group_id: Annotated[str, Form(min_length=1, max_length=60)]
) -> Response:
    return await change_membership(request, who, code, group_id, r.AddGroupMembers, "add")


@router.post("/customers/{code}/groups/{group_id}/remove")
async def remove_from_group(request: Request, code: str, group_id: str, who: Updater) -> Response:
    return await change_membership(request, who, code, group_id, r.RemoveGroupMembers, "remove")
