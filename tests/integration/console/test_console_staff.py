"""I4, I5: the administrators' staff screens through the gateway against the real database:
create a staff account (a refused one says why beside the box), change its role (its open
session has the new one at once), disable it (its session ends, it cannot sign in) and
enable it, reset its password (shown once; the old one no longer works); an administrator
cannot disable themselves; a CSR has no such screen. The staff audit lists who did what,
filtered by staff member and action, in pages."""

from __future__ import annotations

import re

import httpx

from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..gateway_support import BASE_URL, PASSWORD, gateway_stack, signed_in


async def sign_in(app: object, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        return await http.post("/api/session", json={"username": username, "password": password})


async def test_i4_i5_administrators_run_staff_accounts_and_read_the_staff_audit(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        async with signed_in(s.app, "csr") as http:
            assert (await http.get("/admin/staff")).status_code == 403
            assert (await http.get("/admin/staff-audit")).status_code == 403
        async with signed_in(s.app, "administrator") as admin:
            listed = (await admin.get("/admin/staff")).text
            assert all(f'id="staff-{u}"' in listed for u in ("csr-ada", "sup-bea", "adm-cyd"))

            short = await admin.post(
                "/admin/staff", data={"username": "csr-eve", "name": "Eve", "role": "csr", "password": "short"}
            )
            assert (
                short.status_code == 422 and 'data-field="password"' in short.text and 'value="csr-eve"' in short.text
            )
            created = await admin.post(
                "/admin/staff", data={"username": "csr-eve", "name": "Eve", "role": "csr", "password": PASSWORD}
            )
            assert created.status_code == 303, created.text

            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=s.app), base_url=BASE_URL) as eve:
                assert (
                    await eve.post("/api/session", json={"username": "csr-eve", "password": PASSWORD})
                ).status_code == 200
                assert (await eve.get("/api/session")).json()["role"] == "csr"
                promoted = await admin.post("/admin/staff/csr-eve/role", data={"role": "supervisor"})
                assert promoted.status_code == 303, promoted.text
                assert (await eve.get("/api/session")).json()["role"] == "supervisor"  # at once

                disabled = await admin.post("/admin/staff/csr-eve/disable")
                assert disabled.status_code == 303
                assert (await eve.get("/api/session")).status_code == 401  # her session ended
            assert (await sign_in(s.app, "csr-eve", PASSWORD)).status_code == 401
            assert 'class="quiet enable-staff"' in (await admin.get("/admin/staff")).text
            assert (await admin.post("/admin/staff/csr-eve/enable")).status_code == 303
            assert (await sign_in(s.app, "csr-eve", PASSWORD)).status_code == 200

            reset = await admin.post("/admin/staff/csr-eve/reset-password")
            assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
            new_password = re.search(r'<code id="new-password">([^<]+)</code>', reset.text).group(1)
            assert (await sign_in(s.app, "csr-eve", PASSWORD)).status_code == 401
            assert (await sign_in(s.app, "csr-eve", new_password)).status_code == 200

            myself = await admin.post("/admin/staff/adm-cyd/disable")
            assert myself.status_code == 422 and "your own account" in myself.text
            demote = await admin.post("/admin/staff/adm-cyd/role", data={"role": "csr"})
            assert demote.status_code == 422
            assert (await admin.post("/admin/staff/nobody/disable")).status_code == 404

            # The staff audit: filtered by staff member and action.
            mine = (await admin.get("/admin/staff-audit?username=adm-cyd&action=staff.create")).text
            rows = re.findall(r'<tr class="audit-entry outcome-(\w+)">', mine)
            assert rows == ["ok", "validation"]  # newest first
            eves = (await admin.get("/admin/staff-audit?username=csr-eve&action=session.sign_in")).text
            assert re.findall(r'<tr class="audit-entry outcome-(\w+)">', eves) == [
                "ok",
                "unauthenticated",
                "ok",
                "unauthenticated",
                "ok",
            ]
            everyone = (await admin.get("/admin/staff-audit")).text
            for action in ("staff.role", "staff.disable", "staff.enable", "staff.reset_password"):
                assert f"<td>{action}</td>" in everyone
            assert 'id="audit-older"' not in everyone

            # Past a page of 50: 'Older' shows the rest, each entry once.
            for n in range(60):
                await s.staff.audit("csr-ada", "csr", "customer.update", f"C{10000 + n}", "ok")
            first = (await admin.get("/admin/staff-audit?username=csr-ada")).text
            older = re.search(r'id="audit-older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
            rest = (await admin.get(older)).text
            targets = re.findall(r'<a href="/customers/(C\d+)">', first) + re.findall(
                r'<a href="/customers/(C\d+)">', rest
            )
            assert len(targets) == 60 and set(targets) == {f"C{10000 + n}" for n in range(60)}
            assert "Newest" in rest and 'id="audit-older"' not in rest
        audited = {(d["action"], d["outcome"]) async for d in s.staff.db.staff_audit.find({"username": "adm-cyd"})}
        assert {
            ("staff.create", "validation"),
            ("staff.create", "ok"),
            ("staff.role", "ok"),
            ("staff.disable", "ok"),
            ("staff.enable", "ok"),
            ("staff.reset_password", "ok"),
            ("staff.disable", "validation"),
            ("staff.role", "validation"),
            ("staff.disable", "not_found"),
        } <= audited
