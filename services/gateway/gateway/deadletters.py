"""Dead letters for administrators (I5): list, show and replay, through
plumbing.dlq's ``DeadLetterQueues``, as omsctl dlq (browsing returns every message to its queue, in order)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from contracts.replies import Error
from plumbing.dlq import DeadLetter, DeadLetterQueues, selector
from plumbing.settings import ServiceSettings

from .bridge import CommandFailed

#: Browsing takes every message of a queue unacknowledged; the console shows the oldest ones.
LIST_LIMIT = 200


class DeadLetterView(BaseModel):
    service: str
    message_id: str
    reason: str
    error: str
    exchange: str
    routing_key: str
    queue: str
    attempts: Any = None
    dead_lettered_at: str
    field_errors: str | None = None
    body: str


class ReplayResult(BaseModel):
    replayed: list[str]
    failed: list[str]


def view(letter: DeadLetter) -> DeadLetterView:
    return DeadLetterView(
        service=letter.service,
        message_id=letter.message_id,
        reason=letter.reason,
        error=letter.error,
        exchange=letter.exchange,
        routing_key=letter.routing_key,
        queue=letter.queue,
        attempts=letter.attempts if isinstance(letter.attempts, int | str | None) else str(letter.attempts),
        dead_lettered_at=letter.dead_lettered_at,
        field_errors=str(letter.headers.get("x-oms-field-errors"))
        if letter.headers.get("x-oms-field-errors")
        else None,
        body=letter.body_text(),
    )


class DeadLetters:
    def __init__(self, settings: ServiceSettings) -> None:
        self.queues = DeadLetterQueues(settings, reader="gateway dead letters")

    async def open(self) -> None:
        await self.queues.__aenter__()

    async def close(self) -> None:
        await self.queues.__aexit__(None, None, None)

    async def list(self, service: str) -> list[DeadLetterView]:
        return [view(letter) for letter in await self.queues.browse(service, LIST_LIMIT)]

    async def show(self, service: str, message_id: str) -> DeadLetterView:
        letter = await self.queues.find(message_id, [service])
        if letter is None:
            raise CommandFailed(Error(code="not_found", message=f"no dead letter {message_id} in {service}"))
        return view(letter)

    async def replay(self, service: str, message_id: str) -> ReplayResult:
        report = await self.queues.replay(service, selector(ids=[message_id]))
        return ReplayResult(replayed=report.replayed, failed=[f"{i}: {e}" for i, e in report.failed])
