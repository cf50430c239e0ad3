"""C10, C15, I5: state changes in the console carry their reason and ask first; a CSR unlocks
an account the sign-in policy locked, but not one a supervisor disabled."""

from __future__ import annotations

import re

from contracts.customer.privacy import EraseCustomerData
from contracts.customer.records import SIGN_IN_LOCK_REASON, ChangeCustomerState, GetCustomer
from contracts.envelope import Actor
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, create_scope, ok
from ..gateway_support import gateway_stack, signed_in

POLICY = Actor(kind="system", id="sign-in policy")


async def test_c10_c15_i5_a_csr_unlocks_a_locked_account_and_gives_reasons(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        locked = await create_customer(client, email="locked@example.fr")
        await ok(
            await client.call(
                ChangeCustomerState,
                {
                    "customer_code": locked.code,
                    "expected_version": 1,
                    "action": "disable",
                    "reason": SIGN_IN_LOCK_REASON,
                },
                actor=POLICY,
            )
        )
        async with signed_in(s.app, "csr") as http:
            record = (await http.get(f"/customers/{locked.code}")).text
            assert "Unlock (locked by failed sign-ins)" in record and SIGN_IN_LOCK_REASON in record
            answer = await http.post(f"/customers/{locked.code}/state", data={"action": "enable", "version": "2"})
            assert answer.status_code in (200, 303), answer.text
            assert (await ok(await client.call(GetCustomer, {"customer_code": locked.code}))).state == "active"

            # Disable asks first and takes a reason, which the record then shows.
            record = (await http.get(f"/customers/{locked.code}")).text
            assert 'data-confirm="Disable' in record and 'name="reason"' in record
            await http.post(
                f"/customers/{locked.code}/state",
                data={"action": "disable", "version": "3", "reason": "chargeback under review"},
            )
            disabled = await ok(await client.call(GetCustomer, {"customer_code": locked.code}))
            assert (disabled.state, disabled.state_reason) == ("disabled", "chargeback under review")
            # Disabled by staff, not by the policy: enabling it is a supervisor's.
            assert "Unlock" not in (await http.get(f"/customers/{locked.code}")).text
            refused = await http.post(f"/customers/{locked.code}/state", data={"action": "enable", "version": "4"})
            assert refused.status_code == 403
            api = await http.post(
                f"/api/customers/{locked.code}/state", json={"action": "enable", "expected_version": 4}
            )
            assert api.status_code == 403
        async with signed_in(s.app, "supervisor") as http:
            assert (
                await http.post(f"/api/customers/{locked.code}/state", json={"action": "enable", "expected_version": 4})
            ).status_code == 200


async def test_c18_i5_an_erased_record_offers_nothing_to_change(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        gone = await create_customer(client, email="gone@example.fr")
        await ok(
            await client.call(
                EraseCustomerData,
                {"customer_code": gone.code, "reason": "the customer's request"},
                actor=Actor(kind="csr", id="csr-ada"),
            )
        )
        async with signed_in(s.app, "supervisor") as http:
            record = (await http.get(f"/customers/{gone.code}")).text
            account = (await http.get(f"/customers/{gone.code}/tab/account")).text
        assert 'id="record-final"' in record and "was erased" in record
        for offered in (
            'id="act-on-behalf"',
            'id="merge-preview"',
            'id="reset-password"',
            'id="send-email"',
            'id="state-disable"',
            'id="state-deactivate"',
        ):
            assert offered not in record, offered
        assert 'id="save-account"' not in account


async def test_c10_i5_approve_and_reject_from_the_waiting_list_ask_first_and_reject_says_why(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        await create_scope(client, "eu-pro", "FR", requires_approval=True)
        first = await create_customer(client, scope_id="eu-pro", email="w1@example.fr", channel="storefront")
        second = await create_customer(client, scope_id="eu-pro", email="w2@example.fr", channel="storefront")
        assert first.state == second.state == "waiting_approval"
        async with signed_in(s.app, "supervisor") as http:
            manager = (await http.get("/")).text
            for code in (first.code, second.code):
                assert re.search(rf'data-confirm="Approve [^"]*\({code}\)\?"', manager)
                assert re.search(rf'data-confirm="Reject [^"]*\({code}\)\?"', manager)
                assert f'aria-label="Reason to reject {code}"' in manager
            # No reason, no rejection (the form asks for it; the gateway refuses it all the same).
            bare = await http.post(f"/customers/{second.code}/state", data={"action": "reject", "back": "/"})
            assert bare.status_code == 422 and "a reason to reject is required" in bare.text
            for action in ("disable", "deactivate"):
                refused = await http.post(f"/customers/{first.code}/state", data={"action": action, "reason": " "})
                assert refused.status_code == 422, action
            assert (await ok(await client.call(GetCustomer, {"customer_code": second.code}))).state == (
                "waiting_approval"
            )
            rejected = await http.post(
                f"/customers/{second.code}/state", data={"action": "reject", "back": "/", "reason": "duplicate shop"}
            )
            assert rejected.status_code in (200, 303), rejected.text
            approved = await http.post(f"/customers/{first.code}/state", data={"action": "approve", "back": "/"})
            assert approved.status_code in (200, 303), approved.text
        now = {
            code: await ok(await client.call(GetCustomer, {"customer_code": code}))
            for code in (first.code, second.code)
        }
        assert now[first.code].state == "active"
        assert (now[second.code].state, now[second.code].state_reason) == ("rejected", "duplicate shop")
