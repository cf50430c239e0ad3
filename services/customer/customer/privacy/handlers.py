"""Privacy (C18): export everything held about a customer, or erase it, in every service.

The customer service is the one entry point: it gathers (or erases) its own data, then asks
order-sync and the notification service for theirs over request/reply. Erasure is repeat-
safe: each service anonymizes what is left, and a request that a service did not answer is
answered as ``unavailable`` naming it, with the receipt so far, to be sent again.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from contracts.customer.privacy import (
    CustomerDataExport,
    CustomerErased,
    CustomerRecordData,
    EraseCustomerData,
    ErasureReceipt,
    ErasureReply,
    ExportCustomerData,
    ExportReply,
)
from contracts.customer.records import AuditEntry
from contracts.notification.privacy import NotificationEraseCustomerData, NotificationExportCustomerData
from contracts.order_sync.privacy import OrderSyncEraseCustomerData, OrderSyncExportCustomerData
from contracts.service import ServiceErasure
from plumbing.client import OmsClientPool, error_text
from plumbing.documents import plain
from plumbing.errors import Rejected
from plumbing.runtime import CommandTable, Injected, ServiceRuntime
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..accounts import store as account_store
from ..acting import audit, authorize
from ..history import store as history_store
from ..merges import store as merge_store
from ..merges.rules import journal_view
from ..records import store
from ..records.rules import Customer, now
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
    """The result of one service's answer; raises ``_NoAnswer`` for silence or an error."""
    try:
        reply = await services.call(command, payload, correlation_id=cause.correlation_id or cause.message_id)
    except Exception as exc:  # noqa: BLE001 - a timeout (ServiceUnavailable), or a publish no queue takes
        raise _NoAnswer(service, str(exc) or type(exc).__name__) from exc
    if not reply.ok:
        raise _NoAnswer(service, error_text(reply.error))
    return reply.result


class _NoAnswer(Exception):
    def __init__(self, service: str, why: str) -> None:
        super().__init__(f"{service}: {why}")
        self.service = service


# --- export --------------------------------------------------------------------------------------


