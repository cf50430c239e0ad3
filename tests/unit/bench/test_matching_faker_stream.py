"""O2-O6: the Faker-built stream (bench/matching/faker_stream.py) that cross-checks the matcher:
deterministic, made of valid ``OrderPlaced`` messages of the benchmark's scopes, with its truth,
undecidable orders and the phenomena it was written for, Faker's numbers at codes not in
service among them."""

from __future__ import annotations

from collections import Counter

import phonenumbers
import pytest

from bench.matching import faker_stream
from bench.matching.stream import Stream
from contracts.upstream.orders import OrderPlaced


@pytest.fixture(scope="module")
def small() -> tuple[Stream, dict[str, list[str]]]:
    return faker_stream.generate_tagged(1500, seed=2)


def test_o2_the_faker_stream_is_the_same_for_a_seed_and_another_for_another() -> None:
    a, b, c = (faker_stream.generate(300, seed=s) for s in (5, 5, 6))
    assert [d.message.model_dump() for d in a.deliveries] == [d.message.model_dump() for d in b.deliveries]
    assert a.truth == b.truth and a.truth != c.truth


def test_o2_every_delivery_is_an_order_placed_its_truth_names(small: tuple[Stream, dict[str, list[str]]]) -> None:
    stream, _ = small
    scopes = {scope_id for scope_id, _, _ in stream.scopes}
    for delivery in stream.deliveries:
        assert isinstance(delivery.message, OrderPlaced)
        OrderPlaced.model_validate_json(delivery.message.model_dump_json())  # survives the wire
        assert delivery.message.payload.scope in scopes
        assert stream.truth[delivery.order_key] == delivery.person_id
    assert set(stream.truth) == {d.order_key for d in stream.deliveries}
    assert len(stream.deliveries) > len(stream.truth)  # some delivered again
    assert stream.undecidable_with_candidate <= stream.undecidable <= set(stream.truth)


def test_o2_the_faker_stream_has_what_it_was_written_for(small: tuple[Stream, dict[str, list[str]]]) -> None:
    stream, tags = small
    seen = Counter(tag for order_tags in tags.values() for tag in order_tags)
    for phenomenon in (
        "phone_extension",
        "plus_tag",
        "middle_name",
        "name_native_script",
        "pos_cash_name_postcode_only",
    ):
        assert seen[phenomenon] > 0, phenomenon
    country = {scope_id: cc for scope_id, cc, _ in stream.scopes}
    parsed = [
        phonenumbers.parse(d.message.payload.phone, country[d.message.payload.scope])
        for d in stream.deliveries
        if d.message.payload.phone and d.message.payload.phone[0] in "0123456789(+"
    ]
    unassigned = [n for n in parsed if phonenumbers.is_possible_number(n) and not phonenumbers.is_valid_number(n)]
    assert len(unassigned) * 20 > len(parsed), "Faker's numbers at codes not in service are kept for some people"
