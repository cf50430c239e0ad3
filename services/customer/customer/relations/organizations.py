"""Organizations (C5): create, change, read with members; customers join and leave.

An organization is a customer record of kind ``organization`` (relations_rules), so it
has a customer code, is found by the customer search (``kind="organization"``), and its
members are a search on the ``organizations`` field of their records.
"""

from __future__ import annotations

from contracts.customer.records import SearchInput
from contracts.customer.relations import (
    CreateOrganization,
    CustomerJoinedOrganization,
    CustomerLeftOrganization,
    GetOrganization,
    JoinOrganization,
    LeaveOrganization,
    Membership,
    MembershipPayload,
    MembershipReply,
    OrganizationCreated,
    OrganizationCreatedPayload,
    OrganizationDetail,
    OrganizationDetailReply,
    OrganizationReply,
    OrganizationUpdated,
    OrganizationUpdatedPayload,
    OrganizationView,
    UpdateOrganization,
)
from plumbing.runtime import CommandTable
from plumbing.unit_of_work import UnitOfWork, apply_once

from ..acting import SYSTEM, Acting, audit, authorize
from ..records import store
from ..records.rules import now
from ..records.service import search_page
from ..settings import CustomerRuntime
from . import store as relations_store
from .rules import (
    add_membership,
    change_organization,
    new_organization,
    organization_number_key,
    organization_view,
    remove_membership,
    require_member,
    require_organization,
    require_staff,
)


async def create_organization(cmd: CreateOrganization, runtime: CustomerRuntime) -> OrganizationReply:
    new, db = cmd.payload, runtime.db
    require_staff(cmd.actor)
    acting = Acting(cmd.actor or SYSTEM)

    async def work(uow: UnitOfWork) -> OrganizationView:
        scope = await store.require_scope(uow, new.scope_id)
        key = organization_number_key(new.number)
        await relations_store.require_number_free(uow, new.scope_id, key, None, field="payload.number")
        (code,) = await store.allocate_codes(db)
        at = now()
        organization = new_organization(new, code=code, scope=scope, at=at)
        await relations_store.insert_organization(uow, organization)
        view = organization_view(organization.doc)
        uow.publish(
            OrganizationCreated(**uow.envelope(), payload=OrganizationCreatedPayload(organization=view)),
            partition_key=code,
        )
        await audit(uow, acting, code, "organization created", [], at)
        return view

    return OrganizationReply.success(await apply_once(runtime, cmd, work, OrganizationView))


async def update_organization(cmd: UpdateOrganization, runtime: CustomerRuntime) -> OrganizationReply:
    request = cmd.payload
    code = request.organization_code

    async def work(uow: UnitOfWork) -> OrganizationView:
        at = now()
        acting = await authorize(uow, cmd.actor, code, at)
        organization = await relations_store.load(uow, code, field="payload.organization_code", what="organization")
        require_organization(organization.doc)
        organization.expect_version(request.expected_version)
        scope = await store.require_scope(uow, organization.scope_id)
        changed = change_organization(organization, request.changes, scope=scope, at=at)
        if changed:
            if "number" in changed:
                await relations_store.require_number_free(
                    uow,
                    organization.scope_id,
                    organization.organization_number_key,
                    code,
                    field="payload.changes.number",
                )
            await store.save(uow, organization)
            payload = OrganizationUpdatedPayload(organization_code=code, version=organization.version, changed=changed)
            uow.publish(OrganizationUpdated(**uow.envelope(), payload=payload), partition_key=code)
            await audit(uow, acting, code, "organization updated", list(changed), at)
        return organization_view(organization.doc, await relations_store.count_members(uow, code))

    return OrganizationReply.success(await apply_once(runtime, cmd, work, OrganizationView))


async def get_organization(cmd: GetOrganization, runtime: CustomerRuntime) -> OrganizationDetailReply:
    request, db = cmd.payload, runtime.db
    code = request.organization_code
    organization = await relations_store.load(db, code, field="payload.organization_code", what="organization")
    require_organization(organization.doc)
    members = await search_page(runtime, SearchInput(organization=code, limit=request.limit, cursor=request.cursor))
    view = organization_view(organization.doc, await relations_store.count_members(db, code))
    return OrganizationDetailReply.success(OrganizationDetail(organization=view, members=members))


async def _membership(
    cmd: JoinOrganization | LeaveOrganization, runtime: CustomerRuntime, joining: bool
) -> MembershipReply:
    """Join or leave: the customer's ``organizations`` list changes, with a new version, an
    event and an audit entry; when it already was so, nothing changes."""
    request = cmd.payload

    async def work(uow: UnitOfWork) -> Membership:
        at = now()
        acting = await authorize(uow, cmd.actor, request.customer_code, at)
        organization = await relations_store.load(
            uow, request.organization_code, field="payload.organization_code", what="organization"
        )
        require_organization(organization.doc)
        customer = await relations_store.load(uow, request.customer_code, field="payload.customer_code")
        require_member(customer.doc)
        change = add_membership if joining else remove_membership
        changed = change(customer, "organizations", organization.code, at)
        if changed:
            await store.save(uow, customer)
            event = CustomerJoinedOrganization if joining else CustomerLeftOrganization
            payload = MembershipPayload(
                customer_code=customer.code, organization_code=organization.code, customer_version=customer.version
            )
            uow.publish(event(**uow.envelope(), payload=payload), partition_key=customer.code)
            action = f"{'joined' if joining else 'left'} organization {organization.code}"
            await audit(uow, acting, customer.code, action, ["organizations"], at)
        return Membership(
            customer_code=customer.code,
            organization_code=organization.code,
            customer_version=customer.version,
            changed=changed,
        )

    return MembershipReply.success(await apply_once(runtime, cmd, work, Membership))


async def join_organization(cmd: JoinOrganization, runtime: CustomerRuntime) -> MembershipReply:
    return await _membership(cmd, runtime, joining=True)


async def leave_organization(cmd: LeaveOrganization, runtime: CustomerRuntime) -> MembershipReply:
    return await _membership(cmd, runtime, joining=False)


HANDLERS: CommandTable = {
    CreateOrganization: create_organization,
    UpdateOrganization: update_organization,
    GetOrganization: get_organization,
    JoinOrganization: join_organization,
    LeaveOrganization: leave_organization,
}
