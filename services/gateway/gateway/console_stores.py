"""Stores and saved payments on the record (C6, C7, I5): the customer's preferred store,
chosen among the stores they used (or any store's id), and deleting a saved payment method
with the reason, which the customer service keeps in its audit and announces to the payment
provider.

Both need ``customer.update`` and are audited (``customer.preferred_store``,
``customer.payment_method.delete``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from contracts.customer import history as h

from .auth import allow
from .bridge import CommandFailed
from .console import NOTICES, record_page, redirect
from .staff import StaffSession
from .state import services

router = APIRouter(include_in_schema=False)
Updater = Annotated[StaffSession, Depends(allow("customer.update"))]
StoreId = Annotated[str, Form(max_length=200)]
NOTICES.update(
    {
        "preferred_store": "Preferred store saved.",
        "payment_deleted": "The saved payment method was deleted.",
    }
)


@router.post("/customers/{code}/preferred-store")
async def set_preferred_store(
    request: Request,
    code: str,
    who: Updater,
    version: Annotated[int, Form(ge=1, le=2**63 - 1)],
    store_id: StoreId = "",
    other_store_id: StoreId = "",
) -> Response:
    """The store chosen in the list, or the one typed beside it; none clears the preference."""
    chosen = other_store_id.strip() or store_id.strip() or None
    payload = {"customer_code": code, "expected_version": version, "store_id": chosen}
    try:
        await services(request).call(who, h.SetPreferredStore, payload, audit="customer.preferred_store", target=code)
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise
        return await record_page(
            request, who, code, "stores", exc.status, store_error=exc.error, store_typed=other_store_id
        )
    return redirect(f"/customers/{code}", tab="stores", notice="preferred_store")


@router.post("/customers/{code}/payment-methods/delete")
async def delete_payment_method(
    request: Request,
    code: str,
    who: Updater,
    source_system: Annotated[str, Form(min_length=1, max_length=200)],
    token: Annotated[str, Form(min_length=1, max_length=200)],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    payload = {"customer_code": code, "source_system": source_system, "token": token, "reason": reason.strip()}
    try:
        await services(request).call(
            who, h.DeletePaymentMethod, payload, audit="customer.payment_method.delete", target=code
        )
    except CommandFailed as exc:
        return await record_page(request, who, code, "payments", exc.status, payment_error=exc.error)
    return redirect(f"/customers/{code}", tab="payments", notice="payment_deleted")
