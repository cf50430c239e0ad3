"""Writes the Fellegi-Sunter weights of ``order_sync.matching`` into the order-sync README,
between its ``<!-- weights:start -->`` and ``<!-- weights:end -->`` marks (a unit test checks
that the two agree):

    python -m bench.matching.weights_table
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from order_sync import matching

README = Path(__file__).resolve().parents[2] / "services" / "order-sync" / "README.md"


def table() -> str:
    rows = ["| comparison | level | m | u | weight | meaning |", "| --- | --- | --- | --- | --- | --- |"]
    groups: list[tuple[Mapping[Any, matching.Level], str]] = [
        (matching.EMAIL, ""),
        (matching.SOURCE, ""),
        (matching.HOUSEHOLD, ""),
        (matching.NAMES_IN_HOUSEHOLD, " (household agrees)"),
        (matching.NAMES_ELSEWHERE, ""),
        ({"taught": matching.TAUGHT, "own phone": matching.OWN_PHONE, "first given": matching.FIRST_GIVEN}, ""),
    ]
    for levels, note in groups:
        for level in levels.values():
            rows.append(
                f"| {level.comparison}{note} | {level.name} | {level.m:g} | {level.u:g} "
                f"| {level.weight:+.1f} | {level.meaning} |"
            )
    return "\n".join(rows)


def main() -> None:
    text = README.read_text()
    head, rest = text.split("<!-- weights:start -->\n", 1)
    _, tail = rest.split("<!-- weights:end -->", 1)
    README.write_text(f"{head}<!-- weights:start -->\n{table()}\n<!-- weights:end -->{tail}")


if __name__ == "__main__":
    main()
