"""I4, I5, P4 (security step 12): the gateway's limits on request bodies, as a pure ASGI
middleware (gateway/limits.py): a body over the limit is 413 before it is read whole, one
nested too deeply is 422 naming ``body`` before a parser recurses into it, and every other
body reaches the app byte for byte. No server: the middleware is driven directly."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from gateway.app import create_app
from gateway.limits import BodyLimits
from gateway.settings import GatewaySettings
from plumbing.settings import ServiceSettings

LIMIT = 64 * 1024
CHUNK = 64 * 1024
THIRTY_MB = 30 * 1024 * 1024


class Echo:
    """An app that reads the whole body the way Starlette does and says what it got."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})


def scope(path: str = "/api/customers", headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "scheme": "https",
        "server": ("gateway.test", 443),
        "http_version": "1.1",
        "root_path": "",
    }


async def drive(middleware: BodyLimits, scope: dict[str, Any], chunks: Any) -> tuple[int, bytes, int]:
    """(status, body, chunks the middleware pulled) for a request streamed in ``chunks``."""
    pulled = 0
    stream = iter(chunks)
    pending = next(stream, None)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled, pending
        if pending is None:
            await asyncio.sleep(3600)  # a server's receive after the body: waits for the disconnect
        pulled += 1
        chunk, pending = pending, next(stream, None)
        return {"type": "http.request", "body": chunk, "more_body": pending is not None}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(middleware(scope, receive, send), 5)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), pulled


def thirty_mb() -> Any:
    for _ in range(THIRTY_MB // CHUNK):
        yield b"x" * CHUNK


async def test_p4_a_declared_length_over_the_limit_is_413_and_nothing_is_read() -> None:
    app = Echo()
    status, body, pulled = await drive(
        BodyLimits(app, max_bytes=LIMIT, max_depth=64), scope(headers={"content-length": str(THIRTY_MB)}), thirty_mb()
    )
    assert (status, pulled, app.calls) == (413, 0, 0)
    error = json.loads(body)["error"]
    assert error["code"] == "validation" and error["fields"][0]["field"] == "body"


async def test_p4_a_streamed_body_is_counted_as_it_comes_and_refused_once_past_the_limit() -> None:
    app = Echo()
    status, _, pulled = await drive(BodyLimits(app, max_bytes=LIMIT, max_depth=64), scope(), thirty_mb())
    assert status == 413 and app.calls == 0
    assert pulled * CHUNK <= LIMIT + CHUNK  # a 30 MB body: read no further than the limit


async def test_p4_a_body_nested_too_deeply_is_422_before_any_parser_sees_it() -> None:
    app = Echo()
    deep = ('{"a":' * 5000 + "1" + "}" * 5000).encode()
    status, body, _ = await drive(
        BodyLimits(app, max_bytes=LIMIT, max_depth=64), scope(headers={"content-type": "application/json"}), [deep]
    )
    assert status == 422 and app.calls == 0
    assert json.loads(body)["error"]["fields"][0]["field"] == "body"
    # No content type: FastAPI reads it as JSON all the same, so it is checked all the same.
    status, _, _ = await drive(BodyLimits(Echo(), max_bytes=LIMIT, max_depth=64), scope(), [deep])
    assert status == 422


async def test_p4_bodies_within_the_limits_reach_the_app_unchanged() -> None:
    for headers, chunks in [
        ({"content-type": "application/json"}, [b'{"a": [1, ', b'{"b": "[[[["}]}']),
        ({"content-type": "application/x-www-form-urlencoded"}, [b"first_name=%5B%5B&x=[[[[", b"[" * 100]),
        ({}, [b""]),
    ]:
        app = Echo()
        status, body, _ = await drive(BodyLimits(app, max_bytes=LIMIT, max_depth=8), scope(headers=headers), chunks)
        assert (status, body, app.calls) == (200, b"".join(chunks), 1)


async def test_i5_p4_the_gateway_answers_its_own_error_body_on_the_api_and_its_error_page_on_the_console() -> None:
    app = create_app(ServiceSettings(), GatewaySettings(max_body_bytes=LIMIT))  # no lifespan: nothing connects
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://gateway.test") as http:
        api = await http.post(
            "/api/customers", content=b"{}" + b" " * LIMIT, headers={"content-type": "application/json"}
        )
        console = await http.post(
            "/customers/new",
            content=b"a=" + b"x" * LIMIT,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        deep = await http.put("/api/templates", content=b"[" * 100 + b"]" * 100)
    assert api.status_code == 413 and api.json()["error"]["fields"] == [
        {"field": "body", "reason": f"the request body of {LIMIT + 2} bytes is larger than the limit of {LIMIT}"}
    ]
    assert api.headers["connection"] == "close"
    assert console.status_code == 413 and "text/html" in console.headers["content-type"]
    assert "larger than the limit" in console.text
    assert deep.status_code == 422 and deep.json()["error"]["message"] == "body nested deeper than 64 levels"
