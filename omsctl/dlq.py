"""omsctl dlq: the dead-letter queues of the services (P4).

    omsctl dlq list [--service S] [--limit N]        depth of each queue and its messages
    omsctl dlq show MESSAGE_ID [--service S]         one message whole: headers and body
    omsctl dlq replay [--service S] (--id ID ... | --reason R | --routing-key GLOB | --all)
    omsctl dlq purge [--service S] [--yes]           drop them (asks first)

Reading never loses a message: each is taken unacknowledged and returned to the queue, in
order, when the command is done. A replay publishes the message to the exchange and routing
key it was first published with, persistent, and acknowledges the dead letter only once
RabbitMQ confirmed that publish; the ``x-oms-*`` bookkeeping and the broker's death records
are removed, the message id is kept, so a message that was in fact applied before is
recognised by the consumer's inbox and has no second effect. A replayed message is routed
as the original was: every queue bound to it gets it again (their inboxes deduplicate).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import aio_pika
import aiormq.abc
import typer
from pamqp.commands import Basic
from rich.console import Console
from rich.table import Table

from contracts.routing import SERVICES, Topology
from plumbing import dead_letters as dl
from plumbing.messaging import dead_letter_queue
from plumbing.retries import BROKER_HEADERS
from plumbing.settings import ServiceSettings

app = typer.Typer(help="Inspect, replay and purge dead letters.", no_args_is_help=True)
console = Console()


@dataclass
class DeadLetter:
    service: str
    message_id: str
    reason: str
    error: str
    exchange: str
    routing_key: str
    queue: str
    attempts: Any
    dead_lettered_at: str
    headers: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)
    content_type: str | None = None
    correlation_id: str | None = None

    @classmethod
    def read(cls, service: str, message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
        headers = dict(message.headers or {})
        if dl.REASON in headers:
            reason = str(headers[dl.REASON])
            exchange = str(headers.get(dl.ORIGINAL_EXCHANGE) or "")
            routing_key = str(headers.get(dl.ORIGINAL_ROUTING_KEY) or "")
            queue = str(headers.get(dl.ORIGINAL_QUEUE) or "")
            error = str(headers.get(dl.ERROR) or "")
            attempts = headers.get(dl.ATTEMPTS)
            at = str(headers.get(dl.DEAD_LETTERED_AT) or "")
        else:
            # Dead-lettered by RabbitMQ itself (the delivery limit: a worker crash loop).
            death = (headers.get("x-death") or [{}])[0]
            reason = f"broker:{death.get('reason', '?')}"
            exchange = str(death.get("exchange") or "")
            routing_key = str((death.get("routing-keys") or [""])[0])
            if not exchange and dl.ORIGINAL_ROUTING_KEY in headers:  # it was back from a retry tier
                exchange = str(headers.get(dl.ORIGINAL_EXCHANGE) or "")
                routing_key = str(headers[dl.ORIGINAL_ROUTING_KEY])
            queue = str(death.get("queue") or "")
            error = "RabbitMQ dead-lettered it (delivery limit reached: the worker died handling it?)"
            attempts = headers.get("x-delivery-count")
            at = str(death.get("time") or "")
        return cls(
            service=service,
            message_id=message.message_id or "",
            reason=reason,
            error=error,
            exchange=exchange,
            routing_key=routing_key,
            queue=queue,
            attempts=attempts,
            dead_lettered_at=at,
            headers=headers,
            body=message.body,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
        )

    def replay_headers(self) -> dict[str, Any]:
        drop = set(dl.BOOKKEEPING) | set(BROKER_HEADERS)
        headers = {k: v for k, v in self.headers.items() if k not in drop}
        if not self.exchange:
            # First published to a queue directly: dispatch still needs its routing key.
            headers[dl.ORIGINAL_EXCHANGE] = ""
            headers[dl.ORIGINAL_ROUTING_KEY] = self.routing_key
        return headers

    def body_text(self) -> str:
        try:
            return json.dumps(json.loads(self.body), indent=2, ensure_ascii=False, default=str)
        except (ValueError, UnicodeDecodeError, RecursionError):  # shown as it came: too deep to pretty-print
            return self.body.decode("utf-8", errors="replace")


@dataclass
class ReplayReport:
    replayed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    kept: int = 0


Select = Callable[[DeadLetter], bool]


def selector(
    ids: Sequence[str] = (), reason: str | None = None, routing_key: str | None = None, everything: bool = False
) -> Select:
    wanted = set(ids)

    def select(letter: DeadLetter) -> bool:
        if everything:
            return True
        if wanted and letter.message_id not in wanted:
            return False
        if reason and letter.reason != reason:
            return False
        if routing_key and not fnmatch.fnmatchcase(letter.routing_key, routing_key):
            return False
        return bool(wanted or reason or routing_key)

    return select


class DeadLetterQueues:
    """The services' dead-letter queues over one AMQP connection (``async with``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.topology: Topology = settings.topology
        self.connection: aio_pika.abc.AbstractConnection | None = None

    async def __aenter__(self) -> DeadLetterQueues:
        self.connection = await aio_pika.connect(self.settings.amqp_url, client_properties={"connection_name": "omsctl dlq"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def _queue(self, channel: aio_pika.abc.AbstractChannel, service: str) -> aio_pika.abc.AbstractQueue:
        spec = dead_letter_queue(self.topology, service)
        # A full, idempotent declare: quorum queues report their depth correctly only to that.
        return await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)

    async def depth(self, service: str) -> int:
        channel = await self.connection.channel()
        try:
            return (await self._queue(channel, service)).declaration_result.message_count
        finally:
            await channel.close()

    async def browse(self, service: str, limit: int | None = None) -> list[DeadLetter]:
        """The messages, oldest first, left in place."""
        channel = await self.connection.channel()
        held: list[aio_pika.abc.AbstractIncomingMessage] = []
        try:
            queue = await self._queue(channel, service)
            total = queue.declaration_result.message_count
            bound = total if limit is None else min(total, limit)
            while len(held) < bound and (message := await queue.get(no_ack=False, fail=False)) is not None:
                held.append(message)
            return [DeadLetter.read(service, message) for message in held]
        finally:
            for message in held:
                await message.nack(requeue=True)
            await channel.close()

    async def find(self, message_id: str, services: Sequence[str]) -> DeadLetter | None:
        for service in services:
            for letter in await self.browse(service):
                if letter.message_id == message_id:
                    return letter
        return None

    async def replay(self, service: str, select: Select) -> ReplayReport:
        """Republish the selected dead letters where they came from; each is acknowledged
        (removed) only after RabbitMQ confirmed its publish."""
        report = ReplayReport()
        channel = await self.connection.channel(publisher_confirms=True)
        kept: list[aio_pika.abc.AbstractIncomingMessage] = []
        try:
            queue = await self._queue(channel, service)
            for _ in range(queue.declaration_result.message_count):
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                letter = DeadLetter.read(service, message)
                if not select(letter):
                    kept.append(message)
                    continue
                try:
                    await self._publish(channel, letter)
                except Exception as exc:  # noqa: BLE001 - reported; the dead letter stays
                    kept.append(message)
                    report.failed.append((letter.message_id, str(exc)))
                    continue
                await message.ack()
                report.replayed.append(letter.message_id)
        finally:
            for message in kept:
                await message.nack(requeue=True)
            report.kept = len(kept) - len(report.failed)
            await channel.close()
        return report

    async def _publish(self, channel: aio_pika.abc.AbstractChannel, letter: DeadLetter) -> None:
        if letter.exchange:
            exchange = await channel.get_exchange(letter.exchange, ensure=False)
            routing_key = letter.routing_key
        else:
            exchange = channel.default_exchange
            routing_key = letter.queue
        confirmation = await exchange.publish(
            aio_pika.Message(
                letter.body,
                message_id=letter.message_id or None,
                correlation_id=letter.correlation_id,
                content_type=letter.content_type,
                headers=letter.replay_headers(),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )
        if isinstance(confirmation, aiormq.abc.DeliveredMessage):
            raise RuntimeError(f"no queue is bound to {letter.exchange or '(default)'} {routing_key}")
        if not isinstance(confirmation, Basic.Ack):
            raise RuntimeError(f"RabbitMQ did not confirm the publish ({type(confirmation).__name__})")

    async def purge(self, service: str) -> int:
        channel = await self.connection.channel()
        try:
            queue = await self._queue(channel, service)
            result = await queue.purge()
            return int(result.message_count or 0)
        finally:
            await channel.close()


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
                letters = await queues.browse(name, limit)
                depth = await queues.depth(name)
                console.print(f"[bold]{queues.topology.dead_letter_queue(name)}[/]: {depth} message(s)")
                if not letters:
                    continue
                table = Table(show_lines=False)
                for column in ("message id", "reason", "error", "original routing", "queue", "attempts", "dead-lettered at"):
                    table.add_column(column, overflow="fold")
                for letter in letters:
                    table.add_row(
                        letter.message_id, letter.reason, letter.error[:120],
                        f"{letter.exchange or '(default)'} {letter.routing_key}", letter.queue,
                        str(letter.attempts if letter.attempts is not None else ""), letter.dead_lettered_at,
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
        console.print(json.dumps(letter.headers, indent=2, default=str, ensure_ascii=False), markup=False, highlight=False)
        console.print(f"[bold]body[/] ({letter.content_type or 'no content type'})")
        console.print(letter.body_text(), markup=False, highlight=False)
        return True

    raise typer.Exit(0 if _run(go()) else 1)


@app.command("replay")
def replay_command(
    service: ServiceOption = None,
    message_id: Annotated[list[str] | None, typer.Option("--id", help="A message id (repeatable).")] = None,
    reason: Annotated[str | None, typer.Option(help="malformed, rejected, failed, broker:...")] = None,
    routing_key: Annotated[str | None, typer.Option("--routing-key", help="Original routing key, glob (customer.*).")] = None,
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
                console.print(f"{name}: replayed {len(report.replayed)}, kept {report.kept}, failed {len(report.failed)}")
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
