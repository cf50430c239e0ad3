"""Reading a BigCommerce order (O8): the I/O the pure mapper (bigcommerce.py) leaves out.

A BigCommerce webhook names its order only; ``fetch_resources`` reads the order, its
products, shipping addresses and shipments through a ``BigCommerceOrders`` and returns the
webhook with them (``bigcommerce.with_resources``), which is what the mapper maps.

``HttpBigCommerceOrders`` is the real one: the V2 Orders API,
``https://api.bigcommerce.com/stores/{store_hash}/v2/orders/{id}`` (+ ``/products``,
``/shipping_addresses``, ``/shipments``), authenticated by the store API account's
``X-Auth-Token`` (never logged). Tests use recorded responses instead.

A read that fails raises ``FetchFailed``: ``transient`` for what a later attempt may cure
(a timeout, a connection error, 429, 5xx), which the webhook answers 503 so BigCommerce
retries it, and the broker route retries with back-off; not transient (404: no such
order; 401/403: the token; no API account configured) is kept as a dead letter of the
webhook, which ``omsctl dlq replay`` reads again once fixed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Protocol

import httpx

from . import bigcommerce
from .mapping import MappingError

#: Largest page of the V2 sub-resources (products, shipping addresses, shipments).
PAGE = 250
MAX_PAGES = 40


class FetchFailed(Exception):
    def __init__(self, reason: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.status = status
        #: The webhook's scope, once known (the route a dead letter of it is replayed through).
        self.topic: str | None = None


class BigCommerceOrders(Protocol):
    """The V2 Orders API, as far as the adapter reads it. Each returns the JSON answer
    (amounts as the text BigCommerce wrote); a list is ``[]`` when the API says 204."""

    async def order(self, order_id: str) -> dict[str, Any]: ...

    async def products(self, order_id: str) -> list[Any]: ...

    async def shipping_addresses(self, order_id: str) -> list[Any]: ...

    async def shipments(self, order_id: str) -> list[Any]: ...


class HttpBigCommerceOrders:
    def __init__(
        self,
        store_hash: str,
        access_token: str,
        *,
        api_url: str = "https://api.bigcommerce.com",
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"{api_url.rstrip('/')}/stores/{store_hash}/v2/",
            headers={"X-Auth-Token": access_token, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise FetchFailed(f"GET {path}: timed out", transient=True) from None
        except httpx.HTTPError as exc:
            raise FetchFailed(f"GET {path}: {type(exc).__name__}", transient=True) from None
        status = response.status_code
        if status == 204:
            return []
        if status == 429 or status >= 500:
            raise FetchFailed(f"GET {path}: HTTP {status}", transient=True, status=status)
        if status >= 400:
            raise FetchFailed(f"GET {path}: HTTP {status}", transient=False, status=status)
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise FetchFailed(f"GET {path}: not JSON", transient=True, status=status) from None

    async def _list(self, path: str) -> list[Any]:
        found: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            answer = await self._get(path, {"page": page, "limit": PAGE})
            if not isinstance(answer, list):
                raise FetchFailed(f"GET {path}: not a list", transient=False)
            found += answer
            if len(answer) < PAGE:
                break
        return found

    async def order(self, order_id: str) -> dict[str, Any]:
        answer = await self._get(f"orders/{order_id}")
        if not isinstance(answer, dict):
            raise FetchFailed(f"GET orders/{order_id}: not an order", transient=False)
        return answer

    async def products(self, order_id: str) -> list[Any]:
        return await self._list(f"orders/{order_id}/products")

    async def shipping_addresses(self, order_id: str) -> list[Any]:
        return await self._list(f"orders/{order_id}/shipping_addresses")

    async def shipments(self, order_id: str) -> list[Any]:
        return await self._list(f"orders/{order_id}/shipments")


async def fetch_resources(client: BigCommerceOrders | None, webhook: dict[str, Any]) -> dict[str, Any]:
    """The webhook with its order as the API answers now. ``MappingError`` for a webhook
    that names no order; ``FetchFailed`` when the order cannot be read."""
    order_id = bigcommerce.order_id_of(webhook)
    if client is None:
        raise FetchFailed(
            "no BigCommerce API account configured (OMS_ADAPTERS_BIGCOMMERCE_STORE_HASH, "
            "OMS_ADAPTERS_BIGCOMMERCE_ACCESS_TOKEN)",
            transient=False,
        )
    if webhook.get("scope") == bigcommerce.ARCHIVED_SCOPE:
        # Archiving may remove the order from the API: then the webhook alone says it.
        try:
            archived: dict[str, Any] | None = await client.order(order_id)
        except FetchFailed as exc:
            if exc.status != 404:
                raise
            archived = None
        return bigcommerce.with_resources(webhook, archived, [], [], [])
    order = await client.order(order_id)
    products = await client.products(order_id)
    shipping_addresses = await client.shipping_addresses(order_id)
    shipments = await client.shipments(order_id) if webhook.get("scope") in bigcommerce.SHIPMENT_SCOPES else []
    return bigcommerce.with_resources(webhook, order, products, shipping_addresses, shipments)


async def prepare(client: BigCommerceOrders | None, topic: str, body: bytes) -> tuple[str, bytes]:
    """A webhook body as received -> (its scope, the body to map). A body that is not a thin
    webhook (not JSON, or already holding its order: a replayed dead letter) is left as it
    is, for the mapper to map or refuse."""
    try:
        webhook = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return topic, body
    if not bigcommerce.is_thin(webhook):
        inner = webhook.get("webhook") if isinstance(webhook, dict) else None
        scope = inner.get("scope") if isinstance(inner, dict) else None
        return (scope if isinstance(scope, str) else topic), body
    scope = webhook.get("scope")
    try:
        resources = await fetch_resources(client, webhook)
    except MappingError:
        return (scope if isinstance(scope, str) else topic), body  # the mapper names the field
    except FetchFailed as exc:
        exc.topic = scope if isinstance(scope, str) else topic
        raise
    return scope, json.dumps(resources, default=str).encode()
