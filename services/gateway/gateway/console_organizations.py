"""Organizations in the console (C5, I5): customers join and leave them from their record;
an organization's record opens as an organization (its own form, its members with links);
the Customer Manager has a "New organization" link.

An organization is a customer record of kind ``organization``: the record page sends it here
(``console.record_page``). Joining, leaving and saving need ``customer.update``, creating
``customer.create``; each is audited as ``customer.organization.<what>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from contracts.customer import records as c
from contracts.customer import relations as r

from .auth import allow
from .bridge import CommandFailed
from .console import NOTICES, Box, Staff, Version, page, read_form, record_page, redirect, submitted
from .console import templates as console_templates
from .console_addresses import ADDRESS_FIELDS, AddressForm, address_errors
from .staff import StaffSession
from .state import services, staff_store

router = APIRouter(include_in_schema=False)
Updater = Annotated[StaffSession, Depends(allow("customer.update"))]
Creator = Annotated[StaffSession, Depends(allow("customer.create"))]
NOTICES.update(
    {
        "joined": "The customer joined the organization.",
        "left": "The customer left the organization.",
        "organization_created": "Organization created.",
        "organization_saved": "Organization saved.",
    }
)
TEXT_FIELDS = ("number", "name", "manager", "manager_phone", "price_level")


class OrganizationForm(AddressForm):
    """An organization's boxes; its address's boxes are AddressForm's."""

    scope_id: Box = ""
    number: Box = ""
    name: Box = ""
    manager: Box = ""
    manager_phone: Box = ""
    price_level: Box = ""


class SavedOrganizationForm(OrganizationForm):
    version: Version


def organization_errors(error: Any) -> dict[str, str]:
    """Each field error beside its input: 'payload.changes.name' is 'name', an address's
    'payload.address.city' is 'city'."""
    found = address_errors(error)
    return {key.rsplit(".", 1)[-1]: reason for key, reason in found.items()}


console_templates.env.globals["organization_errors"] = organization_errors


def address_of(form: OrganizationForm) -> dict[str, Any] | None:
    """The address boxes as an AddressInput, or None when they are all blank."""
    values = {name: getattr(form, name).strip() for name in ADDRESS_FIELDS}
    if not any(values.values()):
        return None
    return {k: v for k, v in values.items() if v or k in ("line1", "city", "country")}


# --- on the customer's record ------------------------------------------------------------------


@router.post("/customers/{code}/organizations")
async def join(
    request: Request, code: str, who: Updater, organization_code: Annotated[str, Form(max_length=20)]
) -> Response:
    payload = {"customer_code": code, "organization_code": organization_code.strip()}
    try:
        await services(request).call(who, r.JoinOrganization, payload, audit="customer.organization.join", target=code)
    except CommandFailed as exc:
        # An unknown organization code is the form's error, not a missing page.
        return await record_page(
            request,
            who,
            code,
            "organizations",
            exc.status,
            organization_error=exc.error,
            organization_form={"organization_code": organization_code},
        )
    return redirect(f"/customers/{code}", tab="organizations", notice="joined")


@router.post("/customers/{code}/organizations/{organization_code}/leave")
async def leave(request: Request, code: str, organization_code: str, who: Updater) -> Response:
    payload = {"customer_code": code, "organization_code": organization_code}
    await services(request).call(who, r.LeaveOrganization, payload, audit="customer.organization.leave", target=code)
    return redirect(f"/customers/{code}", tab="organizations", notice="left")


# --- the organization's own record ----------------------------------------------------------------


async def organization_page(
    request: Request,
    who: StaffSession,
    code: str,
    cursor: str | None = None,
    status: int = 200,
    error: Any = None,
    form: Mapping[str, str] | None = None,
) -> Response:
    query = {"organization_code": code, **({"cursor": cursor} if cursor else {})}
    detail = await services(request).call(who, r.GetOrganization, query)
    organization = detail.organization
    await staff_store(request).remember_record(who, organization.code, organization.name)
    return page(
        request,
        "organization.html",
        status,
        organization=organization,
        members=detail.members,
        cursor=cursor,
        form=form,
        error=error,
        scopes=[],
    )


@router.get("/organizations/new")
async def new_organization(request: Request, who: Creator) -> Response:
    scopes = await services(request).call(who, c.ListScopes, {})
    return page(request, "organization.html", organization=None, scopes=scopes, form=None, error=None)


@router.post("/organizations/new")
async def create_organization(request: Request, who: Creator) -> Response:
    posted = await request.form()
    try:
        form = read_form(OrganizationForm, posted)
        payload: dict[str, Any] = {"scope_id": form.scope_id, "number": form.number, "name": form.name}
        for name in ("manager", "manager_phone", "price_level"):
            if value := getattr(form, name).strip():
                payload[name] = value
        if (address := address_of(form)) is not None:
            payload["address"] = address
        created = await services(request).call(
            who, r.CreateOrganization, payload, audit="customer.organization.create", target=form.scope_id
        )
    except CommandFailed as exc:
        scopes = await services(request).call(who, c.ListScopes, {})
        return page(
            request,
            "organization.html",
            exc.status,
            organization=None,
            scopes=scopes,
            form=submitted(posted),
            error=exc.error,
        )
    return redirect(f"/organizations/{created.code}", notice="organization_created")


@router.get("/organizations/{code}")
async def organization(
    request: Request, code: str, who: Staff, cursor: Annotated[str | None, Query(max_length=1000)] = None
) -> Response:
    return await organization_page(request, who, code, cursor)


@router.post("/organizations/{code}")
async def save_organization(request: Request, code: str, who: Updater) -> Response:
    posted = await request.form()
    try:
        form = read_form(SavedOrganizationForm, posted)
        current = await services(request).call(who, r.GetOrganization, {"organization_code": code, "limit": 1})
        before = current.organization
        changes: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            value = getattr(form, name).strip() or None
            if name == "manager_phone":
                if value != (console_templates.env.filters["phone"](before.manager_phone) or None):
                    changes[name] = value  # shown read back ('+33 1 23 45 67 89'); changed only if retyped
            elif value != getattr(before, name):
                changes[name] = value
        address = address_of(form)
        stored = (
            before.address.model_dump(exclude={"address_id", "default_shipping", "default_billing"})
            if before.address
            else None
        )
        if address != ({k: v for k, v in stored.items() if v is not None} if stored else None):
            changes["address"] = address
        payload = {"organization_code": code, "expected_version": form.version, "changes": changes}
        await services(request).call(
            who, r.UpdateOrganization, payload, audit="customer.organization.update", target=code
        )
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise
        shown = submitted(posted)
        shown.pop("version", None)  # shown again with the version read now, not the one posted
        return await organization_page(request, who, code, status=exc.status, error=exc.error, form=shown)
    return redirect(f"/organizations/{code}", notice="organization_saved")
