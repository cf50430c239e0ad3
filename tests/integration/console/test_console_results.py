"""C11, I5: the Customer Manager's results tell namesakes apart: scope, guest or registered,
the phone as a CSR reads it back, times marked UTC; a later page links to the one before it
and to the first."""

from __future__ import annotations

import re

from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually
from ..conftest import create_customer
from ..gateway_support import gateway_stack, signed_in


async def test_c11_i5_results_show_scope_account_type_a_readable_phone_and_page_both_ways(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        registered = await create_customer(
            client, first_name="Anna", last_name="Schmidt", email="anna@example.fr", phone="06 12 34 56 78"
        )
        guest = await create_customer(
            client, first_name="Anna", last_name="Schmidt", email="anna.s@example.fr", account_type="guest"
        )
        for n in range(41):  # a second and a third page
            await create_customer(client, first_name="Anna", last_name=f"Schmidtke{n:02}", email=f"a{n}@example.fr")
        async with signed_in(s.app, "csr") as http:
            page = (await http.get("/customers/results", params={"name": "anna schmidt"})).text
            rows = {
                code: re.search(rf"<tr>\s*<td><a href=\"/customers/{code}\">.*?</tr>", page, re.S).group(0)
                for code in (registered.code, guest.code)
            }
            assert "eu-fr" in rows[registered.code] and ">registered<" in rows[registered.code]
            assert ">guest<" in rows[guest.code]
            assert "+33 6 12 34 56 78" in rows[registered.code]
            assert "Registered (UTC)" in page and "Last activity (UTC)" in page

            def link(page: str, button: str) -> str:
                return re.search(rf'id="results-{button}" href="([^"]*)"', page).group(1).replace("&amp;", "&")

            def codes(page: str) -> list[str]:
                return re.findall(r'<tr>\s*<td><a href="/customers/(C[^"]+)"', page)

            first = (await http.get("/", params={"name": "anna"})).text
            assert 'id="results-previous"' not in first and 'id="results-first"' not in first
            second = (await http.get(link(first, "next"))).text
            third = (await http.get(link(second, "next"))).text
            assert len(codes(first)) == len(codes(second)) == 20 and len(codes(third)) == 3
            assert not set(codes(first)) & set(codes(second)) and not set(codes(second)) & set(codes(third))
            assert 'id="results-next"' not in third
            # Previous goes back one page at a time, with the search kept; First page to the start.
            assert "name=anna" in link(third, "previous")
            assert codes((await http.get(link(third, "previous"))).text) == codes(second)
            assert codes((await http.get(link(second, "previous"))).text) == codes(first)
            back = link(third, "first")
            assert "cursor" not in back and "name=anna" in back
            assert codes((await http.get(back)).text) == codes(first)


async def test_c7_i5_history_tabs_page_past_twenty_entries(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    from contracts.customer.history import GetCustomerHistory

    from ..order_sync.test_order_sync import link_of, order

    async with gateway_stack(settings, client, cleanup) as s:
        for n in range(25):
            await client.publish_upstream(order(f"H-{n:02}", email="many.orders@example.fr"))
        code = (await link_of(client, "storefront:eu", "H-24")).customer_code

        async def all_in_history() -> bool:
            first = await client.call(GetCustomerHistory, {"customer_code": code, "kind": "order"})
            if not first.ok or not first.result.next_cursor:
                return False
            rest = await client.call(
                GetCustomerHistory, {"customer_code": code, "kind": "order", "cursor": first.result.next_cursor}
            )
            return len(first.result.items) + len(rest.result.items) == 25

        await eventually(all_in_history, timeout=20)
        async with signed_in(s.app, "csr") as http:
            newest = (await http.get(f"/customers/{code}/tab/orders")).text
            assert newest.count("<tr><td>H-") == 20 and "Newest" not in newest
            older = re.search(r'hx-get="([^"]+cursor=[^"]+)"', newest).group(1).replace("&amp;", "&")
            page = (await http.get(older)).text
            assert page.count("<tr><td>H-") == 5 and "Newest" in page and 'id="history-older"' not in page
            shown = set(re.findall(r"<tr><td>(H-\d\d)", newest)) | set(re.findall(r"<tr><td>(H-\d\d)", page))
            assert shown == {f"H-{n:02}" for n in range(25)}
