"""The scopes orders belong to, as the customer service knows them: a cached copy.

Order-sync needs a scope's country (to read phone numbers written without a country code)
and its default language (the email fallback, N2). Scopes change rarely; the copy is
refreshed every minute, and whenever an order names a scope the copy does not hold: an
order for a scope created a moment ago must find it, not be rejected for good because the
copy was read just before. The lookups that miss at the same time share one refresh, so a
flood of orders for a scope that does not exist costs one ``ListScopes`` per batch of them,
not one per order.
"""

from __future__ import annotations

import asyncio
import time

from contracts.customer.records import ListScopes, ScopeView
from plumbing.client import OmsClientPool


class ScopeDirectory:
    def __init__(self, pool: OmsClientPool, *, max_age_seconds: float = 60.0) -> None:
        self.pool = pool
        self.max_age = max_age_seconds
        self._scopes: dict[str, ScopeView] = {}
        self._read_at = float("-inf")  # when the copy's ListScopes was sent
        self._refreshing: asyncio.Future[None] | None = None

    async def get(self, scope_id: str) -> ScopeView | None:
        asked_at = time.monotonic()
        if scope_id not in self._scopes or asked_at - self._read_at > self.max_age:
            await self.read_since(asked_at)
        return self._scopes.get(scope_id)

    async def read_since(self, moment: float) -> None:
        """Return once the copy was read after ``moment`` (or a refresh failed: its error is
        raised, and the message that asked is retried)."""
        while self._read_at < moment:
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self._refresh())
            refreshing = self._refreshing
            try:
                await asyncio.shield(refreshing)
            finally:
                if self._refreshing is refreshing and refreshing.done():
                    self._refreshing = None

    async def refresh(self) -> None:
        await self.read_since(time.monotonic())

    async def _refresh(self) -> None:
        started = time.monotonic()
        reply = await self.pool.call(ListScopes, {})
        if not reply.ok:
            raise RuntimeError(f"ListScopes failed: {reply.error}")
        self._scopes = {scope.scope_id: scope for scope in reply.result}
        self._read_at = started
