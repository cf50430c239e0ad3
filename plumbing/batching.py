"""Doing together the work that concurrent handlers ask for at the same moment.

FastStream runs up to ``prefetch`` handlers of a subscriber at once. When each of them does
its own reads and its own MongoDB transaction, every message pays the round trips and a
commit (majority acknowledged); under a burst those costs, not the work, set the pace. A
``Batcher`` gathers what the handlers submit while the previous batch is being processed
and hands all of it to one function that does it together: one read for all, one
transaction for all.

    orders = Batcher(lambda pending: place_orders(runtime, pending))
    await orders.submit(message)  # in the handler; raises what failed for this message

By default there is no timer: a lone message is processed at once, and a burst gathers into
batches as large as what waits (natural batching), so latency never grows to fill a batch.
A consumer whose messages trickle in while a batch runs (events another service's relay
publishes as its transactions commit) may ``linger`` a few milliseconds before taking a
batch smaller than ``max_size``, trading that latency for fewer, larger transactions. Up to
``max_in_flight`` batches run at once, so that a slow one (an order whose new customer the
customer service is creating) does not hold up the orders that arrive behind it.

``process(batch)`` gets the ``Pending`` items and settles each: ``resolve(result)``, or
``fail(error)`` with the exception that item's handler raises (its message is then retried
or dead-lettered like any failure). It may settle some items before others (those that
need no slow step), and their handlers go on at once. An exception from ``process`` fails
every item it left unsettled, and so does returning without settling one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Pending(Generic[T, R]):
    """An item submitted and not yet settled."""

    item: T
    future: asyncio.Future[R]

    def resolve(self, result: R) -> None:
        if not self.future.done():  # done: its submitter was cancelled
            self.future.set_result(result)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class Batcher(Generic[T, R]):
    def __init__(
        self,
        process: Callable[[list[Pending[T, R]]], Awaitable[None]],
        *,
        max_size: int = 64,
        max_in_flight: int = 1,
        linger: float = 0.0,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._process = process
        self.linger = linger
        self._observe = observe  # told each batch's size (a metric)
        self.max_size = max_size
        self.max_in_flight = max_in_flight
        self._waiting: list[Pending[T, R]] = []
        self._workers: set[asyncio.Task[None]] = set()
        #: Sizes of the batches processed, for tests and metrics.
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Process ``item`` with whatever else waits; its outcome, or its exception raised.

        A submitter cancelled while it waits (the service stopping) does not take its item
        out of a batch already under way: its message is redelivered, and the work it
        submitted must therefore be idempotent, as every consumer's is."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append(Pending(item, future))
        if len(self._workers) < self.max_in_flight:
            # Started as a task, so it first runs after the handlers that are ready in this
            # turn of the event loop have submitted too.
            self._workers.add(asyncio.get_running_loop().create_task(self._drain(), name="batcher"))
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                if self.linger and len(self._waiting) < self.max_size:
                    await asyncio.sleep(self.linger)
                batch, self._waiting = self._waiting[: self.max_size], self._waiting[self.max_size :]
                await self._run(batch)
        finally:
            # At once, not in a done callback: a submit in between would find no room for a
            # worker and wait behind one that has already left.
            self._workers.discard(asyncio.current_task())

    async def _run(self, batch: list[Pending[T, R]]) -> None:
        self.batches += 1
        self.items += len(batch)
        if self._observe is not None:
            self._observe(len(batch))
        try:
            await self._process(batch)
        except Exception as error:  # noqa: BLE001 - handed to every submitter left waiting
            unsettled: BaseException = error
        except BaseException:
            # Cancelled (the service stopping): no submitter may wait for ever.
            for pending in batch:
                pending.fail(RuntimeError("the batch was interrupted"))
            raise
        else:
            unsettled = RuntimeError("the batch gave this item no outcome")
        for pending in batch:
            pending.fail(unsettled)
