"""Order-sync follows merges (C13): B's source links, orders and match entry point to the
survivor A, and an unmerge moves them back.

Everything a merge moves keeps its origin in ``merged_from`` (merge id and B's code), so the
unmerge moves back exactly that, plus the orders that arrived for A since the merge through
one of B's source links (their ``source_link``): they were B's. Those are announced with
``OrdersReassigned`` for the services that keep something per order (activities, history).
Each event is applied once (inbox); an unmerge that overtakes its merge waits for it.
"""

from __future__ import annotations

from typing import Any

from contracts.customer.merges import CustomersMerged, CustomersUnmerged, OrdersReassigned, OrdersReassignedPayload
from contracts.order_sync.linking import OrderSummary
from plumbing.errors import ArrivedEarly
from plumbing.messaging import routed_as
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store
from .domain import CustomerEntry
from .learning import learn_record


async def _save_entries(runtime: ServiceRuntime, uow: UnitOfWork, *views: Any) -> None:
    for view in views:
        entry = CustomerEntry.from_view(view.model_dump(mode="json"))
        await store.save_customer_entry(uow, entry.doc)


async def customers_merged(message: CustomersMerged, runtime: Runtime) -> None:
    p = message.payload

    async def work(uow: UnitOfWork) -> None:
        await _save_entries(runtime, uow, p.survivor, p.merged)  # first: B may be new to this service
        await store.move_to_survivor(uow, p.merge_id, p.merged_code, p.survivor_code)
        await learn_record(uow, p.survivor_code)  # addresses it took from B, say
        merge = {"_id": p.merge_id, "survivor_code": p.survivor_code, "merged_code": p.merged_code}
        await store.record_merge(uow, {**merge, "merged_at": p.merged_at})

    await apply_once(runtime, message, work)


async def customers_unmerged(message: CustomersUnmerged, runtime: Runtime) -> None:
    p = message.payload

    async def work(uow: UnitOfWork) -> None:
        if not await store.merge_applied(uow, p.merge_id):
            raise ArrivedEarly(f"merge {p.merge_id} is not applied yet")
        arrived = await store.move_back(uow, p.merge_id, p.merged_code, p.survivor_code, p.merged_at)
        if arrived:
            orders = [OrderSummary.model_validate(o["summary"]) for o in arrived]
            payload = OrdersReassignedPayload(
                merge_id=p.merge_id, from_code=p.survivor_code, to_code=p.merged_code, orders=orders
            )
            uow.publish(OrdersReassigned(**uow.envelope(), payload=payload), partition_key=p.merged_code)
        await _save_entries(runtime, uow, p.survivor, p.restored)

    await apply_once(runtime, message, work)


def subscribe(customers: Any) -> None:
    """Add the merge events to order-sync's customer-events subscriber."""
    customers(filter=routed_as(CustomersMerged.routing_key()))(customers_merged)
    customers(filter=routed_as(CustomersUnmerged.routing_key()))(customers_unmerged)
