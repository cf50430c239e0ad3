"""I4: schemathesis against the published OpenAPI document of the running gateway (a real
uvicorn server, the real services behind it): no generated request gets a 5xx, and every
response matches the document's status codes and schemas."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gateway.settings import GatewaySettings
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer
from ..gateway_support import PASSWORD, STAFF, gateway_stack, serving

EXAMPLES_PER_OPERATION = 25
#: Signing in and out is what gives the run its session: not fuzzed.
SKIPPED = {("POST", "/api/session"), ("DELETE", "/api/session")}


def fuzz(base: str, document: dict[str, Any], cookie: str, csrf: str) -> tuple[int, list[str]]:
    """Every operation, a bounded number of generated requests each; the 5xx answers found."""
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    session.cookies.set("oms_console", cookie)
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        # Valid requests, and requests the document says are invalid (they must be 4xx).
        @hypothesis.given(
            case=st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
            )
        )
        def check(case: Any) -> None:
            nonlocal sent
            response = case.call(base_url=base, session=session, headers={"X-CSRF-Token": csrf}, timeout=30)
            sent += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

        check()
    return sent, failures


@pytest.mark.timeout(600)
async def test_i4_schemathesis_finds_no_5xx(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> None:
    async with (
        gateway_stack(settings, client, cleanup, GatewaySettings(cookie_secure=False)) as s,
        serving(s.app) as base,
    ):
        await create_customer(client)
        async with httpx.AsyncClient(base_url=base) as http:
            signed = await http.post("/api/session", json={"username": STAFF["administrator"], "password": PASSWORD})
            document = (await http.get("/api/openapi.json")).json()
        assert signed.status_code == 200
        sent, failures = await asyncio.to_thread(
            fuzz, base, document, signed.cookies["oms_console"], signed.json()["csrf_token"]
        )
    assert sent > 200
    assert failures == []
