"""The record's address book in the console (C4, I5): add, change, delete an address and
make one the default shipping or billing address, at the version the CSR read.

Each action is the customer service's own command (``AddAddress``, ``ChangeAddress``,
``RemoveAddress``) as the signed-in staff member, with the ``customer.update`` right, audited
as ``customer.address.<what>``. A refused save shows the address book again with each field
error beside its input and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from contracts.customer import records as c
from contracts.replies import Error

from .auth import allow
from .bridge import CommandFailed
from .console import (
    NOTICES,
    Box,
    Version,
    _Form,
    read_form,
    record_page,
    redirect,
    submitted,
    templates,
)
from .staff import StaffSession
from .state import services

router = APIRouter(include_in_schema=False)
Updater = Annotated[StaffSession, Depends(allow("customer.update"))]
VersionField = Annotated[int, Form(ge=1, le=2**63 - 1)]
NOTICES.update(
    {
        "address": "Address saved.",
        "address_removed": "Address deleted.",
        "address_default": "Default address set.",
    }
)
ADDRESS_FIELDS = tuple(k for k in c.AddressInput.model_fields if not k.startswith("default_"))


class VersionForm(_Form):
    version: Version


class AddressForm(_Form):
    """An address as the form posts it; the service reads and checks what the boxes say."""

    label: Box = ""
    first_name: Box = ""
    last_name: Box = ""
    company: Box = ""
    line1: Box = ""
    line2: Box = ""
    city: Box = ""
    region: Box = ""
    postal_code: Box = ""
    country: Box = ""
    phone: Box = ""
    default_shipping: bool = False  # checkboxes: "on" when ticked
    default_billing: bool = False


def address_payload(form: AddressForm) -> dict[str, Any]:
    """What the form says as an ``AddressInput``: blank boxes are absent (mandatory ones are
    sent blank, so that the service names them)."""
    payload: dict[str, Any] = {}
    for name in ADDRESS_FIELDS:
        value = getattr(form, name).strip()
        if value or name in ("line1", "city", "country"):
            payload[name] = value
    payload["default_shipping"] = form.default_shipping
    payload["default_billing"] = form.default_billing
    return payload


def address_errors(error: Any) -> dict[str, str]:
    """Each field error by the address input it belongs beside: 'payload.address.city' is
    'city'; 'payload.expected_version' stays at the top of the form."""
    found: dict[str, str] = {}
    for field_error in getattr(error, "fields", None) or []:
        key = field_error.field.rsplit("address.", 1)[-1] if "address." in field_error.field else field_error.field
        found[key] = f"{found[key]}; {field_error.reason}" if key in found else field_error.reason
    return found


templates.env.globals["address_errors"] = address_errors


def stored_address(customer: c.CustomerView, address_id: str) -> dict[str, Any]:
    for address in customer.addresses:
        if address.address_id == address_id:
            return address.model_dump(exclude={"address_id"})
    raise CommandFailed(Error(code="not_found", message=f"{customer.code} has no address {address_id}"))


async def save(
    request: Request,
    who: StaffSession,
    code: str,
    form: Mapping[str, Any],
    command: type[Any],
    what: str,
    editing: str,
    **ids: str,
) -> Response:
    """Send the address the form holds; on a refusal, the address book again beside the errors."""
    try:
        version = read_form(VersionForm, form).version
        address = address_payload(read_form(AddressForm, form))
        payload = {"customer_code": code, "expected_version": version, **ids, "address": address}
        await services(request).call(who, command, payload, audit=f"customer.address.{what}", target=code)
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise
        return await record_page(
            request,
            who,
            code,
            "addresses",
            exc.status,
            address_error=exc.error,
            address_form=submitted(form),
            editing=editing,
        )
    return redirect(f"/customers/{code}", tab="addresses", notice="address")


@router.post("/customers/{code}/addresses")
async def add_address(request: Request, code: str, who: Updater) -> Response:
    return await save(request, who, code, await request.form(), c.AddAddress, "add", "new")


@router.post("/customers/{code}/addresses/{address_id}")
async def change_address(request: Request, code: str, address_id: str, who: Updater) -> Response:
    form = await request.form()
    return await save(request, who, code, form, c.ChangeAddress, "change", address_id, address_id=address_id)


@router.post("/customers/{code}/addresses/{address_id}/delete")
async def remove_address(request: Request, code: str, address_id: str, who: Updater, version: VersionField) -> Response:
    payload = {"customer_code": code, "expected_version": version, "address_id": address_id}
    try:
        await services(request).call(who, c.RemoveAddress, payload, audit="customer.address.remove", target=code)
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise
        return await record_page(request, who, code, "addresses", exc.status, address_error=exc.error)
    return redirect(f"/customers/{code}", tab="addresses", notice="address_removed")


@router.post("/customers/{code}/addresses/{address_id}/default")
async def make_default(
    request: Request,
    code: str,
    address_id: str,
    who: Updater,
    version: VersionField,
    purpose: Annotated[Literal["shipping", "billing"], Form()],
) -> Response:
    """The address becomes the default shipping (or billing) one; the service takes the flag
    off the address that had it."""
    customer = await services(request).call(who, c.GetCustomer, {"customer_code": code})
    address = {**stored_address(customer, address_id), f"default_{purpose}": True}
    payload = {"customer_code": code, "expected_version": version, "address_id": address_id, "address": address}
    try:
        await services(request).call(who, c.ChangeAddress, payload, audit="customer.address.default", target=code)
    except CommandFailed as exc:
        if exc.error.code == "not_found":
            raise
        return await record_page(request, who, code, "addresses", exc.status, address_error=exc.error)
    return redirect(f"/customers/{code}", tab="addresses", notice="address_default")
