"""omsctl customer export / erase (C18, I2): one request reaches every service."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from contracts.privacy import EraseCustomerData, ExportCustomerData
from plumbing.client import OmsClient, error_text
from plumbing.settings import ServiceSettings

from .customers import actor, app

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
