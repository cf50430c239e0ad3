"""Merging two customers and undoing it (C13): the command handlers.

A merge is one transaction: both customer documents, the history entries that move, the
journal entry, the audit and the events commit together or not at all. Field by field, what
moves follows ``merge_rules.RULES``; the journal keeps, for each field, what moved and the
values that did not, so that an unmerge within the window gives B back what was B's (and A
keeps what was A's, and what arrived for A since).
"""

from __future__ import annotations

from datetime import timedelta
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

from ..acting import audit, authorize
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
        acting = await authorize(db, uow, cmd.actor, p.survivor_code, at)
        survivor = await store.load(db, p.survivor_code, uow.session)
        merged = await store.load(db, p.merged_code, uow.session)
        # The command's id is the merge's: a repeated command answers the first merge (inbox),
        # and the journal's unique id makes any other replay a conflict, not a second merge.
        undo_until = at + timedelta(days=runtime.settings.unmerge_window_days)
        terms = rules.MergeTerms(
            cmd.message_id, p.survivor_version, p.merged_version, p.reason, rules.actor_id(cmd.actor), at, undo_until
        )
        entry = rules.merge(survivor, merged, terms)
        await store.save(db, survivor, uow.session)
        await store.save(db, merged, uow.session)
        entry["history_ids"] = await merge_store.move_history(
            db, merged.code, survivor.code, terms.merge_id, uow.session
        )
        await merge_store.insert_journal(db, entry, uow.session)
        for customer, action in ((survivor, f"merged {merged.code} into it"), (merged, f"merged into {survivor.code}")):
            what = f"{action} (merge {terms.merge_id})"
            await audit(db, uow, acting, customer.code, what, list(customer.changed_fields), at)
        uow.publish(
            CustomersMerged(
                **uow.envelope(),
                payload={
                    "merge_id": terms.merge_id,
                    "scope_id": survivor.scope_id,
                    "survivor_code": survivor.code,
                    "merged_code": merged.code,
                    "survivor": survivor.view(),
                    "merged": merged.view(),
                    "moves": rules.journal_view(entry).moves,
                    "merged_at": at,
                },
            ),
            partition_key=survivor.code,
        )
        return MergeOutcome(merge_id=terms.merge_id, survivor=survivor.view(), undo_until=undo_until)

    return MergeReply.success(await apply_once(runtime, cmd, work, MergeOutcome))


async def unmerge_customers(cmd: UnmergeCustomers, runtime: CustomerRuntime) -> UnmergeReply:
    p, db = cmd.payload, runtime.db

    async def work(uow: UnitOfWork) -> UnmergeOutcome:
        at = now()
        entry = await merge_store.journal_entry(db, p.merge_id, uow.session)
        if entry is None:
            raise Rejected.not_found("merge", p.merge_id, field="payload.merge_id")
        rules.check_undoable(entry, at)
        rules.check_asked_by_csr(cmd.actor, "merges are undone")
        acting = await authorize(db, uow, cmd.actor, entry["survivor_code"], at)
        survivor = await store.load(db, entry["survivor_code"], uow.session)
        merged = await store.load(db, entry["merged_code"], uow.session)
        rules.unmerge(survivor, merged, entry, at)
        await _check_email_free(db, merged, uow)
        await store.save(db, survivor, uow.session)
        await store.save(db, merged, uow.session)
        await merge_store.move_history_back(db, p.merge_id, merged.code, uow.session)
        undone = {
            "state": "unmerged",
            "unmerged_at": at,
            "unmerged_by": rules.actor_id(cmd.actor),
            "unmerge_reason": p.reason,
        }
        await merge_store.close_journal(db, p.merge_id, undone, uow.session)
        for customer in (survivor, merged):
            what = f"unmerged (merge {p.merge_id})"
            await audit(db, uow, acting, customer.code, what, list(customer.changed_fields), at)
        uow.publish(
            CustomersUnmerged(
                **uow.envelope(),
                payload={
                    "merge_id": p.merge_id,
                    "scope_id": survivor.scope_id,
                    "survivor_code": survivor.code,
                    "merged_code": merged.code,
                    "survivor": survivor.view(),
                    "restored": merged.view(),
                    "merged_at": entry["merged_at"],
                    "unmerged_at": at,
                },
            ),
            partition_key=survivor.code,
        )
        return UnmergeOutcome(merge_id=p.merge_id, survivor=survivor.view(), restored=merged.view())

    return UnmergeReply.success(await apply_once(runtime, cmd, work, UnmergeOutcome))


async def _check_email_free(db: Any, merged: Customer, uow: UnitOfWork) -> None:
    """B's email is a registered one again: the scope's unique index must take it back."""
    key = merged.doc.get("registered_email")
    holder = await store.find_registered(db, merged.scope_id, key, uow.session) if key else None
    if holder is not None and holder["_id"] != merged.code:
        raise Rejected.conflict(
            f"{merged.code} cannot come back: its email {merged.email} is now the registered email of {holder['_id']}",
            field="payload.merge_id",
        )


async def get_merge_journal(cmd: GetMergeJournal, runtime: CustomerRuntime) -> MergeJournalReply:
    p = cmd.payload
    if p.merge_id:
        entry = await merge_store.journal_entry(runtime.db, p.merge_id)
        if entry is None:
            raise Rejected.not_found("merge", p.merge_id, field="payload.merge_id")
        entries = [entry]
    elif p.customer_code is not None:
        await store.load(runtime.db, p.customer_code, None)
        entries = await merge_store.journal_of(runtime.db, p.customer_code)
    else:  # the contract asks for one of the two
        raise Rejected.invalid("payload.customer_code", "give either merge_id or customer_code")
    return MergeJournalReply.success(MergeJournalPage(items=[rules.journal_view(e) for e in entries]))


HANDLERS: CommandTable = {
    MergeCustomers: merge_customers,
    UnmergeCustomers: unmerge_customers,
    GetMergeJournal: get_merge_journal,
}
