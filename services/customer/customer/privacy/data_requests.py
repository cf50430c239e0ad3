"""Data requests from platforms (C18): handlers. A platform's request for a data subject's data
(Shopify's ``customers/data_request``, through the adapters) is kept as open work, once, with
its event through the outbox and a line in each named customer's audit trail; staff export the
customers it names (``ExportCustomerData``), hand the export over and complete it here."""

from __future__ import annotations

from contracts.customer.privacy import (
    CompleteDataRequest,
    DataRequestCompleted,
    DataRequestListReply,
    DataRequestReceived,
    DataRequestReply,
    DataRequestView,
    ListDataRequests,
    RecordDataRequest,
)
from plumbing.errors import Rejected
from plumbing.runtime import CommandTable
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import SYSTEM, Acting, audit_each
from ..records.rules import now
from ..settings import CustomerRuntime
from . import rules, store


async def record_data_request(cmd: RecordDataRequest, runtime: CustomerRuntime) -> DataRequestReply:

    async def work(uow: UnitOfWork) -> DataRequestView:
        at = now()
        doc, new = await store.insert_if_new(uow, rules.new_data_request(cmd.payload, at))
        if new:
            action = f"{rules.label(doc)} received: {rules.owed(doc)}"
            acting = Acting(cmd.actor or SYSTEM)
            await audit_each(uow, acting, [(code, action) for code in doc["customer_codes"]], [], at)
            uow.publish(
                DataRequestReceived(**uow.envelope(), payload=rules.event_payload(doc)), partition_key=doc["_id"]
            )
        return rules.view(doc)

    return DataRequestReply.success(await apply_once(runtime, cmd, work, DataRequestView))


async def list_data_requests(cmd: ListDataRequests, runtime: CustomerRuntime) -> DataRequestListReply:
    docs = await store.page(runtime.db, cmd.payload.state, cmd.payload.limit)
    return DataRequestListReply.success([rules.view(doc) for doc in docs])


async def complete_data_request(cmd: CompleteDataRequest, runtime: CustomerRuntime) -> DataRequestReply:
    p, actor = cmd.payload, cmd.actor or SYSTEM
    rules.check_may_complete(actor)

    async def work(uow: UnitOfWork) -> DataRequestView:
        doc = await store.find(uow, p.request_key)
        if doc is None:
            raise Rejected.not_found("data request", p.request_key, field="payload.request_key")
        at = now()
        updates = rules.completion(doc, actor.id, p.note, at)
        if updates is None:
            return rules.view(doc)  # completed before: the first completion stands
        await store.complete(uow, p.request_key, updates)
        doc = {**doc, **updates}
        action = f"{rules.label(doc)} completed" + (f": {p.note}" if p.note else "")
        await audit_each(uow, Acting(actor), [(code, action) for code in doc["customer_codes"]], [], at)
        uow.publish(DataRequestCompleted(**uow.envelope(), payload=rules.event_payload(doc)), partition_key=doc["_id"])
        return rules.view(doc)

    return DataRequestReply.success(await apply_once(runtime, cmd, work, DataRequestView))


HANDLERS: CommandTable = {
    RecordDataRequest: record_data_request,
    ListDataRequests: list_data_requests,
    CompleteDataRequest: complete_data_request,
}
