"""Export and erase from the record (C18, I5), for the roles allowed (supervisors and
administrators: ``customer.export``, ``customer.erase``).

Export asks the customer service, which gathers every service's part, and answers the one
document as a JSON download. Erase is irreversible: it takes a reason, asks first, and wants
the customer code typed again; it answers a receipt page listing what each service erased.
Both are audited with their outcome.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from contracts.customer import privacy as p
from contracts.replies import Error, FieldError

from .auth import allow
from .bridge import CommandFailed
from .console import page, record_page
from .staff import StaffSession
from .state import services, staff_store

router = APIRouter(include_in_schema=False)
Reason = Annotated[str, Form(min_length=1, max_length=500)]


@router.post("/customers/{code}/export")
async def export(
    request: Request, code: str, who: Annotated[StaffSession, Depends(allow("customer.export"))], reason: Reason
) -> Response:
    document = await services(request).call(
        who, p.ExportCustomerData, {"customer_code": code, "reason": reason}, audit="customer.export", target=code
    )
    return Response(
        document.model_dump_json(indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="customer-{document.customer_code}-export.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/customers/{code}/erase")
async def erase(
    request: Request,
    code: str,
    who: Annotated[StaffSession, Depends(allow("customer.erase"))],
    reason: Reason,
    confirm_code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if confirm_code.strip().upper() != code.upper():
        error = Error(
            code="validation",
            message="type the customer code again to erase",
            fields=[FieldError(field="confirm_code", reason=f"type {code.upper()} to confirm")],
        )
        await staff_store(request).audit(who.username, who.role, "customer.erase", code, "validation", error.message)
        return await record_page(request, who, code, "account", 422, privacy_error=error)
    try:
        receipt = await services(request).call(
            who, p.EraseCustomerData, {"customer_code": code, "reason": reason}, audit="customer.erase", target=code
        )
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise
        return await record_page(request, who, code, "account", exc.status, privacy_error=exc.error)
    return page(request, "erasure_receipt.html", receipt=receipt)
