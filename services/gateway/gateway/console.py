"""The CSR console (I5): placeholder until the pages land."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from contracts.replies import Error

router = APIRouter(include_in_schema=False)


def error_page(request: Request, error: Error, status: int) -> Response:
    return JSONResponse({"error": error.model_dump(mode="json")}, status_code=status)
