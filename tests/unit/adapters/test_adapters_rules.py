"""O8: the adapters' routes' own decisions (adapters/rules.py), without a broker or a request:
how a body is read before a mapper sees it, and what a mapper's failure becomes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters import rules
from adapters.mapping import Ignored, MappingError, PlatformConfig
from adapters.settings import AdapterSettings

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
