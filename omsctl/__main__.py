"""omsctl: find, show, create and change customers, email them, run maintenance, inspect dead letters.

Talks to the services only through their commands over RabbitMQ (the same contracts any
other tool uses); reads ``OMS_*`` settings from the environment.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from contracts.routing import SERVICES
from contracts.upstream.commerce import UPSTREAM_COMMERCE_MESSAGES
from contracts.upstream.orders import UPSTREAM_ORDER_MESSAGES
from plumbing.client import OmsClient, ServiceUnavailable
from plumbing.settings import ServiceSettings

from . import customers, dlq, history, merging, orders, privacy, relations  # noqa: F401 - they add customer commands
from .email import email

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
stack = typer.Typer(help="The running system.", no_args_is_help=True)
app.add_typer(stack, name="stack")
app.add_typer(customers.app, name="customer")
app.add_typer(orders.app, name="order")
app.add_typer(relations.org, name="org")
app.add_typer(relations.group, name="group")
app.add_typer(email, name="email")
app.add_typer(dlq.app, name="dlq")
console = Console()
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@stack.command("status")
def stack_status() -> None:
    """Ping every service over RabbitMQ and show what answers."""

    async def go() -> int:
        failed = 0
        async with OmsClient(ServiceSettings()) as client:
            for service in SERVICES:
                try:
                    pong = (await client.ping(service, timeout=3)).result
                    if pong is None:
                        failed += 1
                        console.print(f"{service:13} [red]refused the ping[/]")
                        continue
                    state = "[green]up[/]" if pong.database and pong.broker else "[yellow]degraded[/]"
                    console.print(
                        f"{service:13} {state}  instance {pong.instance}  database {'ok' if pong.database else 'DOWN'}"
                    )
                except ServiceUnavailable:
                    failed += 1
                    console.print(f"{service:13} [red]no answer[/]")
        return failed

    raise typer.Exit(1 if run(go()) else 0)


@app.command("publish")
def publish(
    files: Annotated[list[Path], typer.Argument(help="JSON upstream messages (see contracts/examples)")],
) -> None:
    """Publish upstream order and commerce messages as a storefront would (for tests and demos)."""
    by_type = {cls.type_name(): cls for cls in UPSTREAM_ORDER_MESSAGES + UPSTREAM_COMMERCE_MESSAGES}

    async def go() -> None:
        async with OmsClient(ServiceSettings()) as client:
            for path in files:
                raw = json.loads(path.read_text(encoding="utf-8"))
                cls = by_type.get(raw.get("message_type"))
                if cls is None:
                    console.print(f"[red]{path}: unknown message_type {raw.get('message_type')!r}[/]")
                    continue
                message = cls.model_validate(raw)
                await client.publish_upstream(message)
                console.print(f"published {path.name} as {message.routing_key()} ({message.message_id})")

    run(go())


def main() -> None:
    app(prog_name="omsctl")


if __name__ == "__main__":
    main()
