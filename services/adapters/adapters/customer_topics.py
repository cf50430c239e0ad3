"""What a platform sends that is not an order: customer topics, and topics no adapter maps
(O8, C18). Pure: no I/O.

A shop may wire its customer webhooks to the adapters by mistake, or on purpose to tell us a
customer was deleted. Their bodies carry names, emails, phones and addresses: none of it is
ever kept here, not even in a dead letter.

- A customer **deletion** (the platform deleted a customer account: WooCommerce and Medusa
  ``customer.deleted``, Shopify ``customers/delete``, BigCommerce ``store/customer/deleted``,
  commercetools ``CustomerDeleted`` or a ``ResourceDeleted`` of a customer, Saleor
  ``CUSTOMER_DELETED`` and ``ACCOUNT_DELETED``, Magento ``customer_delete_commit_after``,
  Shopware ``checkout.customer.deleted`` and ``customer.deleted``) is a privacy request (``kind: "deletion"``):
  privacy.py keeps it as a data request for staff when the customer is one of ours (C18
  leaves erasure to a person: a shop deletes accounts for many reasons, and our customer
  may have orders from other channels). Only its ids travel on.
- Any **other customer topic** (created, updated, addresses, account emails and tokens,
  Saleor's ``ACCOUNT_DELETE_REQUESTED``, which is only a request the customer has yet to
  confirm by email) is acknowledged and ignored, counted in ``oms_adapters_ignored_total``.
- A topic that is **neither an order nor a customer topic** (``product.created``, a typo in
  a webhook's topic) is dead-lettered so that an operator sees it came, but its dead letter
  keeps only what ``id_skeleton`` keeps: ids, types and the topic, never the body's text.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .mapping import Ignored, MappingError, PlatformConfig, PrivacyRequested, Problems, get, identifier

#: Topic prefixes that are about customers, per platform (the topic as the adapter reads it:
#: the header, the routing key's tail, or the body's own name for it).
CUSTOMER_PREFIXES = {
    "shopify": ("customers/", "customer_", "customers_", "customer."),
    "woocommerce": ("customer.",),
    "bigcommerce": ("store/customer/",),
    "commercetools": ("Customer",),
    "saleor": ("CUSTOMER_", "ACCOUNT_", "ADDRESS_", "STAFF_"),
    "medusa": ("customer.",),
    # Magento: observer events (customer_save_after, customer_register_success,
    # customer_address_save_after...) and plugins of the customer API (customer.api....).
    "magento": ("customer_", "customer."),
    "shopware": ("customer.", "customer_address.", "checkout.customer."),
    # eBay's one customer topic: the buyer closed their eBay account (its Marketplace Account
    # Deletion notification, which every application that keeps eBay data must honour).
    "ebay": ("MARKETPLACE_ACCOUNT_DELETION",),
    # Amazon notifies no customer topics: it keeps its buyers' accounts to itself.
    "amazon": (),
}
#: The topics that say a customer account was deleted on the platform.
DELETIONS = {
    "shopify": ("customers/delete",),
    "woocommerce": ("customer.deleted",),
    "bigcommerce": ("store/customer/deleted",),
    "commercetools": ("CustomerDeleted",),
    "saleor": ("CUSTOMER_DELETED", "ACCOUNT_DELETED"),
    "medusa": ("customer.deleted",),
    "magento": (
        "customer_delete_after",
        "customer_delete_commit_after",
        "customer.api.customer_repository.delete",
        "customer.api.customer_repository.delete_by_id",
    ),
    # The entity deleted (customer.deleted: ids only), or the customer deleted their own
    # account in the storefront (checkout.customer.deleted).
    "shopware": ("customer.deleted", "checkout.customer.deleted"),
    "ebay": ("MARKETPLACE_ACCOUNT_DELETION",),
    "amazon": (),
}
#: Where a deletion names the customer, per platform, first found wins.
CUSTOMER_ID_PATHS = {
    "shopify": ("id",),
    "woocommerce": ("id",),
    "bigcommerce": ("data.id",),
    "commercetools": ("resource.id", "customer.id"),
    "saleor": ("user.id", "id"),
    "medusa": ("data.id", "id", "data.customer.id", "customer.id"),
    "magento": (
        "data.customer.entity_id",
        "data.customer.id",
        "data.value.entity_id",
        "data.value.id",
        "customer.entity_id",
        "customer.id",
        "customerId",
        "entity_id",
        "id",
    ),
    "shopware": ("data.payload.customerId", "data.payload.customer.id", "data.payload.0.primaryKey"),
    # The buyer's username is the source customer id of their orders (ebay.py).
    "ebay": ("notification.data.username",),
    "amazon": (),
}
#: Where a body names the shop (else the platform's configured source system stands for it).
SHOP_PATHS = {
    "bigcommerce": ("producer", "store_id"),
    "commercetools": ("projectKey",),
    "shopify": ("shop_domain",),
    "shopware": ("source.shopId",),
}
#: What a platform's event names may carry in front that says where they come from, not what
#: they are (Adobe Commerce: ``com.adobe.commerce.observer.customer_save_after``,
#: ``plugin.magento.customer.api.customer_repository.save``), left out in this order.
EVENT_PREFIXES = {"magento": ("com.adobe.commerce.", "observer.", "plugin.", "magento.")}


def canonical_event(platform: str, event: str) -> str:
    """``event`` without the prefixes of ``EVENT_PREFIXES`` (the same name however it came)."""
    for prefix in EVENT_PREFIXES.get(platform, ()):
        if event.startswith(prefix):
            event = event[len(prefix) :]
    return event


def is_customer_topic(platform: str, topic: str | None) -> bool:
    return bool(topic) and canonical_event(platform, str(topic)).startswith(CUSTOMER_PREFIXES.get(platform, ()))


def is_deletion(platform: str, topic: str | None) -> bool:
    return topic is not None and canonical_event(platform, str(topic)) in DELETIONS.get(platform, ())


def commercetools_event(payload: dict[str, Any], topic: str) -> str:
    """commercetools names a Message by its ``type``; a change notification of a Subscription
    (``ResourceCreated``/``Updated``/``Deleted``) by its resource's ``typeId``."""
    kind = str(payload.get("type") or topic or "")
    if get(payload, "resource.typeId") == "customer" and not kind.startswith("Customer"):
        notification = str(payload.get("notificationType") or "")
        return "CustomerDeleted" if notification == "ResourceDeleted" else "Customer" + (notification or kind)
    return kind


