"""O2-O6: the independent stream (bench/matching/independent.py) that cross-checks the
matcher: deterministic, made of valid ``OrderPlaced`` messages of the benchmark's scopes, with
its truth and undecidable orders, and the phenomena it was written for."""

from __future__ import annotations

import pytest

from bench.matching import independent
from bench.matching.stream import Stream
from contracts.upstream.orders import OrderPlaced


@pytest.fixture(scope="module")
def small() -> Stream:
    return independent.generate(2000, seed=3)


def test_o2_the_independent_stream_is_the_same_for_a_seed_and_another_for_another() -> None:
    a, b, c = independent.generate(400, seed=5), independent.generate(400, seed=5), independent.generate(400, seed=6)
    assert [d.message.model_dump() for d in a.deliveries] == [d.message.model_dump() for d in b.deliveries]
    assert a.truth == b.truth and a.truth != c.truth


def test_o2_every_delivery_is_an_order_placed_its_truth_names(small: Stream) -> None:
    scopes = {scope_id for scope_id, _, _ in small.scopes}
    for delivery in small.deliveries:
        assert isinstance(delivery.message, OrderPlaced)
        OrderPlaced.model_validate_json(delivery.message.model_dump_json())  # survives the wire
        assert delivery.message.payload.scope in scopes
        assert small.truth[delivery.order_key] == delivery.person_id
    assert set(small.truth) == {d.order_key for d in small.deliveries}  # each order delivered
    assert len(small.deliveries) > len(small.truth)  # and some again
    assert small.undecidable_with_candidate <= small.undecidable <= set(small.truth)


@pytest.mark.parametrize(
    "phenomenon",
    [
        "in_household",
        "phone_household_landline",
        "people_namesakes",
        "shared_loyalty_card",
        "email_shared_family",
        "name_nickname",
        "name_title",
        "email_space_inside",
        "name_native_script",
        "postal_zip4",
        "redeliveries",
        "resends_new_message_id",
        "pos_name_postal_only",
    ],
)
def test_o2_o3_the_independent_stream_has_the_phenomena_it_was_written_for(small: Stream, phenomenon: str) -> None:
    assert small.counts[phenomenon] > 0
