"""O8: the BigCommerce client over real HTTP, not a mock transport.

A small HTTP server on 127.0.0.1 answers as the V2 Orders API does, from the recorded answers
of tests/fixtures/platforms/bigcommerce/api/ (404 for an order without a file, 204 for a
sub-resource without one, pages of ``limit`` items), checks the token, and misbehaves on
purpose where told: a 503 that recovers, a 429, a body that is not JSON, an answer slower than
the client's timeout, a server that has gone. Then the running adapters read a thin webhook's
order through it, end to end to a linked order.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.bigcommerce_client import PAGE, FetchFailed, HttpBigCommerceOrders
from plumbing.client import OmsClient

from ..order_sync.test_order_sync import link_of
from .test_adapters import Stack, body_of, send, stack  # noqa: F401
from .test_adapters_woo_bigcommerce import BC_AUTHORIZATION, configure

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "platforms" / "bigcommerce" / "api"
STORE, TOKEN = "abc123", "token-http"
#: A synthetic order with more products than one page holds.
MANY = 2 * PAGE + 3


class FakeBigCommerce:
    """The V2 Orders API of one store, with faults on demand; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []
        self.fail_next: dict[str, list[int]] = {}  # path -> statuses to answer first, in turn
        self.slow: set[str] = set()
        self.not_json: set[str] = set()

    async def answer(self, request: Request) -> Response:
        if request.headers.get("x-auth-token") != TOKEN:
            return JSONResponse([{"status": 401, "message": "Invalid token"}], status_code=401)
        path = request.path_params["path"]
        self.asked.append((path, dict(request.query_params)))
        if self.fail_next.get(path):
            return Response(status_code=self.fail_next[path].pop(0), headers={"Retry-After": "1"})
        if path in self.slow:
            await asyncio.sleep(2)
        if path in self.not_json:
            return Response("<html>maintenance</html>", media_type="text/html")
        page, limit = int(request.query_params.get("page", 1)), int(request.query_params.get("limit", 50))
        if path == "orders/777/products":
            items = [{"id": i, "sku": f"SKU-{i}", "quantity": 1} for i in range(MANY)]
            chunk = items[(page - 1) * limit : page * limit]
            return JSONResponse(chunk) if chunk else Response(status_code=204)
        file = RECORDED / f"{path}.json"
        if not file.exists():
            if "/" not in path.removeprefix("orders/"):
                return JSONResponse([{"status": 404, "message": "The requested resource was not found."}], 404)
            return Response(status_code=204)
        answer = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(answer, list):
            answer = answer[(page - 1) * limit : page * limit]
            if not answer:
                return Response(status_code=204)
        return JSONResponse(answer)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def bigcommerce_api() -> AsyncIterator[tuple[FakeBigCommerce, str]]:
    fake = FakeBigCommerce()
    app = Starlette(routes=[Route(f"/stores/{STORE}/v2/{{path:path}}", fake.answer)])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_o8_bigcommerce_client_reads_pages_and_tells_transient_failures_over_real_http(
    bigcommerce_api: tuple[FakeBigCommerce, str],
) -> None:
    fake, url = bigcommerce_api
    client = HttpBigCommerceOrders(STORE, TOKEN, api_url=url, timeout=0.5)
    try:
        order = await client.order("250")
        assert (order["id"], order["total_inc_tax"]) == (250, "72.2300")  # amounts as written
        assert [p["sku"] for p in await client.products("250")] == ["S-ORAN", "ABS"]
        assert await client.shipments("250") == []  # 204: none
        products = await client.products("777")  # three pages of 250, 250 and 3
        assert len(products) == MANY and len({p["id"] for p in products}) == MANY
        assert [q["page"] for p, q in fake.asked if p == "orders/777/products"] == ["1", "2", "3"]

        outcomes = {}
        fake.fail_next["orders/251"] = [503]
        fake.fail_next["orders/252"] = [429]
        fake.slow.add("orders/253")
        fake.not_json.add("orders/250/shipping_addresses")
        for name, call in (
            ("missing", client.order("999")),
            ("unavailable", client.order("251")),
            ("rate limited", client.order("252")),
            ("slow", client.order("253")),
            ("not json", client.shipping_addresses("250")),
        ):
            with pytest.raises(FetchFailed) as caught:
                await call
            outcomes[name] = (caught.value.transient, caught.value.status)
            assert TOKEN not in caught.value.reason
        assert outcomes == {
            "missing": (False, 404),  # kept as a dead letter: retrying cannot help
            "unavailable": (True, 503),  # BigCommerce is asked to deliver again
            "rate limited": (True, 429),
            "slow": (True, None),
            "not json": (True, 200),
        }
        assert (await client.order("251"))["id"] == 251  # recovered: the next read is served
        wrong = HttpBigCommerceOrders(STORE, "not-the-token", api_url=url, timeout=0.5)
        with pytest.raises(FetchFailed) as caught:
            await wrong.order("250")
        assert (caught.value.transient, caught.value.status) == (False, 401)
        await wrong.close()
    finally:
        await client.close()
    gone = HttpBigCommerceOrders(STORE, TOKEN, api_url=f"http://127.0.0.1:{free_port()}", timeout=0.5)
    with pytest.raises(FetchFailed) as caught:
        await gone.order("250")  # nothing listens: a connection refused is transient
    assert caught.value.transient
    await gone.close()


async def test_o8_bigcommerce_webhook_is_read_over_http_and_linked(
    client: OmsClient, stack: Stack, bigcommerce_api: tuple[FakeBigCommerce, str]
) -> None:
    fake, url = bigcommerce_api
    configure(stack)
    http = HttpBigCommerceOrders(STORE, TOKEN, api_url=url, timeout=2)
    stack.adapters.bigcommerce = http
    try:
        fake.fail_next["orders/251"] = [502]
        webhook = body_of("bigcommerce", "store-order-created-251-tax-inclusive-eur.json")
        status, answer = await send(stack, "bigcommerce", webhook, {"Authorization": BC_AUTHORIZATION})
        assert (status, answer) == (503, {"error": "could not read the order; retry"})  # as BigCommerce retries
        status, answer = await send(stack, "bigcommerce", webhook, {"Authorization": BC_AUTHORIZATION})
        assert status == 202 and answer["status"] == "accepted", answer
        linked = await link_of(client, "bigcommerce", "251")
        assert linked.customer_code and str(linked.order.total) == "156.00" and linked.order.currency == "EUR"
        assert [p for p, _ in fake.asked][-3:] == [
            "orders/251",
            "orders/251/products",
            "orders/251/shipping_addresses",
        ]
    finally:
        await http.close()
