"""The demo of the main job: orders arrive from storefronts, customers are matched, emails go out.

Run by ``deploy/local/demo.sh`` once the stack and the three services run. It publishes the
example orders of ``contracts/examples`` plus a few more as upstream systems would, waits for
the services to take them, and prints what happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from pymongo import AsyncMongoClient

from contracts.orders import UPSTREAM_ORDER_MESSAGES, OrderPlaced
from plumbing.client import OmsClient, ServiceUnavailable
from plumbing.settings import ServiceSettings
from tools.smtp_capture import read_mail_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "examples"
BY_TYPE = {cls.type_name(): cls for cls in UPSTREAM_ORDER_MESSAGES}


def sample_orders(run: str) -> list[OrderPlaced]:
    """The example order, a returning customer's second order, and a guest without email."""
    base = json.loads((EXAMPLES / "order-placed.v1.json").read_text(encoding="utf-8"))
    guest = json.loads((EXAMPLES / "order-placed-guest-no-email.v1.json").read_text(encoding="utf-8"))
    orders = []
    for number, raw in ((f"DEMO-{run}-1", base), (f"DEMO-{run}-2", base), (f"DEMO-{run}-3", guest)):
        raw = json.loads(json.dumps(raw))
        raw.pop("message_id")
        raw["payload"]["order_number"] = number
        orders.append(OrderPlaced.model_validate(raw))
    return orders


async def main() -> int:
    settings = ServiceSettings()
    run = time.strftime("%H%M%S")
    async with OmsClient(settings, producer="demo") as client:
        print("== services")
        for service in ("customer", "notification", "order-sync"):
            try:
                pong = (await client.ping(service)).result
                print(f"   {service:13} up  (instance {pong.instance}, database {pong.database})")
            except ServiceUnavailable as exc:
                print(f"   {service:13} DOWN: {exc}")
                return 1

        orders = sample_orders(run)
        print(f"\n== publishing {len(orders)} orders to {settings.topology.upstream_exchange}")
        for order in orders:
            await client.publish_upstream(order)
            p = order.payload
            print(f"   {p.order_number:18} {p.source_system:15} {p.email or '(no email)':28} {p.totals.total} {p.currency}")

        mongo = AsyncMongoClient(settings.mongodb_url)
        received = mongo[settings.database_name("order-sync")]["orders"]
        numbers = [o.payload.order_number for o in orders]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if await received.count_documents({"order_number": {"$in": numbers}}) == len(numbers):
                break
            await asyncio.sleep(0.2)
        print("\n== orders taken by order-sync")
        async for doc in received.find({"order_number": {"$in": numbers}}).sort("order_number"):
            print(f"   {doc['order_number']:18} scope {doc['scope']:6} received {doc['received_at']:%H:%M:%S}")
        await mongo.close()

    mail_dir = Path(os.environ.get("OMS_MAIL_DIR", ".stack/mail"))
    mails = read_mail_dir(mail_dir) if mail_dir.exists() else []
    print(f"\n== emails captured by the SMTP server ({mail_dir}): {len(mails)}")
    for mail in mails[-10:]:
        print(f"   to {mail['To']:30} {mail['Subject']}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
