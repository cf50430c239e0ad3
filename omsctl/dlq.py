"""omsctl dlq: the dead-letter queues of the services (P4).

    omsctl dlq list [--service S] [--limit N]        depth of each queue and its messages
    omsctl dlq show MESSAGE_ID [--service S]         one message whole: headers and body
    omsctl dlq replay [--service S] (--id ID ... | --reason R | --routing-key GLOB | --all)
    omsctl dlq purge [--service S] [--yes]           drop them (asks first)

Reading never loses a message, and a replay is confirmed before the dead letter goes
(plumbing/dlq.py, shared with the console).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from contracts.routing import SERVICES
from plumbing.dlq import DeadLetterQueues, selector
from plumbing.settings import ServiceSettings

app = typer.Typer(help="Inspect, replay and purge dead letters.", no_args_is_help=True)
console = Console()


# --- the commands ---------------------------------------------------------------------------

#: Also the adapters (O8): deployed only where platforms send webhooks, so named explicitly.
KNOWN_SERVICES = (*SERVICES, "adapters")

ServiceOption = Annotated[
    list[str] | None,
    typer.Option("--service", "-s", help=f"One of {', '.join(KNOWN_SERVICES)}; {', '.join(SERVICES)} when omitted."),
]


def _services(chosen: list[str] | None) -> list[str]:
    services = chosen or list(SERVICES)
    unknown = [s for s in services if s not in KNOWN_SERVICES]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(KNOWN_SERVICES)}")
    return services


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@app.command("list")
def list_command(
    service: ServiceOption = None,
    limit: Annotated[int, typer.Option(help="At most this many messages per queue.")] = 50,
) -> None:
    """Depth of each dead-letter queue, and its messages (left in place)."""

    async def go() -> None:
        async with DeadLetterQueues(ServiceSettings()) as queues:
            for name in _services(service):
                # Depth before browsing: the letters browse gives back are counted again only
                # once the quorum queue's log applies the return (a CI listing said 0 of 2).
                depth = await queues.depth(name)
                letters = await queues.browse(name, limit)
                depth = max(depth, len(letters))
                console.print(f"[bold]{queues.topology.dead_letter_queue(name)}[/]: {depth} message(s)")
                if not letters:
                    continue
                table = Table(show_lines=False)
                for column in (
                    "message id",
                    "reason",
                    "error",
                    "original routing",
                    "queue",
                    "attempts",
                    "dead-lettered at",
                ):
                    table.add_column(column, overflow="fold")
                for letter in letters:
                    table.add_row(
                        letter.message_id,
                        letter.reason,
                        letter.error[:120],
                        f"{letter.exchange or '(default)'} {letter.routing_key}",
                        letter.queue,
                        str(letter.attempts if letter.attempts is not None else ""),
                        letter.dead_lettered_at,
                    )
                console.print(table)

    _run(go())


@app.command("show")
def show_command(message_id: str, service: ServiceOption = None) -> None:
    """One dead letter whole: where it came from, every header, the body pretty-printed."""

    async def go() -> bool:
        async with DeadLetterQueues(ServiceSettings()) as queues:
            letter = await queues.find(message_id, _services(service))
        if letter is None:
            console.print(f"[red]no dead letter {message_id}[/]")
            return False
        console.print(f"[bold]{letter.message_id}[/] in the dead letters of {letter.service}")
        console.print(f"reason      {letter.reason}: {letter.error}")
        console.print(f"came from   {letter.exchange or '(default)'} {letter.routing_key} -> {letter.queue}")
        console.print(f"attempts    {letter.attempts}   at {letter.dead_lettered_at}")
        console.print("[bold]headers[/]")
        console.print(
            json.dumps(letter.headers, indent=2, default=str, ensure_ascii=False), markup=False, highlight=False
        )
        console.print(f"[bold]body[/] ({letter.content_type or 'no content type'})")
        console.print(letter.body_text(), markup=False, highlight=False)
        return True

    raise typer.Exit(0 if _run(go()) else 1)


@app.command("replay")
def replay_command(
    service: ServiceOption = None,
    message_id: Annotated[list[str] | None, typer.Option("--id", help="A message id (repeatable).")] = None,
    reason: Annotated[str | None, typer.Option(help="malformed, rejected, failed, broker:...")] = None,
    routing_key: Annotated[
        str | None, typer.Option("--routing-key", help="Original routing key, glob (customer.*).")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every dead letter of the service(s).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --all.")] = False,
) -> None:
    """Publish dead letters again where they came from (confirmed before removal)."""
    if not (message_id or reason or routing_key or everything):
        raise typer.BadParameter("say which: --id, --reason, --routing-key or --all")
    services = _services(service)
    if everything and not yes and not typer.confirm(f"Replay every dead letter of {', '.join(services)}?"):
        raise typer.Exit(1)
    select = selector(message_id or (), reason, routing_key, everything)

    async def go() -> int:
        failed = 0
        async with DeadLetterQueues(ServiceSettings()) as queues:
            for name in services:
                report = await queues.replay(name, select)
                console.print(
                    f"{name}: replayed {len(report.replayed)}, kept {report.kept}, failed {len(report.failed)}"
                )
                for replayed in report.replayed:
                    console.print(f"  replayed {replayed}")
                for failed_id, why in report.failed:
                    console.print(f"  [red]not replayed {failed_id}: {why}[/]")
                failed += len(report.failed)
        return failed

    raise typer.Exit(1 if _run(go()) else 0)


@app.command("purge")
def purge_command(
    service: ServiceOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Drop every dead letter of the service(s), after confirmation."""
    services = _services(service)

    async def depths() -> dict[str, int]:
        async with DeadLetterQueues(ServiceSettings()) as queues:
            return {name: await queues.depth(name) for name in services}

    counts = _run(depths())
    summary = ", ".join(f"{name}: {count}" for name, count in counts.items())
    if not yes and not typer.confirm(f"Purge the dead letters ({summary})? They cannot be replayed after"):
        console.print("nothing purged")
        raise typer.Exit(1)

    async def go() -> None:
        async with DeadLetterQueues(ServiceSettings()) as queues:
            for name in services:
                console.print(f"{name}: purged {await queues.purge(name)}")

    _run(go())
