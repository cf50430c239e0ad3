"""omsctl customer commands: find, show, create, change, state, scopes, import (I2, C1-C17)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from contracts.customer.records import (
    AddAddress,
    ChangeCustomerState,
    CreateCustomer,
    CreateScope,
    EndOnBehalfSession,
    FindAccountsByEmail,
    GetCustomer,
    GetCustomerAudit,
    GetStateSummary,
    ImportCustomers,
    InviteCustomersWithoutPassword,
    InviteProgress,
    ListScopes,
    RequestPasswordReset,
    SearchCustomers,
    StartOnBehalfSession,
    UpdateCustomer,
)
from omsctl.actor import who_runs_omsctl
from plumbing.client import OmsClient, error_text
from plumbing.import_files import Row, read_rows
from plumbing.settings import ServiceSettings

app = typer.Typer(help="Customers: find, show, create, change, enable and disable, import.", no_args_is_help=True)
console = Console()


actor = who_runs_omsctl


def call(command: type, payload: dict[str, Any]) -> Any:
    """Send one command and return its result, or print its error and exit 1."""

    async def go() -> Any:
        async with OmsClient(ServiceSettings()) as client:
            return await client.call(command, payload, actor=actor())

    reply = asyncio.run(go())
    if not reply.ok:
        console.print(f"[red]{error_text(reply.error)}[/]")
        raise typer.Exit(1)
    return reply.result


def show_json(result: Any) -> None:
    console.print_json(result.model_dump_json() if hasattr(result, "model_dump_json") else json.dumps(result))


def summaries_table(rows: list[Any]) -> Table:
    # The code is what a CSR copies into the next command: never cut ("C100..." at 80 columns);
    # the other columns fold onto more lines instead.
    table = Table(
        Column("code", no_wrap=True, min_width=8),
        *(
            Column(h, overflow="fold")
            for h in ("scope", "name", "email", "phone", "postal", "state", "type", "flag", "tags")
        ),
    )
    for c in rows:
        table.add_row(
            c.code,
            c.scope_id,
            f"{c.last_name}, {c.first_name}",
            c.email,
            c.phone or "",
            c.postal_code or "",
            c.state,
            c.kind,
            c.flag or "",
            ", ".join(c.tags),
        )
    return table


@app.command("find")
def find(
    name: Annotated[str | None, typer.Option(help="prefix of the name, either order")] = None,
    email: Annotated[str | None, typer.Option(help="prefix of the email")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option("--postal-code")] = None,
    code: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option("--type", help="customer or organization")] = None,
    state: Annotated[str | None, typer.Option()] = None,
    flag: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[str | None, typer.Option()] = None,
    group: Annotated[str | None, typer.Option(help="members of a group or segment")] = None,
    organization: Annotated[str | None, typer.Option(help="members of an organization (its code)")] = None,
    sort: Annotated[str, typer.Option(help="name, created or last_activity")] = "name",
    descending: Annotated[bool, typer.Option("--desc")] = False,
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor the last page printed")] = None,
) -> None:
    """Search customers (C11): criteria combine with AND; 20 a page."""
    page = call(
        SearchCustomers,
        {
            "name": name,
            "email": email,
            "phone": phone,
            "postal_code": postal_code,
            "code": code,
            "tag": tag,
            "kind": kind,
            "state": state,
            "flag": flag,
            "scope_id": scope,
            "group": group,
            "organization": organization,
            "sort": sort,
            "descending": descending,
            "cursor": cursor,
        },
    )
    console.print(summaries_table(page.items))
    total = f"{page.total}" if page.total_is_exact else f"more than {page.total}"
    console.print(
        f"{len(page.items)} of {total}" + (f"; next page: --cursor {page.next_cursor}" if page.next_cursor else "")
    )


@app.command("lookup")
def lookup(email: str) -> None:
    """Every account using EMAIL, in every scope (search before create, C2)."""
    result = call(FindAccountsByEmail, {"email": email})
    console.print(summaries_table(result.accounts) if result.accounts else "no account uses this email")


@app.command("show")
def show(code: str) -> None:
    """Show one customer record."""
    show_json(call(GetCustomer, {"customer_code": code}))


@app.command("create")
def create(
    scope: str,
    first_name: str,
    last_name: str,
    email: str,
    phone: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option()] = None,
    guest: Annotated[bool, typer.Option(help="a guest account instead of a registered one")] = False,
    inactive: Annotated[bool, typer.Option()] = False,
) -> None:
    """Create a customer (C1). Look the email up first: `omsctl customer lookup EMAIL`."""
    result = call(
        CreateCustomer,
        {
            "scope_id": scope,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone": phone,
            "preferred_language": language,
            "account_type": "guest" if guest else "registered",
            "active": not inactive,
        },
    )
    console.print(f"created [bold]{result.code}[/] (version {result.version})")


@app.command("change")
def change(
    code: str,
    version: Annotated[int, typer.Option(help="the version you read; a stale one is refused")],
    field: Annotated[
        list[str], typer.Option("--set", help="FIELD=VALUE, e.g. --set last_name=Martin; attr.NAME=VALUE")
    ],
) -> None:
    """Change fields of a customer (C12): any field but the logon id."""
    changes: dict[str, Any] = {}
    for item in field:
        key, _, value = item.partition("=")
        if key.startswith("attr."):
            changes.setdefault("attributes", {})[key[5:]] = value or None
        elif key == "tags":
            changes["tags"] = [t for t in value.split(";") if t]
        else:
            changes[key] = value or None
    result = call(UpdateCustomer, {"customer_code": code, "expected_version": version, "changes": changes})
    console.print(f"{result.code} is at version {result.version}")


@app.command("add-address")
def add_address(
    code: str,
    version: Annotated[int, typer.Option()],
    line1: str,
    city: str,
    country: str,
    postal_code: Annotated[str | None, typer.Option("--postal-code")] = None,
    default_shipping: Annotated[bool, typer.Option("--default-shipping")] = False,
    default_billing: Annotated[bool, typer.Option("--default-billing")] = False,
) -> None:
    """Add an address to the address book (C4)."""
    result = call(
        AddAddress,
        {
            "customer_code": code,
            "expected_version": version,
            "address": {
                "line1": line1,
                "city": city,
                "country": country,
                "postal_code": postal_code,
                "default_shipping": default_shipping,
                "default_billing": default_billing,
            },
        },
    )
    console.print(f"{result.code} is at version {result.version}")


def _state_command(action: str) -> Callable[[str, int, str | None], None]:
    def command(
        code: str,
        version: Annotated[int, typer.Option(help="the version you read")],
        reason: Annotated[str | None, typer.Option()] = None,
    ) -> None:
        result = call(
            ChangeCustomerState,
            {"customer_code": code, "expected_version": version, "action": action, "reason": reason},
        )
        console.print(f"{result.code} is {result.state} (version {result.version})")

    command.__doc__ = f"{action.capitalize()} a customer (C10, C15)."
    return command


for _action in ("activate", "deactivate", "enable", "disable", "approve", "reject"):
    app.command(_action)(_state_command(_action))


@app.command("summary")
def summary(scope: Annotated[str | None, typer.Option()] = None) -> None:
    """How many customers are in each state (C10)."""
    result = call(GetStateSummary, {"scope_id": scope})
    for state, count in result.counts.items():
        console.print(f"{state:18} {count}")


@app.command("scopes")
def scopes() -> None:
    """List the scopes."""
    for scope in call(ListScopes, {}):
        console.print(f"{scope.scope_id:12} {scope.name:24} {scope.country} {scope.default_language}")


@app.command("create-scope")
def create_scope(
    scope_id: str,
    name: str,
    country: str,
    language: Annotated[str, typer.Option()] = "en",
    requires_approval: Annotated[bool, typer.Option("--requires-approval")] = False,
) -> None:
    """Create a scope (site, brand, country store)."""
    call(
        CreateScope,
        {
            "scope_id": scope_id,
            "name": name,
            "country": country,
            "default_language": language,
            "requires_approval": requires_approval,
        },
    )
    console.print(f"created scope {scope_id}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSONL")],
    scope: Annotated[str | None, typer.Option(help="scope for rows that name none")] = None,
    batch: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    parallel: Annotated[int, typer.Option(min=1, max=16, help="batches in flight")] = 2,
    report: Annotated[Path | None, typer.Option(help="write every rejected row, with reasons, as JSON")] = None,
) -> None:
    """Bulk import (C17) through the service's own command; importing a file twice changes nothing."""
    totals = asyncio.run(run_import(file, scope, batch, parallel, report))
    console.print(
        f"[bold]{totals['created']}[/] created, {totals['unchanged']} unchanged, "
        f"[{'red' if totals['rejected'] else 'green'}]{totals['rejected']} rejected[/]"
    )
    raise typer.Exit(0)


