"""Merging two customers and undoing it (C13): the command handlers.

A merge is one transaction: both customer documents, the history entries that move, the
journal entry, the audit and the events commit together or not at all. Field by field, what
moves follows ``merge_rules.RULES``; the journal keeps, for each field, what moved and the
values that did not, so that an unmerge within the window gives B back what was B's (and A
keeps what was A's, and what arrived for A since).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.customer.merges import (
    CustomersMerged,
    CustomersUnmerged,
    GetMergeJournal,
    MergeCustomers,
    MergeJournalPage,
    MergeJournalReply,
    MergeOutcome,
    MergeReply,
    UnmergeCustomers,
    UnmergeOutcome,
    UnmergeReply,
)
from plumbing.errors import Rejected
from plumbing.runtime import CommandTable
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import Acting, audit, authorize
from ..records import store
from ..records.rules import Customer, now
from ..settings import CustomerRuntime
from . import rules
from . import store as merge_store


async def merge_customers(cmd: MergeCustomers, runtime: CustomerRuntime) -> MergeReply:
    p, db = cmd.payload, runtime.db

    async def work(uow: UnitOfWork) -> MergeOutcome:
        at = now()
        rules.check_asked_by_csr(cmd.actor, "customers are merged")
        acting = await authorize(uow, cmd.actor, p.survivor_code, at)
        survivor, merged = await merge_store.load_pair(uow, p.survivor_code, p.merged_code)
        terms = rules.merge_terms(cmd, at, runtime.settings.unmerge_window_days)
        entry = rules.merge(survivor, merged, terms)
        await merge_store.record_merge(uow, survivor, merged, entry)
        notes = rules.audit_notes(survivor.code, merged.code, terms.merge_id)
        await _audit_both(db, uow, acting, (survivor, merged), notes, at)
        event = CustomersMerged(**uow.envelope(), payload=rules.merged_event(terms, survivor, merged, entry))
        uow.publish(event, partition_key=survivor.code)
        return MergeOutcome(merge_id=terms.merge_id, survivor=survivor.view(), undo_until=terms.undo_until)

    return MergeReply.success(await apply_once(runtime, cmd, work, MergeOutcome))


async def unmerge_customers(cmd: UnmergeCustomers, runtime: CustomerRuntime) -> UnmergeReply:
    p, db = cmd.payload, runtime.db

    async def work(uow: UnitOfWork) -> UnmergeOutcome:
        at = now()
        entry = rules.found(await merge_store.journal_entry(uow, p.merge_id), p.merge_id)
        rules.check_undoable(entry, at)
        rules.check_asked_by_csr(cmd.actor, "merges are undone")
        acting = await authorize(uow, cmd.actor, entry["survivor_code"], at)
        survivor, merged = await merge_store.load_pair(uow, entry["survivor_code"], entry["merged_code"])
        rules.unmerge(survivor, merged, entry, at)
        rules.check_email_free(merged, await merge_store.email_holder(uow, merged))
        undone = rules.undone(rules.actor_id(cmd.actor), p.reason, at)
        await merge_store.record_unmerge(uow, survivor, merged, p.merge_id, undone)
        notes = rules.audit_notes(survivor.code, merged.code, p.merge_id, undone=True)
        await _audit_both(db, uow, acting, (survivor, merged), notes, at)
        event = CustomersUnmerged(**uow.envelope(), payload=rules.unmerged_event(entry, survivor, merged, at))
        uow.publish(event, partition_key=survivor.code)
        return UnmergeOutcome(merge_id=p.merge_id, survivor=survivor.view(), restored=merged.view())

    return UnmergeReply.success(await apply_once(runtime, cmd, work, UnmergeOutcome))


async def _audit_both(
    db: Any, uow: UnitOfWork, acting: Acting, pair: tuple[Customer, Customer], notes: tuple[str, str], at: datetime
) -> None:
    """The survivor's and the merged customer's audit entries, each with the fields it changed."""
    for customer, what in zip(pair, notes, strict=True):
        await audit(uow, acting, customer.code, what, list(customer.changed_fields), at)


async def get_merge_journal(cmd: GetMergeJournal, runtime: CustomerRuntime) -> MergeJournalReply:
    p = cmd.payload
    if p.merge_id:
        entries = [rules.found(await merge_store.journal_entry(runtime.db, p.merge_id), p.merge_id)]
    elif p.customer_code is not None:
        await store.load(runtime.db, p.customer_code)
        entries = await merge_store.journal_of(runtime.db, p.customer_code)
    else:  # the contract asks for one of the two
        raise Rejected.invalid("payload.customer_code", "give either merge_id or customer_code")
    return MergeJournalReply.success(MergeJournalPage(items=[rules.journal_view(e) for e in entries]))


HANDLERS: CommandTable = {
    MergeCustomers: merge_customers,
    UnmergeCustomers: unmerge_customers,
    GetMergeJournal: get_merge_journal,
}
