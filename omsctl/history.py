"""omsctl customer history, payment methods and stores (I2, C6, C7).

omsctl customer history C10007 --kind orders
omsctl customer payment-method delete C10007 storefront:eu tok_123 --reason "customer asked"
omsctl customer store prefer C10007 paris-3 --version 4      # or --none
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from contracts.customer.history import DeletePaymentMethod, GetCustomerHistory, SetPreferredStore
from contracts.customer.records import GetCustomer

from .customers import app as customers
from .customers import call, console

#: What a CSR types (plural, as on the record's tabs) -> the kind in the contract.
KINDS = {
    "orders": "order",
    "carts": "cart",
    "payment-methods": "payment_method",
    "invoices": "invoice",
    "payments": "payment",
}

payment_method = typer.Typer(help="A customer's saved payment methods (C7).", no_args_is_help=True)
stores = typer.Typer(help="A customer's stores (C6).", no_args_is_help=True)
customers.add_typer(payment_method, name="payment-method")
customers.add_typer(stores, name="store")


def _row(kind: str, f: dict[str, Any]) -> list[str]:
    if kind == "order":
        shipped = ", ".join(
            f"{s.get('carrier') or ''} {s.get('tracking_number') or ''}".strip() or s["shipment_id"]
            for s in f.get("shipments", [])
        )
        return [
            f"{f['source_system']} {f['order_number']}",
            f.get("scope_id") or "",
            f.get("status") or "",
            f"{f['total']} {f['currency']}",
            f.get("placed_at", "")[:19],
            f.get("store_id") or "",
            shipped,
        ]
    if kind == "cart":
        return [
            f"{f['source_system']} {f['cart_id']}",
            str(len(f.get("lines", []))),
            f"{f['total']} {f['currency']}",
            f["updated_at"][:19],
        ]
    if kind == "payment_method":
        expiry = f"{f['expiry_month']:02d}/{f['expiry_year']}" if f.get("expiry_month") and f.get("expiry_year") else ""
        return [
            f"{f['source_system']} {f['token']}",
            f.get("brand") or "",
            f"•••• {f['last4']}" if f.get("last4") else "",
            expiry,
            f["saved_at"][:19],
        ]
    if kind == "invoice":
        return [
            f"{f['source_system']} {f['invoice_number']}",
            f["order_number"],
            f"{f['amount']} {f['currency']}",
            f["status"],
            f["issued_at"][:19],
            (f.get("due_at") or "")[:10],
        ]
    return [
        f"{f['source_system']} {f['payment_id']}",
        f["order_number"],
        f"{f['amount']} {f['currency']}",
        f["status"],
        f.get("method") or "",
        (f.get("paid_at") or f.get("requested_at") or "")[:19],
    ]


COLUMNS = {
    "order": ("order", "scope", "status", "total", "placed", "store", "shipments"),
    "cart": ("cart", "lines", "total", "updated"),
    "payment_method": ("token", "brand", "card", "expiry", "saved"),
    "invoice": ("invoice", "order", "amount", "status", "issued", "due"),
    "payment": ("payment", "order", "amount", "status", "method", "at"),
}


@customers.command("history")
def history(
    code: str,
    kind: Annotated[str, typer.Option(help=", ".join(KINDS))] = "orders",
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor the last page printed")] = None,
) -> None:
    """A customer's orders, open carts, saved payment methods, invoices or payments (C7), newest first."""
    if kind not in KINDS:
        console.print(f"[red]--kind: one of {', '.join(KINDS)}[/]")
        raise typer.Exit(2)
    page = call(GetCustomerHistory, {"customer_code": code, "kind": KINDS[kind], "cursor": cursor})
    table = Table(*COLUMNS[page.kind], title=f"{page.customer_code}: {kind}")
    for item in page.items:
        table.add_row(*_row(page.kind, item.fields))
    console.print(table if page.items else f"{page.customer_code} has no {kind}")
    if page.next_cursor:
        console.print(f"next page: --cursor {page.next_cursor}")


@payment_method.command("delete")
def delete_payment_method(
    code: str,
    source_system: str,
    token: str,
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Delete a customer's saved payment method (audited; the payment provider is told)."""
    result = call(
        DeletePaymentMethod, {"customer_code": code, "source_system": source_system, "token": token, "reason": reason}
    )
    console.print(f"deleted payment method {result.source_system} {result.token} of {result.customer_code}")


@stores.command("prefer")
def prefer_store(
    code: str,
    # Required, so before the defaulted store: an option's place in the signature is not its place
    # on the command line.
    version: Annotated[int, typer.Option(help="the record's version, as 'show' printed it")],
    store_id: Annotated[str | None, typer.Argument(help="the store; leave out with --none")] = None,
    none: Annotated[bool, typer.Option("--none", help="clear the preferred store")] = False,
) -> None:
    """Set (or clear, --none) the customer's preferred store (C6)."""
    if bool(store_id) == none:
        console.print("[red]give either a STORE_ID or --none[/]")
        raise typer.Exit(2)
    view = call(SetPreferredStore, {"customer_code": code, "expected_version": version, "store_id": store_id})
    console.print(f"{view.code}: preferred store {view.preferred_store_id or 'none'} (version {view.version})")


@stores.command("list")
def list_stores(code: str) -> None:
    """The customer's most used stores, most used first, and the preferred one (C6)."""
    view = call(GetCustomer, {"customer_code": code})
    table = Table("store", "orders", "last order", "preferred")
    for use in view.stores:
        table.add_row(
            use.store_id,
            str(use.orders),
            f"{use.last_order_at:%Y-%m-%d %H:%M}",
            "yes" if use.store_id == view.preferred_store_id else "",
        )
    console.print(table if view.stores else f"{view.code} has ordered from no store")
    console.print(f"{view.order_count} order(s); preferred store: {view.preferred_store_id or 'none'}")
