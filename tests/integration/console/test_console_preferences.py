"""I5: a staff member's preferences, through the gateway against the real services: every
console time in the time zone they chose, labelled with it (UTC until they choose), kept on
their staff account for later sign-ins; the Customer Manager's scope selector remembered the
same way, so that a phone typed nationally ("06 12 34 56 78") is read as that scope's."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, create_scope
from ..gateway_support import STAFF, gateway_stack, signed_in

KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30 all year: what a page shows is known exactly


async def test_i5_times_show_in_the_staff_members_time_zone_labelled_and_remembered(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        a = await create_customer(client, email="zoned@example.fr")
        in_utc = a.registered_at.strftime("%Y-%m-%d %H:%M UTC")
        in_kolkata = a.registered_at.astimezone(KOLKATA).strftime("%Y-%m-%d %H:%M IST")
        async with signed_in(s.app, "csr") as http:
            record = (await http.get(f"/customers/{a.code}")).text
            assert f"<dt>Registered</dt><dd>{in_utc}</dd>" in record and 'id="time-zone-label">UTC<' in record

            form = (await http.get("/preferences")).text
            assert "<option selected>UTC</option>" in form and "<option >Asia/Kolkata</option>" in form
            refused = await http.post("/preferences", data={"time_zone": "Mars/Olympus_Mons"})
            assert refused.status_code == 422 and 'data-field="time_zone"' in refused.text
            saved = await http.post("/preferences", data={"time_zone": "Asia/Kolkata"})
            assert saved.status_code == 303, saved.text

            record = (await http.get(f"/customers/{a.code}")).text
            assert f"<dt>Registered</dt><dd>{in_kolkata}</dd>" in record
            assert 'id="time-zone-label">Asia/Kolkata<' in record and in_utc not in record
            audit = (await http.get(f"/customers/{a.code}/tab/audit")).text
            assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d IST</td>", audit) and "UTC" not in audit  # tabs too
            results = (await http.get("/customers/results", params={"email": "zoned@"})).text
            assert "Registered (Asia/Kolkata)" in results
            assert a.registered_at.astimezone(KOLKATA).strftime("%Y-%m-%d") in results

        # A new sign-in (another session) has the zone: it is kept on the staff account.
        async with signed_in(s.app, "csr") as again:
            assert f"<dt>Registered</dt><dd>{in_kolkata}</dd>" in (await again.get(f"/customers/{a.code}")).text
        # Another staff member still reads UTC.
        async with signed_in(s.app, "supervisor") as other:
            assert f"<dt>Registered</dt><dd>{in_utc}</dd>" in (await other.get(f"/customers/{a.code}")).text
        audited = [
            (d["action"], d["outcome"])
            async for d in s.staff.db.staff_audit.find({"action": "staff.preferences"}).sort("at", 1)
        ]
        assert audited == [("staff.preferences", "validation"), ("staff.preferences", "ok")]


async def test_c2_c11_i5_the_scope_selector_is_remembered_per_staff_member(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        await create_scope(client, "uk", "GB")
        french = await create_customer(client, email="fr.phone@example.fr", phone="+33 6 12 34 56 78")
        # The same digits, read as a British number, is someone else.
        british = await create_customer(client, scope_id="uk", email="uk.phone@example.co.uk", phone="07400 123456")
        async with signed_in(s.app, "csr") as http:
            manager = (await http.get("/")).text
            assert re.search(r'id="search-scope"><option value="">any scope</option>', manager)
            assert 'value="eu-fr" selected' not in manager

            # With any scope, a national number is read as each scope's country's.
            anywhere = (await http.get("/customers/results", params={"phone": "06 12 34 56 78"})).text
            assert french.code in anywhere and "region" not in anywhere
            # Not a number in the scope's country: said once, in plain words, no library error.
            for path in ("/customers/results", "/"):  # the search's answer, and the whole page
                wrong = await http.get(path, params={"scope_id": "eu-fr", "phone": "12"})
                assert wrong.status_code == 422 and 'id="search-error"' in wrong.text
                assert wrong.text.count("not a phone number of FR") == 1, wrong.text
                assert "<strong>Phone</strong>: not a phone number of FR" in wrong.text
                assert "payload.phone" not in wrong.text and "default region" not in wrong.text
            assert 'name="phone" value="12"' in wrong.text  # what was typed stays in its box
            found = (await http.get("/customers/results", params={"scope_id": "eu-fr", "phone": "06 12 34 56 78"})).text
            assert french.code in found and british.code not in found
            # The next visit starts in the scope last searched.
            assert 'value="eu-fr" selected' in (await http.get("/")).text
            in_uk = (await http.get("/customers/results", params={"scope_id": "uk", "phone": "07400 123456"})).text
            assert british.code in in_uk and french.code not in in_uk
        async with signed_in(s.app, "csr") as again:
            assert 'value="uk" selected' in (await again.get("/")).text
            assert 'value="uk" selected' in (await again.get("/preferences")).text
        staff = await s.staff.db.staff.find_one({"_id": STAFF["csr"]})
        assert staff["preferences"]["scope_id"] == "uk"
