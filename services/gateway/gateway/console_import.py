"""Bulk import from the console (C17, I5), for administrators: the seeds' "create customers
through the Job system". A CSV or JSONL file, read as ``omsctl customer import`` reads one
(``plumbing.import_files``: the same columns, the same idempotency key per row, so importing a
file twice changes nothing), sent to the customer service's ``ImportCustomers`` a batch at a
time; the answer counts what was created, found unchanged and refused, each refused row with
its line and reason. Needs ``customer.import``; audited with the counts.

The gateway's body limit (``OMS_GATEWAY_MAX_BODY_BYTES``, 1 MiB) bounds a file: larger
imports are the command line's (``omsctl customer import``, batches in parallel).
"""

from __future__ import annotations

import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from contracts.customer import records as c
from contracts.replies import Error
from plumbing.import_files import Row, rows_from_lines

from .auth import allow
from .bridge import CommandFailed
from .console import page
from .staff import StaffSession
from .state import services, staff_store

router = APIRouter(include_in_schema=False)
Importer = Annotated[StaffSession, Depends(allow("customer.import"))]
#: Rows a request to the customer service carries: well inside its reply timeout.
BATCH = 100
#: Refused rows listed on the answer (all are counted).
SHOWN = 200


async def import_rows(request: Request, who: StaffSession, rows: list[Row]) -> dict[str, Any]:
    """Send ``rows`` in batches; a row the contract refuses is dropped from its batch (and
    reported) and the rest sent again, as omsctl does."""
    outcome: dict[str, Any] = {"created": 0, "unchanged": 0, "rejected": [], "codes": []}

    def reject(row: Row, reason: str) -> None:
        outcome["rejected"].append((row.line, re.sub(r"payload\.(rows\.\d+\.)?", "", reason)))

    for start in range(0, len(rows), BATCH):
        sendable = []
        for row in rows[start : start + BATCH]:
            if row.payload is None:
                reject(row, row.problem or "unreadable")
            else:
                sendable.append(row)
        while sendable:
            try:
                result = await services(request).call(who, c.ImportCustomers, {"rows": [r.payload for r in sendable]})
            except CommandFailed as exc:
                bad: dict[int, list[str]] = {}
                for f in exc.error.fields:
                    if f.field.startswith("payload.rows."):
                        _, _, position, *rest = f.field.split(".")
                        bad.setdefault(int(position), []).append(f"{'.'.join(rest)}: {f.reason}")
                if not bad:
                    raise
                for index, reasons in sorted(bad.items()):
                    reject(sendable[index], "; ".join(reasons))
                sendable = [r for i, r in enumerate(sendable) if i not in bad]
                continue
            for row, done in zip(sendable, result.rows, strict=True):
                if done.status == "rejected":
                    reason = done.error.message if done.error else "refused"
                    if done.error and done.error.fields:
                        reason = "; ".join(f"{f.field}: {f.reason}" for f in done.error.fields)
                    reject(row, reason)
                else:
                    outcome[done.status] += 1
                    outcome["codes"].append(done.code)
            break
    return outcome


@router.get("/admin/import")
async def import_form(request: Request, who: Importer) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    return page(request, "import.html", scopes=scopes, outcome=None, error=None)


@router.post("/admin/import")
async def import_file(request: Request, who: Importer) -> Response:
    form = await request.form()
    scopes = await services(request).call(who, c.ListScopes, {})
    upload, scope_id = form.get("file"), form.get("scope_id")
    scope_id = scope_id if isinstance(scope_id, str) and len(scope_id) <= 50 else ""
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = Error(code="validation", message="choose a CSV or JSONL file", fields=[])
        return page(request, "import.html", 422, scopes=scopes, outcome=None, error=error)
    try:
        text = (await upload.read()).decode("utf-8-sig")
    except UnicodeDecodeError:
        error = Error(code="validation", message="the file is not UTF-8 text (CSV or JSONL)", fields=[])
        return page(request, "import.html", 422, scopes=scopes, outcome=None, error=error)
    rows = list(rows_from_lines(upload.filename, io.StringIO(text, newline=""), scope_id or None))
    outcome = await import_rows(request, who, rows)
    outcome.update(file=upload.filename, rows=len(rows))
    rejected = len(outcome["rejected"])
    await staff_store(request).audit(
        who.username,
        who.role,
        "customer.import",
        upload.filename[:200],
        "ok",
        f"{outcome['created']} created, {outcome['unchanged']} unchanged, {rejected} rejected",
    )
    outcome["shown_rejected"] = outcome["rejected"][:SHOWN]
    return page(request, "import.html", scopes=scopes, outcome=outcome, error=None)
