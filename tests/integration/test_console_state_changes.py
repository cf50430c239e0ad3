"""C10, C15, I5: state changes in the console carry their reason and ask first; a CSR unlocks
an account the sign-in policy locked, but not one a supervisor disabled."""

from __future__ import annotations

from contracts.customer import SIGN_IN_LOCK_REASON, ChangeCustomerState, GetCustomer
from contracts.envelope import Actor
from contracts.privacy import EraseCustomerData
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ..support import Cleanup
from .conftest import create_customer, ok
from .gateway_support import gateway_stack, signed_in

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
