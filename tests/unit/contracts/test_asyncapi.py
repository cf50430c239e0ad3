"""The committed AsyncAPI document is the one `faststream docs gen` makes from the code (P1, I3)."""

import subprocess
import sys
from pathlib import Path

from tools.asyncapi import DOCUMENT

REGENERATE = "faststream docs gen tools.asyncapi:create_app --factory --yaml --out contracts/asyncapi.yaml"


def test_p1_committed_asyncapi_document_matches_the_code(tmp_path: Path) -> None:
    # A fresh process: the document must not depend on what else this test run imported.
    generated = tmp_path / "asyncapi.yaml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "faststream",
            "docs",
            "gen",
            "tools.asyncapi:create_app",
            "--factory",
            "--yaml",
            "--out",
            str(generated),
        ],
        check=True,
        capture_output=True,
        cwd=DOCUMENT.parent.parent,
    )
    assert DOCUMENT.read_text(encoding="utf-8") == generated.read_text(encoding="utf-8"), (
        f"contracts/asyncapi.yaml is stale; regenerate it with `{REGENERATE}`"
    )


def test_i3_document_describes_the_upstream_order_contract() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert "asyncapi: 3.0.0" in text
    for needle in (
        "oms.order-sync.upstream-orders",
        "OrderPlaced",
        "order_number",
        "source_customer_id",
        "OrderShipped",
        "PaymentReceived",
    ):
        assert needle in text
