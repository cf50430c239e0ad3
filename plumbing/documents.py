"""Stored documents as plain JSON-ready data, for exports (C18)."""

from __future__ import annotations

from typing import Any

from bson import Decimal128, ObjectId


def plain(value: Any) -> Any:
    """A MongoDB document with ObjectIds and Decimal128s as strings; dates stay dates."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, ObjectId | Decimal128):
        return str(value)
    return value
