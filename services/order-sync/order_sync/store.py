"""MongoDB access of the order-sync service."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from contracts.orders import OrderPlaced
from plumbing.service import ServiceRuntime

ORDERS = "orders"


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    await runtime.db[ORDERS].create_index([("source_system", 1), ("order_number", 1)], unique=True)


async def record_received(db: AsyncDatabase, message: OrderPlaced) -> None:
    order = message.payload
    await db[ORDERS].update_one(
        {"source_system": order.source_system, "order_number": order.order_number},
        {
            "$setOnInsert": {
                "source_system": order.source_system,
                "order_number": order.order_number,
                "scope": order.scope,
                "message_id": message.message_id,
                "order": order.model_dump(mode="json"),
                "received_at": datetime.now(UTC),
            }
        },
        upsert=True,
    )
