"""omsctl customer export / erase (C18, I2): one request reaches every service; and the data
requests platforms sent (Shopify's ``customers/data_request``): list them, complete them."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from contracts.customer.privacy import CompleteDataRequest, EraseCustomerData, ExportCustomerData, ListDataRequests
from plumbing.client import OmsClient, error_text
from plumbing.settings import ServiceSettings

from .customers import actor, app, call, console

#: Messages go to stderr: stdout carries the export document (`> file.json`).
errors = Console(stderr=True)


def _request(command: type, code: str, reason: str, timeout: float) -> Any:
    async def go() -> Any:
        async with OmsClient(ServiceSettings()) as client:
            return await client.call(command, {"customer_code": code, "reason": reason}, actor=actor(), timeout=timeout)

    return asyncio.run(go())


@app.command("export")
def export(
    code: Annotated[str, typer.Argument(help="Customer code.")],
    reason: Annotated[
        str, typer.Option(help="Why (the data subject's request, a ticket); audited.")
    ] = "data export request",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service.")] = 60,
) -> None:
    """Everything every service holds about a customer, as one JSON document on stdout."""
    reply = _request(ExportCustomerData, code, reason, timeout)
    if not reply.ok:
        errors.print(f"[red]{error_text(reply.error)}[/]")
        raise typer.Exit(1)
    sys.stdout.write(reply.result.model_dump_json(indent=2) + "\n")


@app.command("erase")
def erase(
    code: Annotated[str, typer.Argument(help="Customer code.")],
    reason: Annotated[str, typer.Option(help="Why (the data subject's request, a ticket); audited.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service.")] = 60,
) -> None:
    """Erase (anonymize) a customer in every service; prints the receipt. Safe to repeat."""
    if not yes:
        typer.confirm(f"Erase customer {code} in every service? This cannot be undone", abort=True)
    reply = _request(EraseCustomerData, code, reason, timeout)
    if not reply.ok:
        errors.print(f"[red]{reply.error.message}[/]")
        if "receipt" in reply.error.details:
            sys.stdout.write(json.dumps(reply.error.details["receipt"], indent=2) + "\n")
        raise typer.Exit(1)
    sys.stdout.write(reply.result.model_dump_json(indent=2) + "\n")


@app.command("data-requests")
def data_requests(
    completed: Annotated[bool, typer.Option("--completed", help="Completed ones, newest first.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Data requests from platforms (C18): open ones oldest first. Export each customer named
    (`omsctl customer export CODE`), hand it over, then `omsctl customer complete-data-request KEY`."""
    items = call(ListDataRequests, {"state": "completed" if completed else "open", "limit": limit})
    table = Table("key", "received", "customers", "platform's customer, orders", "completed by")
    for r in items:
        table.add_row(
            r.request_key,
            r.received_at.strftime("%Y-%m-%d %H:%M"),
            ", ".join(r.customer_codes) or "none linked here",
            f"{r.source_customer_id or '-'}; {', '.join(r.order_numbers) or '-'}",
            f"{r.completed_by} {r.completed_at:%Y-%m-%d %H:%M}" if r.completed_at else "",
        )
    console.print(table if items else f"no {'completed' if completed else 'open'} data request")


@app.command("complete-data-request")
def complete_data_request(
    key: Annotated[str, typer.Argument(help="The request's key, as `data-requests` lists it.")],
    note: Annotated[str | None, typer.Option(help="How the export was handed over (a ticket); audited.")] = None,
) -> None:
    """Mark a data request completed: its customers were exported and the export handed over."""
    done = call(CompleteDataRequest, {"request_key": key, "note": note})
    console.print(f"{done.request_key}: completed by {done.completed_by} at {done.completed_at:%Y-%m-%d %H:%M} UTC")
