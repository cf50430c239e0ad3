"""Security headers on every gateway response (I4, I5; security step 12, finding 1).

The console is safe by construction: its templates put no data inside scripts, event
attributes or style attributes (a test scans them), the only scripts are files under
``/static`` (htmx and ``console.js``, which reads ``data-*`` attributes), and this header set
makes the browser hold to it even if a template slips:

- ``Content-Security-Policy``: scripts, styles, images, forms and connections from this origin
  only, no inline script, no ``eval`` (htmx runs with ``allowEval: false``), no
  plugins, no ``<base>``; ``frame-ancestors 'none'``: no page may frame the console
  (clickjacking), with ``X-Frame-Options: DENY`` for older browsers. Inline style is allowed
  for the emails a CSR reads, shown in sandboxed iframes that inherit the policy.
- ``X-Content-Type-Options: nosniff``: a JSON answer or an upload is never run as a script.
- ``Referrer-Policy: same-origin``: a customer code in the URL does not leave for other sites.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Inline style only for the emails a CSR reads (activities, template previews): they are
        # styled inline, as emails must be, and shown in sandboxed iframes (srcdoc) that inherit
        # this policy and run no script. The console's own pages have no inline style.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

#: The API's Swagger UI page (``/api/docs``, no customer data on it) is FastAPI's: its script
#: and style come from jsDelivr and it starts with an inline script.
API_DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'",
        "style-src 'self' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
API_DOCS_PATH = "/api/docs"

SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """``app.add_middleware(SecurityHeaders)``: the headers above on every HTTP response,
    replacing any the app set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        security = SECURITY_HEADERS
        if scope.get("path") == API_DOCS_PATH:
            security = ((b"content-security-policy", API_DOCS_POLICY.encode()), *SECURITY_HEADERS[1:])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in security}
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*headers, *security]}
            await send(message)

        await self.app(scope, receive, with_headers)
