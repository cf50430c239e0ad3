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
from plumbing.unit_of_work import INBOX, UnitOfWork, apply_once

from ..accounts import store as account_store
from ..acting import audit, authorize
from ..merges import store as merge_store
from ..merges.rules import journal_view
from ..records import store
from ..records.rules import Customer, now
from ..settings import CustomerRuntime, CustomerSettings

#: Requests to other services in flight at once per worker (one connection each).
CLIENTS = 4
ERASED = "(erased)"
#: Keys of a history entry (C7) that may name or locate the person; an entry keeps its order facts.
HISTORY_PERSONAL_KEYS = (
    "email",
    "first_name",
    "last_name",
    "name",
    "phone",
    "address",
    "addresses",
    "billing_address",
    "shipping_address",
    "recipient",
)
#: What the record keeps: its code, scope, kind, account type, dates and order figures.
ERASED_FIELDS: dict[str, object] = {
    "first_name": ERASED,
    "last_name": ERASED,
    "email": None,
    "logon_id": None,
    "pending_email": None,
    "email_verified": False,
    "claim_pending": False,
    "phone": None,
    "work_phone": None,
    "fax": None,
    "phone_extension": None,
    "addresses": [],
    "attributes": {},
    "tags": [],
    "flag": None,
    "notes": None,
    "password_hash": None,
    "idempotency_key": None,
}


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
    history = await db[merge_store.HISTORY].find({"customer_code": customer.code}).to_list()
    audit_rows = await db[account_store.AUDIT].find({"customer_code": customer.code}).sort("at", 1).to_list()
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


def erasure_updates(doc: dict[str, Any], reason: str, at: datetime) -> dict[str, Any]:
    """The fields that change when a record is erased: personal ones emptied, the state
    ``erased``; the first erasure's time is kept by a repeat."""
    return {
        **ERASED_FIELDS,
        "state": "erased",
        "state_reason": f"erased: {reason}",
        "erased_at": doc.get("erased_at") or at,
    }


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
        counts = {"records": 0, "history_entries": 0, "tokens": 0, "merge_journal_entries": 0, "stored_replies": 0}
        for code in codes:
            customer: Customer = await store.load(db, code, uow.session)
            wanted = erasure_updates(customer.doc, p.reason, at)
            # A repeat changes nothing (not even the reason) unless something personal came back.
            updates = {
                k: v for k, v in wanted.items() if customer.doc.get(k) != v and k not in ("erased_at", "state_reason")
            }
            if updates:
                customer.set_fields(
                    {**updates, "state_reason": wanted["state_reason"], "erased_at": wanted["erased_at"]}, at
                )
                await store.save(db, customer, uow.session)
                counts["records"] += 1
                await audit(db, uow, acting, code, f"erased: {p.reason}", sorted(updates), at)
                uow.publish(
                    CustomerErased(
                        **uow.envelope(),
                        payload={
                            "customer_code": code,
                            "scope_id": customer.scope_id,
                            "erasure_id": erasure_id,
                            "erased_at": at,
                        },
                    ),
                    partition_key=code,
                )
        personal = dict.fromkeys(HISTORY_PERSONAL_KEYS, "")
        history = await db[merge_store.HISTORY].update_many(
            {"customer_code": {"$in": codes}, "$or": [{k: {"$exists": True}} for k in HISTORY_PERSONAL_KEYS]},
            {"$unset": personal},
            session=uow.session,
        )
        counts["history_entries"] = history.modified_count
        tokens = await db[account_store.TOKENS].delete_many({"customer_code": {"$in": codes}}, session=uow.session)
        counts["tokens"] = tokens.deleted_count
        journal = await db[merge_store.JOURNAL].update_many(
            {"$or": [{"survivor_code": {"$in": codes}}, {"merged_code": {"$in": codes}}], "erased": {"$ne": True}},
            # The values a merge kept (B's email, attributes, addresses) go; what moved stays countable.
            {
                "$set": {
                    "erased": True,
                    "moves.$[].kept_from_merged": None,
                    "moves.$[].survivor_before": None,
                    "moves.$[].merged_before": None,
                    "reason": ERASED,
                }
            },
            session=uow.session,
        )
        counts["merge_journal_entries"] = journal.modified_count
        # Replies kept for redelivered commands hold the record as it was.
        replies = await db[INBOX].delete_many(
            {
                "$or": [
                    {"result.code": {"$in": codes}},
                    {"result.survivor.code": {"$in": codes}},
                    {"result.restored.code": {"$in": codes}},
                    {"result.customer_code": {"$in": codes}},
                ]
            },
            session=uow.session,
        )
        counts["stored_replies"] = replies.deleted_count
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
