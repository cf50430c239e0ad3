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

from contracts.customer.merges import CustomersMerged, CustomersUnmerged, OrdersReassigned
from contracts.order_sync.linking import OrderSummary
from plumbing.errors import ArrivedEarly
from plumbing.messaging import routed_as
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store
from .domain import CustomerEntry
from .learning import learn_record

MERGES = "merges"


def _origin(merge_id: str, merged_code: str) -> dict[str, str]:
    return {"merge_id": merge_id, "customer_code": merged_code}


async def _save_entries(runtime: ServiceRuntime, uow: UnitOfWork, *views: Any) -> None:
    for view in views:
        entry = CustomerEntry.from_view(view.model_dump(mode="json"))
        await store.save_customer_entry(runtime.db, entry.doc, uow.session)


async def customers_merged(message: CustomersMerged, runtime: Runtime) -> None:
    p, db = message.payload, runtime.db
    origin = _origin(p.merge_id, p.merged_code)
    moved = {"$set": {"customer_code": p.survivor_code}, "$push": {"merged_from": origin}}

    async def work(uow: UnitOfWork) -> None:
        s = uow.session
        await db[store.SOURCE_LINKS].update_many({"customer_code": p.merged_code}, moved, session=s)
        await db[store.ORDERS].update_many({"customer_code": p.merged_code}, moved, session=s)
        await _save_entries(runtime, uow, p.survivor, p.merged)
        # B answers A from now on, and so does whatever had been merged into B.
        await db[store.CUSTOMERS].update_many(
            store.with_merged([p.merged_code]),
            {"$set": {"merged_into": p.survivor_code}, "$push": {"merged_from": origin}},
            session=s,
        )
        await learn_record(runtime, p.survivor_code, s)  # addresses it took from B, say
        await db[MERGES].insert_one(
            {
                "_id": p.merge_id,
                "survivor_code": p.survivor_code,
                "merged_code": p.merged_code,
                "merged_at": p.merged_at,
                "state": "merged",
            },
            session=s,
        )

    await apply_once(runtime, message, work)


async def customers_unmerged(message: CustomersUnmerged, runtime: Runtime) -> None:
    p, db = message.payload, runtime.db
    if await db[MERGES].find_one({"_id": p.merge_id}) is None:
        raise ArrivedEarly(f"merge {p.merge_id} is not applied yet")
    back = {"$set": {"customer_code": p.merged_code}, "$pull": {"merged_from": {"merge_id": p.merge_id}}}

    async def work(uow: UnitOfWork) -> None:
        s = uow.session
        links = [
            d["_id"]
            async for d in db[store.SOURCE_LINKS].find({"merged_from.merge_id": p.merge_id}, {"_id": 1}, session=s)
        ]
        await db[store.SOURCE_LINKS].update_many({"_id": {"$in": links}}, back, session=s)
        await db[store.ORDERS].update_many({"merged_from.merge_id": p.merge_id}, back, session=s)
        # Orders linked to A since the merge under one of B's source customer ids were B's.
        since = {"customer_code": p.survivor_code, "source_link": {"$in": links}, "linked_at": {"$gte": p.merged_at}}
        arrived = await db[store.ORDERS].find(since, {"summary": 1}, session=s).to_list()
        if arrived:
            await db[store.ORDERS].update_many(
                {"_id": {"$in": [o["_id"] for o in arrived]}}, {"$set": {"customer_code": p.merged_code}}, session=s
            )
            uow.publish(
                OrdersReassigned(
                    **uow.envelope(),
                    payload={
                        "merge_id": p.merge_id,
                        "from_code": p.survivor_code,
                        "to_code": p.merged_code,
                        "orders": [OrderSummary.model_validate(o["summary"]) for o in arrived],
                    },
                ),
                partition_key=p.merged_code,
            )
        await db[store.CUSTOMERS].update_many(
            {"merged_from.merge_id": p.merge_id},
            {"$set": {"merged_into": p.merged_code}, "$pull": {"merged_from": {"merge_id": p.merge_id}}},
            session=s,
        )
        await db[store.CUSTOMERS].update_one({"_id": p.merged_code}, {"$unset": {"merged_into": ""}}, session=s)
        await _save_entries(runtime, uow, p.survivor, p.restored)
        await db[MERGES].update_one({"_id": p.merge_id}, {"$set": {"state": "unmerged"}}, session=s)

    await apply_once(runtime, message, work)


def subscribe(customers: Any) -> None:
    """Add the merge events to order-sync's customer-events subscriber."""
    customers(filter=routed_as(CustomersMerged.routing_key()))(customers_merged)
    customers(filter=routed_as(CustomersUnmerged.routing_key()))(customers_unmerged)
