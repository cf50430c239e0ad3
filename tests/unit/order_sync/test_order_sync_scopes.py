"""O1: order-sync's copy of the scopes. An order for a scope created a moment ago finds it;
a flood of orders for a scope that does not exist does not flood the customer service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

from contracts.customer.records import ScopeView
from order_sync.scopes import ScopeDirectory


class CustomerServiceStandIn:
    """Answers ListScopes with the scopes it holds now, after a short delay; counts calls."""

    def __init__(self) -> None:
        self.scopes: list[ScopeView] = []
        self.calls = 0

    def create(self, scope_id: str) -> None:
        self.scopes.append(
            ScopeView(
                scope_id=scope_id,
                name=scope_id,
                country="FR",
                default_language="fr",
                requires_approval=False,
                created_at=datetime.now(UTC),
            )
        )

    async def call(self, command: object, payload: object) -> SimpleNamespace:
        self.calls += 1
        answer = list(self.scopes)  # what exists when the request is read
        await asyncio.sleep(0.01)
        return SimpleNamespace(ok=True, result=answer, error=None)


async def test_o1_a_scope_created_just_after_the_copy_was_read_is_found_by_the_next_order() -> None:
    service = CustomerServiceStandIn()
    service.create("eu-fr")
    scopes = ScopeDirectory(service)  # type: ignore[arg-type]
    assert (await scopes.get("eu-fr")).scope_id == "eu-fr"
    service.create("de")  # a moment later, orders for it arrive
    assert (await scopes.get("de")).scope_id == "de"
    assert service.calls == 2
    assert (await scopes.get("eu-fr")).scope_id == "eu-fr" and service.calls == 2  # a hit reads nothing


async def test_o1_orders_for_an_unknown_scope_arriving_together_share_one_lookup() -> None:
    service = CustomerServiceStandIn()
    scopes = ScopeDirectory(service)  # type: ignore[arg-type]
    found = await asyncio.gather(*(scopes.get("nowhere") for _ in range(50)))
    assert found == [None] * 50
    assert service.calls == 1
