"""O8: the adapters' routes' own decisions (adapters/rules.py), without a broker or a request:
how a body is read before a mapper sees it, and what a mapper's failure becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters import rules, shopify
from adapters.mapping import Ignored, MappingError, PlatformConfig
from adapters.settings import AdapterSettings
from plumbing import dead_letters as dl

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "platforms"
CONFIG: PlatformConfig = AdapterSettings(shopify_scope="eu-fr").platform("shopify")  # type: ignore[call-arg]


def read(body: bytes, *, max_depth: int = 64) -> Any:
    return rules.read_payload(body, max_bytes=1_000_000, max_depth=max_depth)


def test_o8_a_body_is_read_with_its_amounts_exact() -> None:
    assert read(b'{"total": 10.10, "lines": [1]}') == {"total": Decimal("10.10"), "lines": [1]}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (b"{not json", "body", "not JSON"),
        (b'{"total": NaN}', "body", "NaN is not an amount"),
        (b"\xff\xfe{}", "body", "not JSON"),
        (b'{"a": [{"b": "ok"}, {"c": "\\ud800"}]}', "a[1].c", "lone surrogate"),
        (b'{"a": {"\\udc00": 1}}', "a", "lone surrogate"),
        (b"[[[[[[[[[[]]]]]]]]]]", "body", "deep"),
    ],
)
def test_o8_a_body_no_message_could_hold_is_unreadable_and_names_where(body: bytes, field: str, reason: str) -> None:
    with pytest.raises(rules.UnreadablePayload) as caught:
        read(body, max_depth=5)
    [error] = caught.value.fields
    assert error.field == field
    assert reason in error.reason


def test_o8_a_mapper_failing_on_a_shape_it_did_not_expect_is_a_field_error_not_a_crash() -> None:
    def mapper(topic: str, payload: Any, config: PlatformConfig) -> Any:
        return payload["customer"]["email"].lower()  # a list where an object is

    with pytest.raises(MappingError) as caught:
        rules.map_payload("shopify", mapper, "orders/create", {"customer": ["x"]}, CONFIG)
    assert not isinstance(caught.value, rules.UnreadablePayload)  # replayable: answered 202, not 400
    [error] = caught.value.fields
    assert error.field == "body"
    assert "unexpected type or value (TypeError" in error.reason


def test_o8_a_mapper_recursing_without_end_is_unreadable_and_its_own_refusals_pass_through() -> None:
    def recursing(topic: str, payload: Any, config: PlatformConfig) -> Any:
        return recursing(topic, payload, config)

    def ignoring(topic: str, payload: Any, config: PlatformConfig) -> Any:
        raise Ignored("a test order", kind="test")

    with pytest.raises(rules.UnreadablePayload):
        rules.map_payload("shopify", recursing, "orders/create", {}, CONFIG)
    with pytest.raises(Ignored) as caught:
        rules.map_payload("shopify", ignoring, "orders/create", {}, CONFIG)
    assert caught.value.kind == "test"


ORIGIN = rules.Origin("oms.upstream", "platform.shopify.orders.create", "oms.adapters.shopify")
AT = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def test_o8_the_same_bytes_under_two_topics_or_routes_are_two_dead_letters_and_a_repeat_is_one() -> None:
    body = b'{"id": 1}'
    letter = rules.dead_letter_id("shopify", "http", "orders/create", body)
    assert letter == rules.dead_letter_id("shopify", "http", "orders/create", bytes(body))
    assert letter != rules.dead_letter_id("shopify", "http", "orders/updated", body)
    assert letter != rules.dead_letter_id("shopify", "broker", "orders/create", body)
    assert letter != rules.dead_letter_id("shopify", "http", "orders/create", b'{"id": 2}')
    assert letter != rules.privacy_request_id("shopify", body)


def test_o8_a_dead_letter_says_malformed_or_rejected_names_its_fields_and_where_it_is_replayed() -> None:
    rejected = rules.dead_letter_headers("adapters", MappingError.at("email", "missing"), "http", ORIGIN, AT)
    malformed = rules.dead_letter_headers(
        "adapters", rules.UnreadablePayload.at("body", "not JSON"), "broker", ORIGIN, AT
    )
    assert (rejected[dl.REASON], malformed[dl.REASON]) == (dl.REJECTED, dl.MALFORMED)
    assert rejected[dl.ERROR] == "email: missing"
    assert json.loads(rejected[dl.FIELD_ERRORS]) == [{"field": "email", "reason": "missing"}]
    assert (rejected[dl.ORIGINAL_ROUTING_KEY], rejected[dl.ORIGINAL_QUEUE]) == (ORIGIN.routing_key, ORIGIN.queue)
    assert (rejected[dl.SERVICE], rejected[dl.DEAD_LETTERED_AT]) == ("adapters", AT.isoformat())
    assert (rejected[rules.ROUTE_HEADER], malformed[rules.ROUTE_HEADER]) == ("http", "broker")


def test_o8_a_dead_letters_error_headers_are_cut_to_what_a_header_holds() -> None:
    error = MappingError.at("lines", "x" * 9000)
    headers = rules.dead_letter_headers("adapters", error, "http", ORIGIN, AT)
    assert len(headers[dl.ERROR]) == len(headers[dl.FIELD_ERRORS]) == 4000


def test_o8_a_kept_webhook_is_answered_400_when_unreadable_else_202_with_its_dead_letter() -> None:
    status, body = rules.dead_lettered("letter-1", rules.UnreadablePayload.at("body", "not JSON"))
    assert status == 400
    assert body == {
        "status": "dead-lettered",
        "dead_letter_id": "letter-1",
        "errors": [{"field": "body", "reason": "not JSON"}],
    }
    assert rules.dead_lettered("letter-2", MappingError.at("email", "missing"))[0] == 202
    not_read = rules.order_not_read("GET orders/7: HTTP 404")
    assert rules.dead_lettered("letter-3", not_read)[0] == 202  # replayable once the order can be read
    assert [(f.field, f.reason) for f in not_read.fields] == [
        ("data.id", "the order could not be read: GET orders/7: HTTP 404")
    ]


def test_o8_a_published_webhook_is_answered_with_each_message_id_and_routing_key() -> None:
    payload = json.loads((FIXTURES / "shopify" / "orders-create.json").read_text(encoding="utf-8"), parse_float=Decimal)
    messages = shopify.map_event("orders/create", payload, CONFIG)
    answer = rules.accepted(messages)
    assert answer["status"] == "accepted"
    assert [m["message_id"] for m in answer["messages"]] == [m.message_id for m in messages]
    assert answer["messages"][0]["routing_key"] == "order.order-placed.v1"
    assert json.loads(json.dumps(answer)) == answer  # the body as sent


@pytest.mark.parametrize(
    ("key", "tail"),
    [
        ("platform.shopify.orders.create", "orders.create"),
        ("platform.shopify.", ""),
        ("platform.shopifyplus.orders.create", ""),  # another platform's, not a prefix of ours
        ("platform.saleor.order_created", ""),
        ("oms.adapters.shopify", ""),  # back from a retry tier without its original route
    ],
)
def test_o8_the_routing_keys_tail_after_the_platform_names_the_topic(key: str, tail: str) -> None:
    assert rules.routing_tail("shopify", key) == tail


def test_o8_c18_a_privacy_request_travels_by_its_topic_else_the_one_it_names() -> None:
    assert rules.privacy_topic("customers/redact", {"topic": "shop/redact"}) == "customers/redact"
    assert rules.privacy_topic("", {"topic": "shop/redact"}) == "shop/redact"
    assert rules.privacy_topic("", {"kind": "erasure"}) == ""
    assert rules.privacy_topic("", {"topic": None}) == ""