def _record(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored record, without what is the service's, not the customer's: search keys and
    the password hash (whether there is one is exported)."""
    hidden = {"s", "registered_email", "password_hash"}
    return {**plain({k: v for k, v in doc.items() if k not in hidden}), "has_password": bool(doc.get("password_hash"))}


async def export_customer_data(
    cmd: ExportCustomerData, runtime: CustomerRuntime, services: OtherServices
) -> ExportReply:
    p, db, at = cmd.payload, runtime.db, now()
    await authorize(db, None, cmd.actor, p.customer_code, at)
    customer = await store.load(db, p.customer_code, None)
    history = await history_store.entries_of(db, customer.code)
    audit_rows = await account_store.audit_of(db, customer.code)
    journal = await merge_store.journal_of(db, customer.code)
    request = {"customer_code": customer.code}
    results = await asyncio.gather(
        _ask(services, "order-sync", OrderSyncExportCustomerData, request, cmd),
        _ask(services, "notification", NotificationExportCustomerData, request, cmd),
        return_exceptions=True,
    )
    silent = [r for r in results if isinstance(r, _NoAnswer)]
    if silent:
        raise Rejected.of(
            "unavailable",
            "no export: " + "; ".join(str(s) for s in silent) + "; repeat the request",
            unanswered=[s.service for s in silent],
        )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    order_sync, notification = results
    await _audit_alone(runtime, cmd, customer.code, f"exported: {p.reason}")
    return ExportReply.success(
        CustomerDataExport(
            customer_code=customer.code,
            exported_at=at,
            reason=p.reason,
            customer=CustomerRecordData(
                record=_record(customer.doc),
                history=[plain(h) for h in history],
                audit=[AuditEntry(**{k: r[k] for k in AuditEntry.model_fields if k in r}) for r in audit_rows],
                merge_journal=[journal_view(e) for e in journal],
            ),
            order_sync=order_sync,
            notification=notification,
        )
    )


async def _audit_alone(runtime: ServiceRuntime[CustomerSettings], cmd: Any, code: str, action: str) -> None:
    async def work(uow: UnitOfWork) -> None:
        acting = await authorize(runtime.db, uow, cmd.actor, code, now())
        await audit(runtime.db, uow, acting, code, action, [], now())

    await apply_once(runtime, cmd, work)


# --- erasure -------------------------------------------------------------------------------------


async def _erase_here(
    runtime: ServiceRuntime[CustomerSettings], cmd: EraseCustomerData, erasure_id: str
) -> tuple[list[str], ServiceErasure]:
    """The customer service's part, in one transaction: the record and every record merged
    into it, their history entries, tokens, merge journal values and stored replies."""
    p, db = cmd.payload, runtime.db

    async def work(uow: UnitOfWork) -> tuple[list[str], ServiceErasure]:
        at = now()
        acting = await authorize(db, uow, cmd.actor, p.customer_code, at)
        codes = [p.customer_code, *await merge_store.merged_into(db, p.customer_code, uow.session)]
        counts = {"records": 0}
        for code in codes:
            customer: Customer = await store.load(db, code, uow.session)
            erased = rules.erase(customer, p.reason, at)
            if not erased:
                continue
            await store.save(db, customer, uow.session)
            counts["records"] += 1
            await audit(db, uow, acting, code, f"erased: {p.reason}", erased, at)
            payload = {"customer_code": code, "scope_id": customer.scope_id, "erasure_id": erasure_id, "erased_at": at}
            uow.publish(CustomerErased(**uow.envelope(), payload=payload), partition_key=code)
        counts["history_entries"] = await history_store.erase_personal(
            db, codes, rules.HISTORY_PERSONAL_KEYS, uow.session
        )
        counts["tokens"] = await account_store.delete_tokens(db, codes, uow.session)
        counts["merge_journal_entries"] = await merge_store.erase_journals(db, codes, rules.ERASED, uow.session)
        counts["stored_replies"] = await privacy_store.forget_stored_replies(db, codes, uow.session)
        return codes, ServiceErasure(service="customer", customer_code=p.customer_code, erased=counts, at=at)

    # No inbox record: the erasure is idempotent by itself, and a repeat must erase again
    # whatever arrived since.
    return await apply_once(runtime, cmd, work, inbox=False)


async def erase_customer_data(
    cmd: EraseCustomerData, runtime: CustomerRuntime, services: OtherServices
) -> ErasureReply:
    p = cmd.payload
    erasure_id = cmd.message_id
    codes, mine = await _erase_here(runtime, cmd, erasure_id)
    receipts, silent = [mine], []
    for service, command in (
        ("order-sync", OrderSyncEraseCustomerData),
        ("notification", NotificationEraseCustomerData),
    ):
        total: dict[str, int] = {}
        try:
            for code in codes:
                part = await _ask(services, service, command, {"customer_code": code, "erasure_id": erasure_id}, cmd)
                for kind, count in part.erased.items():
                    total[kind] = total.get(kind, 0) + count
                at = part.at
        except _NoAnswer as exc:
            silent.append(exc)
            continue
        receipts.append(ServiceErasure(service=service, customer_code=p.customer_code, erased=total, at=at))
    receipt = ErasureReceipt(
        erasure_id=erasure_id, customer_code=p.customer_code, reason=p.reason, erased_at=mine.at, services=receipts
    )
    if silent:
        raise Rejected.of(
            "unavailable",
            "erased in "
            + ", ".join(r.service for r in receipts)
            + "; not answered: "
            + "; ".join(str(s) for s in silent)
            + ". Repeat the request: it erases what is left.",
            unanswered=[s.service for s in silent],
            receipt=receipt.model_dump(mode="json"),
        )
    return ErasureReply.success(receipt)


HANDLERS: CommandTable = {
    ExportCustomerData: export_customer_data,
    EraseCustomerData: erase_customer_data,
}
