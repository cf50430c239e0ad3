"""Writes that must find, in their transaction, what a plain read found a moment before.

A read outside any transaction (read concern ``local``) sees a write as soon as it is made; a
transaction reads a majority-committed snapshot, which holds it a moment later (on a replica
set, the replication lag). A handler that read its order or review outside and then writes it
inside may find nothing to write: it raises ``NotSettled``, and its step is applied again after
a short pause, then after longer ones, then fails (its message goes through the retry tiers,
read afresh when it comes back). Taking nothing for an answer lost a shipment (2026-12-07) and
told a CSR that a review opened a moment before was resolved already.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: The waits before applying a step again in place when what it read is not settled yet.
SETTLING_PAUSES = (0.05, 0.2, 0.5)


class NotSettled(RuntimeError):
    """The transaction's snapshot does not hold yet what the read before it found."""


async def once_settled(step: Callable[[], Awaitable[T]]) -> T:
    """``step()``, applied again after each of ``SETTLING_PAUSES`` while it is not settled."""
    for pause in SETTLING_PAUSES:
        try:
            return await step()
        except NotSettled:
            await asyncio.sleep(pause)
    return await step()
