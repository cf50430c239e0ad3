"""O8: every sloppy or hostile payload of every platform gets a clear reason, never an error
of the adapter (which would be an HTTP 500 on a webhook, and two minutes of retries on the
queue). Fields of the fixture cases of test_adapters_platform_shapes are replaced by values no
platform should send (an object or a list as an id, a boolean, a 41-digit number, a lone
surrogate); whole bodies that are not an object, not UTF-8, not JSON, nested too deeply or
holding a lone surrogate are refused the same way.

The unit run tries a fixed sample: for each platform, every (kind of field x hostile value)
pair once, the field drawn with a seed from the platform's fixtures, so every platform,
every hostile value and every kind of field is covered in about a second. The full sweep
(every field of every fixture x every hostile value, about a minute) runs with
OMS_FULL_HOSTILE_SWEEP=1."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import random
import re
from decimal import Decimal
from typing import Any

import pytest

from adapters import bigcommerce
from adapters.bigcommerce_client import fetch_resources
from adapters.handlers import PLATFORM_ADAPTERS, UnreadablePayload, translate
from adapters.mapping import Ignored, MappingError, PrivacyRequested
from adapters.settings import AdapterSettings

from .platform_samples import SAMPLE_CASES, SAMPLE_PLATFORMS, SAMPLES
from .test_adapters_platform_shapes import CASES, FIXTURES, Case, RecordedBigCommerceOrders

SETTINGS = AdapterSettings(**{f"{name}_scope": "eu-fr" for name in PLATFORM_ADAPTERS})  # type: ignore[arg-type]
#: JSON text put in place of one field at a time, by kind.
HOSTILE_VALUES = {
    "object": '{"id": 5}',
    "list": "[1, 2]",
    "bool": "true",
    "41-digit number": "1" + "0" * 40,
    "lone surrogate": '"\\ud800"',
}
FIELD_KINDS = ("id", "object", "list", "bool", "null", "number", "numeric text", "text")
FULL_SWEEP = os.environ.get("OMS_FULL_HOSTILE_SWEEP") == "1"
#: One case per fixture (a fixture sent under two topics is read by the same code); Magento's
#: and Shopware's samples are kept beside their tests (platform_samples.py).
FIXTURE_CASES = list({(c.platform, c.fixture): c for c in [*CASES, *SAMPLE_CASES]}.values())
MARK = "@@hostile@@"


def body_of(case: Case) -> Any:
    root = SAMPLES if case.platform in SAMPLE_PLATFORMS else FIXTURES
    body = json.loads((root / case.platform / case.fixture).read_text(encoding="utf-8"), parse_float=Decimal)
    if case.platform == "bigcommerce" and bigcommerce.is_thin(body):
        body = asyncio.run(fetch_resources(RecordedBigCommerceOrders(), body))  # as handlers.py does
    return body


def paths_of(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field and container, the first item of each list."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths_of(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:1]):
            found += paths_of(inner, (*path, index))
    return found


def field_kind(path: tuple[Any, ...], value: Any) -> str:
    key = path[-1]
    if isinstance(key, str) and (key.lower() == "id" or key.endswith(("_id", "Id", "ID"))):
        return "id"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    if isinstance(value, int | Decimal):
        return "number"
    return "numeric text" if _NUMERIC.fullmatch(str(value)) else "text"


_NUMERIC = re.compile(r"-?\d+(\.\d+)?")


def value_at(body: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        body = body[step]
    return body


def with_mark(body: Any, path: tuple[Any, ...]) -> str:
    changed = copy.deepcopy(body)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = MARK
    return json.dumps(changed, default=str)


def outcome(case: Case, raw: bytes) -> str:
    """What the adapter made of it; an exception other than its own fails the test."""
    settings = SETTINGS.model_copy(update={"shopify_test_orders": case.options.get("test_orders", "ignore")})
    try:
        messages = translate(settings, PLATFORM_ADAPTERS[case.platform], case.topic, raw)
    except Ignored:
        return "ignored"
    except PrivacyRequested:
        return "privacy"
    except MappingError as exc:
        assert exc.fields and all(f.field and f.reason for f in exc.fields), exc
        return "unreadable" if isinstance(exc, UnreadablePayload) else "dead letter"
    for message in messages:
        message.model_dump_json().encode("utf-8")  # publishable as it is
    return "messages"


def replacements_to_try(platform: str) -> list[tuple[Case, tuple[Any, ...], str, str]]:
    """(case, field path, field kind, hostile kind) to try: the full sweep, or one field of
    each kind present in the platform's fixtures for each hostile value, drawn with a fixed
    seed and spread over the fixtures."""
    cases = [c for c in FIXTURE_CASES if c.platform == platform]
    fields: dict[str, list[tuple[Case, tuple[Any, ...]]]] = {kind: [] for kind in FIELD_KINDS}
    for case in cases:
        body = body_of(case)
        for path in paths_of(body):
            fields[field_kind(path, value_at(body, path))].append((case, path))
    if FULL_SWEEP:
        return [
            (case, path, kind, hostile)
            for kind, found in fields.items()
            for case, path in found
            for hostile in HOSTILE_VALUES
        ]
    draw = random.Random(f"O8 hostile sample {platform}")
    return [
        (*draw.choice(found), kind, hostile) for kind, found in fields.items() if found for hostile in HOSTILE_VALUES
    ]


@pytest.mark.parametrize("platform", sorted(PLATFORM_ADAPTERS))
def test_o8_fields_of_each_kind_replaced_by_each_hostile_value_are_mapped_or_given_a_reason_on_every_platform(
    platform: str,
) -> None:
    tried = replacements_to_try(platform)
    bodies = {case.key: body_of(case) for case in {case.key: case for case, *_ in tried}.values()}
    outcomes: dict[str, set[str]] = {}
    for case, path, kind, hostile in tried:
        raw = with_mark(bodies[case.key], path).replace(f'"{MARK}"', HOSTILE_VALUES[hostile]).encode()
        got = outcome(case, raw)  # an exception other than the adapter's own fails here
        if hostile == "lone surrogate":
            # Refused before any mapping, whatever the field, unless the topic ignores the body.
            assert got in {"unreadable", "ignored"}, (case.key, path, kind)
        outcomes.setdefault(hostile, set()).add(got)
    # The sample covers every hostile value, and at least the kinds of field every platform has.
    assert set(outcomes) == set(HOSTILE_VALUES)
    assert {kind for *_, kind, _ in tried} >= {"id", "object", "text"}
    # Something is refused: a hostile id is never taken silently everywhere.
    assert any("dead letter" in found or "unreadable" in found for found in outcomes.values())


@pytest.mark.parametrize("platform", sorted(PLATFORM_ADAPTERS))
def test_o8_a_body_that_is_not_an_object_of_the_platform_gets_a_reason_on_every_platform(platform: str) -> None:
    topic = next(c.topic for c in [*CASES, *SAMPLE_CASES] if c.platform == platform)
    case = Case(platform, "", topic)
    for raw in (b"[]", b"5", b'"order"', b"null", b"true", b"[{}]", b"{}", b'{"id": {"id": 5}}'):
        assert outcome(case, raw) in {"dead letter", "unreadable", "ignored"}, raw
    unreadable = (
        b"\xff\xfe{}",  # not UTF-8
        b'{"id": 1,',  # cut short
        b'{"total": NaN}',  # not JSON's
        ("[" * 200 + "]" * 200).encode(),  # deeper than OMS_MAX_BODY_DEPTH
        b'{"id": "\\ud800"}',  # a lone surrogate: JSON, but no text
    )
    for raw in unreadable:
        with pytest.raises(UnreadablePayload) as refused:
            translate(SETTINGS, PLATFORM_ADAPTERS[platform], topic, raw)
        assert refused.value.fields[0].reason, raw


def published(case: Case, body: Any) -> Any:
    """The payloads the adapter publishes for ``body`` (ids aside: they digest the body), or
    what it made of it instead."""
    settings = SETTINGS.model_copy(update={"shopify_test_orders": case.options.get("test_orders", "ignore")})
    raw = json.dumps(body, default=str).encode()
    try:
        return [
            m.payload.model_dump(mode="json")
            for m in translate(settings, PLATFORM_ADAPTERS[case.platform], case.topic, raw)
        ]
    except (Ignored, PrivacyRequested, MappingError) as outcome:
        return type(outcome).__name__


@pytest.mark.parametrize("platform", sorted(PLATFORM_ADAPTERS))
def test_o8_a_null_among_the_items_of_a_list_is_no_item_on_every_platform(platform: str) -> None:
    """A platform's serializer leaves an item it could not write as null (a deleted product's
    line, a Magento street line): the order reads as without it, never a dead letter."""
    tried = 0
    for case in (c for c in FIXTURE_CASES if c.platform == platform):
        body = body_of(case)
        expected = published(case, body)
        for path in paths_of(body):
            listed = value_at(body, path)
            if not isinstance(listed, list) or not listed or not all(isinstance(i, dict | str) for i in listed):
                continue
            changed = copy.deepcopy(body)
            value_at(changed, path).insert(len(listed) // 2, None)
            assert published(case, changed) == expected, (case.key, path)
            tried += 1
    assert tried > 0


def test_o8_an_amount_of_41_digits_is_a_field_error_naming_the_platform_field() -> None:
    body = json.loads((FIXTURES / "woocommerce" / "order-created.json").read_text(encoding="utf-8"))
    body["shipping_total"] = "1" + "0" * 40
    with pytest.raises(MappingError) as refused:
        translate(SETTINGS, PLATFORM_ADAPTERS["woocommerce"], "order.created", json.dumps(body).encode())
    assert any(f.field == "shipping_total" and "plausible" in f.reason for f in refused.value.fields)


def test_o8_a_bigcommerce_order_id_that_is_no_integer_is_never_put_in_the_api_s_url() -> None:
    """The thin webhook's id becomes a path of the V2 Orders API: "../customers" would read
    something else with the store's token."""
    recorded = RecordedBigCommerceOrders()
    for order_id in ('"../customers"', '"250/../../v3/customers"', "1" + "0" * 40, '"-1"'):
        webhook = json.loads(f'{{"scope": "store/order/created", "data": {{"type": "order", "id": {order_id}}}}}')
        with pytest.raises(MappingError) as refused:
            asyncio.run(fetch_resources(recorded, webhook))
        assert refused.value.fields[0].field == "data.id" and "positive integer" in refused.value.fields[0].reason
    assert recorded.calls == []
