"""O5: what a CSR's resolution of a review may do, decided without servers."""

from __future__ import annotations

from typing import Any

import pytest

from order_sync.domain import check_resolution
from plumbing.errors import Rejected

OPEN: dict[str, Any] = {"_id": "R1", "status": "open", "candidates": ["C1", "C2"]}


def code_of(call: Any) -> str:
    with pytest.raises(Rejected) as caught:
        call()
    return caught.value.error.code


def test_o5_a_review_links_one_of_its_own_candidates_or_creates() -> None:
    check_resolution(OPEN, "R1", "link", "C2")
    check_resolution(OPEN, "R1", "create", None)
    assert code_of(lambda: check_resolution(OPEN, "R1", "link", "C9")) == "validation"
    assert code_of(lambda: check_resolution(OPEN, "R1", "link", None)) == "validation"


def test_o5_a_review_is_resolved_once_and_an_unknown_one_is_not_found() -> None:
    resolved = {**OPEN, "status": "resolved"}
    assert code_of(lambda: check_resolution(resolved, "R1", "create", None)) == "invalid_state"
    assert code_of(lambda: check_resolution(None, "R404", "link", "C1")) == "not_found"
