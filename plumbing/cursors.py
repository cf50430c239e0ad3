"""Keyset paging cursors: opaque to callers, read back strictly (security step 12, finding 6).

A cursor is the position of the last row of a page: a JSON array of plain values, base64url
encoded. It comes back from the caller, so it is input like any other: it is decoded into
the exact tuple its service declared (``TypeAdapter`` of strict strings, integers, booleans,
literals and times), never into a dict or list a query could take as an operator. Anything
else (not base64, not JSON, nested, of another shape or type, too long) is a ``validation``
error naming the cursor field, never a query and never an ``internal`` error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from .errors import Rejected

T = TypeVar("T")

#: Far above any cursor a service gives out (a sort key, a time and a code).
MAX_CURSOR_CHARS = 1000


def encode_cursor(values: Sequence[str | int | bool | datetime | None]) -> str:
    """``[value, ...]`` -> an opaque cursor; times are written as ISO 8601."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: Any, shape: TypeAdapter[T], *, field: str = "payload.cursor", what: str = "a cursor this service gave out"
) -> T:
    """The cursor's values as ``shape`` (a strict tuple), or ``Rejected`` naming ``field``."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise Rejected.invalid(field, f"not {what}")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        # pydantic's own JSON parser: no Python recursion, a nesting limit of its own.
        return shape.validate_json(raw, strict=True)
    except (ValueError, TypeError, binascii.Error, ValidationError):  # ValidationError is a ValueError
        raise Rejected.invalid(field, f"not {what}") from None
