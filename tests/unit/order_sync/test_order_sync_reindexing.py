"""O2: which customers the identity index must index again after a release (no I/O)."""

from __future__ import annotations

from order_sync import reindexing
from order_sync.matching import Profile, index_keys


def test_o2_the_fingerprint_is_the_keys_this_code_derives_and_moves_with_them(monkeypatch) -> None:  # noqa: ANN001
    assert reindexing.fingerprint() == reindexing.fingerprint()
    before = reindexing.fingerprint()
    monkeypatch.setattr(reindexing, "index_keys", lambda profile: index_keys(profile) | {"xx:new kind"})
    assert reindexing.fingerprint() != before
    monkeypatch.undo()
    monkeypatch.setattr(reindexing, "INDEX_GENERATION", reindexing.INDEX_GENERATION + 1)
    assert reindexing.fingerprint() != before


def test_o2_a_stored_customer_misses_only_the_keys_its_document_does_not_list() -> None:
    learned = {"phones": ["+12125550147;ext=12"], "names": [("jean", "dupont")], "postals": ["10001"]}
    profile = Profile("C1")
    profile.add(learned)
    every = sorted(index_keys(profile))
    doc = {"_id": "C1", "record": learned, "index_keys": [k for k in every if k != "ph:+12125550147"]}
    assert reindexing.missing_keys(doc) == ["ph:+12125550147"]
    assert reindexing.missing_keys({**doc, "index_keys": every}) == []
