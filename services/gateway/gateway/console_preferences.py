"""A staff member's own preferences (I5): the time zone every console time is shown in, and
the scope the Customer Manager searches first (phones typed nationally read as its
country's). Kept on the staff account (``StaffStore.set_preferences``), so every session and
every later sign-in has them; audited ``staff.preferences``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from contracts.customer import records as c
from contracts.replies import Error, FieldError

from .auth import signed_in
from .console import NOTICES, page, redirect
from .local_time import known_zone
from .staff import StaffSession
from .state import services, staff_store

router = APIRouter(include_in_schema=False)
Me = Annotated[StaffSession, Depends(signed_in)]
NOTICES["preferences"] = "Your preferences are saved."


@router.get("/preferences")
async def preferences(request: Request, who: Me) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    return page(request, "preferences.html", scopes=scopes, error=None, now=datetime.now(UTC))


@router.post("/preferences")
async def save_preferences(
    request: Request,
    who: Me,
    time_zone: Annotated[str, Form(max_length=100)] = "UTC",
    scope_id: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    bad = []
    if known_zone(time_zone) != time_zone:
        bad.append(FieldError(field="time_zone", reason=f"not a time zone: {time_zone[:100]!r}"))
    if scope_id and scope_id not in {s.scope_id for s in scopes}:
        bad.append(FieldError(field="scope_id", reason=f"no scope {scope_id[:50]!r}"))
    if bad:
        error = Error(code="validation", message="the preferences have invalid fields", fields=bad)
        await staff_store(request).audit(who.username, who.role, "staff.preferences", who.username, "validation")
        return page(request, "preferences.html", 422, scopes=scopes, error=error, now=datetime.now(UTC))
    who.preferences = {**who.preferences, "time_zone": time_zone, "scope_id": scope_id}
    await staff_store(request).set_preferences(who.username, who.preferences)
    await staff_store(request).audit(
        who.username,
        who.role,
        "staff.preferences",
        who.username,
        "ok",
        f"time zone {time_zone}, scope {scope_id or 'any'}",
    )
    return redirect("/preferences", notice="preferences")