def saleor_event(name: str) -> str:
    """``customerDeleted`` (a ``data.<event>`` envelope) -> ``CUSTOMER_DELETED``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def not_an_order(platform: str, event: str, payload: Any, config: PlatformConfig) -> None:
    """Called by a mapper before it maps ``event``: returns for a topic that is not about
    customers (the mapper maps or refuses it); otherwise raises ``PrivacyRequested`` (a
    deletion), ``Ignored`` (another customer topic) or ``NotAnOrder`` (a deletion that names
    no customer)."""
    if not is_customer_topic(platform, event):
        return
    if not is_deletion(platform, event):
        raise Ignored(f"{event}: a customer topic, not an order; nothing of it is kept", kind="customer topic")
    raise PrivacyRequested(deletion_request(platform, event, payload, config))


def deletion_request(platform: str, event: str, payload: Any, config: PlatformConfig) -> dict[str, Any]:
    """The ids a deletion names: the platform's customer id and the shop, nothing else."""
    subject = payload[0] if isinstance(payload, list) and payload else payload
    problems = Problems()
    found = [(path, get(subject, path)) for path in CUSTOMER_ID_PATHS[platform]]
    path, value = next(((p, v) for p, v in found if v not in (None, "")), (CUSTOMER_ID_PATHS[platform][0], None))
    customer_id = problems.check(identifier, value, path, required=True)
    shop = next(
        (str(get(subject, p)) for p in SHOP_PATHS.get(platform, ()) if isinstance(get(subject, p), (str, int))), None
    )
    if problems.fields:
        raise NotAnOrder(problems.fields)
    return {
        "platform": platform,
        "kind": "deletion",
        "topic": event,
        "source_system": config.source_system,
        "shop": shop or config.source_system,
        "source_customer_id": customer_id,
        "order_numbers": [],
        # One work item per deleted customer, however often the platform delivers it.
        "request_id": f"{event}:{customer_id}",
    }


class NotAnOrder(MappingError):
    """A payload that is not an order and cannot be read as what it is (a deletion without
    its customer id): dead-lettered with its ids only (``id_skeleton``)."""


class UnsupportedTopic(NotAnOrder):
    """A topic no adapter maps: dead-lettered with its ids only, so that it is seen."""


# --- what a dead letter keeps of a payload that is not an order ---------------------------------

#: Keys kept whatever their name: they say what the payload is, not who it is about
#: (Shopware's entity events: ``entity``, ``operation``, the ``primaryKey`` written).
_KEPT_KEYS = frozenset(
    {
        "type",
        "typeId",
        "notificationType",
        "scope",
        "event",
        "eventName",
        "topic",
        "resource",
        "projectKey",
        "producer",
        "entity",
        "operation",
        "primaryKey",
    }
)
_ID_KEY = re.compile(r"(^id$|_id$|Id$|ID$|^ids?$|_ids$|Ids$)")
_MAX_DEPTH = 6


#: Ids that are personal themselves (a person's tax or VAT number): never kept.
_PERSONAL_ID = re.compile(r"tax|vat|ssn|passport|national", re.IGNORECASE)


#: A platform's account ids under names that do not say id: eBay names a buyer's account by
#: its username, the one id its orders and its account deletion share.
_ACCOUNT_KEYS = {"ebay": frozenset({"username"})}


def _is_kept_key(key: str, accounts: frozenset[str] = frozenset()) -> bool:
    return key in _KEPT_KEYS or key in accounts or (bool(_ID_KEY.search(key)) and not _PERSONAL_ID.search(key))


def _scalar_id(value: Any) -> bool:
    """An id worth keeping: a number, or a short text that is no email (some systems use
    one as an id) and no phone-like run of digits with separators."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and len(value) <= 200 and "@" not in value and " " not in value.strip()


def _skeleton(value: Any, depth: int, accounts: frozenset[str]) -> Any:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, inner in value.items():
            if not isinstance(key, str):
                continue
            if isinstance(inner, (dict, list)):
                nested = _skeleton(inner, depth + 1, accounts)
                if nested:
                    kept[key] = nested
            elif _is_kept_key(key, accounts) and _scalar_id(inner):
                kept[key] = inner
        return kept
    if isinstance(value, list):
        kept_items = [
            _skeleton(item, depth + 1, accounts) if isinstance(item, (dict, list)) else None for item in value
        ]
        return [item for item in kept_items if item]
    return None


def id_skeleton(body: bytes, platform: str = "") -> bytes:
    """The body as a dead letter keeps it when it is not an order: only its ids, types and
    names of events, in the same shape (a deletion maps again from it to the same request);
    every other value (names, emails, phones, addresses, tokens, free text) is left out. A
    body that cannot be read is kept as its digest alone."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, (dict, list)):
        return json.dumps({"unreadable_body_sha256": hashlib.sha256(body).hexdigest()}).encode()
    try:
        kept = _skeleton(data, 0, _ACCOUNT_KEYS.get(platform, frozenset()))
    except RecursionError:
        kept = None
    return json.dumps(kept if kept is not None else {}).encode()
