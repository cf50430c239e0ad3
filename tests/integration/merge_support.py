"""Helpers for the merge and privacy tests: the three services running together, orders as
a storefront publishes them, and reads of what each service holds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from contracts.envelope import Actor
from contracts.order_sync.linking import GetOrderLink
from contracts.upstream.orders import OrderPlaced, OrderShipped
from customer.app import create_app as customer_app
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail, smtp_server

from ..support import Cleanup, eventually, running
from .conftest import create_scope
from .notification_support import history, notification_app

CSR = Actor(kind="csr", id="csr-ada")
EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"


@asynccontextmanager
async def three_services(settings: ServiceSettings, client: OmsClient, cleanup: Cleanup) -> AsyncIterator[CapturedMail]:
    """Customer, order-sync and notification (sending to an in-process SMTP server), with scope eu-fr."""
    mail = CapturedMail()
    with smtp_server(mail) as port:
        async with running(
            customer_app(settings), order_sync_app(settings), notification_app(settings, port), cleanup=cleanup
        ):
            await create_scope(client, "eu-fr", "FR", default_language="fr")
            yield mail


def placed(number: str, **changes: Any) -> OrderPlaced:
    raw = json.loads((EXAMPLES / "order-placed.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"].update({"order_number": number, **changes})
    return OrderPlaced.model_validate(raw)


def shipped(number: str) -> OrderShipped:
    raw = json.loads((EXAMPLES / "order-shipped.v1.json").read_text(encoding="utf-8"))
    raw.pop("message_id")
    raw["payload"]["order_number"] = number
    return OrderShipped.model_validate(raw)


async def linked_to(client: OmsClient, number: str, code: str | None = None, source: str = "storefront:eu") -> str:
    """The customer an order is linked to, once it is (to ``code``, when given)."""

    async def link() -> str | None:
        reply = await client.call(GetOrderLink, {"source_system": source, "order_number": number})
        found = reply.result.customer_code if reply.ok else None
        return found if found and (code is None or found == code) else None

    return await eventually(link, timeout=15)


async def activity_codes(client: OmsClient, code: str) -> list[str]:
    reply = await history(client, customer_code=code)
    assert reply.ok, reply.error
    return [a.activity_id for a in reply.result.items]


async def activities_of(client: OmsClient, code: str, count: int) -> list[str]:
    async def enough() -> list[str] | None:
        found = await activity_codes(client, code)
        return found if len(found) == count else None

    return await eventually(enough, timeout=15)
