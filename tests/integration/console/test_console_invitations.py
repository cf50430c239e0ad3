"""C14, I5: 'set empty passwords' from the administrators' console, through the gateway
against the real services: batch after batch with the progress so far, each resuming after
the last customer reached, until nobody is left; every customer without a password gets one
set-password link email, once; CSRs and supervisors have no such screen."""

from __future__ import annotations

import asyncio
import re

from contracts.customer.privacy import EraseCustomerData
from contracts.customer.records import ImportCustomers, SearchCustomers
from contracts.envelope import Actor
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import ok
from ..gateway_support import gateway_stack, signed_in


async def test_c14_i5_set_empty_passwords_in_batches_with_progress(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        rows = [
            {
                "scope_id": "eu-fr",
                "first_name": f"P{i}",
                "last_name": "Import",
                "email": f"p{i}@example.fr",
                "account_type": "guest" if i == 5 else "registered",
                "channel": "import",
                "idempotency_key": f"k{i}",
            }
            for i in range(6)
        ]
        await ok(await client.call(ImportCustomers, {"rows": rows}))
        for role in ("csr", "supervisor"):
            async with signed_in(s.app, role) as http:
                assert (await http.get("/admin/set-empty-passwords")).status_code == 403
                assert (await http.post("/admin/set-empty-passwords", data={"batch_size": "2"})).status_code == 403
        async with signed_in(s.app, "administrator") as http:
            assert 'id="invite-start"' in (await http.get("/admin/set-empty-passwords")).text
            answer = await http.post("/admin/set-empty-passwords", data={"scope_id": "eu-fr", "batch_size": "2"})
            progress = []
            while True:
                assert answer.status_code == 200, answer.text
                shown = re.search(r"<strong>(\d+) customers? invited</strong> in (\d+) batch", answer.text)
                progress.append((int(shown.group(1)), int(shown.group(2))))
                if "Done: nobody is left to invite." in answer.text:
                    assert 'id="invite-next"' not in answer.text
                    break
                form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', answer.text))
                answer = await http.post("/admin/set-empty-passwords", data=form)
            assert progress == [(2, 1), (4, 2), (5, 3)]  # five registered without a password; the guest is not

            async def invited() -> list[str] | None:
                to = [str(m["To"]) for m in list(s.mail.messages)]
                found = sorted(t for t in to for i in range(6) if f"p{i}@example.fr" in t)
                return found if len(found) >= 5 else None

            emailed = await eventually(invited, timeout=20)
            await asyncio.sleep(0.5)  # no sixth, no second one
            assert len(await invited()) == 5 and len(set(emailed)) == 5 and not any("p5@" in t for t in emailed)
            rerun = await http.post("/admin/set-empty-passwords", data={"batch_size": "50"})
            assert "<strong>0 customers invited</strong>" in rerun.text and "Done" in rerun.text
        audited = [
            d["outcome"]
            async for d in s.staff.db.staff_audit.find(
                {"action": "customer.invite_without_password", "username": "adm-cyd"}
            )
        ]
        assert audited == ["ok", "ok", "ok", "ok"]


async def test_c14_c18_set_empty_passwords_goes_past_an_erased_customer_in_omsctl_and_the_console(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """An erased record (no email left) among those never invited: omsctl's run and the
    console's batch both go past it, invite the others, and never offer '--after None'."""
    from ..customer.test_customer_import import omsctl

    async with gateway_stack(settings, client, cleanup) as s:
        rows = [
            {
                "scope_id": "eu-fr",
                "first_name": f"E{i}",
                "last_name": "Erased",
                "email": f"e{i}@example.fr",
                "channel": "import",
                "idempotency_key": f"erased-{i}",
            }
            for i in range(4)
        ]
        await ok(await client.call(ImportCustomers, {"rows": rows}))
        found = await ok(await client.call(SearchCustomers, {"email": "e1@example.fr"}))
        erased = found.items[0].code
        await ok(
            await client.call(
                EraseCustomerData,
                {"customer_code": erased, "reason": "the customer's request"},
                actor=Actor(kind="csr", id="csr-ada"),
            )
        )
        code, out = await omsctl(settings, "customer", "set-empty-passwords", "--batch", "1")
        assert code == 0 and "3 customers invited" in out and "None" not in out, out

        def invited() -> set[str]:
            to = " ".join(str(m["To"]) for m in list(s.mail.messages))
            return {f"e{i}" for i in range(4) if f"e{i}@example.fr" in to}

        async def three_invited() -> set[str] | None:
            return invited() if len(invited()) >= 3 else None

        assert await eventually(three_invited, timeout=20) == {"e0", "e2", "e3"}
        async with signed_in(s.app, "administrator") as http:
            rerun = await http.post("/admin/set-empty-passwords", data={"batch_size": "1"})
            assert rerun.status_code == 200 and "<strong>0 customers invited</strong>" in rerun.text
            assert "Done" in rerun.text
