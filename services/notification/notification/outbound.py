"""The sender: delivers queued emails in the background and tries failed ones again (N6).

Why a loop over the activities rather than a delay queue in RabbitMQ: the activity already
is the email's durable state (content, attempts, errors), so its ``next_attempt_at`` is the
retry schedule. It survives a restart, any worker picks up any email, a CSR sees the next
attempt's time in the history, and no second copy of the email travels in a queue that
could disagree with it. Handlers only record emails and wake the sender, so a slow or
unreachable SMTP server never blocks a consumer.

At most once per (event, template, recipient):

1. The handler records the activity under a key made of those three: a duplicate event
   finds it (and its inbox record, for a CSR's command), and does nothing.
2. The sender claims due emails, a batch at a time, with an update that also counts each
   attempt and marks them with a claim token of its own; every later change names the
   token, so two workers never hold the same email and a stale claim can change nothing.
   The system emails this worker has room for are recorded already so claimed (``take``).
3. MAIL FROM and RCPT TO go first; just before DATA, a conditional update records that
   the server may have the email from now on (``phase: data``). A worker that lost its
   claim in the meantime is refused here and sends nothing. The emails whose envelopes
   are ready at the same moment (one per SMTP connection) enter the phase in one write,
   and each goes to DATA only once that write is durable.
   Both writes are multi-document updates the driver does not retry; a failover that
   answers them with an error after applying them (a step-down's interrupted wait for the
   majority) is met by running them again (``store.retried``): their filters take only what
   is not done yet, so the worker learns what it holds instead of leaving it to the lease.
4. After the server's 250, the email is marked sent and ``EmailSent`` written to the
   outbox, in one transaction, together with the emails accepted meanwhile.

Batches, not one email at a time: each of those writes is a majority-acknowledged round
trip, and four of them per email (record, claim, phase, sent) set a worker's pace long
before SMTP did. The writes of steps 3 and 4 are gathered by ``plumbing.batching``: what
the connections ask for while the previous write is under way goes in the next one, so a
lone email is never held back to fill a batch.

If a worker dies, its claim runs out (``lease_seconds``) and the sweeper looks at the phase:
before DATA nothing reached the server, so the email is queued again; during DATA the
server may have accepted it, so it is **not** sent again but marked failed with
``outcome_unknown`` and an ``EmailFailed`` event, for a person to check. That window, from
the ``phase: data`` write to the ``sent`` write, is one DATA exchange and one database
write long; SMTP has no idempotency, so it cannot be closed, only kept this small. Every
attempt carries the same Message-ID, so a mailbox that deduplicates on it would also
hide a second copy if a person resends it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from plumbing.batching import Batcher, Pending
from plumbing.sealing import SealBroken, Sealer, sealer
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import domain, emails, mail, store
from .delivery import ClaimLost, DeliveryFailed, OutcomeUnknown, SmtpTransport
from .settings import NotificationSettings

if TYPE_CHECKING:
    from plumbing.runtime import ServiceRuntime

log = logging.getLogger("oms.notification.outbound")

OUTCOME_UNKNOWN = (
    "the worker stopped while the SMTP server was taking the message; it may have been "
    "delivered, so it is not sent again"
)
DATA_UNANSWERED = (
    "the connection failed while the SMTP server was taking the message; it may have been "
    "delivered, so it is not sent again"
)
#: How long a batch of system emails waits for room among this worker's emails in hand.
ROOM_WAIT_SECONDS = 1.0
STOPPED = "the worker stopped before handing the message over"
STOPPED_BEFORE_DATA = f"{STOPPED}; sending it again"


class Outbound:
    # Set by ``start``, a startup hook of the service: before any handler or the loop runs.
    runtime: ServiceRuntime
    _transport: SmtpTransport
    _data_phase: Batcher[dict[str, Any], bool]
    _sent: Batcher[dict[str, Any], None]
    #: Opens single-use links and the sealed copies of the emails carrying them (C14).
    sealer: Sealer

    def __init__(self, options: NotificationSettings | None = None) -> None:
        self.options = options or NotificationSettings()
        self.lease = timedelta(seconds=self.options.lease_seconds)
        self.holder = ""
        self._wake = asyncio.Event()
        self._freed = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        #: Emails claimed by ``take`` per claim token, not yet recorded (room they hold).
        self._taken: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # --- lifecycle (startup and shutdown hooks of the service) ---------------------------------------

    async def start(self, runtime: ServiceRuntime) -> None:
        self.sealer = sealer(runtime.settings)  # no key, no start: link emails could not be sent
        self.runtime = runtime
        self.holder = f"{runtime.instance}:{uuid.uuid4().hex[:8]}"
        self._transport = SmtpTransport(runtime.settings, self.options.send_concurrency)
        self._data_phase = runtime.batcher("email-data-phase", self._enter_data_phase, max_size=256)
        # Not on a connection's way (it goes on with the next email): a few milliseconds'
        # wait gathers a burst's outcomes into fewer transactions.
        self._sent = runtime.batcher("email-sent", self._mark_sent, max_size=256, linger=0.005)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="notification-sender")

    async def stop(self, runtime: ServiceRuntime | None = None) -> None:
        """Stop claiming; let emails in flight finish (their SMTP timeouts bound the wait)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        if self._inflight:
            grace = 2 * self.runtime.settings.smtp_timeout_seconds + 5
            _, late = await asyncio.wait(self._inflight, timeout=grace)
            for task in late:
                task.cancel()  # its claim runs out and the sweeper decides, as after a crash
            await asyncio.gather(*late, return_exceptions=True)
        if self._transport is not None:
            await self._transport.close()

    def wake(self) -> None:
        """An email was queued: look now rather than at the next poll."""
        self._wake.set()

    # --- the loop ----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = 0.0
        while not self._stopping:
            self._wake.clear()
            try:
                if loop.time() >= next_sweep:
                    await self._sweep()
                    next_sweep = loop.time() + self.options.sweep_seconds
                await self._fill()
            except Exception:  # noqa: BLE001 - the sender must outlive database hiccups
                log.exception("sender loop failed; retrying")
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(self._wake.wait(), self.options.poll_seconds)
            except TimeoutError:
                pass

    async def _fill(self) -> None:
        """Claim due emails while at least half the slots are free.

        Eight times as many emails in hand as connections, so that a connection that finishes
        one takes the next at once: an email holds its place until its ``sent`` transaction
        commits, and a claim (a read, a majority write and a read back) takes tens of
        milliseconds on a loaded machine, during which four times the connections ran dry
        (seen in the benchmark: every connection idle between two claims); and claims of
        at least twice as many emails as connections, one update for the lot, rather than
        one claim each time an email goes out. (The emails waiting for a connection have done
        nothing yet: a crash leaves them claimed before DATA, sent again by the next worker.)"""
        connections = self.options.send_concurrency
        while (free := self._room()) >= 2 * connections and not self._stopping:
            batch = await store.claim_due(self.runtime.db, holder=self.holder, lease=self.lease, limit=free)
            if not batch:
                return
            for claimed in batch:
                self._start(claimed)

    def _room(self) -> int:
        """Emails this worker may take in hand now: eight per connection (see ``_fill``),
        less those in hand and those taken by ``take`` and not yet recorded."""
        return 8 * self.options.send_concurrency - len(self._inflight) - sum(self._taken.values())

    def _start(self, claimed: dict[str, Any]) -> None:
        task = asyncio.create_task(self._deliver(claimed), name=f"send-{claimed['_id']}")
        self._inflight.add(task)
        task.add_done_callback(self._finished)

    # --- emails claimed as they are recorded ------------------------------------------------------

    def take(self, activities: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
        """The activities to record, the queued ones this worker has room for claimed by it
        (``store.claimed``), and the claim's token, for ``recorded``. A burst's emails then
        cost no claim (a read, a durable update and a read back each batch): the worker that
        composed them sends them. The rest stay queued for whichever sender has room."""
        room = 0 if self._stopping else self._room()
        if room <= 0:
            return activities, None
        token = uuid.uuid4().hex
        taken: list[dict[str, Any]] = []
        claimed = 0
        for activity in activities:
            if claimed < room and activity["status"] == "queued":
                activity = store.claimed(activity, token=token, holder=self.holder, lease=self.lease)
                claimed += 1
            taken.append(activity)
        self._taken[token] = claimed
        return taken, token

    async def room_for(self, emails: int, *, within: float = ROOM_WAIT_SECONDS) -> None:
        """Wait, up to ``within`` seconds, until this worker has room for ``emails`` more (or for
        as many as it may hold): the events of a burst then wait in RabbitMQ, unacknowledged,
        rather than as queued emails that a claim must fetch back from MongoDB. Past the wait
        (connections slow or stuck), they are recorded queued, as before."""
        loop = asyncio.get_running_loop()
        wanted = min(emails, 8 * self.options.send_concurrency)
        deadline = loop.time() + within
        while self._room() < wanted and not self._stopping and (left := deadline - loop.time()) > 0:
            self._freed.clear()
            try:
                await asyncio.wait_for(self._freed.wait(), left)
            except TimeoutError:
                return

    def recorded(self, claim: str | None, stored: list[dict[str, Any]]) -> None:
        """Send the emails taken under ``claim`` that were recorded now (an email an earlier
        delivery of its event recorded keeps its own state); their room is freed either way.
        While stopping none starts: their claims run out and the sweeper queues them again."""
        if claim is None:
            return
        self._taken.pop(claim, None)
        if not self._stopping:
            for doc in stored:
                if doc.get("claim") == claim:
                    self._start(doc)
        self._wake.set()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free
        self._freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    # --- one email ---------------------------------------------------------------------------------------

    async def _deliver(self, claimed: dict[str, Any]) -> None:
        try:
            reply = await self._transport.send(
                sender=mail.sender_address(claimed["sender"]),
                recipient=claimed["to"],
                message=mail.build(emails.as_sent(claimed, self.sealer)),
                utf8=mail.needs_smtputf8(claimed),
                before_data=lambda: self._data_phase.submit(claimed),
            )
        except ClaimLost:
            log.info("email %s: claim lost before DATA; another worker has it", claimed["_id"])
            return
        except DeliveryFailed as failure:
            await self._failed(claimed, failure.code, failure.error, permanent=failure.permanent)
            return
        except OutcomeUnknown as unknown:
            log.error("email %s: %s (%s)", claimed["_id"], DATA_UNANSWERED, unknown.error)
            await self._persist(
                self._give_up,
                claimed,
                code=None,
                error=f"{DATA_UNANSWERED} ({unknown.error})",
                permanent=False,
                outcome_unknown=True,
            )
            return
        except SealBroken as exc:
            # Sealed under a key this service no longer holds: no retry will open it.
            await self._failed(claimed, None, str(exc), permanent=True)
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a message that cannot be encoded
            log.exception("email %s: unexpected error", claimed["_id"])
            await self._failed(claimed, None, f"{type(exc).__name__}: {exc}", permanent=False)
            return
        log.debug("email %s accepted: %s", claimed["_id"], reply)
        await self._sent.submit(claimed)

    # --- the writes around DATA, for the emails that reach them together --------------------------------

    async def _enter_data_phase(self, batch: list[Pending[dict[str, Any], bool]]) -> None:
        entered = await store.enter_data_phase(self.runtime.db, [p.item for p in batch], lease=self.lease)
        for pending in batch:
            pending.resolve(pending.item["_id"] in entered)

    async def _mark_sent(self, batch: list[Pending[dict[str, Any], None]]) -> None:
        async def work(uow: UnitOfWork) -> None:
            for doc in await store.mark_sent(uow, [p.item for p in batch]):
                uow.publish(emails.sent_event(doc))

        await self._persist(apply_once, self.runtime, None, work)
        for pending in batch:
            pending.resolve(None)

    async def _failed(self, claimed: dict[str, Any], code: int | None, error: str, *, permanent: bool) -> None:
        o = self.options
        decision = domain.after_failure(
            claimed["attempts"],
            permanent=permanent,
            max_attempts=o.max_delivery_attempts,
            base=o.retry_base_seconds,
            cap=o.retry_max_seconds,
        )
        log.warning(
            "email %s attempt %d failed (%s): %s",
            claimed["_id"],
            claimed["attempts"],
            "giving up" if decision.gives_up else f"retry in {decision.retry_in:.1f}s",
            error,
        )
        if decision.gives_up:
            await self._persist(self._give_up, claimed, code=code, error=error, permanent=permanent)
        else:
            await self._persist(
                store.schedule_retry, self.runtime.db, claimed, code=code, error=error, retry_in=decision.retry_in
            )

    async def _give_up(
        self,
        claimed: dict[str, Any],
        *,
        outcome_unknown: bool = False,
        expect: dict[str, Any] | None = None,
        **failure: Any,
    ) -> None:
        async def work(uow: UnitOfWork) -> None:
            doc = await store.mark_failed(uow, claimed, outcome_unknown=outcome_unknown, expect=expect, **failure)
            if doc is not None:
                uow.publish(emails.failed_event(doc))

        await apply_once(self.runtime, None, work)

    async def _persist(self, write: Any, *args: Any, **kwargs: Any) -> None:
        """Record an outcome, trying a few times, and for as long as ``store.RETRY_SECONDS``
        while the database is failing over: after a 250, losing this write would turn a
        delivered email into an "outcome unknown" one, and before DATA it would hold the
        email until its lease runs out. (Each write is safe to run again: it names the claim
        and the state it changes.)"""
        deadline = asyncio.get_running_loop().time() + store.RETRY_SECONDS
        attempt = 0
        while True:
            try:
                await write(*args, **kwargs)
                return
            except Exception as exc:  # noqa: BLE001
                attempt += 1
                delay = min(0.5 * 2 ** (attempt - 1), 2.0)
                failing_over = store.ambiguous(exc) and asyncio.get_running_loop().time() + delay < deadline
                if attempt >= 4 and not failing_over:
                    raise
                log.warning("recording an email outcome failed; trying again", exc_info=True)
                await asyncio.sleep(delay)

    # --- claims whose worker stopped ------------------------------------------------------------------

    async def _sweep(self) -> None:
        for claimed in await store.expired_claims(self.runtime.db):
            if claimed.get("phase") == "data":
                log.error("email %s: %s", claimed["_id"], OUTCOME_UNKNOWN)
                await self._give_up(
                    claimed,
                    code=None,
                    error=OUTCOME_UNKNOWN,
                    permanent=False,
                    outcome_unknown=True,
                    expect={"phase": "data", "lease_until": {"$lt": store.now()}},
                )
                continue
            o = self.options
            decision = domain.after_failure(
                claimed["attempts"],
                permanent=False,
                max_attempts=o.max_delivery_attempts,
                base=o.retry_base_seconds,
                cap=o.retry_max_seconds,
            )
            if decision.retry_in is None:  # gives up
                await self._give_up(
                    claimed,
                    code=None,
                    error=STOPPED,
                    permanent=False,
                    expect={"phase": "claimed", "lease_until": {"$lt": store.now()}},
                )
            else:
                log.warning("email %s: %s", claimed["_id"], STOPPED_BEFORE_DATA)
                await store.requeue_expired(
                    self.runtime.db, claimed, error=STOPPED_BEFORE_DATA, retry_in=decision.retry_in
                )
