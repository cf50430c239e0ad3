"""The matching benchmark's stream (bench/matching/stream.py): a messy order stream with its truth.

Named after what the stream lets the benchmark prove: O2 (orders linked by messy identifiers),
O3 (customers created: households, namesakes), O5 (undecidable orders for review), O6 (once
per order: re-deliveries, resends, a new person's burst)."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import phonenumbers
import pytest
from anyascii import anyascii

from bench.matching.score import Outcome, score
from bench.matching.stream import Stream, generate
from contracts.upstream.orders import OrderPlaced

ROOT = Path(__file__).resolve().parents[3]
COUNTRY = {"eu-fr": "FR", "de": "DE", "uk": "GB", "us": "US", "es": "ES"}


@pytest.fixture(scope="module")
def small() -> Stream:
    return generate(5_000)


@pytest.fixture(scope="module")
def ten_k() -> Stream:
    return generate(10_000)


def _fingerprint(stream: Stream) -> list[tuple[str, str, str]]:
    return [(d.order_key, d.person_id, d.message.model_dump_json()) for d in stream.deliveries]


def _digest(stream: Stream) -> str:
    return hashlib.sha256(repr((_fingerprint(stream), sorted(stream.undecidable))).encode()).hexdigest()


def test_o2_the_same_seed_gives_the_same_stream_in_any_process_and_another_seed_another() -> None:
    a, b, c = generate(600, seed=3), generate(600, seed=3), generate(600, seed=4)
    assert _fingerprint(a) == _fingerprint(b)
    assert a.truth == b.truth and a.undecidable == b.undecidable and a.summary() == b.summary()
    assert _fingerprint(a) != _fingerprint(c)
    code = (
        "from bench.matching.stream import generate; from tests.unit.bench.test_matching_stream import _digest; "
        "print(_digest(generate(600, seed=3)))"
    )
    others = [  # no dependence on str hashing (set order) anywhere; both processes at once
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=ROOT,
        )
        for hash_seed in ("1", "2")
    ]
    for other in others:
        out, err = other.communicate(timeout=60)
        assert other.returncode == 0, err
        assert out.strip() == _digest(a)


def test_o2_every_delivery_is_an_order_placed_of_its_scope_and_source(small: Stream) -> None:
    scopes = {s for s, _, _ in small.scopes}
    assert small.scopes == [
        ("eu-fr", "FR", "fr"),
        ("de", "DE", "de"),
        ("uk", "GB", "en"),
        ("us", "US", "en"),
        ("es", "ES", "es"),
    ]
    producers = defaultdict(set)
    for d in small.deliveries:
        order = d.message.payload
        assert isinstance(d.message, OrderPlaced) and not order.set_aside  # nothing the contract had to drop
        assert OrderPlaced.model_validate_json(d.message.model_dump_json()) == d.message  # as published
        assert d.order_key == f"{order.source_system}|{order.order_number}"
        assert order.scope == small.scope_of[d.order_key] and order.scope in scopes
        assert order.currency == {"uk": "GBP", "us": "USD"}.get(order.scope, "EUR")
        producers[order.source_system].add(d.message.producer)
        if order.source_system == "shopify:acme-eu":
            assert order.scope in ("eu-fr", "de", "es")
        if order.source_system == "shopify:acme-na":
            assert order.scope in ("uk", "us")
        if order.source_system == "pos:stores":
            assert order.store_id
        if order.source_system == "marketplace:bazaar":
            assert order.email.strip().lower().endswith("@relay.bazaar.example") and order.source_customer_id
    assert set(producers) == {"shopify:acme-eu", "shopify:acme-na", "pos:stores", "marketplace:bazaar"}
    assert all(len(p) == 1 for p in producers.values())
    placed = [small.deliveries[0].message.payload.placed_at]
    first_seen = {}
    for d in small.deliveries:
        first_seen.setdefault(d.order_key, d.message.payload.placed_at)
    times = list(first_seen.values())
    # published in the order placed, but for bursts (one person's orders within a second, kept together)
    assert all((y - x).total_seconds() > -1 for x, y in pairwise(times))
    assert (times[-1] - placed[0]).days >= 60


def test_o2_truth_names_each_order_once_and_every_delivery_is_in_it(small: Stream) -> None:
    keys = [d.order_key for d in small.deliveries]
    assert set(keys) == set(small.truth) == set(small.scope_of)
    assert len(small.truth) == 5_000
    assert all(small.truth[d.order_key] == d.person_id for d in small.deliveries)
    assert set(small.truth.values()) <= set(small.people)
    payloads = {}
    for d in small.deliveries:  # one order, one payload, however often it is delivered
        assert payloads.setdefault(d.order_key, d.message.payload) == d.message.payload


def test_o6_redeliveries_repeat_the_message_and_resends_repeat_the_order(small: Stream) -> None:
    seen, redelivered, resent = {}, 0, 0
    for position, d in enumerate(small.deliveries):
        if d.order_key in seen:
            first_position, first = seen[d.order_key]
            assert position > first_position
            if d.message is first.message:
                redelivered += 1
            else:
                assert d.message.message_id != first.message.message_id
                assert d.message.payload == first.message.payload
                resent += 1
        else:
            seen[d.order_key] = (position, d)
    assert redelivered > 0.02 * len(small.truth) and resent > 0.005 * len(small.truth)
    ids = Counter(d.message.message_id for d in small.deliveries)
    assert sum(n - 1 for n in ids.values()) == redelivered  # a fresh id for everything but a redelivery
    assert len(small.deliveries) == len(small.truth) + redelivered + resent


def test_o3_households_share_a_landline_and_a_postal_code_and_use_it(small: Stream) -> None:
    members = defaultdict(list)
    for person_id, household in small.households.items():
        members[household].append(small.people[person_id])
    assert len(members) > 20 and all(2 <= len(m) <= 4 for m in members.values())
    for people in members.values():
        assert len({p.landline for p in people}) == 1 and people[0].landline
        assert len({p.addresses[0].postal_code for p in people}) == 1
        assert len({p.addresses[0].line1 for p in people}) == 1
    landline_users = defaultdict(set)
    for d in small.deliveries:
        person, phone = small.people[d.person_id], d.message.payload.phone
        if person.household and phone:
            e164 = phonenumbers.format_number(
                phonenumbers.parse(phone, person.country), phonenumbers.PhoneNumberFormat.E164
            )
            if e164 == f"+{phonenumbers.country_code_for_region(person.country)}{person.landline.replace(' ', '')}":
                landline_users[person.household].add(person.person_id)
    assert any(len(users) >= 2 for users in landline_users.values())


def _fold(name: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in anyascii(name).lower()).split())


def _fits(person, order) -> bool:
    """The docstring's definition, written again independently of the module's own check."""
    country = COUNTRY[order.scope]
    if order.phone:
        if _e164(order.phone, country) not in person.phones:
            return False
    address = order.billing_address or order.shipping_address
    if address and address.postal_code and _postal(address.postal_code, country) not in person.postal_codes:
        return False
    firsts, lasts = person.name_keys()
    first, last = _fold(order.first_name or ""), _fold(order.last_name)
    if len(first) == 1:
        return last in lasts and any(f.startswith(first) for f in firsts)
    return last in lasts and (not first or first in firsts) or first in lasts and last in firsts


@functools.cache
def _e164(phone: str, country: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(phone, country), phonenumbers.PhoneNumberFormat.E164)


def _postal(code: str, country: str) -> str:
    code = code.upper().replace(" ", "").removeprefix("D-")
    code = code.split("-")[0] if country == "US" else code
    return code.zfill(5) if country != "GB" else code


def test_o5_undecidable_orders_fit_two_people_of_their_scope_and_carry_no_email_or_id(small: Stream) -> None:
    assert small.undecidable
    assert 0.002 < len(small.undecidable) / len(small.truth) < 0.05
    orders = {d.order_key: d.message.payload for d in small.deliveries}
    in_scope = defaultdict(set)
    for key, person_id in small.truth.items():
        in_scope[small.scope_of[key]].add(person_id)
    # (scope, person, postal code) -> the position of the first order there that showed it
    first_shown: dict[tuple[str, str, str], int] = {}
    position: dict[str, int] = {}
    for delivery in small.deliveries:
        key = delivery.order_key
        if key in position:
            continue  # a re-delivery
        position[key] = len(position)
        order = orders[key]
        for a in (order.billing_address, order.shipping_address):
            if a and a.postal_code:
                first_shown.setdefault(
                    (order.scope, delivery.person_id, _postal(a.postal_code, COUNTRY[order.scope])), position[key]
                )

    def doubted(key: str, order, fitting: list[str]) -> bool:
        """A name and postal code only, and someone who fits showed that postal code before."""
        address = order.billing_address or order.shipping_address
        if order.phone or (order.billing_address and order.billing_address.line1) or not address:
            return False
        code = _postal(address.postal_code, COUNTRY[order.scope])
        return any(first_shown.get((order.scope, p, code), position[key]) < position[key] for p in fitting)

    for key in small.undecidable:
        order = orders[key]
        assert not order.email and not order.source_customer_id
        fitting = [p for p in in_scope[order.scope] if _fits(small.people[p], order)]
        assert len(fitting) >= 2 or doubted(key, order, fitting), (key, order)
    decided = [k for k, o in orders.items() if k not in small.undecidable and not o.email and not o.source_customer_id]
    for key in decided[:300]:  # and the others among the weakest orders do not
        order = orders[key]
        fitting = [p for p in in_scope[order.scope] if _fits(small.people[p], order)]
        assert len(fitting) < 2 and not doubted(key, order, fitting), (key, order)


def test_o5_undecidable_orders_with_a_candidate_are_those_someone_who_fits_ordered_before(small: Stream) -> None:
    """The issue wants an undecidable order in review "when a candidate exists": someone who
    fits it had ordered in its scope before it. The first order at a household's phone has
    nobody to be confused with yet."""
    orders = {d.order_key: d.message.payload for d in small.deliveries}
    first_order: dict[tuple[str, str], int] = {}
    position: dict[str, int] = {}
    for delivery in small.deliveries:
        if delivery.order_key not in position:
            position[delivery.order_key] = len(position)
            first_order.setdefault((orders[delivery.order_key].scope, delivery.person_id), len(position) - 1)
    in_scope = defaultdict(set)
    for key, person_id in small.truth.items():
        in_scope[small.scope_of[key]].add(person_id)
    assert small.undecidable_with_candidate <= small.undecidable
    assert 0.8 * len(small.undecidable) < len(small.undecidable_with_candidate) < len(small.undecidable)
    for key in small.undecidable:
        order = orders[key]
        fitting = [p for p in in_scope[order.scope] if _fits(small.people[p], order)]
        before = any(first_order[(order.scope, p)] < position[key] for p in fitting)
        assert before == (key in small.undecidable_with_candidate), (key, order)


def test_o2_every_phenomenon_is_generated_in_a_10k_stream(ten_k: Stream) -> None:
    summary = ten_k.summary()
    assert len(summary) > 50
    assert {k: v for k, v in summary.items() if not v > 0} == {}
    assert 0.15 <= summary["orders_without_email_share"] <= 0.25
    assert 0.005 <= summary["undecidable_share"] <= 0.05


def test_o2_phones_are_possible_numbers_and_every_order_phone_is_its_persons(small: Stream) -> None:
    for person in small.people.values():
        assert person.phones
        for e164 in person.phones:
            assert phonenumbers.is_possible_number(phonenumbers.parse(e164)), (person.person_id, e164)
    formats = set()
    for d in small.deliveries[:3000]:
        order, person = d.message.payload, small.people[d.person_id]
        if order.phone:
            parsed = phonenumbers.parse(order.phone, COUNTRY[order.scope])
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) in person.phones
            formats.add((person.country, order.phone.startswith(("+", "00"))))
    assert len(formats) == 10  # national and international, in every country


def test_o3_names_come_in_scripts_transliterations_and_namesakes(ten_k: Stream) -> None:
    written = defaultdict(set)
    for d in ten_k.deliveries:
        written[d.person_id].add(d.message.payload.last_name)
    foreign = [p for p in ten_k.people.values() if p.culture in ("ru", "el", "ja", "zh")]
    assert any(p.last_name in written[p.person_id] and set(p.last_latin) & written[p.person_id] for p in foreign)
    names = Counter((p.scope, _fold(p.first_name), _fold(p.last_name)) for p in ten_k.people.values())
    assert max(names.values()) >= 3
    same_postal = Counter(
        (p.scope, _fold(p.first_name), _fold(p.last_name), p.addresses[0].postal_code)
        for p in ten_k.people.values()
        if not p.household
    )
    assert max(same_postal.values()) >= 2
    assert any(p.addresses[0].postal_code.startswith("0") for p in ten_k.people.values() if p.country != "GB")


def test_o6_volume_is_skewed_with_bursts_of_new_people_and_people_in_two_scopes(ten_k: Stream) -> None:
    per_person = Counter(ten_k.truth.values())
    assert sum(n <= 2 for n in per_person.values()) > 0.3 * len(per_person)
    assert sum(n >= 20 for n in per_person.values()) >= 10
    firsts = []
    seen = set()
    for d in ten_k.deliveries:
        if d.order_key not in seen:
            seen.add(d.order_key)
            firsts.append(d)
    bursts = sum(
        1
        for a, b in pairwise(firsts)
        if a.person_id == b.person_id
        and (b.message.payload.placed_at - a.message.payload.placed_at).total_seconds() < 1
    )
    assert bursts >= 20
    scopes = defaultdict(set)
    for key, person_id in ten_k.truth.items():
        scopes[person_id].add(ten_k.scope_of[key])
    assert sum(len(s) > 1 for s in scopes.values()) >= 10


def test_o5_recall_within_scope_is_bounded_by_the_undecidable_orders_in_review(small: Stream) -> None:
    """O5 against the recall goal: an order in review links nothing, so the undecidable orders
    the issue wants in review cap recall within scope below 1; the scorer reports that ceiling.
    A perfect matcher (decidable orders on their person's customer, undecidable ones in review)
    reaches it exactly, and 1.0 on the decidable orders."""
    perfect = {
        k: Outcome(None, f"R-{k}") if k in small.undecidable else Outcome(f"{person}|{small.scope_of[k]}", None)
        for k, person in small.truth.items()
    }
    figures = score(small, perfect)
    assert figures["recall_within_scope_decidable"] == 1.0 and figures["precision_within_scope"] == 1.0
    assert figures["recall_within_scope"] == figures["recall_within_scope_ceiling"] < 1.0
