"""Privacy (C18): export everything held about a customer, or erase it, in every service.

The customer service is the one entry point: it gathers (or erases) its own data, then asks
order-sync and the notification service for theirs over request/reply. Erasure is repeat-
safe: each service anonymizes what is left, and a request that a service did not answer is
answered as ``unavailable`` naming it, with the receipt so far, to be sent again.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.customer.privacy import (
    CustomerDataExport,
    CustomerErased,
    CustomerErasedPayload,
    EraseCustomerData,
    ErasureReceipt,
    ErasureReply,
    ExportCustomerData,
    ExportReply,
)
from contracts.notification.privacy import NotificationEraseCustomerData, NotificationExportCustomerData
from contracts.order_sync.privacy import OrderSyncEraseCustomerData, OrderSyncExportCustomerData
from contracts.service import ServiceErasure
from plumbing.client import OmsClientPool, error_text
from plumbing.runtime import CommandTable, Injected, ServiceRuntime
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import Acting, audit, authorize
from ..merges import store as merge_store
from ..records import store
from ..records.rules import now
from ..settings import CustomerRuntime, CustomerSettings
from . import rules
from . import store as privacy_store

#: Requests to other services in flight at once per worker (one connection each).
CLIENTS = 4
# --- the other services ---------------------------------------------------------------------------


def other_services(settings: ServiceSettings, producer: str) -> OmsClientPool:
    """The worker's clients of order-sync and notification (their parts of exports and
    erasures), built once by ``app.py``, connected by ``start`` at startup."""
    return OmsClientPool(settings, size=CLIENTS, producer=producer)


#: The handlers that ask the other services declare ``services: OtherServices``.
OtherServices = Annotated[OmsClientPool, Injected("other-services")]


async def _ask(services: OmsClientPool, service: str, command: Any, payload: dict[str, Any], cause: Any) -> Any:
    """The result of one service's answer; raises ``NoAnswer`` for silence or an error."""
    try:
        reply = await services.call(command, payload, correlation_id=cause.correlation_id or cause.message_id)
    except Exception as exc:  # noqa: BLE001 - a timeout (ServiceUnavailable), or a publish no queue takes
        raise rules.NoAnswer(service, str(exc) or type(exc).__name__) from exc
    if not reply.ok:
        raise rules.NoAnswer(service, error_text(reply.error))
    return reply.result


# --- export --------------------------------------------------------------------------------------


async def export_customer_data(
    cmd: ExportCustomerData, runtime: CustomerRuntime, services: OtherServices
) -> ExportReply:
    p, db, at = cmd.payload, runtime.db, now()
    await authorize(db, cmd.actor, p.customer_code, at)
    customer = await store.load(db, p.customer_code)
    held = await privacy_store.held_about(db, customer.code)
    order_sync, notification = await _exports_elsewhere(services, cmd, customer.code)
    await _audit_alone(runtime, cmd, customer.code, f"exported: {p.reason}")
    return ExportReply.success(
        CustomerDataExport(
            customer_code=customer.code,
            exported_at=at,
            reason=p.reason,
            customer=rules.customer_data(customer.doc, *held),
            order_sync=order_sync,
            notification=notification,
        )
    )


async def _exports_elsewhere(services: OmsClientPool, cmd: ExportCustomerData, code: str) -> tuple[Any, Any]:
    """Order-sync's and notification's parts, asked at once; none if either is silent."""
    request = {"customer_code": code}
    results = await asyncio.gather(
        _ask(services, "order-sync", OrderSyncExportCustomerData, request, cmd),
        _ask(services, "notification", NotificationExportCustomerData, request, cmd),
        return_exceptions=True,
    )
    if silent := [r for r in results if isinstance(r, rules.NoAnswer)]:
        raise rules.no_export(silent)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    order_sync, notification = results
    return order_sync, notification


async def _audit_alone(runtime: ServiceRuntime[CustomerSettings], cmd: Any, code: str, action: str) -> None:
    async def work(uow: UnitOfWork) -> None:
        acting = await authorize(uow, cmd.actor, code, now())
        await audit(uow, acting, code, action, [], now())

    await apply_once(runtime, cmd, work)


# --- erasure -------------------------------------------------------------------------------------

#: The other services that erase their part, in this order.
ERASING_ELSEWHERE = (("order-sync", OrderSyncEraseCustomerData), ("notification", NotificationEraseCustomerData))


async def erase_customer_data(
    cmd: EraseCustomerData, runtime: CustomerRuntime, services: OtherServices
) -> ErasureReply:
    p, erasure_id = cmd.payload, cmd.message_id
    codes, mine = await _erase_here(runtime, cmd, erasure_id)
    receipts, silent = [mine], []
    for service, command in ERASING_ELSEWHERE:
        try:
            receipts.append(await _erase_there(services, service, command, cmd, codes))
        except rules.NoAnswer as exc:
            silent.append(exc)
    receipt = ErasureReceipt(
        erasure_id=erasure_id, customer_code=p.customer_code, reason=p.reason, erased_at=mine.at, services=receipts
    )
    if silent:
        raise rules.erased_in_part(receipt, silent)
    return ErasureReply.success(receipt)


async def _erase_here(
    runtime: ServiceRuntime[CustomerSettings], cmd: EraseCustomerData, erasure_id: str
) -> tuple[list[str], ServiceErasure]:
    """The customer service's part, in one transaction: the record and every record merged
    into it, their history entries, tokens, merge journal values and stored replies."""
    p, db = cmd.payload, runtime.db

    async def work(uow: UnitOfWork) -> tuple[list[str], ServiceErasure]:
        at = now()
        acting = await authorize(uow, cmd.actor, p.customer_code, at)
        codes = [p.customer_code, *await merge_store.merged_into(uow, p.customer_code)]
        records = [await _erase_record(db, uow, acting, code, p.reason, erasure_id, at) for code in codes]
        counts = {"records": sum(records), **await privacy_store.erase_around(uow, codes)}
        return codes, ServiceErasure(service="customer", customer_code=p.customer_code, erased=counts, at=at)

    # No inbox record: the erasure is idempotent by itself, and a repeat must erase again
    # whatever arrived since.
    return await apply_once(runtime, cmd, work, inbox=False)


async def _erase_record(
    db: AsyncDatabase[dict[str, Any]],
    uow: UnitOfWork,
    acting: Acting,
    code: str,
    reason: str,
    erasure_id: str,
    at: datetime,
) -> bool:
    """Erase one record, audited and announced; False when a repeat finds nothing personal left."""
    customer = await store.load(uow, code)
    erased = rules.erase(customer, reason, at)
    if not erased:
        return False
    await store.save(uow, customer)
    await audit(uow, acting, code, f"erased: {reason}", erased, at)
    payload = CustomerErasedPayload(customer_code=code, scope_id=customer.scope_id, erasure_id=erasure_id, erased_at=at)
    uow.publish(CustomerErased(**uow.envelope(), payload=payload), partition_key=code)
    return True


async def _erase_there(
    services: OmsClientPool, service: str, command: Any, cmd: EraseCustomerData, codes: list[str]
) -> ServiceErasure:
    """Another service's part: it erases each of the records, and its counts add up."""
    total: dict[str, int] = {}
    for code in codes:
        part = await _ask(services, service, command, {"customer_code": code, "erasure_id": cmd.message_id}, cmd)
        total, at = rules.add_erased(total, part.erased), part.at
    return ServiceErasure(service=service, customer_code=cmd.payload.customer_code, erased=total, at=at)


HANDLERS: CommandTable = {
    ExportCustomerData: export_customer_data,
    EraseCustomerData: erase_customer_data,
}
