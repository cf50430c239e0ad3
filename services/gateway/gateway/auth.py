"""Signed-in staff, rights and CSRF for every route (I4).

A request carries the session cookie; ``allow(action)`` is the dependency of every route:
no session is 401 (a page redirects to the sign-in form), a role without the right is 403,
and any request that changes something must carry the session's CSRF token, in the
``X-CSRF-Token`` header (JSON and htmx) or the ``csrf_token`` form field (plain forms).
The cookie is SameSite=Lax as a second line, never the only one.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from fastapi import Request

from .rights import allowed
from .staff import StaffSession
from .state import gateway_settings, staff_store

COOKIE = "oms_console"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotSignedIn(Exception):
    pass


class Denied(Exception):
    def __init__(self, action: str, role: str) -> None:
        super().__init__(f"the {role} role may not {action}")
        self.action = action
        self.role = role


class BadCsrf(Exception):
    pass


async def csrf_token_sent(request: Request) -> str | None:
    if token := request.headers.get(CSRF_HEADER):
        return token
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it: the route reads it again for free
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def tokens_match(sent: str | None, expected: str) -> bool:
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


async def signed_in(request: Request) -> StaffSession:
    session = await staff_store(request).session(request.cookies.get(COOKIE))
    if session is None:
        raise NotSignedIn()
    if request.method not in SAFE_METHODS and not tokens_match(await csrf_token_sent(request), session.csrf_token):
        raise BadCsrf()
    request.state.staff = session
    return session


def allow(action: str) -> Callable[[Request], Awaitable[StaffSession]]:
    """The dependency of a route that does ``action``: the signed-in staff member with that right."""
    allowed("csr", action)  # fails at import on an unknown action name

    async def dependency(request: Request) -> StaffSession:
        session = await signed_in(request)
        if not allowed(session.role, action):
            raise Denied(action, session.role)  # audited by the app's handler
        return session

    dependency.__name__ = f"allow_{action.replace('.', '_')}"
    return dependency


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def client_address(request: Request) -> str | None:
    """The client's address, as far as it can be verified: the connection's peer, or, when the
    peer is a trusted proxy (``OMS_GATEWAY_TRUSTED_PROXIES``), the nearest address in
    X-Forwarded-For that is not one; a client that sends the header itself is not believed.
    Sign-in throttling keys on it (I4), so no caller can pick another's bucket."""
    peer = request.client.host if request.client else None
    proxies = gateway_settings(request).trusted_proxies
    if peer is None or not _within(peer, proxies):
        return peer
    hops = [hop.strip() for line in request.headers.getlist("x-forwarded-for") for hop in line.split(",")]
    client = peer
    for hop in reversed(hops):  # the right end was written by our own proxies
        if _address(hop) is None:
            break  # garbage: whoever wrote it is not trusted; the last verified hop stands
        client = hop
        if not _within(hop, proxies):
            break
    return client


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in networks)


def require_right(session: StaffSession, action: str) -> None:
    """For routes whose right depends on the body (the state action)."""
    if not allowed(session.role, action):
        raise Denied(action, session.role)
