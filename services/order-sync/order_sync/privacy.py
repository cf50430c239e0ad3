"""Order-sync's part of privacy requests (C18), asked by the customer service.

Export: the customer's source links, linked orders, review items and match entry (with the
profile learned from its orders). Erasure: the match entry becomes a tombstone (a later
order with the erased email matches nobody, and no late customer event can bring the entry
back); no identifier of the identity index names the customer any more, and no claim creates
it again; source links go; linked orders keep
their customer code and lose the personal notes; review items resolved to the customer lose
the order's personal fields, and open ones no longer offer the customer as a candidate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import Command
from contracts.order_sync.privacy import (
    OrderSyncCustomerData,
    OrderSyncDataReply,
    OrderSyncEraseCustomerData,
    OrderSyncExportCustomerData,
)
from contracts.service import ServiceErasure, ServiceErasureReply
from plumbing.documents import plain
from plumbing.runtime import Runtime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store


async def export_customer_data(cmd: OrderSyncExportCustomerData, runtime: Runtime) -> OrderSyncDataReply:
    code = cmd.payload.customer_code
    links, orders, reviews, entry = await store.customer_data(runtime.db, code)
    return OrderSyncDataReply.success(
        OrderSyncCustomerData(
            customer_code=code,
            source_links=[
                {
                    **plain(link),
                    "source_system": link["_id"].split("|", 1)[0],
                    "source_customer_id": link["_id"].split("|", 1)[1],
                }
                for link in links
            ],
            orders=[plain(o) for o in orders],
            reviews=[plain(r) for r in reviews],
            match_entry=plain(entry) if entry else None,
        )
    )


async def erase_customer_data(cmd: OrderSyncEraseCustomerData, runtime: Runtime) -> ServiceErasureReply:
    code, at = cmd.payload.customer_code, datetime.now(UTC)

    async def work(uow: UnitOfWork) -> ServiceErasure:
        erased = await store.erase_customer(uow, code, at)
        return ServiceErasure(service="order-sync", customer_code=code, at=at, erased=erased)

    # Repeat-safe by itself; each repeat erases what is left and says so.
    return ServiceErasureReply.success(await apply_once(runtime, cmd, work, ServiceErasure, inbox=False))


COMMANDS: dict[type[Command[Any]], Callable[..., Awaitable[Any]]] = {
    OrderSyncExportCustomerData: export_customer_data,
    OrderSyncEraseCustomerData: erase_customer_data,
}
