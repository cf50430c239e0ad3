"""C16, N5, I5: the record's Activities and Audit tabs page past twenty entries, as the other
history tabs do: 'Older' loads the next page in place (htmx, or a plain link), 'Newest' goes
back, and together the pages show every entry once."""

from __future__ import annotations

import re

from contracts.customer.records import GetCustomerAudit, UpdateCustomer
from contracts.envelope import Actor
from contracts.notification.emails import ActivityPageReply, GetActivities
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in

CSR = Actor(kind="csr", id="csr-ada")


def older_link(page: str) -> str:
    return re.search(r'id="history-older" href="([^"]+)"', page).group(1).replace("&amp;", "&")


async def test_n5_c16_i5_activities_and_audit_tabs_page_past_twenty_entries(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="busy@example.fr", account_type="guest")
        version = a.version
        for n in range(22):  # 'created' and 22 changes: 23 audit entries
            version = (
                await ok(
                    await client.call(
                        UpdateCustomer,
                        {"customer_code": a.code, "expected_version": version, "changes": {"phone": f"0612345{n:03}"}},
                        actor=CSR,
                    )
                )
            ).version
        async with signed_in(s.app, "csr") as http:
            for n in range(21):
                sent = await http.post(
                    f"/customers/{a.code}/email", data={"subject": f"Note {n:02}", "message": "about your order"}
                )
                assert sent.status_code == 303, sent.text

            async def all_recorded() -> bool:
                first = await client.call(GetActivities, {"customer_code": a.code}, reply_type=ActivityPageReply)
                if not first.ok or not first.result.next_cursor:
                    return False
                rest = await client.call(
                    GetActivities,
                    {"customer_code": a.code, "cursor": first.result.next_cursor},
                    reply_type=ActivityPageReply,
                )
                return len(first.result.items) + len(rest.result.items) == 21

            await eventually(all_recorded, timeout=30)

            newest = (await http.get(f"/customers/{a.code}?tab=activities")).text
            assert newest.count('class="card activity"') == 20 and "Newest" not in newest
            page = (await http.get(older_link(newest))).text
            assert page.count('class="card activity"') == 1 and "Newest" in page and 'id="history-older"' not in page
            shown = set(re.findall(r"<strong>(Note \d\d)</strong>", newest + page))
            assert shown == {f"Note {n:02}" for n in range(21)}

            newest = (await http.get(f"/customers/{a.code}/tab/audit")).text
            rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]+)</td>", newest)
            assert len(rows) == 20 and "Newest" not in newest
            htmx_older = re.search(r'hx-get="([^"]+cursor=[^"]+)"', newest).group(1).replace("&amp;", "&")
            page = (await http.get(htmx_older)).text
            rest = re.findall(r"<tr><td>[^<]*</td><td>([^<]+)</td>", page)
            assert "Newest" in page and 'id="history-older"' not in page
            whole = await ok(await client.call(GetCustomerAudit, {"customer_code": a.code, "limit": 100}))
            assert len(whole.items) >= 22 and rows + rest == [e.action for e in whole.items]
