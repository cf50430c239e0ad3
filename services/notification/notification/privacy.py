"""The notification service's part of privacy requests (C18), asked by the customer service.

Export: every email activity of the customer, with its content. Erasure: the content and the
address of each activity are replaced, delivery errors (which may quote the address) go,
and an email not sent yet is given up rather than sent to an erased customer. The activity
itself stays, so that counts and order histories remain consistent.
"""

from __future__ import annotations

from typing import Any

from contracts.envelope import Command
from contracts.notification.privacy import (
    NotificationCustomerData,
    NotificationDataReply,
    NotificationEraseCustomerData,
    NotificationExportCustomerData,
)
from contracts.service import ServiceErasure, ServiceErasureReply
from plumbing.runtime import CommandHandler, Runtime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store

ERASED = "(erased)"


async def export_customer_data(cmd: NotificationExportCustomerData, runtime: Runtime) -> NotificationDataReply:
    code = cmd.payload.customer_code
    docs = await store.customer_activities(runtime.db, code)
    return NotificationDataReply.success(
        NotificationCustomerData(customer_code=code, activities=[store.to_view(d) for d in docs])
    )


async def erase_customer_data(cmd: NotificationEraseCustomerData, runtime: Runtime) -> ServiceErasureReply:
    code = cmd.payload.customer_code

    async def work(uow: UnitOfWork) -> ServiceErasure:
        at = store.now()
        erased, cancelled = await store.erase_customer_activities(uow, code, at=at, erased=ERASED)
        return ServiceErasure(
            service="notification",
            customer_code=code,
            at=at,
            erased={"activities": erased, "emails_cancelled": cancelled},
        )

    return ServiceErasureReply.success(await apply_once(runtime, cmd, work, ServiceErasure, inbox=False))


COMMANDS: tuple[tuple[type[Command[Any]], CommandHandler], ...] = (
    (NotificationExportCustomerData, export_customer_data),
    (NotificationEraseCustomerData, erase_customer_data),
)
