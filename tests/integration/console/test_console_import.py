"""C17, I5: an administrator imports customers from a CSV or JSONL file in the console, read
as ``omsctl customer import`` reads it: created, unchanged and refused rows counted, each
refused one with its line and reason; the same file again changes nothing; audited; the
other roles have neither the page nor the menu entry."""

from __future__ import annotations

import re

from contracts.customer.records import SearchCustomers, SetAccountTemplate
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import ok
from ..customer.test_customer_import import CSV, JSONL
from ..gateway_support import gateway_stack, signed_in


def refused_lines(page: str) -> dict[int, str]:
    return {int(line): reason for line, reason in re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page)}


async def test_c17_i5_an_administrator_imports_a_file_of_customers_from_the_console(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        template = {"scope_id": "eu-fr", "fields": [{"name": "newsletter", "type": "boolean"}]}
        await ok(await client.call(SetAccountTemplate, template))
        csv_file = {"file": ("customers.csv", CSV.encode(), "text/csv")}
        async with signed_in(s.app, "administrator") as http:
            form = (await http.get("/admin/import")).text
            assert 'id="import-form"' in form and 'href="/admin/import"' in form  # in the Administration menu
            first = await http.post("/admin/import", files=csv_file)
            assert first.status_code == 200, first.text
            assert "9 rows read; <strong>2 created</strong>, 1 unchanged (imported before), 6 rejected" in first.text
            reasons = refused_lines(first.text)
            assert set(reasons) == {4, 5, 6, 7, 9, 10}
            assert reasons[4] == "email: required: must not be empty"
            assert reasons[6] == "phone: not a possible phone number in FR"
            assert reasons[7] == "scope_id: no scope &#39;nowhere&#39;"
            assert reasons[10] == "attributes.newsletter: must be true or false"

            again = await http.post("/admin/import", files=csv_file)
            assert "<strong>0 created</strong>, 3 unchanged (imported before), 6 rejected" in again.text

            # JSONL, with a default scope the rows already name; unreadable lines are refused alone.
            jsonl = {"file": ("more.jsonl", JSONL.encode(), "application/x-ndjson")}
            more = await http.post("/admin/import", files=jsonl, data={"scope_id": "eu-fr"})
            assert "<strong>1 created</strong>, 0 unchanged (imported before), 3 rejected" in more.text
            assert "not JSON" in more.text and "surprise" in more.text

            binary = await http.post("/admin/import", files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")})
            assert binary.status_code == 422 and "not UTF-8" in binary.text
        chloe = (await ok(await client.call(SearchCustomers, {"email": "chloe@"}))).items[0]
        assert chloe.tags == ["VIP", "gold"] and chloe.postal_code == "75002"
        async with signed_in(s.app, "supervisor") as http:
            assert (await http.get("/admin/import")).status_code == 403
            assert 'href="/admin/import"' not in (await http.get("/")).text
        audited = [
            (d["outcome"], d["detail"])
            async for d in s.staff.db.staff_audit.find({"action": "customer.import"}).sort("at", 1)
        ]
        assert audited[:3] == [
            ("ok", "2 created, 1 unchanged, 6 rejected"),
            ("ok", "0 created, 3 unchanged, 6 rejected"),
            ("ok", "1 created, 0 unchanged, 3 rejected"),
        ]
        assert audited[3][0] == "forbidden"
