"""Platform privacy requests -> the privacy capability (C18).

Shopify's mandatory compliance topics arrive as webhooks that must be acknowledged (200)
and acted on within 30 days. They carry the customer's email and phone; only the ids they
name travel on (``shopify.redacted_body``): the webhook answers 200 once the redacted body
is on the adapters' own queue, and the queue's consumer acts on it here, with retries and,
past them, a dead letter that holds ids only.

- ``customers/redact``: the customer Shopify's customer id is linked to (order-sync's
  ``GetSourceCustomerLink``) and those the listed orders (``orders_to_redact``) are linked
  to (``GetOrderLink``) are erased with the customer service's
  ``EraseCustomerData`` (anonymized in every service, orders kept consistent), as the
  system actor ``adapter:shopify``, the reason naming the shop and Shopify's customer id.
- ``customers/data_request``: the customers are found the same way, and the request is kept
  by the customer service as open work (``RecordDataRequest``: once per shop and Shopify's
  request id, ids only), listed in the console and by ``omsctl customer data-requests`` for
  staff to export each customer and hand the export to the shop, then mark it completed: the
  export is a document for the data subject, not something to send anywhere automatically.
- ``shop/redact``: logged. This back end is the merchant's own system: the shop's
  customers are the merchant's records, not data a third-party app must give back.
- a customer **deletion** on any platform (customer_topics.py: WooCommerce and Medusa
  ``customer.deleted``, Shopify ``customers/delete``, BigCommerce ``store/customer/deleted``,
  commercetools ``CustomerDeleted``, Saleor ``CUSTOMER_DELETED``/``ACCOUNT_DELETED``): not
  an erasure. A shop deletes an account for many reasons (a duplicate, a closed login) and
  our customer may hold orders from other channels; C18 erases on a data subject's request,
  which a person decides. So the customers it names are found the same way and, when one is
  ours, it is kept as a data request (``RecordDataRequest``, request id
  ``<topic>:<platform's customer id>``, once per deleted customer) for staff to decide:
  erase (``EraseCustomerData``), export, or neither, then complete it. A deletion that names
  no customer held here is only logged: nothing is held, nothing is owed.

A customer Shopify names whose id and orders are linked to nobody here is logged (an erasure)
or kept as a request naming nobody (an export: the shop is told nothing is held), never guessed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from contracts.customer.privacy import EraseCustomerData, RecordDataRequest
from contracts.envelope import Actor
from contracts.order_sync.linking import GetOrderLink, GetSourceCustomerLink
from plumbing.client import error_text

log = logging.getLogger("oms.adapters.privacy")


class PrivacyRequestFailed(Exception):
    """A service did not answer as it should: the message is retried, then dead-lettered."""


def actor(platform: str) -> Actor:
    return Actor(kind="system", id=f"adapter:{platform}")


async def linked_customers(client: Any, request: dict[str, Any]) -> set[str]:
    """Our customers the request names: the one Shopify's customer id is linked to (by an
    earlier order of theirs), and those the listed orders are linked to."""
    codes: set[str] = set()
    if request.get("source_customer_id"):
        reply = await client.call(
            GetSourceCustomerLink,
            {"source_system": request["source_system"], "source_customer_id": request["source_customer_id"]},
            actor=actor(request["platform"]),
        )
        if reply.ok:
            codes.add(reply.result.customer_code)
        elif reply.error.code != "not_found":
            raise PrivacyRequestFailed(f"customer {request['source_customer_id']}: {error_text(reply.error)}")
    for number in request.get("order_numbers") or []:
        if not number:
            continue
        reply = await client.call(
            GetOrderLink,
            {"source_system": request["source_system"], "order_number": number},
            actor=actor(request["platform"]),
        )
        if reply.ok:
            if reply.result.customer_code:
                codes.add(reply.result.customer_code)
        elif reply.error.code != "not_found":
            raise PrivacyRequestFailed(f"order {number}: {error_text(reply.error)}")
    return codes


def data_request(request: dict[str, Any], codes: list[str]) -> dict[str, Any]:
    """``RecordDataRequest``'s payload: the ids the request names, never its email or phone. A
    request without the platform's id (Shopify always sends one) is named by what it asks for,
    so that a second delivery is still the same request."""
    request_id = request.get("request_id")
    if not request_id:
        named = json.dumps([request.get("source_customer_id"), sorted(map(str, request.get("order_numbers") or []))])
        request_id = "unnumbered-" + hashlib.sha256(named.encode()).hexdigest()[:16]
    return {
        "platform": request["platform"],
        "shop": request.get("shop") or str(request.get("shop_id")),
        "request_id": str(request_id),
        "kind": "deletion" if request.get("kind") == "deletion" else "export",
        "source_system": request.get("source_system"),
        "source_customer_id": request.get("source_customer_id"),
        "order_numbers": [str(n) for n in request.get("order_numbers") or [] if n],
        "customer_codes": codes,
    }


async def record_data_request(client: Any, request: dict[str, Any], codes: list[str], who: str) -> dict[str, Any]:
    """Keep the request as open work in the customer service (C18); retried until it answers."""
    reply = await client.call(RecordDataRequest, data_request(request, codes), actor=actor(request["platform"]))
    if not reply.ok:
        raise PrivacyRequestFailed(f"recording the data request: {error_text(reply.error)}")
    log.info(
        "%s: kept as data request %s, open for staff to export %s and hand over (C18)",
        who,
        reply.result.request_key,
        "customers " + ", ".join(codes) if codes else "(no customer linked here: the answer is that none is held)",
    )
    return {"kind": "export", "customers": codes, "data_request": reply.result.request_key}


async def handle(client: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Act on one privacy request; returns what was done (for the log and the tests)."""
    kind, platform = request["kind"], request["platform"]
    who = (
        f"{platform} {request.get('topic')} (shop {request.get('shop') or request.get('shop_id')}, "
        f"customer {request.get('source_customer_id')})"
    )
    if kind == "shop-erase":
        log.info("%s: acknowledged; the shop's orders and customers are the merchant's records, kept", who)
        return {"kind": kind, "customers": []}
    codes = sorted(await linked_customers(client, request))
    if kind == "export":
        return await record_data_request(client, request, codes, who)
    if kind == "deletion":
        if not codes:
            log.info("%s: deleted on the platform; no customer here is linked to it, nothing held", who)
            return {"kind": kind, "customers": []}
        done = await record_data_request(client, request, codes, who)
        log.info("%s: deleted on the platform; staff decide whether to erase %s (C18)", who, ", ".join(codes))
        return {**done, "kind": kind}
    if not codes:
        log.warning("%s: no order it names is linked to a customer here; nothing to erase", who)
        return {"kind": kind, "customers": []}
    for code in codes:
        reply = await client.call(
            EraseCustomerData, {"customer_code": code, "reason": f"{who}: redaction requested"}, actor=actor(platform)
        )
        if not reply.ok and reply.error.code != "not_found":
            raise PrivacyRequestFailed(f"erasing {code}: {error_text(reply.error)}")
    log.info("%s: customers %s erased (C18)", who, ", ".join(codes))
    return {"kind": kind, "customers": codes}
