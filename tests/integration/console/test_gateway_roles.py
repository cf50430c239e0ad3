"""I4: every action of the HTTP API tried by every staff role: a role without the right gets
403 (and the refusal is audited), a role with it gets past the check (its answer is then the
service's: 2xx, or a typed 4xx such as 404, 409 or 422, never 403)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from gateway.rights import ACTIONS, ROLES, allowed
from plumbing.client import OmsClient, OmsClientPool
from plumbing.settings import ServiceSettings

from ...support import Cleanup, new_namespace
from ..conftest import create_customer
from ..gateway_support import BASE_URL, STAFF, Stack, gateway_stack, signed_in

# (action, method, path, JSON body). Inputs are chosen so that an allowed call changes
# nothing another case depends on: stale versions, unknown ids, refused drafts.
CASES: list[tuple[str, str, str, Any]] = [
    ("customer.read", "GET", "/api/customers?name=dub", None),
    ("customer.read", "GET", "/api/customers/summary", None),
    ("customer.read", "GET", "/api/customers/lookup?email=chloe@example.fr", None),
    ("customer.read", "GET", "/api/customers/{a}", None),
    ("customer.read", "GET", "/api/customers/{a}/audit", None),
    ("customer.read", "GET", "/api/customers/{a}/history/order", None),
    ("customer.read", "GET", "/api/customers/{a}/activities", None),
    ("customer.read", "GET", "/api/customers/{a}/merges", None),
    ("customer.read", "GET", "/api/scopes", None),
    ("customer.create", "POST", "/api/customers", {"scope_id": "eu-fr", "first_name": "A", "last_name": "B"}),
    ("customer.update", "PATCH", "/api/customers/{a}", {"expected_version": 999, "changes": {"first_name": "X"}}),
    ("customer.activate", "POST", "/api/customers/{a}/state", {"expected_version": 999, "action": "activate"}),
    ("customer.deactivate", "POST", "/api/customers/{a}/state", {"expected_version": 999, "action": "deactivate"}),
    ("customer.disable", "POST", "/api/customers/{a}/state", {"expected_version": 999, "action": "disable"}),
    ("customer.enable", "POST", "/api/customers/{a}/state", {"expected_version": 999, "action": "enable"}),
    ("customer.approve", "POST", "/api/customers/{a}/state", {"expected_version": 999, "action": "approve"}),
    ("customer.reject", "POST", "/api/customers/{a}/state", {"expected_version": 999, "action": "reject"}),
    ("customer.reset_password", "POST", "/api/customers/C0NOPE/password-reset", None),
    ("customer.on_behalf", "POST", "/api/customers/C0NOPE/on-behalf", {"reason": "on the phone"}),
    ("customer.on_behalf", "DELETE", "/api/on-behalf/nope", None),
    ("customer.send_email", "POST", "/api/customers/C0NOPE/emails", {"variables": {"subject": "s", "message": "m"}}),
    (
        "customer.merge",
        "POST",
        "/api/merges",
        {
            "survivor_code": "{a}",
            "survivor_version": 999,
            "merged_code": "C0NOPE",
            "merged_version": 1,
            "reason": "same",
        },
    ),
    ("customer.unmerge", "POST", "/api/merges/nope/undo", {"reason": "mistake"}),
    ("customer.export", "POST", "/api/customers/C0NOPE/export", {"reason": "the customer's request"}),
    ("customer.erase", "POST", "/api/customers/C0NOPE/erase", {"reason": "the customer's request"}),
    ("customer.read", "GET", "/api/merges/nope", None),
    ("review.read", "GET", "/api/reviews", None),
    ("review.resolve", "POST", "/api/reviews/nope/resolve", {"action": "create"}),
    ("template.read", "GET", "/api/templates", None),
    ("template.read", "GET", "/api/templates/customer-message?language=en", None),
    (
        "template.manage",
        "PUT",
        "/api/templates",
        {"name": "broken", "language": "en", "subject": "{{ x", "html": "<p>x</p>", "text": "x"},
    ),
    ("template.manage", "POST", "/api/templates/preview", {"name": "customer-message", "language": "en"}),
    ("account_template.read", "GET", "/api/scopes/eu-fr/account-template", None),
    ("account_template.manage", "PUT", "/api/scopes/no-such-scope/account-template", {"fields": []}),
    ("dead_letter.read", "GET", "/api/dead-letters/customer", None),
    ("dead_letter.read", "GET", "/api/dead-letters/customer/nope", None),
    ("dead_letter.replay", "POST", "/api/dead-letters/customer/nope/replay", None),
    ("staff.manage", "POST", "/api/staff", {"username": "new-one", "role": "csr", "password": "short"}),
    ("customer.invite_without_password", "POST", "/api/customers/set-empty-passwords", {"scope_id": "no-such-scope"}),
]


#: Rights the matrix's one active customer cannot exercise, proved in their own tests.
COVERED_ELSEWHERE = {
    "customer.unlock",  # a locked account: test_console_state_changes.py
    "customer.import",  # a console upload, no API route: test_console_import.py
}


def test_i4_every_right_is_tried_by_the_matrix() -> None:
    assert {action for action, *_ in CASES} | COVERED_ELSEWHERE == set(ACTIONS)


@pytest.fixture(scope="module")
async def stack(base_settings: ServiceSettings) -> AsyncIterator[tuple[Stack, Any]]:
    cleanup = Cleanup()
    settings = base_settings.model_copy(update={"namespace": new_namespace(), "max_attempts": 3})
    cleanup.track(settings)
    try:
        async with OmsClient(settings, producer="tests") as client, gateway_stack(settings, client, cleanup) as s:
            yield s, await create_customer(client)
    finally:
        await cleanup.run(base_settings.amqp_url, base_settings.mongodb_url)


def fill(value: Any, code: str) -> Any:
    if isinstance(value, str):
        return value.replace("{a}", code)
    if isinstance(value, dict):
        return {k: fill(v, code) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
async def sessions(stack: tuple[Stack, Any]) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A client signed in as each role, for the matrix: a sign-in of its own for each of its
    cases (an argon2 verification each) was most of the matrix's time. No case signs out or
    changes a test member's account (staff.manage is tried with a password it refuses)."""
    s, _ = stack
    async with AsyncExitStack() as clients:
        yield {role: await clients.enter_async_context(signed_in(s.app, role)) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("action", "method", "path", "body"), CASES, ids=[f"{c[1]} {c[2]}" for c in CASES])
