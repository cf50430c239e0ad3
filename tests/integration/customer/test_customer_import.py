"""C17 bulk import with `omsctl customer import` over the real stack: messy rows, a report, and
a second import that changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.records import SearchCustomers, SetAccountTemplate
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings

from ..conftest import create_scope, ok

pytestmark = pytest.mark.usefixtures("customer_service")

CSV = """scope_id,first_name,last_name,email,phone,tags,attr.newsletter,address.line1,address.city,address.postal_code,address.country
eu-fr,Chloé,Dubois,chloe@example.fr,06 12 34 56 78,VIP;gold,true,12 rue de la Paix,Paris,75002,FR
eu-fr,Jean,Martin,jean@example.fr,,,,,,,
eu-fr,Sans,Courriel,,,,,,,,
eu-fr,Mauvais,Courriel,pas-un-email,,,,,,,
eu-fr,Mauvais,Téléphone,tel@example.fr,12,,,,,,
nowhere,Perdu,Scope,perdu@example.fr,,,,,,,
eu-fr,Jean,Martin,jean@example.fr,,,,,,,
eu-fr,Jeanne,Martin,JEAN@example.fr,,,,,,,
eu-fr,Zoë,Attr,zoe@example.fr,,,maybe,,,,
"""

JSONL = """{"scope_id": "eu-fr", "first_name": "Ægir", "last_name": "Øvreås", "email": "aegir@example.no", "account_type": "guest"}
{"scope_id": "eu-fr", "first_name": "Lars", "last_name": "Berg", "email": "lars@example.no", "surprise": 1}
this is not json
{"scope_id": "eu-fr", "first_name": "", "last_name": "Berg", "email": "empty@example.no"}
"""


async def omsctl(settings: ServiceSettings, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omsctl",
        *args,
        env={**os.environ, "OMS_NAMESPACE": settings.namespace, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode, out.decode()


async def test_c17_import_reports_each_rejected_row_and_a_second_import_changes_nothing(
    settings: ServiceSettings, client: OmsClient, customer_db: AsyncDatabase, tmp_path: Path
) -> None:
    await create_scope(client)
    await ok(
        await client.call(
            SetAccountTemplate, {"scope_id": "eu-fr", "fields": [{"name": "newsletter", "type": "boolean"}]}
        )
    )
    csv_file, jsonl_file, report = tmp_path / "customers.csv", tmp_path / "more.jsonl", tmp_path / "report.json"
    csv_file.write_text(CSV, encoding="utf-8")
    jsonl_file.write_text(JSONL, encoding="utf-8")

    code, out = await omsctl(settings, "customer", "import", str(csv_file), "--batch", "3", "--report", str(report))
    assert code == 0, out
    assert "2 created, 1 unchanged, 6 rejected" in out, out  # line 8 repeats line 3
    reasons = {item["line"]: item["reason"] for item in json.loads(report.read_text())}
    assert set(reasons) == {4, 5, 6, 7, 9, 10}
    assert reasons[4] == "validation: email: required: must not be empty"
    assert reasons[5].startswith("validation: email: ") and "@" in reasons[5]
    assert reasons[6] == "validation: phone: not a possible phone number in FR"
    assert reasons[7] == "not_found: scope_id: no scope 'nowhere'"
    assert "already uses" in reasons[9]  # same registered email as line 3, in another case
    assert reasons[10] == "validation: attributes.newsletter: must be true or false"

    code, out = await omsctl(settings, "customer", "import", str(jsonl_file))
    assert code == 0 and "1 created, 0 unchanged, 3 rejected" in out, out
    assert "surprise" in out and "not JSON" in out and "first_name" in out

    stored = await customer_db["customers"].count_documents({})
    code, out = await omsctl(settings, "customer", "import", str(csv_file), "--parallel", "3", "--batch", "2")
    assert code == 0 and "0 created, 3 unchanged, 6 rejected" in out, out
    assert await customer_db["customers"].count_documents({}) == stored == 3

    chloe = (await ok(await client.call(SearchCustomers, {"email": "chloe@"}))).items[0]
    assert chloe.tags == ["VIP", "gold"] and chloe.phone == "+33612345678" and chloe.postal_code == "75002"
