"""What happens to a message its handler could not take (P4, I1).

- A request (it has ``reply_to``) that is malformed gets a typed ``validation`` error reply
  naming each bad field; one its handler rejects (``plumbing.errors.Rejected``) gets that
  error; one whose handler fails gets an ``internal`` error reply. The caller knows, so
  nothing is dead-lettered.
- Any other message its handler rejects is dead-lettered at once: a retry would not change
  the answer.
- Any other malformed message (bad JSON, wrong fields, unknown routing key, a body too large
  or nested too deeply to read: plumbing.bodies) goes straight to
  the service's dead-letter queue with the reason, and is acknowledged: nothing behind it is
  held up, and it is never retried.
- Any other message whose handler raises is tried again after a back-off (plumbing.retries:
  parked in a delay tier, so the queue goes on; or, on an ordered subscription, retried in
  place) until it has been tried ``max_attempts`` times, then dead-lettered with the
  exception.

A dead-lettered message keeps its body and headers, plus ``x-oms-*`` headers that say why,
so that ``omsctl dlq replay`` can republish it where it came from.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import aio_pika
from fast_depends.exceptions import ValidationError as FDValidationError
from faststream import BaseMiddleware
from faststream.exceptions import NackMessage, SubscriberNotFound
from faststream.rabbit import RabbitBroker, RabbitExchange
from pydantic import ValidationError

from contracts.replies import Error, FieldError, Reply, field_errors_from_pydantic

from .bodies import UnreadableBody
from .errors import Rejected
from .messaging import ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY, RETRY_TIER, is_ordered, original_route
from .replies import ReplyConnection
from .retries import ATTEMPTS, LAST_ERROR, Backoff, attempts_so_far, ensure_confirmed, retry_later
from .telemetry import continuing

if TYPE_CHECKING:
    from aio_pika import IncomingMessage
    from faststream import ContextRepo

    from contracts.routing import Topology

log = logging.getLogger("oms.dead_letters")

# Header names, documented in contracts/README.md.
REASON = "x-oms-reason"
ERROR = "x-oms-error"
FIELD_ERRORS = "x-oms-field-errors"
EXCEPTION = "x-oms-exception"
ORIGINAL_QUEUE = "x-oms-original-queue"
DEAD_LETTERED_AT = "x-oms-dead-lettered-at"
SERVICE = "x-oms-service"
#: Bookkeeping a replay removes (it keeps the message id, so the inbox still deduplicates).
BOOKKEEPING = (
    REASON,
    ERROR,
    FIELD_ERRORS,
    EXCEPTION,
    ORIGINAL_EXCHANGE,
    ORIGINAL_ROUTING_KEY,
    ORIGINAL_QUEUE,
    ATTEMPTS,
    DEAD_LETTERED_AT,
    SERVICE,
    RETRY_TIER,
    LAST_ERROR,
)

MALFORMED = "malformed"
REJECTED = "rejected"
FAILED = "failed"

_MAX_TEXT = 4000

__all__ = [
    "ATTEMPTS",
    "BOOKKEEPING",
    "DEAD_LETTERED_AT",
    "ERROR",
    "EXCEPTION",
    "FAILED",
    "FIELD_ERRORS",
    "MALFORMED",
    "ORIGINAL_EXCHANGE",
    "ORIGINAL_QUEUE",
    "ORIGINAL_ROUTING_KEY",
    "REASON",
    "REJECTED",
    "SERVICE",
    "DeadLetters",
    "MalformedMessage",
    "attempts_so_far",
    "describe_malformed",
]


class MalformedMessage(Exception):
    """Raised by a handler for input that no retry can fix; carries field-level reasons."""

    def __init__(self, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []


def describe_malformed(exc: BaseException) -> tuple[str, list[FieldError]] | None:
    """The reason and field errors if ``exc`` means the message itself is bad, else None."""
    if isinstance(exc, FDValidationError) and isinstance(exc.original_error, ValidationError):
        exc = exc.original_error
    if isinstance(exc, ValidationError):
        # FastStream validates the body as the handler's first argument: drop that name
        # from each path, so "message.payload.email" reads "payload.email".
        errors = [{**err, "loc": tuple(err["loc"])[1:]} for err in exc.errors(include_url=False)]
        return f"{exc.error_count()} invalid field(s)", field_errors_from_pydantic(errors)
    if isinstance(exc, MalformedMessage):
        return str(exc), exc.fields
    if isinstance(exc, UnreadableBody):
        return exc.reason, [FieldError(field="body", reason=exc.reason)]
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return f"body is not JSON: {exc}", [FieldError(field="body", reason=str(exc))]
    if isinstance(exc, RecursionError):
        # Raised while decoding or validating a body nested thousands deep: the message is
        # bad, not the service (and a retry would fail the same way).
        return "body nested too deeply", [FieldError(field="body", reason="nested too deeply to read")]
    if isinstance(exc, SubscriberNotFound):
        return "no handler for this routing key", []
    return None


def _retryable(raw: IncomingMessage, exc: BaseException) -> bool:
    return not raw.reply_to and not isinstance(exc, Rejected) and describe_malformed(exc) is None


class DeadLetters:
    """Broker middleware factory: ``RabbitBroker(middlewares=[dead_letters])``, then ``bind``.

    Without ``backoff`` a failed message is returned to its queue at once (the behaviour
    before step 7); with it, it waits in the service's retry tiers.
    """

    def __init__(
        self,
        *,
        service: str,
        dead_letter_exchange: str,
        max_attempts: int,
        backoff: Backoff | None = None,
        topology: Topology | None = None,
    ) -> None:
        self.service = service
        self.exchange = RabbitExchange(dead_letter_exchange, declare=False)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.topology = topology
        #: Set when shutdown begins: in-place retries stop and return their message.
        self.stopping = False
        self._broker: RabbitBroker | None = None
        #: Called with each dead letter's headers and body once it is safely published, so a
        #: service can keep its own record (order-sync's rejected orders).
        self.listeners: list[Callable[[dict[str, Any], bytes], Awaitable[None]]] = []
        #: Applied to a body before it is dead-lettered: what must never be kept, even there
        #: (order-sync masks card numbers). Listeners get the redacted body.
        #: ``(routing key, body) -> body`` applied before a body is dead-lettered.
        self.redactors: list[Callable[[str, bytes], bytes]] = []
        #: Where replies go (plumbing.replies); the broker's connection until it is set.
        self.replies: ReplyConnection | None = None

    def bind(self, broker: RabbitBroker) -> None:
        self._broker = broker

    @property
    def broker(self) -> RabbitBroker:
        if self._broker is None:
            raise RuntimeError("DeadLetters.bind(broker) was not called")
        return self._broker

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, policy=self)

    async def reply_error(self, raw: IncomingMessage, error: Error) -> None:
        body = Reply[Any].failure(error).model_dump_json().encode()
        if self.replies is not None and self.replies.started:
            # On the replies' own connection, as every reply (plumbing.replies).
            message = aio_pika.Message(body, correlation_id=raw.correlation_id, content_type="application/json")
            await self.replies.publish(message, raw.reply_to or "")
            return
        await self.broker.publish(
            body,
            routing_key=raw.reply_to or "",  # asked only of requests, which name one
            correlation_id=raw.correlation_id,
            content_type="application/json",
        )

    async def dead_letter(
        self,
        raw: IncomingMessage,
        *,
        queue: str,
        reason: str,
        error: str,
        fields: Sequence[FieldError] = (),
        exception: BaseException | None = None,
        attempts: int | None = None,
    ) -> None:
        exchange, routing_key = original_route(raw)
        headers = {k: v for k, v in (raw.headers or {}).items() if k not in (RETRY_TIER, LAST_ERROR)}
        headers.update(
            {
                REASON: reason,
                ERROR: error[:_MAX_TEXT],
                FIELD_ERRORS: json.dumps([f.model_dump() for f in fields])[:_MAX_TEXT],
                EXCEPTION: _exception_text(exception),
                ORIGINAL_EXCHANGE: exchange,
                ORIGINAL_ROUTING_KEY: routing_key,
                ORIGINAL_QUEUE: queue,
                ATTEMPTS: attempts if attempts is not None else attempts_so_far(raw) + 1,
                DEAD_LETTERED_AT: datetime.now(UTC).isoformat(),
                SERVICE: self.service,
            }
        )
        body = raw.body
        for redact in self.redactors:
            body = redact(routing_key, body)
        # Persistent and confirmed before the original is acknowledged: never lost. In the
        # message's own trace, so the dead letter and its replay still belong to it.
        with continuing(raw.headers):
            result = await self.broker.publish(
                body,
                exchange=self.exchange,
                routing_key=queue,
                headers=headers,
                message_id=raw.message_id,
                correlation_id=raw.correlation_id,
                content_type=raw.content_type,
                persist=True,
                mandatory=True,
            )
        ensure_confirmed(result, f"dead letter {raw.message_id}")
        for listener in self.listeners:
            try:
                await listener(headers, body)
            except Exception:  # noqa: BLE001 - the dead letter is safe; a listener must not undo it
                log.exception("dead-letter listener failed")
        log.warning(
            "dead-lettered message %s from %s: %s: %s",
            raw.message_id,
            queue,
            reason,
            error[:300],
        )


def _exception_text(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    return "".join(traceback.format_exception(exc))[-_MAX_TEXT:]


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.policy = policy
        #: Failures of this delivery that were retried in place (ordered subscriptions).
        self.in_place_failures = 0

    def _queue(self) -> Any:
        subscriber = self.context.get_local("handler_")
        return getattr(subscriber, "queue", None)

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        raw = cast("IncomingMessage", self.msg)
        if self.policy.backoff is None or not is_ordered(self._queue()):
            return await call_next(msg)
        # An ordered subscription: the next event of this customer must wait, so retry here.
        while True:
            try:
                return await call_next(msg)
            except Exception as exc:
                self.in_place_failures += 1
                attempt = attempts_so_far(raw) + self.in_place_failures
                if not _retryable(raw, exc) or attempt >= self.policy.max_attempts or self.policy.stopping:
                    raise
                delay = self.policy.backoff.in_place_delay(attempt)
                log.warning(
                    "handler failed on ordered %s (attempt %d of %d), retrying in place in %.1fs: %r",
                    getattr(self._queue(), "name", "?"),
                    attempt,
                    self.policy.max_attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool:
        if exc_val is None or not isinstance(exc_val, Exception):
            return False  # success, or cancellation: let FastStream ack or return it
        raw = cast("IncomingMessage", self.msg)
        queue_spec = self._queue()
        queue = getattr(queue_spec, "name", "") or raw.routing_key or ""

        if isinstance(exc_val, Rejected):
            # The handler refused the message: the same answer on every retry.
            if raw.reply_to:
                await self.policy.reply_error(raw, exc_val.error)
            else:
                await self.policy.dead_letter(
                    raw,
                    queue=queue,
                    reason=REJECTED,
                    error=exc_val.error.message,
                    fields=exc_val.error.fields,
                    exception=exc_val,
                )
            return True

        malformed = describe_malformed(exc_val)
        if raw.reply_to:
            if malformed:
                reason, fields = malformed
                error = Error(code="validation", message=reason, fields=fields)
            else:
                log.exception("command %s on %s failed", raw.routing_key, queue, exc_info=exc_val)
                error = Error(code="internal", message="the service failed; see its logs")
            await self.policy.reply_error(raw, error)
            return True

        if malformed:
            reason, fields = malformed
            await self.policy.dead_letter(
                raw, queue=queue, reason=MALFORMED, error=reason, fields=fields, exception=exc_val
            )
            return True

        attempt = attempts_so_far(raw) + max(self.in_place_failures, 1)
        if attempt < self.policy.max_attempts:
            if self.policy.backoff is not None and self.policy.topology is not None and not is_ordered(queue_spec):
                try:
                    delay = await retry_later(
                        self.policy.broker,
                        self.policy.topology,
                        self.policy.service,
                        self.policy.backoff,
                        raw,
                        queue=queue,
                        attempts=attempt,
                        error=repr(exc_val),
                    )
                except Exception:  # noqa: BLE001 - the broker is unwell: fall back to requeue
                    log.exception("could not park message %s for a retry; returning it", raw.message_id)
                    raise NackMessage() from exc_val
                log.warning(
                    "handler failed on %s (attempt %d of %d), retrying in %.1fs: %r",
                    queue,
                    attempt,
                    self.policy.max_attempts,
                    delay,
                    exc_val,
                )
                return True  # acknowledged: the copy in the retry tier is confirmed
            log.warning(
                "handler failed on %s (attempt %d of %d), returning it to the queue: %r",
                queue,
                attempt,
                self.policy.max_attempts,
                exc_val,
            )
            raise NackMessage() from exc_val  # FastStream returns it to the queue (requeue)
        await self.policy.dead_letter(
            raw, queue=queue, reason=FAILED, error=repr(exc_val), exception=exc_val, attempts=attempt
        )
        return True
