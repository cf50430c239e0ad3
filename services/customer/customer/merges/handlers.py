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
from ..records.rules import now
from ..settings import CustomerRuntime
from . import store as merge_store
from .rules import check_mergeable, journal_view, plan_merge, plan_unmerge


def _actor_id(cmd: Any) -> str:
    return f"{cmd.actor.kind}:{cmd.actor.id}" if cmd.actor else "system"


async def merge_customers(cmd: MergeCustomers, runtime: CustomerRuntime) -> MergeReply:
    p, db = cmd.payload, runtime.db
    # The command's id is the merge's: a repeated command answers the first merge (inbox),
    # and the journal's unique id makes any other replay a conflict, not a second merge.
    merge_id = cmd.message_id

    async def work(uow: UnitOfWork) -> MergeOutcome:
        at = now()
        if cmd.actor and cmd.actor.kind == "customer":
            raise Rejected.of("forbidden", "customers are merged by a CSR")
        acting = await authorize(db, uow, cmd.actor, p.survivor_code, at)
        survivor = await store.load(db, p.survivor_code, uow.session)
        merged = await store.load(db, p.merged_code, uow.session)
        check_mergeable(survivor.doc, merged.doc)
        survivor.expect_version(p.survivor_version)
        merged.expect_version(p.merged_version)

        plan = plan_merge(survivor.doc, merged.doc)
        previous_state = {"state": merged.state, "state_reason": merged.state_reason}
        survivor.set_fields(plan.survivor_updates, at)
        if survivor.version == survivor.loaded_version:
            survivor.set_fields({"last_activity_at": at}, at)  # the survivor's version says it took B
        merged.set_fields(
            {
                **plan.merged_updates,
                "state": "retired",
                "state_reason": f"merged into {survivor.code}",
                "merged_into": survivor.code,
            },
            at,
        )
        await store.save(db, survivor, uow.session)
        await store.save(db, merged, uow.session)
        history_ids = await merge_store.move_history(db, merged.code, survivor.code, merge_id, uow.session)
        undo_until = at + timedelta(days=runtime.settings.unmerge_window_days)
        entry = {
            "_id": merge_id,
            "merge_id": merge_id,
            "scope_id": survivor.scope_id,
            "survivor_code": survivor.code,
            "merged_code": merged.code,
            "reason": p.reason,
            "state": "merged",
            "merged_at": at,
            "merged_by": _actor_id(cmd),
            "undo_until": undo_until,
            "moves": plan.moves,
            "merged_previous": previous_state,
            "history_ids": history_ids,
        }
        await merge_store.insert_journal(db, entry, uow.session)
        for code, action in (
            (survivor.code, f"merged {merged.code} into it"),
            (merged.code, f"merged into {survivor.code}"),
        ):
            changed = list((survivor if code == survivor.code else merged).changed_fields)
            await audit(db, uow, acting, code, f"{action} (merge {merge_id})", changed, at)
        uow.publish(
            CustomersMerged(
                **uow.envelope(),
                payload={
                    "merge_id": merge_id,
                    "scope_id": survivor.scope_id,
                    "survivor_code": survivor.code,
                    "merged_code": merged.code,
                    "survivor": survivor.view(),
                    "merged": merged.view(),
                    "moves": journal_view(entry).moves,
                    "merged_at": at,
                },
            ),
            partition_key=survivor.code,
        )
        return MergeOutcome(merge_id=merge_id, survivor=survivor.view(), undo_until=undo_until)

    return MergeReply.success(await apply_once(runtime, cmd, work, MergeOutcome))


async def unmerge_customers(cmd: UnmergeCustomers, runtime: CustomerRuntime) -> UnmergeReply:
    p, db = cmd.payload, runtime.db

    async def work(uow: UnitOfWork) -> UnmergeOutcome:
        at = now()
        entry = await merge_store.journal_entry(db, p.merge_id, uow.session)
        if entry is None:
            raise Rejected.not_found("merge", p.merge_id, field="payload.merge_id")
        if entry["state"] != "merged":
            raise Rejected.invalid_state(
                f"merge {p.merge_id} was undone already, at {entry['unmerged_at']:%Y-%m-%d %H:%M}"
            )
        if at > entry["undo_until"]:
            raise Rejected.invalid_state(
                f"merge {p.merge_id} can no longer be undone: its window closed at {entry['undo_until']:%Y-%m-%d %H:%M}"
            )
        if entry.get("erased"):
            raise Rejected.invalid_state(f"merge {p.merge_id} cannot be undone: a customer of it was erased")
        if cmd.actor and cmd.actor.kind == "customer":
            raise Rejected.of("forbidden", "merges are undone by a CSR")
        acting = await authorize(db, uow, cmd.actor, entry["survivor_code"], at)
        survivor = await store.load(db, entry["survivor_code"], uow.session)
        merged = await store.load(db, entry["merged_code"], uow.session)
        if survivor.state == "retired":
            raise Rejected.invalid_state(
                f"customer {survivor.code} was merged into {survivor.merged_into} since; undo that merge first"
            )
        if merged.doc.get("merged_into") != survivor.code:
            raise Rejected.invalid_state(f"customer {merged.code} is not merged into {survivor.code}")

        survivor_updates, merged_restores = plan_unmerge(survivor.doc, entry["moves"])
        survivor.set_fields(survivor_updates, at)
        if survivor.version == survivor.loaded_version:
            survivor.set_fields({"last_activity_at": at}, at)
        merged.set_fields({**merged_restores, **entry["merged_previous"], "merged_into": None}, at)
        # B's email is a registered one again: the scope's unique index must take it back.
        key = merged.doc.get("registered_email")
        holder = await store.find_registered(db, merged.scope_id, key, uow.session) if key else None
        if holder is not None and holder["_id"] != merged.code:
            raise Rejected.conflict(
                f"{merged.code} cannot come back: its email {merged.email} is now the registered email of "
                f"{holder['_id']}",
                field="payload.merge_id",
            )
        await store.save(db, survivor, uow.session)
        await store.save(db, merged, uow.session)
        await merge_store.move_history_back(db, p.merge_id, merged.code, uow.session)
        await merge_store.close_journal(
            db,
            p.merge_id,
            {
                "state": "unmerged",
                "unmerged_at": at,
                "unmerged_by": _actor_id(cmd),
                "unmerge_reason": p.reason,
            },
            uow.session,
        )
        for customer in (survivor, merged):
            await audit(
                db, uow, acting, customer.code, f"unmerged (merge {p.merge_id})", list(customer.changed_fields), at
            )
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
    return MergeJournalReply.success(MergeJournalPage(items=[journal_view(e) for e in entries]))


HANDLERS: CommandTable = {
    MergeCustomers: merge_customers,
    UnmergeCustomers: unmerge_customers,
    GetMergeJournal: get_merge_journal,
}
