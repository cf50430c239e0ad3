"""I4, I5, P4 (security step 12): the gateway under hostile input, over the real services.

- Every console form value is read into a type: a bad one is 422 naming the field, on the
  form it came from, never a 500 (finding 8: ``version=abc`` on the record, ``rows=abc`` on
  the account template).
- A body over ``OMS_GATEWAY_MAX_BODY_BYTES`` is 413 before it is read whole, also from a real
  server; one nested deeper than ``OMS_MAX_BODY_DEPTH`` is 422.
- The hostile-input corpus of ``test_hostile_inputs.py`` (nesting 5,000 and 20,000 deep, NoSQL
  operators, wrong types, invisible and control characters, huge strings), plus hostile form
  values, query values and path segments, is replayed through every operation of the OpenAPI
  document and every console route, both read from the app: a new route is covered without
  touching this file. It fails on any 5xx, any ``internal`` error, any answer later than 5 s,
  and on a gateway that stops answering afterwards.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute

import gateway
from gateway import console
from gateway.console import SEARCH_FIELDS
from gateway.settings import GatewaySettings
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, new_namespace
from ..conftest import create_customer
from ..gateway_support import Stack, gateway_stack, serving, signed_in
from ..plumbing.test_hostile_inputs import HOSTILE_PAYLOADS

ANSWER_WITHIN = 5.0
LIMIT = 1024 * 1024  # OMS_GATEWAY_MAX_BODY_BYTES's default
#: They would end the session the sweep runs in.
SKIPPED = {("POST", "/logout"), ("DELETE", "/api/session")}
#: One form field, query parameter or path segment each.
HOSTILE_VALUES: dict[str, str] = {
    "wrong-types": "abc",
    "huge-number": "9" * 40,
    "negative": "-1",
    "operators": '{"$ne": null}',
    "invisible": "An\u200bna\u202e\u0000\u2066\ufeff",
    "huge-string": "x" * 20_000,
}
HOSTILE_SEGMENTS: dict[str, str] = {
    "operator": "$where",
    "dots": "..",
    "percent": "%",
    "invisible": "C1\u200b\u0000\u202e",
    "newline": "C10000\r\nX-Injected: 1",
    "long": "x" * 5_000,
}
#: Keys no form has, that a NoSQL-minded attacker tries.
OPERATOR_KEYS = ("$where", "version[$ne]", "rows[$gt]", "attr.$set", "attr.__proto__")


def form_fields() -> list[str]:
    """Every field name a console page posts or queries (row and attribute names filled in)."""
    names: set[str] = set(SEARCH_FIELDS) | {"sort", "cursor", "descending", "other", "next", "tab", "service"}
    for page in (Path(gateway.__file__).parent / "templates").glob("**/*.html"):
        for name in re.findall(r'\bname="([^"]+)"', page.read_text(encoding="utf-8")):
            name = re.sub(r"\{\{.*?\}\}", "0", name)
            if re.fullmatch(r"[a-z_.0-9]+", name) and name != "csrf_token":
                names.add(name)
    return sorted(names | set(OPERATOR_KEYS))


def console_routes() -> list[tuple[str, str, list[str]]]:
    """(method, path, query parameter names) of every route of the console's router."""
    out = []
    for route in console.router.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                if (method, route.path) not in SKIPPED:
                    out.append((method, route.path, [p.name for p in route.dependant.query_params]))
    return out


