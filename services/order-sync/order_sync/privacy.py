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

#: Newer than any version a customer will reach: a tombstone no customer event replaces.
TOMBSTONE_VERSION = 2**62
REVIEW_PERSONAL = {
    "email": None,
    "phone": None,
    "first_name": None,
    "last_name": None,
    "postal_code": None,
    "order.email": None,
    "order.phone": None,
    "order.first_name": None,
    "order.last_name": None,
    "order.billing_address": None,
    "order.shipping_address": None,
    "erased": True,
}


def _reviews_of(code: str) -> dict[str, Any]:
    return {"$or": [{"customer_code": code}, {"candidates": code}]}


async def export_customer_data(cmd: OrderSyncExportCustomerData, runtime: Runtime) -> OrderSyncDataReply:
    code, db = cmd.payload.customer_code, runtime.db
    links = await db[store.SOURCE_LINKS].find({"customer_code": code}).to_list()
    orders = await db[store.ORDERS].find({"customer_code": code}).sort("placed_at", 1).to_list()
    reviews = await db[store.REVIEWS].find(_reviews_of(code)).to_list()
    entry = await store.customer_entry(db, code)
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
    code, db = cmd.payload.customer_code, runtime.db

    async def work(uow: UnitOfWork) -> ServiceErasure:
        s, at = uow.session, datetime.now(UTC)
        entry = await db[store.CUSTOMERS].find_one({"_id": code}, session=s)
        erased_entry = 0
        if entry is None or entry.get("state") != "erased":
            await db[store.CUSTOMERS].replace_one(
                {"_id": code},
                {
                    "_id": code,
                    "version": TOMBSTONE_VERSION,
                    "state": "erased",
                    "scope_id": entry.get("scope_id") if entry else None,
                    "addresses": [],
                    "record": {},
                    "erased_at": at,
                },
                upsert=True,
                session=s,
            )
            erased_entry = 1 if entry is not None else 0
        identifiers, claims = await store.forget_customer(db, code, s)
        links = await db[store.SOURCE_LINKS].delete_many({"customer_code": code}, session=s)
        orders = await db[store.ORDERS].update_many(
            {"customer_code": code, "erased": {"$ne": True}}, {"$set": {"notes": [], "erased": True}}, session=s
        )
        resolved = await db[store.REVIEWS].update_many(
            {"customer_code": code, "erased": {"$ne": True}}, {"$set": REVIEW_PERSONAL}, session=s
        )
        offered = await db[store.REVIEWS].update_many(
            {"status": "open", "candidates": code}, {"$pull": {"candidates": code}}, session=s
        )
        return ServiceErasure(
            service="order-sync",
            customer_code=code,
            at=at,
            erased={
                "match_entries": erased_entry,
                "identifiers": identifiers,
                "creation_claims": claims,
                "source_links": links.deleted_count,
                "orders": orders.modified_count,
                "reviews": resolved.modified_count + offered.modified_count,
            },
        )

    # Repeat-safe by itself; each repeat erases what is left and says so.
    return ServiceErasureReply.success(await apply_once(runtime, cmd, work, ServiceErasure, inbox=False))


COMMANDS: dict[type[Command[Any]], Callable[..., Awaitable[Any]]] = {
    OrderSyncExportCustomerData: export_customer_data,
    OrderSyncEraseCustomerData: erase_customer_data,
}
