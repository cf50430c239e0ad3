"""Reading a bulk-import file (CSV or JSONL) into ``NewCustomer`` rows (C17), no I/O but the file.
Below both its readers: ``omsctl customer import`` (a file on disk) and the console's import
(``gateway.console_import``, an uploaded file), so neither imports the other.

CSV columns: ``scope_id, first_name, last_name, email, phone, work_phone, fax,
phone_extension, preferred_language, account_type, kind, active, tags`` (separated by ``;``),
``flag``, ``attr.<name>`` for each custom attribute, and ``address.<field>`` (line1, line2,
city, region, postal_code, country, company, label) for one address. JSONL: one JSON object
per line, shaped like the ``CreateCustomer`` payload. Blank cells are missing values.

Each row gets an idempotency key derived from its content and scope, so importing the
same file again changes nothing, and a corrected row imports as a new attempt.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADDRESS_FIELDS = ("label", "company", "line1", "line2", "city", "region", "postal_code", "country")


@dataclass
class Row:
    line: int
    payload: dict[str, Any] | None
    problem: str | None = None


def read_rows(path: Path, default_scope: str | None = None) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as lines:
        yield from rows_from_lines(path.name, lines, default_scope)


def rows_from_lines(name: str, lines: Iterable[str], default_scope: str | None = None) -> Iterator[Row]:
    """The rows of a file called ``name`` (JSONL by its suffix, else CSV), read from its lines:
    a file on disk (omsctl) or one uploaded to the console (``gateway.console_import``)."""
    if name.lower().endswith((".jsonl", ".ndjson")):
        yield from _jsonl_rows(lines, default_scope)
    else:
        yield from _csv_rows(lines, default_scope)


def _jsonl_rows(lines: Iterable[str], default_scope: str | None) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Row(number, None, f"not JSON: {exc.msg}")
            continue
        if not isinstance(raw, dict):
            yield Row(number, None, "not a JSON object")
            continue
        yield Row(number, finish(raw, default_scope))


def _csv_rows(lines: Iterable[str], default_scope: str | None) -> Iterator[Row]:
    reader = csv.DictReader(lines)
    for record in reader:
        yield Row(reader.line_num, finish(csv_record(record), default_scope))


def csv_record(record: dict[str, str | None]) -> dict[str, Any]:
    """One CSV record as a ``CreateCustomer`` payload."""
    payload: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    address: dict[str, Any] = {}
    for column, cell in record.items():
        if column is None or cell is None or not cell.strip():
            continue
        column, value = column.strip(), cell.strip()
        if column.startswith("attr."):
            attributes[column[5:]] = value
        elif column.startswith("address."):
            address[column[8:]] = value
        elif column == "tags":
            payload["tags"] = [t.strip() for t in value.split(";") if t.strip()]
        elif column == "active":
            payload["active"] = value.lower() not in ("false", "0", "no", "n")
        else:
            payload[column] = value
    if attributes:
        payload["attributes"] = attributes
    if address:
        payload["addresses"] = [address]
    return payload


def finish(payload: dict[str, Any], default_scope: str | None) -> dict[str, Any]:
    payload = dict(payload)
    if default_scope and not payload.get("scope_id"):
        payload["scope_id"] = default_scope
    payload["channel"] = "import"
    payload.pop("idempotency_key", None)
    content = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    payload["idempotency_key"] = "import:" + hashlib.sha256(content.encode()).hexdigest()[:40]
    return payload
