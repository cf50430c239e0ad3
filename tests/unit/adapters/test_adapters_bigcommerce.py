"""O8: BigCommerce's thin webhooks, authenticated by their Authorization header, become our
order contract once the order is read from the V2 Orders API (recorded answers in
tests/fixtures/platforms/bigcommerce/api/; README there)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters import bigcommerce
from adapters.bigcommerce_client import FetchFailed, HttpBigCommerceOrders, fetch_resources, prepare
from adapters.handlers import PLATFORM_ADAPTERS, routing_key
from adapters.mapping import MappingError, PlatformConfig
from adapters.settings import AdapterSettings
from adapters.signatures import Verifier
from contracts.upstream.orders import OrderPlaced, OrderShipped, OrderStatusChanged, PaymentReceived

from .test_adapters_platform_shapes import RecordedBigCommerceOrders

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms" / "bigcommerce"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def webhook(name: str) -> Any:
    return json.loads(raw(name), parse_float=Decimal)


def config(**extra: Any) -> PlatformConfig:
    return PlatformConfig(platform="bigcommerce", source_system="bigcommerce:acme", scope="eu-fr", **extra)


def fetched(name: str, client: Any = None) -> dict[str, Any]:
    return asyncio.run(fetch_resources(client or RecordedBigCommerceOrders(), webhook(name)))


def test_o8_bigcommerce_webhooks_are_authenticated_by_their_configured_authorization_header() -> None:
    body = raw("store-order-created.json")
    verifier = Verifier(AdapterSettings(bigcommerce_authorization="Bearer bc-hook-secret"))
    assert verifier.verify("bigcommerce", body, {"authorization": "Bearer bc-hook-secret"})
    assert not verifier.verify("bigcommerce", body, {"authorization": "Bearer bc-hook-secreT"})
    assert not verifier.verify("bigcommerce", body, {"authorization": ""})
    assert not verifier.verify("bigcommerce", body, {})
    # Nothing configured: no webhook is accepted, not even one without the header.
    assert not Verifier(AdapterSettings()).verify("bigcommerce", body, {"authorization": ""})


def test_o8_bigcommerce_thin_order_created_is_read_through_the_api_and_placed() -> None:
    client = RecordedBigCommerceOrders()
    resources = fetched("store-order-created.json", client)
    assert client.calls == ["orders/250", "orders/250/products", "orders/250/shipping_addresses"]
    assert resources["webhook"]["data"] == {"type": "order", "id": 250} and resources["order"]["id"] == 250
    messages = bigcommerce.map_event("", resources, config(scopes={"1": "us-web"}))
    order = messages[0].payload
    assert [type(m) for m in messages] == [OrderPlaced, PaymentReceived]  # payment_status captured
    assert (order.order_number, order.source_customer_id, order.account_type, order.scope) == (
        "250",
        "11",
        "registered",
        "us-web",
    )  # channel_id 1 -> its scope
    assert (order.email, order.preferred_language, order.shipping_address.company) == (
        "janedoe@example.com",
        "en",
        "Acme Pty Ltd",
    )
    assert [(line.sku, line.unit_price) for line in order.lines] == [
        ("S-ORAN", Decimal("55.99")),
        ("ABS", Decimal("0.00")),
    ]
    totals = order.totals  # is_tax_inclusive_pricing false: net amounts, tax on top
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount, totals.total, totals.taxes_included) == (
        Decimal("55.99"),
        Decimal("11.09"),
        Decimal("10.15"),
        Decimal("5.00"),
        Decimal("72.23"),
        False,
    )
    assert order.placed_at.isoformat() == "2019-06-25T16:15:30+00:00"  # RFC 2822 read


def test_o8_bigcommerce_status_updates_shipments_guests_jpy_and_tax_inclusive_orders() -> None:
    status = bigcommerce.map_event("", fetched("store-order-statusUpdated.json"), config())
    assert [type(m) for m in status] == [OrderPlaced, OrderStatusChanged, PaymentReceived]
    assert (status[1].payload.status, status[1].payload.changed_at.isoformat()) == (
        "Awaiting Fulfillment",
        "2019-06-25T16:15:35+00:00",
    )
    client = RecordedBigCommerceOrders()
    shipped = bigcommerce.map_event("", fetched("store-shipment-created.json", client), config())
    assert "orders/251/shipments" in client.calls  # data.orderId names the order
    shipment = shipped[0].payload
    assert [type(m) for m in shipped] == [OrderShipped]
    assert (shipment.order_number, shipment.shipment_id, shipment.carrier, shipment.tracking_number) == (
        "251",
        "12",
        "UPS",
        "1Z999AA10123456784",
    )
    assert [(line.sku, line.quantity) for line in shipment.lines] == [("SHIRT-LIN-M", 2), ("BELT-CUIR", 1)]
    guest = bigcommerce.map_event("", fetched("store-order-created-252-guest-jpy.json"), config())[0]
    body = json.loads(guest.model_dump_json())["payload"]
    assert (body["account_type"], body["source_customer_id"], body["currency"]) == ("guest", None, "JPY")
    assert (body["totals"]["total"], body["lines"][0]["unit_price"]) == ("3190", "1200")  # "3190.0000" yen
    no_email = bigcommerce.map_event("", fetched("store-order-created-253-guest-no-email.json"), config())[0].payload
    assert (no_email.email, no_email.phone, no_email.shipping_address) == (None, "555-123-4567", None)
    assert not no_email.totals.taxes_included  # no is_tax_inclusive_pricing: base_price is the net price
    inclusive = bigcommerce.map_event("", fetched("store-order-created-251-tax-inclusive-eur.json"), config())[0]
    totals = inclusive.payload.totals
    assert totals.taxes_included and (totals.subtotal, totals.shipping, totals.tax, totals.total) == (
        Decimal("150.00"),
        Decimal("6.00"),
        Decimal("26.00"),
        Decimal("156.00"),
    )


def test_o8_bigcommerce_tax_inclusive_pricing_is_told_from_base_prices_when_the_order_does_not_say() -> None:
    resources = fetched("store-order-created-251-tax-inclusive-eur.json")
    del resources["order"]["is_tax_inclusive_pricing"]  # as orders read before 2022 come
    assert bigcommerce.tax_inclusive(resources["order"], resources["products"])  # base_price = price_inc_tax
    assert bigcommerce.map_event("", resources, config())[0].payload.totals.taxes_included


def test_o8_bigcommerce_fetch_failures_are_transient_or_kept_and_name_the_scope() -> None:
    body = raw("store-order-created-999-not-found.json")
    with pytest.raises(FetchFailed) as caught:
        asyncio.run(prepare(RecordedBigCommerceOrders(), "", body))
    assert (caught.value.transient, caught.value.status, caught.value.topic) == (False, 404, "store/order/created")
    down = RecordedBigCommerceOrders(failures={"orders/250/products": FetchFailed("GET: HTTP 503", transient=True)})
    with pytest.raises(FetchFailed) as caught:
        asyncio.run(prepare(down, "", raw("store-order-created.json")))
    assert caught.value.transient
    with pytest.raises(FetchFailed, match="no BigCommerce API account"):
        asyncio.run(prepare(None, "", raw("store-order-created.json")))
    # A replayed body that already holds its order is not read again; the scope is the topic.
    resources = json.dumps(fetched("store-order-created.json"), default=str).encode()
    never = RecordedBigCommerceOrders(failures={"orders/250": FetchFailed("must not be read", transient=False)})
    assert asyncio.run(prepare(never, "", resources)) == ("store/order/created", resources) and never.calls == []


def test_o8_bigcommerce_http_client_reads_the_v2_api_with_the_token() -> None:
    seen: list[httpx.Request] = []
    order = json.loads((FIXTURES / "api" / "orders" / "250.json").read_text(encoding="utf-8"))

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/stores/abc123/v2/orders/250":
            return httpx.Response(200, json=order)
        if path == "/stores/abc123/v2/orders/250/shipments":
            return httpx.Response(204)
        if path == "/stores/abc123/v2/orders/250/products":
            return httpx.Response(200, json=[{"id": 65, "sku": "S-ORAN", "price_ex_tax": "55.9900"}])
        if path.endswith("/orders/404"):
            return httpx.Response(404, json=[{"status": 404, "message": "The requested resource was not found."}])
        if path.endswith("/orders/500"):
            return httpx.Response(502)
        if path.endswith("/orders/slow"):
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json=[])

    async def run() -> None:
        client = HttpBigCommerceOrders("abc123", "token-xyz", transport=httpx.MockTransport(answer))
        try:
            assert (await client.order("250"))["total_inc_tax"] == "72.2300"
            products = await client.products("250")
            assert products[0]["price_ex_tax"] == "55.9900"  # amounts kept as BigCommerce wrote them
            assert await client.shipments("250") == []  # 204 No Content
            for order_id, transient, status in (("404", False, 404), ("500", True, 502), ("slow", True, None)):
                with pytest.raises(FetchFailed) as caught:
                    await client.order(order_id)
                assert (caught.value.transient, caught.value.status) == (transient, status)
                assert "token-xyz" not in caught.value.reason  # the token is never in a reason (logged)
        finally:
            await client.close()

    asyncio.run(run())
    assert {r.headers["x-auth-token"] for r in seen} == {"token-xyz"}
    assert str(seen[0].url) == "https://api.bigcommerce.com/stores/abc123/v2/orders/250"
    assert seen[1].url.params["limit"] == "250"


def test_o8_bigcommerce_every_bad_field_is_reported_together_by_its_bigcommerce_name() -> None:
    resources = fetched("store-order-created.json")
    resources["order"]["date_created"] = "2019-06-25 16:15:30"  # not RFC 2822
    resources["order"]["customer_id"] = [11]
    resources["order"]["currency_code"] = "EURO"
    resources["products"][0]["price_ex_tax"] = "cheap"
    with pytest.raises(MappingError) as caught:
        bigcommerce.map_event("", resources, config())
    fields = [f.field for f in caught.value.fields]
    assert fields == ["currency_code", "products[0].price_ex_tax", "customer_id", "date_created"], fields
    # The webhook alone (never read) cannot be mapped, and says why.
    with pytest.raises(MappingError) as caught:
        bigcommerce.map_event("", webhook("store-order-created.json"), config())
    assert caught.value.fields[0].field == "order"
    with pytest.raises(MappingError) as caught:
        bigcommerce.map_event("", {**webhook("store-order-created.json"), "scope": "store/cart/created"}, config())
    assert caught.value.fields[0].field == "scope"


def test_o8_bigcommerce_ids_follow_the_order_not_the_delivery() -> None:
    created = bigcommerce.map_event("", fetched("store-order-created.json"), config())
    updated = bigcommerce.map_event("", fetched("store-order-updated.json"), config())
    assert created[0].message_id == updated[0].message_id  # the same order read twice
    changed = fetched("store-order-updated.json")
    changed["order"]["status"] = "Shipped"
    assert bigcommerce.map_event("", changed, config())[0].message_id != created[0].message_id
    platform = PLATFORM_ADAPTERS["bigcommerce"]
    assert routing_key(platform, "store/order/statusUpdated") == "platform.bigcommerce.store.order.statusUpdated"
    assert platform.topic_from_routing("store.shipment.created") == "store/shipment/created"


def test_o7_o8_bigcommerce_payment_is_received_once_and_only_when_the_money_was_taken() -> None:
    created = bigcommerce.map_event("", fetched("store-order-created.json"), config())
    updated = bigcommerce.map_event("", fetched("store-order-updated.json"), config())
    paid = [m for m in (*created, *updated) if isinstance(m, PaymentReceived)]
    assert len(paid) == 2 and paid[0].message_id == paid[1].message_id  # one payment per order
    payment = paid[0].payload
    assert (payment.payment_id, payment.amount, payment.currency, payment.method) == (
        "250:paid",
        Decimal("72.23"),
        "USD",
        "Cash",
    )
    for status in ("authorized", "pending", "declined", "void", ""):
        resources = fetched("store-order-created.json")
        resources["order"] = {**resources["order"], "payment_status": status}
        assert not [m for m in bigcommerce.map_event("", resources, config()) if isinstance(m, PaymentReceived)]
    # Order 253's card is only authorized: placed, no payment yet.
    guest = bigcommerce.map_event("", fetched("store-order-created-253-guest-no-email.json"), config())
    assert [type(m) for m in guest] == [OrderPlaced]


def test_o7_o8_bigcommerce_archived_order_is_a_status_change_read_or_gone() -> None:
    client = RecordedBigCommerceOrders()
    readable = bigcommerce.map_event("", fetched("store-order-archived.json", client), config(scopes={"1": "us-web"}))
    assert client.calls == ["orders/250"]  # the order only: nothing else is needed
    assert [type(m) for m in readable] == [OrderStatusChanged]
    change = readable[0].payload
    assert (change.order_number, change.status, change.scope, change.changed_at.isoformat()) == (
        "250",
        "archived",
        "us-web",  # its channel's scope, as it could be read
        "2019-06-25T16:15:35+00:00",
    )
    gone = bigcommerce.map_event("", fetched("store-order-archived-999-gone.json"), config(scopes={"1": "us-web"}))
    change = gone[0].payload  # 404: the webhook's own time, the default scope
    assert (change.order_number, change.status, change.scope, change.changed_at.isoformat()) == (
        "999",
        "archived",
        "eu-fr",
        "2019-06-26T16:20:00+00:00",
    )
    # Any other read failure is not taken for "gone": it is retried or dead-lettered as before.
    failing = RecordedBigCommerceOrders(failures={"orders/250": FetchFailed("HTTP 503", transient=True, status=503)})
    with pytest.raises(FetchFailed):
        fetched("store-order-archived.json", failing)


def test_o8_bigcommerce_shipment_updated_is_the_created_shipment_never_a_second_one() -> None:
    created = bigcommerce.map_event("", fetched("store-shipment-created.json"), config())
    updated = bigcommerce.map_event("", fetched("store-shipment-updated.json"), config())
    assert [type(m) for m in updated] == [OrderShipped]
    # The same message id: the inbox applies the first one received, so one shipping email.
    assert updated[0].message_id == created[0].message_id
    assert updated[0].payload == created[0].payload


def test_o8_bigcommerce_blank_discounts_are_none_given_and_the_order_is_placed() -> None:
    """BigCommerce writes ``""`` for what was not filled in: a blank coupon or discount is no
    discount (mapping.amount_of), not a refused order."""
    resources = fetched("store-order-created-252-guest-jpy.json")
    resources["order"].update(coupon_discount="", discount_amount="")
    placed = bigcommerce.map_event("", resources, config())[0].payload
    assert placed.totals.discount == Decimal(0) and placed.totals.total == Decimal("3190")
