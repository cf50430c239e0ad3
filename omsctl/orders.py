"""omsctl order commands: the review queue, rejected orders, which customer an order is tied to
(I2, O1, O2, O5)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from contracts.order_sync.linking import FindOrders, GetOrderLink, ListRejectedOrders, ListReviews, ResolveReview

from .customers import call, console

app = typer.Typer(help="Orders from upstream: review queue, rejected orders, links.", no_args_is_help=True)


@app.command("reviews")
def reviews(
    resolved: Annotated[bool, typer.Option("--resolved", help="show resolved items instead")] = False,
    cursor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Orders the matching could not tie to one customer (O5), each beside its candidates, their
    scores (match weight in bits) and the evidence for (+) and against (-)."""
    page = call(ListReviews, {"status": "resolved" if resolved else "open", "cursor": cursor})
    for item in page.items:
        o = item.order
        console.print(
            f"[bold]{item.review_id}[/] {o.source_system} {o.order_number} ({o.scope_id}) "
            f"{o.total} {o.currency}  strongest evidence {item.rule}: {item.first_name or ''} "
            f"{item.last_name or ''} {item.email or ''} {item.phone or ''} {item.postal_code or ''}"
        )
        for note in item.notes:
            console.print(f"  note: {note}", markup=False)
        table = Table("candidate", "name", "email", "phone", "postal codes", "type", "score", "evidence")
        for c in item.candidates:
            evidence = "\n".join(f"{e.weight:+.1f} {e.comparison} {e.level}" for e in c.evidence)
            table.add_row(
                c.customer_code,
                f"{c.last_name}, {c.first_name}",
                c.email or "",
                c.phone or "",
                ", ".join(c.postal_codes),
                c.account_type,
                f"{c.score:.1f}" if c.score is not None else "",
                evidence,
            )
        console.print(table)
        if item.customer_code:
            console.print(f"  resolved by {item.resolved_by}: {item.customer_code}")
    if not page.items:
        console.print("the review queue is empty")
    if page.next_cursor:
        console.print(f"next page: --cursor {page.next_cursor}")


@app.command("resolve")
def resolve(
    review_id: str,
    customer: Annotated[str | None, typer.Option(help="link the order to this candidate")] = None,
    create: Annotated[bool, typer.Option("--create", help="create a new customer for the order")] = False,
) -> None:
    """Resolve a review item: pick a candidate (--customer CODE) or --create a new customer."""
    if bool(customer) == create:
        console.print("[red]give either --customer CODE or --create[/]")
        raise typer.Exit(2)
    item = call(
        ResolveReview, {"review_id": review_id, "action": "create" if create else "link", "customer_code": customer}
    )
    console.print(f"order {item.order.order_number} is now linked to {item.customer_code}")


@app.command("rejected")
def rejected(limit: Annotated[int, typer.Option(max=100)] = 20) -> None:
    """Orders refused as malformed or unprocessable (O1), newest first, with the reasons."""
    rows = call(ListRejectedOrders, {"limit": limit})
    for r in rows:
        fields = "; ".join(f"{f['field']}: {f['reason']}" for f in r.fields)
        console.print(
            f"{r.rejected_at:%Y-%m-%d %H:%M:%S} {r.routing_key} {r.message_id or '?'}: {r.reason}"
            + (f" ({fields})" if fields else "")
        )
    if not rows:
        console.print("no rejected orders")


@app.command("find")
def find(number: str, scope: Annotated[str | None, typer.Option(help="only this scope")] = None) -> None:
    """Orders by number, as the customer reads it ('#1001') or as the platform keeps it, in
    every source system, newest first, each with its customer (O2, O8)."""
    views = call(FindOrders, {"number": number, **({"scope_id": scope} if scope else {})})
    for view in views:
        o = view.order
        shown = f"{o.display_number} " if o.display_number and o.display_number != o.order_number else ""
        target = view.customer_code or (f"review {view.review_id}" if view.review_id else "nobody")
        console.print(
            f"{shown}{o.source_system} {o.order_number}  {o.scope_id}  {o.placed_at:%Y-%m-%d %H:%M} UTC  "
            f"{o.total} {o.currency}  -> {target} (rule: {view.rule})"
        )
    if not views:
        console.print(f"no order numbered {number}")


@app.command("link")
def link(source_system: str, order_number: str) -> None:
    """Which customer an order is tied to, and by which rule (O2)."""
    view = call(GetOrderLink, {"source_system": source_system, "order_number": order_number})
    target = view.customer_code or (f"nobody yet: review {view.review_id}" if view.review_id else "nobody")
    score = f", score {view.score:.1f} bits" if view.score is not None else ""
    console.print(f"{source_system} {order_number} -> {target} (rule: {view.rule}{score})")
    for e in view.evidence:
        console.print(f"  {e.weight:+5.1f} {e.comparison} {e.level}  {e.detail}")
    for note in view.notes:
        console.print(f"  note: {note}", markup=False)
