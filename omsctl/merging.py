"""omsctl customer merge / unmerge / merges (C13, I2)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from contracts.customer.merges import GetMergeJournal, MergeCustomers, UnmergeCustomers
from contracts.customer.records import CustomerView, GetCustomer

from .customers import app, call, console


def _version(code: str, given: int | None) -> int:
    """The version the CSR names, else the current one (read now)."""
    if given is not None:
        return given
    current = call(GetCustomer, {"customer_code": code})
    if not isinstance(current, CustomerView):
        console.print(f"[red]{code}: no customer in the answer[/]")
        raise typer.Exit(1)
    if current.code != code.upper():
        console.print(f"[red]{code} was merged into {current.code} already[/]")
        raise typer.Exit(1)
    return current.version


@app.command("merge")
def merge(
    survivor: Annotated[str, typer.Argument(help="Code of the customer that stays (A).")],
    merged: Annotated[str, typer.Argument(help="Code of the customer merged into it and retired (B).")],
    reason: Annotated[str, typer.Option(help="Why: kept in the journal and the audit.")],
    survivor_version: Annotated[
        int | None, typer.Option(help="The version of A you checked (default: current).")
    ] = None,
    merged_version: Annotated[int | None, typer.Option(help="The version of B you checked (default: current).")] = None,
) -> None:
    """Merge B into A: addresses, orders, activities, tags, attributes and the rest move to A."""
    outcome = call(
        MergeCustomers,
        {
            "survivor_code": survivor,
            "survivor_version": _version(survivor, survivor_version),
            "merged_code": merged,
            "merged_version": _version(merged, merged_version),
            "reason": reason,
        },
    )
    console.print(
        f"merged {merged.upper()} into {outcome.survivor.code}: merge [bold]{outcome.merge_id}[/], "
        f"can be undone until {outcome.undo_until:%Y-%m-%d %H:%M} UTC "
        f"(omsctl customer unmerge {outcome.merge_id})"
    )


@app.command("unmerge")
def unmerge(
    merge_id: Annotated[str, typer.Argument(help="The merge id that merge printed (or see `merges CODE`).")],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Undo a merge within its window: B comes back with what was B's."""
    outcome = call(UnmergeCustomers, {"merge_id": merge_id, "reason": reason})
    console.print(
        f"unmerged: {outcome.restored.code} is {outcome.restored.state} again; "
        f"{outcome.survivor.code} keeps what was its own"
    )


@app.command("merges")
def merges(code: Annotated[str, typer.Argument(help="A customer code.")]) -> None:
    """The merge journal of a customer: what each merge moved."""
    page = call(GetMergeJournal, {"customer_code": code})
    table = Table("merge", "when", "survivor", "merged", "state", "undo until", "moved")
    for e in page.items:
        moved = ", ".join(m.field for m in e.moves if m.moved not in (None, [], {}, 0))
        table.add_row(
            e.merge_id,
            f"{e.merged_at:%Y-%m-%d %H:%M}",
            e.survivor_code,
            e.merged_code,
            e.state,
            f"{e.undo_until:%Y-%m-%d}",
            moved + (f", {e.history_entries} history" if e.history_entries else ""),
        )
    console.print(table)