async def run_import(
    file: Path, scope: str | None, batch_size: int, parallel: int, report: Path | None
) -> dict[str, int]:
    totals = {"created": 0, "unchanged": 0, "rejected": 0}
    rejected: list[dict[str, Any]] = []
    rows = read_rows(file, scope)
    lock = asyncio.Lock()

    async def next_batch() -> list[Row]:
        async with lock:
            return list(islice(rows, batch_size))

    def reject(row: Row, reason: str) -> None:
        totals["rejected"] += 1
        # Field paths name the row's own fields: "email", not "payload.rows.3.email".
        rejected.append({"line": row.line, "reason": re.sub(r"payload\.(rows\.\d+\.)?", "", reason)})

    async def worker(progress: Progress, task: Any) -> None:
        async with OmsClient(ServiceSettings()) as client:
            while batch := await next_batch():
                sendable = [r for r in batch if r.payload is not None]
                for r in batch:
                    if r.payload is None:
                        reject(r, r.problem or "unreadable")
                while sendable:
                    reply = await client.call(
                        ImportCustomers, {"rows": [r.payload for r in sendable]}, actor=actor(), timeout=120
                    )
                    if reply.ok:
                        for r, result in zip(sendable, reply.result.rows, strict=True):
                            if result.status == "rejected":
                                reject(r, error_text(result.error))
                            else:
                                totals[result.status] += 1
                        break
                    # The contract refused some rows (payload.rows.N...): drop them, send the rest.
                    bad: dict[int, list[str]] = {}
                    for f in reply.error.fields:
                        if f.field.startswith("payload.rows."):
                            _, _, index, *rest = f.field.split(".")
                            bad.setdefault(int(index), []).append(f"{'.'.join(rest)}: {f.reason}")
                    if not bad:
                        for r in sendable:
                            reject(r, error_text(reply.error))
                        break
                    for index, reasons in sorted(bad.items()):
                        reject(sendable[index], "; ".join(reasons))
                    sendable = [r for index, r in enumerate(sendable) if index not in bad]
                progress.advance(task, len(batch))

    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("import", total=None)
        await asyncio.gather(*(worker(progress, task) for _ in range(parallel)))
    for item in rejected[:20]:
        console.print(f"  line {item['line']}: {item['reason']}")
    if len(rejected) > 20:
        console.print(f"  … and {len(rejected) - 20} more" + ("" if report else " (use --report FILE)"))
    if report:
        report.write_text(json.dumps(sorted(rejected, key=lambda r: r["line"]), indent=1, ensure_ascii=False))
    return totals


