"""Customer groups (C19): static groups (members added by code) and segments (members are
the customers whose records match the rules, found by the compiled filter when asked).

A static group's members carry its id in their ``groups`` list; a customer's reply lists
those and the segments it matches. Search filters by either kind (``SearchInput.group``).
"""

from __future__ import annotations

from contracts.customer.records import SearchInput
from contracts.customer.relations import (
    AddGroupMembers,
    CreateGroup,
    GetGroupMembers,
    GroupCreated,
    GroupListReply,
    GroupMembersChanged,
    GroupMembersChangedPayload,
    GroupMembersPageReply,
    GroupMembersReply,
    GroupMembersResult,
    GroupPayload,
    GroupReply,
    GroupRulesChanged,
    GroupView,
    ListGroups,
    RemoveGroupMembers,
    UpdateGroupRules,
)
from contracts.replies import FieldError
from plumbing.errors import Rejected
from plumbing.runtime import CommandTable
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import audit, authorize
from ..records import store
from ..records.rules import now
from ..records.service import search_page
from ..settings import CustomerRuntime
from . import store as relations_store
from .rules import (
    add_membership,
    member_problem,
    new_group,
    remove_membership,
    replace_rules,
    require_staff,
    require_static,
)
from .store import group_view


async def create_group(cmd: CreateGroup, runtime: CustomerRuntime) -> GroupReply:
    new = cmd.payload
    require_staff(cmd.actor)

    async def work(uow: UnitOfWork) -> GroupView:
        await store.require_scope(uow, new.scope_id)
        template = await store.get_template(uow, new.scope_id)
        group = new_group(new, template, now())
        await relations_store.insert_group(uow, group)
        view = group_view(group)
        uow.publish(GroupCreated(**uow.envelope(), payload=GroupPayload(group=view)), partition_key=group["_id"])
        return view

    return GroupReply.success(await apply_once(runtime, cmd, work, GroupView))


async def update_group_rules(cmd: UpdateGroupRules, runtime: CustomerRuntime) -> GroupReply:
    request = cmd.payload
    require_staff(cmd.actor)

    async def work(uow: UnitOfWork) -> GroupView:
        group = await relations_store.load_group(uow, request.group_id)
        loaded_version = group["version"]
        template = await store.get_template(uow, group["scope_id"])
        replace_rules(group, request.expected_version, request.rules, template, now())
        await relations_store.save_group(uow, group, loaded_version)
        view = group_view(group)
        uow.publish(GroupRulesChanged(**uow.envelope(), payload=GroupPayload(group=view)), partition_key=group["_id"])
        return view

    return GroupReply.success(await apply_once(runtime, cmd, work, GroupView))


async def _change_members(
    cmd: AddGroupMembers | RemoveGroupMembers, runtime: CustomerRuntime, adding: bool
) -> GroupMembersReply:
    """Add or remove static members: every code is checked first (each bad one named), then
    each record that changes gets a new version and an audit entry; one event for the lot."""
    request = cmd.payload
    require_staff(cmd.actor)
    codes = list(dict.fromkeys(request.customer_codes))

    async def work(uow: UnitOfWork) -> GroupMembersResult:
        at = now()
        group = await relations_store.load_group(uow, request.group_id)
        require_static(group)
        found = await store.load_many(uow, codes)
        problems = []
        for index, code in enumerate(request.customer_codes):
            record = found.get(code)
            problem = f"no customer {code!r}" if record is None else member_problem(record.doc, group["scope_id"])
            if problem:
                problems.append(FieldError(field=f"payload.customer_codes.{index}", reason=problem))
        if problems:
            raise Rejected.invalid_fields(problems)
        change = add_membership if adding else remove_membership
        action = f"{'added to' if adding else 'removed from'} group {group['_id']}"
        changed = []
        for code in codes:
            customer = found[code]
            if change(customer, "groups", group["_id"], at):
                acting = await authorize(uow, cmd.actor, code, at)
                await store.save(uow, customer)
                await audit(uow, acting, code, action, ["groups"], at)
                changed.append(code)
        if changed:
            payload = GroupMembersChangedPayload(
                group_id=group["_id"], added=changed if adding else [], removed=[] if adding else changed
            )
            uow.publish(GroupMembersChanged(**uow.envelope(), payload=payload), partition_key=group["_id"])
        return GroupMembersResult(group_id=group["_id"], changed=changed)

    return GroupMembersReply.success(await apply_once(runtime, cmd, work, GroupMembersResult))


async def add_group_members(cmd: AddGroupMembers, runtime: CustomerRuntime) -> GroupMembersReply:
    return await _change_members(cmd, runtime, adding=True)


async def remove_group_members(cmd: RemoveGroupMembers, runtime: CustomerRuntime) -> GroupMembersReply:
    return await _change_members(cmd, runtime, adding=False)


async def list_groups(cmd: ListGroups, runtime: CustomerRuntime) -> GroupListReply:
    if cmd.payload.scope_id:
        await store.require_scope(runtime.db, cmd.payload.scope_id)
    return GroupListReply.success(
        [group_view(g) for g in await relations_store.list_groups(runtime.db, cmd.payload.scope_id)]
    )


async def get_group_members(cmd: GetGroupMembers, runtime: CustomerRuntime) -> GroupMembersPageReply:
    """A page of members, by name, keyset-paged like a search (it is one: ``group=``)."""
    request = cmd.payload
    await relations_store.load_group(runtime.db, request.group_id)
    query = SearchInput(group=request.group_id, limit=request.limit, cursor=request.cursor)
    return GroupMembersPageReply.success(await search_page(runtime, query))


HANDLERS: CommandTable = {
    CreateGroup: create_group,
    UpdateGroupRules: update_group_rules,
    AddGroupMembers: add_group_members,
    RemoveGroupMembers: remove_group_members,
    ListGroups: list_groups,
    GetGroupMembers: get_group_members,
}