def filled(path: str, code: str, segment: str | None = None, enums: dict[str, list[str]] | None = None) -> str:
    """``path`` with its parameters set: to ``segment`` (URL-encoded) when given, else to values
    that reach the handler (the customer, a known service, a known kind)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if segment is not None:
            return quote(segment, safe="")
        if enums and name in enums:
            return enums[name][0]
        return {
            "code": code,
            "service": "customer",
            "tab": "orders",
            "scope_id": "eu-fr",
            "name": "customer-message",
        }.get(name, "nope")

    return re.sub(r"\{([^}]+)\}", value, path)


def query_string(names: Any, value: str) -> dict[str, str]:
    """Every name set to ``value``, cut so that the URL stays under what a client sends (64 KiB)."""
    names = sorted(names)
    return dict.fromkeys(names, value[: 40_000 // len(names)])


@pytest.fixture(scope="module")
async def stack(base_settings: ServiceSettings) -> AsyncIterator[tuple[Stack, Any]]:
    cleanup = Cleanup()
    settings = base_settings.model_copy(update={"namespace": new_namespace(), "max_attempts": 3})
    cleanup.track(settings)
    try:
        async with (
            OmsClient(settings, producer="tests") as client,
            gateway_stack(settings, client, cleanup, GatewaySettings(cookie_secure=False)) as s,
        ):
            yield s, await create_customer(client)
    finally:
        await cleanup.run(base_settings.amqp_url, base_settings.mongodb_url)


def field_names(page: str) -> list[str]:
    """The fields an error box names."""
    return re.findall(r"<li><code>([^<]+)</code>", page)


async def test_i5_p4_bad_console_form_values_are_422_naming_the_field_on_their_form(
    stack: tuple[Stack, Any],
) -> None:
    s, a = stack
    async with signed_in(s.app, "administrator") as http:
        version = await http.post(f"/customers/{a.code}/edit", data={"version": "abc", "first_name": "Chloé"})
        edit_huge = await http.post(f"/customers/{a.code}/edit", data={"version": "9" * 40})
        attribute = await http.post(f"/customers/{a.code}/edit", data={"version": "1", "attr.Not A Name": "x"})
        rows = await http.post("/admin/account-template", data={"scope_id": "eu-fr", "rows": "abc"})
        started = time.monotonic()
        many_rows = await http.post("/admin/account-template", data={"scope_id": "eu-fr", "rows": "1000000000"})
        many_rows_took = time.monotonic() - started
        row_type = await http.post(
            "/admin/account-template", data={"scope_id": "eu-fr", "rows": "1", "name_0": "tier", "type_0": "colour"}
        )
        action = await http.post(f"/customers/{a.code}/state", data={"action": "explode", "version": "1"})
        state_version = await http.post(f"/customers/{a.code}/state", data={"action": "disable", "version": "abc"})
        search = await http.get("/", params={"kind": "robot"})
        search_long = await http.get("/customers/results", params={"name": "x" * 5000})
        created = await http.post(
            "/customers/new",
            data={"scope_id": "eu-fr", "last_name": "B"},
            files={"first_name": ("name.txt", b"Anna", "text/plain")},
        )
        checkbox = await http.post(
            "/customers/new", data={"scope_id": "eu-fr", "first_name": "A", "last_name": "B", "active": "perhaps"}
        )
        intent = await http.post("/admin/templates", data={"name": "x", "language": "en", "intent": "publish"})
        merge = await http.post(
            f"/customers/{a.code}/merge",
            data={"merged_code": "C0NOPE", "survivor_version": "-1", "merged_version": "x", "reason": "same"},
        )
        review = await http.post("/reviews/nope/resolve", data={"action": "delete"})
        api = await http.patch(f"/api/customers/{a.code}", json={"expected_version": "abc", "changes": {}})
        record = await http.get(f"/customers/{a.code}")

    assert version.status_code == 422 and field_names(version.text) == ["version"]
    assert 'id="account-form"' in version.text  # shown on the record's form...
    assert 'name="version" value="abc"' not in version.text  # ...with the version read, not the bad one
    assert 'value="Chloé"' in version.text
    assert edit_huge.status_code == 422 and field_names(edit_huge.text) == ["version"]
    assert attribute.status_code == 422 and field_names(attribute.text)[0].startswith("attr.Not A Name")
    assert rows.status_code == 422 and field_names(rows.text) == ["rows"]
    assert 'id="account-template-form"' in rows.text
    assert many_rows.status_code == 422 and field_names(many_rows.text) == ["rows"] and many_rows_took < 2
    assert row_type.status_code == 422 and field_names(row_type.text) == ["type_0"]
    assert action.status_code == 422 and field_names(action.text) == ["body.action"]
    assert state_version.status_code == 422 and field_names(state_version.text) == ["body.version"]
    assert search.status_code == 422 and field_names(search.text) == ["kind"]
    assert search_long.status_code == 422 and field_names(search_long.text) == ["name"]
    assert created.status_code == 422 and 'data-field="first_name"' in created.text  # beside its input
    assert 'id="create-form"' in created.text
    assert checkbox.status_code == 422 and field_names(checkbox.text) == ["active"]
    assert intent.status_code == 422 and field_names(intent.text) == ["intent"]
    assert merge.status_code == 422 and set(field_names(merge.text)) == {"body.survivor_version", "body.merged_version"}
    assert review.status_code == 422 and field_names(review.text) == ["body.action"]
    assert api.status_code == 422
    assert [f["field"] for f in api.json()["error"]["fields"]] == ["body.expected_version"]
    assert record.status_code == 200 and a.version == 1  # nothing was changed on the way
    assert f"<dt>Version</dt><dd>{a.version}</dd>" in record.text


async def test_i4_p4_a_body_over_the_limit_is_413_from_a_real_server_before_it_is_read(
    stack: tuple[Stack, Any],
) -> None:
    s, _ = stack
    async with serving(s.app) as base:
        host, port = base.removeprefix("http://").split(":")
        answers = []
        for head in (b"Content-Length: 31457280", b"Transfer-Encoding: chunked"):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"POST /api/customers HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
                + head
                + b"\r\n\r\n"
            )

            async def stream(
                writer: asyncio.StreamWriter = writer, chunked: bool = head.startswith(b"Transfer")
            ) -> int:
                sent = 0
                try:
                    for _ in range(30 * 16):  # 30 MB in 64 KiB pieces
                        piece = b"x" * 65536
                        writer.write(b"10000\r\n" + piece + b"\r\n" if chunked else piece)
                        await writer.drain()
                        sent += len(piece)
                except (ConnectionError, OSError):
                    pass
                return sent

            sending = asyncio.create_task(stream())
            started = time.monotonic()
            status = await asyncio.wait_for(reader.readline(), ANSWER_WITHIN)
            answers.append((status.split(b" ")[1], time.monotonic() - started))
            sending.cancel()
            writer.close()
    assert [code for code, _ in answers] == [b"413", b"413"]
    assert all(took < ANSWER_WITHIN for _, took in answers)


async def test_i4_i5_p4_the_hostile_corpus_through_every_route_is_answered_4xx_in_time(
    stack: tuple[Stack, Any],
) -> None:
    s, a = stack
    fields = form_fields()
    async with signed_in(s.app, "administrator") as http:
        document = (await http.get("/api/openapi.json")).json()
        # (what, method, path, request arguments, must be 4xx)
        cases: list[tuple[str, str, str, dict[str, Any], bool]] = []
        operations = 0
        for path, operation_by_method in document["paths"].items():
            for method, operation in operation_by_method.items():
                method = method.upper()
                if (method, path) in SKIPPED:
                    continue
                operations += 1
                params = operation.get("parameters", [])
                enums = {p["name"]: p["schema"]["enum"] for p in params if "enum" in p["schema"]}
                query = [p["name"] for p in params if p["in"] == "query"]
                has_body = "requestBody" in operation
                for name, payload in HOSTILE_PAYLOADS.items():
                    cases.append(
                        (
                            f"json {name}",
                            method,
                            filled(path, a.code, enums=enums),
                            {"content": payload.encode(), "headers": {"content-type": "application/json"}},
                            has_body,
                        )
                    )
                for name, value in HOSTILE_VALUES.items():
                    if query:
                        cases.append(
                            (
                                f"query {name}",
                                method,
                                filled(path, a.code, enums=enums),
                                {"params": query_string(query, value)},
                                False,
                            )
                        )
                for name, segment in HOSTILE_SEGMENTS.items():
                    if "{" in path:
                        cases.append(
                            (
                                f"path {name}",
                                method,
                                filled(path, a.code, segment),
                                {"json": {}} if has_body else {},
                                False,
                            )
                        )
        assert operations > 30

        routes = console_routes()
        assert len(routes) > 25
        for method, path, query in routes:
            target = filled(path, a.code)
            if method == "POST":
                for name, value in HOSTILE_VALUES.items():
                    cases.append((f"form {name}", method, target, {"data": dict.fromkeys(fields, value)}, False))
                cases.append(
                    (
                        "form files",
                        method,
                        target,
                        {"files": {f: ("f.txt", b"abc", "text/plain") for f in fields}},
                        False,
                    )
                )
                cases.append(("form over the limit", method, target, {"data": {"first_name": "x" * LIMIT}}, True))
                for name, payload in HOSTILE_PAYLOADS.items():
                    cases.append(
                        (
                            f"json {name}",
                            method,
                            target,
                            {"content": payload.encode(), "headers": {"content-type": "application/json"}},
                            name.startswith("nested") or name == "huge-string",
                        )
                    )
            else:
                for name, value in HOSTILE_VALUES.items():
                    cases.append(
                        (f"query {name}", method, target, {"params": query_string({*fields, *query}, value)}, False)
                    )
            for name, segment in HOSTILE_SEGMENTS.items():
                if "{" in path:
                    cases.append((f"path {name}", method, filled(path, a.code, segment), {}, False))

        failures: list[str] = []

        async def send(what: str, method: str, path: str, arguments: dict[str, Any], client_error: bool) -> None:
            started = time.monotonic()
            try:
                reply = await asyncio.wait_for(http.request(method, path, **arguments), ANSWER_WITHIN * 2)
            except Exception as error:  # noqa: BLE001 - a hang or a crash is the finding
                failures.append(f"{method} {path[:80]} {what}: {type(error).__name__} {error}"[:300])
                return
            took = time.monotonic() - started
            internal = (
                reply.headers.get("content-type", "").startswith("application/json") and '"internal"' in reply.text
            )
            if (
                reply.status_code >= 500
                or internal
                or took > ANSWER_WITHIN
                or (client_error and not 400 <= reply.status_code < 500)
            ):
                failures.append(f"{method} {path[:80]} {what}: {reply.status_code} in {took:.1f}s {reply.text[:200]!r}")

        for start in range(0, len(cases), 4):
            await asyncio.gather(*(send(*case) for case in cases[start : start + 4]))
        assert len(cases) > 600
        still = await http.get("/api/session")
    assert still.status_code == 200
    assert (await s.client.ping("customer")).ok
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures[:40])
