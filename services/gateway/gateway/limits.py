"""Limits on request bodies (I4, I5, P4; security step 12): a pure ASGI middleware that reads
each body before anything else does.

- **Size**: a body larger than ``OMS_GATEWAY_MAX_BODY_BYTES`` (1 MiB) is answered 413 as soon
  as that is known: at once when ``Content-Length`` says so, otherwise when the bytes received
  so far pass the limit. A 30 MB body is never read whole, and the connection is closed.
- **Depth**: a body that is not a form (JSON, or no content type: FastAPI reads both as JSON)
  nested deeper than ``OMS_MAX_BODY_DEPTH`` (64, the services' own limit) is answered 422
  ``validation`` naming ``body``, checked on the raw bytes (``plumbing.bodies.check_body``)
  before a parser recurses into it: Python's ``json`` raises ``RecursionError`` a thousand
  levels down.

A body that passes is handed on to the app unchanged. Refusals are the gateway's usual
error body under ``/api/``, the console's error page elsewhere.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.replies import Error, FieldError
from plumbing.bodies import UnreadableBody, check_body

#: Flat bodies: no nesting to check (and not JSON, so the bracket check does not apply).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyLimits:
    """``app.add_middleware(BodyLimits, max_bytes=..., max_depth=...)``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(
                scope, 413, f"the request body of {declared} bytes is larger than the limit of {self.max_bytes}", send
            )
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: no one to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self.refuse(
                    scope, 413, f"the request body is larger than the limit of {self.max_bytes} bytes", send
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if body and content_type not in FORM_TYPES:
            try:
                check_body(body, max_bytes=self.max_bytes, max_depth=self.max_depth)
            except UnreadableBody as exc:
                await self.refuse(scope, 422, exc.reason, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    async def refuse(self, scope: Scope, status: int, reason: str, send: Send) -> None:
        error = Error(code="validation", message=reason, fields=[FieldError(field="body", reason=reason)])
        response = answer(Request(scope), error, status)
        # An unread body is left behind: the connection cannot carry another request.
        response.headers["Connection"] = "close"
        await response(scope, _nothing, send)


def answer(request: Request, error: Error, status: int) -> Response:
    from . import console  # the console imports the API; neither needs this module
    from .auth import wants_html
    from .bridge import error_body

    if wants_html(request):
        return console.error_page(request, error, status)
    return JSONResponse(error_body(error), status_code=status)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
