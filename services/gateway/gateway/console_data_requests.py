"""Data requests from platforms (C18, I5): the work list of the roles allowed to export
(``customer.export``: supervisors and administrators).

A platform's request for a data subject's data (Shopify's ``customers/data_request``) stays
open here until someone has exported each customer it names (the record's export, with the
request as its reason), handed the export to the shop and marked it completed: that asks
first, and records the staff member in the request, the customers' audit trail and the staff
audit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from contracts.customer import privacy as p

from .auth import allow
from .bridge import CommandFailed
from .console import page, redirect
from .staff import StaffSession
from .state import services

router = APIRouter(include_in_schema=False)
Exporter = Annotated[StaffSession, Depends(allow("customer.export"))]
PATH = "/data-requests"
#: Shopify wants the data within 30 days of the request; shown as each open request's due date.
ANSWER_WITHIN = timedelta(days=30)


async def _list_page(
    request: Request, who: StaffSession, state: str, status: int = 200, error: object = None, completed: str = ""
) -> Response:
    items = await services(request).call(who, p.ListDataRequests, {"state": state, "limit": 200})
    due = {r.request_key: r.received_at + ANSWER_WITHIN for r in items}
    return page(
        request, "data_requests.html", status, items=items, due=due, state=state, error=error, completed=completed
    )


@router.get(PATH)
async def data_requests(
    request: Request,
    who: Exporter,
    state: Annotated[Literal["open", "completed"], Query()] = "open",
    completed: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return await _list_page(request, who, state, completed=completed)


@router.post(f"{PATH}/complete")
async def complete(
    request: Request,
    who: Exporter,
    request_key: Annotated[str, Form(min_length=1, max_length=200)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        done = await services(request).call(
            who,
            p.CompleteDataRequest,
            {"request_key": request_key, "note": note or None},
            audit="customer.data_request.complete",
            target=request_key,
        )
    except CommandFailed as exc:
        return await _list_page(request, who, "open", exc.status, exc.error)
    return redirect(PATH, completed=done.request_key)
