"""Carts, saved payment methods and invoices from upstream, tied to their customer (C7).

Upstream systems know a customer by their own id; order-sync owns the links from
(source_system, source_customer_id) to customer codes, made when that customer's first order
was linked (O2). So:

- a cart or payment-method event goes to the customer its source id is linked to. A source
  id with no link yet (the customer never ordered) is *rejected* as an unknown customer:
  dead-lettered with that reason, so an operator can replay it once the customer's first
  order has made the link (``omsctl dlq replay``). Parking it instead could keep a cart of a
  customer who never orders forever.
- an invoice goes to the customer its order is linked to; an invoice that arrives before its
  order is linked is parked with the order's events and applied when it is (handlers).

Nothing here is stored by order-sync beyond the inbox: the customer service keeps the
history; these handlers only publish the customer-scoped events.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from contracts.envelope import Envelope, Event
from contracts.replies import Error, FieldError
from contracts.upstream.commerce import (
    CartUpdated,
    CartView,
    CustomerCartPayload,
    CustomerCartUpdated,
    CustomerInvoiceIssued,
    CustomerInvoicePayload,
    CustomerPaymentMethodPayload,
    CustomerPaymentMethodRemoved,
    CustomerPaymentMethodRemovedPayload,
    CustomerPaymentMethodSaved,
    InvoiceIssued,
    InvoiceView,
    PaymentMethodRemoved,
    PaymentMethodSaved,
    PaymentMethodView,
)
from plumbing.errors import Rejected
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store

P = TypeVar("P", bound=BaseModel)

UNKNOWN_CUSTOMER = "unknown customer"


async def _customer_of(runtime: ServiceRuntime, source_system: str, source_customer_id: str) -> str:
    code = await store.linked_customer(runtime.db, source_system, source_customer_id)
    if code is None:
        reason = f"no customer is linked to {source_system} customer {source_customer_id!r} yet"
        raise Rejected(
            Error(
                code="not_found",
                message=f"{UNKNOWN_CUSTOMER}: {reason}",
                fields=[FieldError(field="payload.source_customer_id", reason=reason)],
            )
        )
    return code


async def _publish_once(
    runtime: ServiceRuntime, message: Envelope[Any], event: type[Event[P]], payload: P, code: str
) -> None:
    """Publish the event of customer ``code`` once per upstream message (inbox), in the
    customer's partition."""

    async def work(uow: UnitOfWork) -> None:
        uow.publish(event(**uow.envelope(), payload=payload), partition_key=code)

    await apply_once(runtime, message, work)


async def cart_updated(message: CartUpdated, runtime: Runtime) -> None:
    cart = message.payload
    code = await _customer_of(runtime, cart.source_system, cart.source_customer_id)
    view = CartView(
        source_system=cart.source_system,
        cart_id=cart.cart_id,
        scope_id=cart.scope,
        lines=cart.lines,
        total=cart.total,
        currency=cart.currency,
        converted_order_number=cart.converted_order_number,
        open=bool(cart.lines) and cart.converted_order_number is None,
        updated_at=cart.updated_at,
    )
    await _publish_once(runtime, message, CustomerCartUpdated, CustomerCartPayload(customer_code=code, cart=view), code)


async def payment_method_saved(message: PaymentMethodSaved, runtime: Runtime) -> None:
    saved = message.payload
    code = await _customer_of(runtime, saved.source_system, saved.source_customer_id)
    view = PaymentMethodView.model_validate(saved.model_dump(include=set(PaymentMethodView.model_fields)))
    payload = CustomerPaymentMethodPayload(customer_code=code, payment_method=view)
    await _publish_once(runtime, message, CustomerPaymentMethodSaved, payload, code)


async def payment_method_removed(message: PaymentMethodRemoved, runtime: Runtime) -> None:
    removed = message.payload
    code = await _customer_of(runtime, removed.source_system, removed.source_customer_id)
    payload = CustomerPaymentMethodRemovedPayload(
        customer_code=code, source_system=removed.source_system, token=removed.token, removed_at=removed.removed_at
    )
    await _publish_once(runtime, message, CustomerPaymentMethodRemoved, payload, code)


async def apply_invoice(runtime: ServiceRuntime, message: InvoiceIssued, order: dict[str, Any]) -> None:
    """An invoice of a linked order (``order`` is order-sync's order document)."""
    invoice = message.payload
    view = InvoiceView(
        source_system=invoice.source_system,
        order_number=invoice.order_number,
        scope_id=invoice.scope,
        **invoice.model_dump(include={"invoice_number", "amount", "currency", "status", "issued_at", "due_at"}),
    )
    code = order["customer_code"]
    await _publish_once(
        runtime, message, CustomerInvoiceIssued, CustomerInvoicePayload(customer_code=code, invoice=view), code
    )


#: The commerce messages resolved by the customer's source id, with their handlers.
BY_SOURCE_CUSTOMER = (
    (CartUpdated, cart_updated),
    (PaymentMethodSaved, payment_method_saved),
    (PaymentMethodRemoved, payment_method_removed),
)
