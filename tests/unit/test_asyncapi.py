"""The committed AsyncAPI document is the one the code generates (P1, I3)."""

from tools.asyncapi import DOCUMENT, render


def test_p1_committed_asyncapi_document_matches_the_code() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(), (
        "contracts/asyncapi.yaml is stale; regenerate it with "
        "`faststream docs gen tools.asyncapi:create_app --factory --yaml --out contracts/asyncapi.yaml`"
    )


def test_i3_document_describes_the_upstream_order_contract() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert "asyncapi: 3.0.0" in text
    for needle in ("oms.order-sync.upstream-orders", "OrderPlaced", "order_number", "source_customer_id"):
        assert needle in text
