"""C3, I5: custom attributes are edited with a widget of their type (a list for an enum, yes or
no for a boolean, a date picker, a number), a boolean reads yes or no, and what was typed is
kept beside the error when the service refuses it."""

from __future__ import annotations

import re

from contracts.customer.records import GetAccountTemplate, GetCustomer, SetAccountTemplate
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ...support import Cleanup
from ..conftest import create_customer, ok
from ..gateway_support import gateway_stack, signed_in

FIELDS = [
    {"name": "tier", "type": "enum", "allowed_values": ["silver", "gold"]},
    {"name": "newsletter", "type": "boolean"},
    {"name": "birthday", "type": "date"},
    {"name": "visits", "type": "integer"},
    {"name": "nickname", "type": "string"},
]


async def test_c3_i5_attributes_have_widgets_of_their_type(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        await ok(await client.call(SetAccountTemplate, {"scope_id": "eu-fr", "fields": FIELDS}))
        anna = await create_customer(client, attributes={"tier": "gold", "newsletter": True})
        async with signed_in(s.app, "csr") as http:
            tab = (await http.get(f"/customers/{anna.code}/tab/attributes")).text
            assert re.search(r'<select name="attr.tier">.*<option selected>gold</option>', tab, re.S)
            assert re.search(r'<select name="attr.newsletter">.*<option value="true" selected>yes</option>', tab, re.S)
            assert '<input type="date" name="attr.birthday"' in tab
            assert '<input type="number" step="1" name="attr.visits"' in tab
            assert "True" not in tab

            form = {
                "version": str(anna.version),
                "attr.tier": "silver",
                "attr.newsletter": "false",
                "attr.birthday": "1990-02-03",
                "attr.visits": "3",
                "attr.nickname": "Nana",
            }
            saved = await http.post(f"/customers/{anna.code}/edit", data=form)
            assert saved.status_code in (200, 303), saved.text
            after = await ok(await client.call(GetCustomer, {"customer_code": anna.code}))
            assert after.attributes["newsletter"] is False and after.attributes["tier"] == "silver"
            assert after.attributes["visits"] == 3 and after.attributes["nickname"] == "Nana"

            # Refused: the typed values stay on the form beside the error.
            bad = {**form, "version": str(after.version), "attr.visits": "three", "attr.nickname": "Nono"}
            refused = await http.post(f"/customers/{anna.code}/edit", data=bad)
            assert refused.status_code == 422
            assert 'value="three"' in refused.text and 'value="Nono"' in refused.text


async def test_i5_each_field_error_shows_beside_its_field_and_none_hides_another(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with gateway_stack(settings, client, cleanup) as s:
        await ok(await client.call(SetAccountTemplate, {"scope_id": "eu-fr", "fields": FIELDS}))
        anna = await create_customer(client)
        async with signed_in(s.app, "csr") as http:
            form = {
                "version": str(anna.version),
                "first_name": "Anna",
                "last_name": "Martin",
                "email": "not an email",
                "phone": "12",
            }
            refused = await http.post(f"/customers/{anna.code}/edit", data=form)
            assert refused.status_code == 422
            beside = dict(
                re.findall(r'<span class="field-error" role="alert" data-field="([^"]+)">([^<]+)</span>', refused.text)
            )
            assert {"email", "phone"} <= set(beside), beside  # both, each beside its own input
            # Above the form, once each, by the input's name: no contract path, no repeated message.
            assert "payload." not in refused.text and "Not saved: please correct these" in refused.text
            for name in ("email", "phone"):
                assert refused.text.count(f"<li><code>{name}</code>: ") == 1
            assert 'value="not an email"' in refused.text and 'value="12"' in refused.text
            # An attribute's error sits beside the attribute, on its tab.
            bad = {"version": str(anna.version), "attr.visits": "three"}
            refused = await http.post(f"/customers/{anna.code}/edit", data=bad)
            assert 'data-field="attr.visits">must be a whole number<' in refused.text


async def test_c3_i5_the_account_template_editor_saved_as_shown_adds_no_row(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """The editor shows the template's fields and one blank row for a new one; saving the form
    as the browser sends it, twice, keeps the same fields (the blank row is not a field)."""
    async with gateway_stack(settings, client, cleanup) as s:
        await ok(await client.call(SetAccountTemplate, {"scope_id": "eu-fr", "fields": FIELDS}))
        async with signed_in(s.app, "administrator") as http:
            for _ in range(2):
                editor = (await http.get("/admin/account-template", params={"scope_id": "eu-fr"})).text
                names = re.findall(r'<input name="name_(\d+)" value="([^"]*)"', editor)
                assert [value for _, value in names] == [f["name"] for f in FIELDS] + [""]
                form: dict[str, str] = {
                    "scope_id": "eu-fr",
                    "rows": re.search(r'name="rows" value="(\d+)"', editor).group(1),
                }
                for i, value in names:
                    form[f"name_{i}"] = value
                    chosen = re.search(rf'<select name="type_{i}">.*?<option selected>(\w+)<', editor, re.S)
                    form[f"type_{i}"] = chosen.group(1) if chosen else "string"  # a blank row: the first
                    allowed = re.search(rf'name="allowed_{i}" value="([^"]*)"', editor)
                    form[f"allowed_{i}"] = allowed.group(1) if allowed else ""
                saved = await http.post("/admin/account-template", data=form)
                assert saved.status_code in (200, 303), saved.text
        template = await ok(await client.call(GetAccountTemplate, {"scope_id": "eu-fr"}))
        assert [(f.name, f.type) for f in template.fields] == [(f["name"], f["type"]) for f in FIELDS]
