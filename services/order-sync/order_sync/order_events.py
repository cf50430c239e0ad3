"""What happens to an order afterwards (O7): status, shipment and payment events of a linked
order update it and trigger the customer's email; those of an order not linked yet are
parked and applied when it is."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from contracts.customer.records import Recipient, ScopeView
from contracts.envelope import Envelope
from contracts.order_sync.linking import (
    CustomerOrderShipped,
    CustomerPaymentReceived,
    CustomerPaymentRequested,
    OrderStatusPayload,
    OrderStatusUpdated,
    OrderSummary,
    PaymentEmailPayload,
    ShipmentEmailPayload,
)
from contracts.upstream.commerce import InvoiceIssued
from contracts.upstream.orders import OrderShipped, OrderStatusChanged, PaymentReceived, PaymentRequested
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import commerce, store
from .domain import order_key
from .resources import Customers, CustomerService, now
from .settings import ParkingSettings
from .settling import NotSettled, once_settled

log = logging.getLogger("oms.order-sync")


async def order_event(
    message: OrderStatusChanged | OrderShipped | PaymentRequested | PaymentReceived | InvoiceIssued,
    runtime: Runtime,
    customers: Customers,
) -> None:
    ref, db = message.payload, runtime.db
    key = order_key(ref.source_system, ref.order_number)
    doc = await store.find_order(db, key)
    if doc is None or doc.get("customer_code") is None:
        # The order has not arrived, or waits in review: keep the event until it is linked.
        await store.park(
            db,
            {
                "_id": message.message_id,
                "order_key": key,
                "routing_key": message.routing_key(),
                "body": message.model_dump_json(),
                "parked_at": now(),
            },
        )
        # Raced with the order's link? Then nobody else will replay it: do it now.
        linked = await store.find_order(db, key)
        if linked is not None and linked.get("customer_code") is not None:
            await replay_parked(runtime, customers, key)
        return
    await apply_order_event(runtime, customers, message, doc)


async def apply_order_event(
    runtime: ServiceRuntime, customers: CustomerService, message: Envelope[Any], doc: dict[str, Any]
) -> None:
    if isinstance(message, InvoiceIssued):
        await commerce.apply_invoice(runtime, message, doc)
        return
    db, code = runtime.db, doc["customer_code"]
    ref = message.payload
    order_summary = OrderSummary.model_validate(doc["summary"])
    entry = await store.customer_entry(db, code)
    scope = await customers.scopes.get(doc["scope_id"])

    async def work(uow: UnitOfWork) -> None:
        nonlocal order_summary
        if isinstance(message, OrderStatusChanged):
            now_summary = await store.change_status(uow, doc["_id"], code, ref.status, ref.changed_at)
            if now_summary is None:
                if not await store.order_linked_to(uow, doc["_id"], code):
                    raise OrderNotSettled(doc["_id"], code)
                return  # an older change, arriving late or handled beside a newer one: not news
            # As stored now, not as read before: a new version of the order (O8) may have come.
            order_summary = OrderSummary.model_validate(now_summary)
            uow.publish(
                OrderStatusUpdated(
                    **uow.envelope(), payload=OrderStatusPayload(customer_code=code, order=order_summary)
                ),
                partition_key=code,
            )
            return
        recipient = _recipient(entry, scope)
        # Published with or without a recipient: the customer's history records every shipment
        # and payment; only the email needs an address.
        if isinstance(message, OrderShipped):
            if not await store.record_order_event(uow, doc["_id"], code, {"shipments": ref.model_dump(mode="json")}):
                raise OrderNotSettled(doc["_id"], code)
            uow.publish(
                CustomerOrderShipped(
                    **uow.envelope(),
                    payload=ShipmentEmailPayload(
                        recipient=recipient,
                        customer_code=code,
                        order=order_summary,
                        shipment_id=ref.shipment_id,
                        carrier=ref.carrier,
                        tracking_number=ref.tracking_number,
                        tracking_url=ref.tracking_url,
                        lines=ref.lines,
                        shipped_at=ref.shipped_at,
                    ),
                ),
                partition_key=code,
            )
            return
        payment_record = {"kind": message.type_name(), **ref.model_dump(mode="json")}
        if not await store.record_order_event(uow, doc["_id"], code, {"payments": payment_record}):
            raise OrderNotSettled(doc["_id"], code)
        payment = partial(
            PaymentEmailPayload,
            recipient=recipient,
            customer_code=code,
            order=order_summary,
            payment_id=ref.payment_id,
            amount=ref.amount,
            currency=ref.currency,
        )
        if isinstance(message, PaymentRequested):
            requested = payment(payment_url=ref.payment_url, due_at=ref.due_at, at=ref.requested_at)
            uow.publish(CustomerPaymentRequested(**uow.envelope(), payload=requested), partition_key=code)
        else:
            received = payment(method=ref.method, at=ref.paid_at)
            uow.publish(CustomerPaymentReceived(**uow.envelope(), payload=received), partition_key=code)

    await once_settled(lambda: apply_once(runtime, message, work))


class OrderNotSettled(NotSettled):
    """The order was read linked to its customer before the event's transaction, and the
    transaction does not see it so yet (a shipment published as its order was linked lost its
    shipment to this, under load, 2026-12-07); or the order went to another customer in
    between (a merge): read again."""

    def __init__(self, key: str, code: str) -> None:
        super().__init__(f"order {key} is not linked to {code} in the transaction's snapshot yet")


def _recipient(entry: dict[str, Any] | None, scope: ScopeView | None) -> Recipient | None:
    """Whom the email goes to; None for a customer without an email (nothing can be sent)."""
    if entry is None or not entry.get("email"):
        return None
    return Recipient(
        customer_code=entry["_id"],
        scope_id=entry["scope_id"],
        email=entry["email"],
        first_name=entry["first_name"],
        last_name=entry["last_name"],
        preferred_language=entry.get("preferred_language"),
        scope_language=scope.default_language if scope else None,
    )


EVENT_TYPES = {
    cls.routing_key(): cls
    for cls in (OrderStatusChanged, OrderShipped, PaymentRequested, PaymentReceived, InvoiceIssued)
}


async def expire_parked(runtime: ServiceRuntime, parked_before: datetime) -> int:
    """O1, O7: an event whose order never arrived (a Shopify test order the adapter ignored, an
    order lost upstream) does not wait forever: once parked before ``parked_before`` it is set
    aside as a rejected order with the reason, for an operator (``omsctl order rejected``),
    and its parking place is freed. An event whose order arrived and waits in review keeps
    waiting: the CSR's decision replays it."""
    db, expired = runtime.db, 0
    for parked in await store.parked_before(db, parked_before):
        order = await store.find_order(db, parked["order_key"])
        if order is not None and not order.get("placeholder"):
            continue
        await store.record_rejected(
            db,
            {
                "_id": f"{parked['routing_key']}|{parked['_id']}",
                "message_id": parked["_id"],
                "routing_key": parked["routing_key"],
                "reason": f"its order {parked['order_key']} never arrived "
                f"(waited from {parked['parked_at']:%Y-%m-%d %H:%M} UTC)",
                "fields": [],
                "body_excerpt": parked["body"][:2000],
                "rejected_at": now(),
            },
        )
        await store.unpark(db, parked["_id"])
        expired += 1
    if expired:
        log.warning("%d order events set aside: their orders never arrived", expired)
    return expired


