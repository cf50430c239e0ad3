"""The scopes orders belong to, as the customer service knows them: a cached copy.

Order-sync needs a scope's country (to read phone numbers written without a country code)
and its default language (the email fallback, N2). Scopes change rarely; the copy is
refreshed every minute, and at once when an order names a scope it has not seen.
"""

from __future__ import annotations

import time

from contracts.customer import ListScopes, ScopeView
from plumbing.client import OmsClientPool


class ScopeDirectory:
    def __init__(self, pool: OmsClientPool, *, max_age_seconds: float = 60.0) -> None:
        self.pool = pool
        self.max_age = max_age_seconds
        self._scopes: dict[str, ScopeView] = {}
        self._loaded_at = 0.0

    async def get(self, scope_id: str) -> ScopeView | None:
        age = time.monotonic() - self._loaded_at
        # An unknown scope triggers a refresh, but not more than every few seconds: a flood
        # of orders for a scope that does not exist must not flood the customer service.
        if age > self.max_age or (scope_id not in self._scopes and age > 3.0):
            await self.refresh()
        return self._scopes.get(scope_id)

    async def refresh(self) -> None:
        reply = await self.pool.call(ListScopes, {})
        if reply.ok:
            self._scopes = {scope.scope_id: scope for scope in reply.result}
            self._loaded_at = time.monotonic()
