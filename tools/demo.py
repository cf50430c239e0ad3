"""The demo of the main job: orders arrive from storefronts, customers are matched, emails go out.

Run by ``deploy/local/demo.sh`` once the stack and the three services run. It publishes the
example orders of ``contracts/examples`` plus a few more as upstream systems would, waits for
the services to take them, and prints what happened.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from adapters import shopify
from adapters.mapping import PlatformConfig
from contracts.customer.records import CreateScope, GetCustomer
from contracts.order_sync.linking import GetOrderLink
from contracts.upstream.orders import UPSTREAM_ORDER_MESSAGES, OrderPlaced, OrderShipped, PaymentReceived
from plumbing.client import OmsClient, ServiceUnavailable
from plumbing.settings import ServiceSettings
from tools.smtp_capture import read_mail_dir

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "contracts" / "examples"
#: An order as Shopify's docs show the orders/create webhook (REST Admin API), for the adapters.
SHOPIFY_ORDER = ROOT / "tests" / "fixtures" / "platforms" / "shopify" / "orders-create.json"
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
    mail_dir = Path(os.environ.get("OMS_MAIL_DIR", ".stack/mail"))
    mails_before = len(read_mail_dir(mail_dir)) if mail_dir.exists() else 0
    async with OmsClient(settings, producer="demo") as client:
        print("== services")
        for service in ("customer", "notification", "order-sync"):
            try:
                pong = (await client.ping(service)).result
                if pong is None:
                    print(f"   {service:13} answered the ping without its state")
                    continue
                print(f"   {service:13} up  (instance {pong.instance}, database {pong.database})")
            except ServiceUnavailable as exc:
                print(f"   {service:13} DOWN: {exc}")
                return 1
        for scope_id, country, language in (("eu-fr", "FR", "fr"), ("de", "DE", "de")):
            await client.call(
                CreateScope, {"scope_id": scope_id, "name": scope_id, "country": country, "default_language": language}
            )  # already there: a conflict, fine

        orders = sample_orders(run)
        print(f"\n== publishing {len(orders)} orders to {settings.topology.upstream_exchange}")
        for order in orders:
            await client.publish_upstream(order)
            p = order.payload
            print(
                f"   {p.order_number:18} {p.source_system:15} {p.email or '(no email)':28} {p.totals.total} {p.currency}"
            )

        shopify = post_shopify_order(run)
        if shopify is not None:
            orders.append(shopify)

        print("\n== customers created or matched by order-sync")
        links = {}
        for order in orders:
            p = order.payload
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                reply = await client.call(
                    GetOrderLink, {"source_system": p.source_system, "order_number": p.order_number}
                )
                if reply.ok and reply.result.customer_code:
                    links[p.order_number] = reply.result
                    break
                await asyncio.sleep(0.2)
            link = links.get(p.order_number)
            if link is None:
                print(f"   {p.order_number:18} not linked (see `omsctl order reviews`)")
                continue
            customer = (await client.call(GetCustomer, {"customer_code": link.customer_code})).result
            print(
                f"   {p.order_number:18} -> {customer.code} {customer.first_name} {customer.last_name} "
                f"({customer.account_type}, matched by {link.rule}"
                f"{f', score {link.score:.1f} bits' if link.score is not None else ''})"
            )

        first = orders[0].payload
        ref = {"source_system": first.source_system, "order_number": first.order_number, "scope": first.scope}
        print(f"\n== {first.order_number} is paid and shipped")
        await client.publish_upstream(
            PaymentReceived.model_validate(
                {
                    "producer": "psp",
                    "payload": {
                        **ref,
                        "payment_id": f"PAY-{run}",
                        "amount": str(first.totals.total),
                        "currency": first.currency,
                        "method": "visa",
                        "paid_at": first.placed_at.isoformat(),
                    },
                }
            )
        )
        await client.publish_upstream(
            OrderShipped.model_validate(
                {
                    "producer": "wms",
                    "payload": {
                        **ref,
                        "shipment_id": f"SHP-{run}",
                        "carrier": "Colissimo",
                        "tracking_number": f"6A{run}",
                        "tracking_url": f"https://tracking.example/6A{run}",
                        "shipped_at": first.placed_at.isoformat(),
                    },
                }
            )
        )

    deadline = time.monotonic() + 30
    mails = []
    while time.monotonic() < deadline:
        mails = read_mail_dir(mail_dir)[mails_before:] if mail_dir.exists() else []
        if len(mails) >= 2:
            break
        await asyncio.sleep(0.3)
    print(f"\n== emails captured by the SMTP server ({mail_dir}): {len(mails)} new")
    for mail in mails:
        print(f"   to {mail['To']:34} [{mail.get('Content-Language', '?')}] {mail['Subject']}")
    return 0 if len(links) == len(orders) and len(mails) >= 2 else 1


def post_shopify_order(run: str) -> OrderPlaced | None:
    """One order as Shopify sends it: signed webhook -> adapters -> upstream exchange. Only
    when the adapters run with the demo shop's secret (``services.sh`` makes one); the
    adapters' answer holds the order as they published it, to follow like the others."""
    secret = os.environ.get("OMS_ADAPTERS_SHOPIFY_SECRET")
    secret_file = os.environ.get("OMS_DEMO_SHOPIFY_SECRET_FILE")
    if not secret and secret_file and Path(secret_file).is_file():
        secret = Path(secret_file).read_text(encoding="utf-8").strip()
    if not secret:
        return None
    body = json.loads(SHOPIFY_ORDER.read_text(encoding="utf-8"))
    body.update({"id": int(f"9{run}"), "name": f"#D{run}", "order_number": int(run)})
    raw = json.dumps(body).encode()
    url = os.environ.get("OMS_DEMO_ADAPTERS_URL", "http://127.0.0.1:8084") + "/webhooks/shopify"
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    request = urllib.request.Request(
        url,
        data=raw,
        method="POST",
        headers={
            "content-type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": "demo.myshopify.com",
            "X-Shopify-Webhook-Id": f"demo-{run}",
        },
    )
    print(f"\n== an order as Shopify sends it: POST {url} (orders/create, signed)")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError) as exc:
        print(f"   the adapters did not take it: {exc}")
        return None
    print(f"   {answer.get('status')}: {', '.join(m['routing_key'] for m in answer.get('messages', []))}")
    if answer.get("status") != "accepted":
        return None
    # What the adapters published, made again here to follow it like the others.
    config = PlatformConfig(
        platform="shopify",
        source_system=os.environ.get("OMS_ADAPTERS_SHOPIFY_SOURCE_SYSTEM", "shopify:demo"),
        scope=os.environ.get("OMS_ADAPTERS_SHOPIFY_SCOPE", "eu-fr"),
    )
    order = shopify.map_event("orders/create", body, config)[0]
    if not isinstance(order, OrderPlaced):
        print(f"   the order maps to {type(order).__name__}, not OrderPlaced")
        return None
    p = order.payload
    print(f"   {p.order_number:18} {p.source_system:15} {p.email or '(no email)':28} {p.totals.total} {p.currency}")
    return order


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