async def sweep_parked(runtime: ServiceRuntime) -> None:
    """Every OMS_ORDER_SYNC_PARKED_SWEEP_SECONDS, expire the events parked longer than
    OMS_ORDER_SYNC_PARKED_DAYS (each worker sweeps; doing it twice changes nothing)."""
    settings = ParkingSettings()
    while True:
        await asyncio.sleep(settings.parked_sweep_seconds)
        try:
            await expire_parked(runtime, now() - timedelta(days=settings.parked_days))
        except Exception:  # noqa: BLE001 - the sweeper outlives a database hiccup; the next sweep retries
            log.exception("could not expire parked order events")


class ParkedSweeper:
    """The worker's ``sweep_parked`` task, from startup to shutdown."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self, runtime: ServiceRuntime) -> None:
        self._task = asyncio.create_task(sweep_parked(runtime), name="parked-events-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


async def replay_parked(runtime: ServiceRuntime, customers: CustomerService, key: str) -> None:
    """Apply, in arrival order, the events that waited for this order to be linked.

    Runs after the delivery that linked the order and after every later delivery of it: a
    replay cut short (the broker or the customer service away mid-way) fails the delivery,
    and the redelivery, which finds the order already linked, finishes the replay."""
    waiting = await store.parked_for(runtime.db, key)
    if not waiting:
        return
    doc = await store.find_order(runtime.db, key)
    if doc is None or doc.get("customer_code") is None:
        return  # not linked yet (or in review): the link replays them
    for parked in waiting:
        message = EVENT_TYPES[parked["routing_key"]].model_validate_json(parked["body"])
        await apply_order_event(runtime, customers, message, doc)
        await store.unpark(runtime.db, parked["_id"])
        # Read again: the event just applied changed the order (its status, shipments).
        doc = await store.find_order(runtime.db, key)
        if doc is None:
            return