async def test_i4_each_action_with_each_role(
    stack: tuple[Stack, Any],
    sessions: dict[str, httpx.AsyncClient],
    role: str,
    action: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    s, a = stack
    reply = await sessions[role].request(method, fill(path, a.code), json=fill(body, a.code))
    if allowed(role, action):
        assert reply.status_code != 403, reply.text
        assert reply.status_code < 500, reply.text
    else:
        assert reply.status_code == 403, reply.text
        assert reply.json()["error"]["code"] == "forbidden"
        denied = await s.staff.db.staff_audit.find_one(
            {"username": STAFF[role], "action": action, "outcome": "forbidden"}
        )
        assert denied is not None


async def test_i4_no_session_is_401_and_a_change_without_the_csrf_token_is_403(stack: tuple[Stack, Any]) -> None:
    s, a = stack
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=s.app), base_url=BASE_URL, cookies={"oms_console": "forged"}
    ) as http:
        anonymous = await http.get(f"/api/customers/{a.code}")
    async with signed_in(s.app, "administrator") as http:
        del http.headers["X-CSRF-Token"]
        no_token = await http.patch(f"/api/customers/{a.code}", json={"expected_version": 1, "changes": {}})
        http.headers["X-CSRF-Token"] = "wrong"
        wrong_token = await http.patch(f"/api/customers/{a.code}", json={"expected_version": 1, "changes": {}})
    assert anonymous.status_code == 401
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]["message"]
    assert wrong_token.status_code == 403


async def test_i4_session_cookie_is_http_only_secure_and_lax(stack: tuple[Stack, Any]) -> None:
    s, _ = stack
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=s.app), base_url=BASE_URL) as http:
        bad = await http.post("/api/session", json={"username": STAFF["csr"], "password": "wrong password!"})
        good = await http.post("/api/session", json={"username": STAFF["csr"], "password": "correct horse battery"})
    assert bad.status_code == 401 and "set-cookie" not in bad.headers
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    failed = await s.staff.db.staff_audit.find_one({"action": "session.sign_in", "outcome": "unauthenticated"})
    assert failed is not None and failed["username"] == STAFF["csr"]
    assert float(good.headers["server-timing"].split("dur=")[1]) > 0  # I5: the page benchmark reads it


async def test_i4_typed_errors_become_statuses_with_fields_and_current_version(stack: tuple[Stack, Any]) -> None:
    s, a = stack
    async with signed_in(s.app, "csr") as http:
        missing = await http.get("/api/customers/C0NOPE")
        invalid = await http.post(
            "/api/customers", json={"scope_id": "eu-fr", "first_name": "A", "last_name": "B", "email": "not an email"}
        )
        unknown_field = await http.post(
            "/api/customers", json={"scope_id": "eu-fr", "first_name": "A", "last_name": "B", "colour": "red"}
        )
        current = (await http.get(f"/api/customers/{a.code}")).json()
        changed = await http.patch(
            f"/api/customers/{a.code}",
            json={"expected_version": current["version"], "changes": {"phone": "01 23 45 67 89"}},
        )
        stale = await http.patch(
            f"/api/customers/{a.code}",
            json={"expected_version": current["version"], "changes": {"phone": "01 23 45 67 80"}},
        )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert invalid.status_code == 422
    assert [f["field"] for f in invalid.json()["error"]["fields"]] == ["payload.email"]
    assert unknown_field.status_code == 422
    assert any("colour" in f["field"] for f in unknown_field.json()["error"]["fields"])
    assert changed.status_code == 200 and changed.json()["version"] == current["version"] + 1
    assert stale.status_code == 409
    assert stale.json()["error"]["current_version"] == current["version"] + 1
    audited = await s.staff.db.staff_audit.find_one({"action": "customer.update", "target": a.code, "outcome": "ok"})
    assert audited is not None and audited["username"] == STAFF["csr"]


async def test_p5_the_gateway_is_ready_only_while_rabbitmq_and_mongodb_answer(
    stack: tuple[Stack, Any], base_settings: ServiceSettings
) -> None:
    """GET /ready: 200 with its clients connected and MongoDB answering; a pool with one
    connection lost is not ready (a load balancer sends no CSR to it)."""
    gateway, _ = stack
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url=BASE_URL) as http:
        ready = await http.get("/ready")
        assert (ready.status_code, ready.json()) == (200, {"database": True, "broker": True})
    pool = OmsClientPool(base_settings, size=2, producer="tests")
    await pool.start()
    try:
        assert await pool.broker_ok()
        await pool.clients[1].broker.stop()
        assert not await pool.broker_ok(timeout=1)
    finally:
        await pool.close()
