"""One order on the record (C7, N5, I5): its status, store and total, its shipments with
their tracking, its invoices and payments, and the emails about it (each with Send again),
reached from the Orders tab.

The customer service keeps the order, its invoices and payments in the customer's history;
the notification service keeps the emails by order. Reading needs ``customer.read``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from contracts.customer import history as h
from contracts.customer import records as c
from contracts.notification import emails as n
from contracts.order_sync import linking as o
from contracts.replies import Error

from .bridge import CommandFailed
from .console import Staff, page
from .state import services

router = APIRouter(include_in_schema=False)
#: Pages of an order's invoices or payments read at most (20 each).
MAX_PAGES = 5


async def entries(
    request: Request, who: Any, code: str, kind: str, order: dict[str, str], *, pages: int = MAX_PAGES
) -> list[Any]:
    """The order's entries of one kind, asked of the customer service by the order itself
    (not found by reading the customer's history page by page: an order of a customer with
    a long history was "not found" past the last 100 entries)."""
    found: list[Any] = []
    cursor = None
    for _ in range(pages):
        query = {"customer_code": code, "kind": kind, "order": order, **({"cursor": cursor} if cursor else {})}
        history = await services(request).call(who, h.GetCustomerHistory, query)
        found += history.items
        cursor = history.next_cursor
        if not cursor:
            break
    return found


@router.get("/customers/{code}/order")
async def order_detail(
    request: Request,
    code: str,
    who: Staff,
    source_system: Annotated[str, Query(min_length=1, max_length=200)],
    order_number: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    customer = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    order = {"source_system": source_system, "order_number": order_number}
    orders = await entries(request, who, customer.code, "order", order, pages=1)  # one entry per order
    if not orders:
        raise CommandFailed(
            Error(code="not_found", message=f"{customer.code} has no order {order_number} from {source_system}")
        )
    # Side by side: each is a few request/reply round trips of its own (issue 22: one after
    # another they made this the slowest console page at 1M customers).
    invoices, payments, emails, link = await asyncio.gather(
        entries(request, who, customer.code, "invoice", order),
        entries(request, who, customer.code, "payment", order),
        services(request).call(
            who,
            n.GetActivities,
            {"order": {"source_system": source_system, "order_number": order_number}},
            reply_type=n.ActivityPageReply,
        ),
        _link(request, who, order),
    )
    return page(
        request,
        "order.html",
        customer=customer,
        order=orders[0],
        invoices=invoices,
        payments=payments,
        emails=[a for a in emails.items if a.customer_code == customer.code],
        # How order-sync tied it to this customer (none when it was merged in from another).
        link=link if link is not None and link.customer_code == customer.code else None,
    )


async def _link(request: Request, who: Staff, order: dict[str, str]) -> Any:
    """The order's link (rule, evidence, notes), or None where order-sync has no such order
    (an order the history holds from before order-sync kept it)."""
    try:
        return await services(request).call(who, o.GetOrderLink, order)
    except CommandFailed as failed:
        if failed.error.code == "not_found":
            return None
        raise