@app.command("reset-password")
def reset_password(code: str) -> None:
    """Email the customer a single-use, expiring reset link (C14); no password is ever emailed."""
    call(RequestPasswordReset, {"customer_code": code})
    console.print(f"a reset link is on its way to customer {code}")


@app.command("set-empty-passwords")
def set_empty_passwords(
    scope: Annotated[str | None, typer.Option()] = None,
    batch: Annotated[int, typer.Option(min=1, max=5000)] = 500,
    after: Annotated[str | None, typer.Option(help="resume after this customer code")] = None,
) -> None:
    """Invite every registered customer without a password to set one (C14), batch by batch.
    Stopped half-way, run it again: customers already invited are not invited twice."""

    async def go() -> int:
        invited, cursor = 0, after
        async with OmsClient(ServiceSettings()) as client:
            with Progress(
                TextColumn("inviting"),
                BarColumn(),
                TextColumn("{task.fields[invited]} invited"),
                TextColumn("after {task.fields[cursor]}"),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("invite", total=None, invited=0, cursor=cursor or "-")
                while True:
                    reply = await client.call(
                        InviteCustomersWithoutPassword,
                        {"scope_id": scope, "batch_size": batch, "after_code": cursor},
                        actor=actor(),
                        timeout=120,
                    )
                    if not reply.ok:
                        resume = f" (resume with --after {cursor})" if cursor else ""
                        console.print(f"[red]{error_text(reply.error)}[/]{resume}")
                        raise typer.Exit(1)
                    progress = reply.result
                    if not isinstance(progress, InviteProgress):
                        console.print(f"[red]no progress in the answer: {reply!r}[/]")
                        raise typer.Exit(1)
                    invited += progress.invited
                    cursor = progress.last_code
                    bar.update(task, invited=invited, cursor=cursor or "-")
                    if progress.done:
                        return invited

    console.print(f"{asyncio.run(go())} customers invited")


@app.command("act-for")
def act_for(
    code: str,
    reason: Annotated[str, typer.Option(help="why: shown to the customer")],
    minutes: Annotated[int, typer.Option()] = 30,
) -> None:
    """Start acting on behalf of a customer (C16); every action in the session records you."""
    session = call(StartOnBehalfSession, {"customer_code": code, "reason": reason, "minutes": minutes})
    console.print(
        f"session [bold]{session.session_id}[/] until {session.expires_at:%H:%M:%S}; "
        f"run commands with OMS_ON_BEHALF_SESSION={session.session_id}"
    )


@app.command("end-acting")
def end_acting(session_id: str) -> None:
    """End an on-behalf session."""
    call(EndOnBehalfSession, {"session_id": session_id})
    console.print("session ended")


@app.command("audit")
def audit_trail(code: str, limit: Annotated[int, typer.Option(max=100)] = 20) -> None:
    """Who changed the customer, and who acted for them and why (C16)."""
    page = call(GetCustomerAudit, {"customer_code": code, "limit": limit})
    table = Table("when", "action", "by", "on behalf", "changed")
    for e in page.items:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.action,
            f"{e.actor_kind}:{e.actor_id}",
            e.on_behalf_reason or "",
            ", ".join(e.changed),
        )
    console.print(table)
