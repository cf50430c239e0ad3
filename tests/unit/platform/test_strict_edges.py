"""Security step 12 (findings 6, 7, 9, 10): every input read strictly at the edges, no I/O.

- bodies too large or nested too deeply are refused on their raw bytes (plumbing.bodies);
- paging cursors decode into plain typed values only (plumbing.cursors, the search cursor);
- person text and emails are NFKC without invisible characters (contracts.types, plumbing.normalize);
- links are https only (contracts.types);
- card numbers are refused in known fields, left out of unknown ones and masked wherever a
  payload's text is kept (contracts.upstream.cards, the order and commerce contracts).
"""

from __future__ import annotations

import base64
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from adapters.handlers import PLATFORM_ADAPTERS, UnreadablePayload, translate
from adapters.mapping import https_link
from adapters.settings import AdapterSettings
from contracts.customer.records import CreateScope, SearchInput
from contracts.types import OptionalHttpsLink, Text, visible_text
from contracts.upstream.cards import (
    CARD_NUMBER_REASON,
    card_numbers_in,
    luhn_valid,
    mask_card_numbers,
    redact_card_numbers_in_json,
)
from contracts.upstream.commerce import CartUpdated, PaymentMethodSaved
from contracts.upstream.orders import OrderPlaced, OrderShipped, PaymentRequested
from customer.records import search
from plumbing import cursors
from plumbing.bodies import UnreadableBody, check_body, nesting_depth_exceeds
from plumbing.dead_letters import describe_malformed
from plumbing.errors import Rejected
from plumbing.normalize import email_key, fold, normalize_email

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- bodies: size and depth, before any parser (P4, finding 7) ------------------------------------


def nested(depth: int, inner: str = '"x"') -> str:
    """``depth`` levels of alternating arrays and objects around ``inner``."""
    text = inner
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k":{text}}}'
    return text


def python_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((python_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((python_depth(v) for v in value), default=0)
    return 0


@FAST
@given(depth=st.integers(min_value=65, max_value=3000))
def test_p4_any_nesting_deeper_than_the_limit_is_refused_before_parsing(depth: int) -> None:
    with pytest.raises(UnreadableBody, match="nested deeper than 64"):
        check_body(nested(depth).encode())


@FAST
@given(depth=st.integers(min_value=0, max_value=64), filler=st.text(alphabet='[]{}"\\ab', max_size=30))
def test_p4_nesting_up_to_the_limit_passes_and_brackets_inside_strings_do_not_count(depth: int, filler: str) -> None:
    inner = json.dumps(filler)  # brackets, quotes and escapes inside a string are text
    body = nested(depth, inner).encode()
    check_body(body)
    assert python_depth(json.loads(body)) == depth


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=40,
)


@FAST
@given(value=json_values, limit=st.integers(min_value=1, max_value=12), ascii_only=st.booleans())
def test_p4_the_byte_scan_agrees_with_the_parsed_depth_of_any_json(value: Any, limit: int, ascii_only: bool) -> None:
    # \u escapes (json.dumps) or UTF-8 as it is (pydantic): the scan takes both
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth_exceeds(body, limit) == (python_depth(value) > limit)


def test_p4_too_large_and_unbalanced_bodies_are_unreadable_and_classified_malformed() -> None:
    with pytest.raises(UnreadableBody, match="larger than the limit"):
        check_body(b"[" + b"1," * 600 + b"1]", max_bytes=1024)
    with pytest.raises(UnreadableBody, match="do not pair up"):
        check_body(b"[" * 100_000)  # unclosed: json would recurse into it
    with pytest.raises(UnreadableBody, match="a string is not closed"):
        check_body(b"[" * 100_000 + b'"\\"]')  # the quote is escaped: the string never ends
    with pytest.raises(UnreadableBody) as caught:
        check_body(nested(5000).encode())
    reason, fields = describe_malformed(caught.value)
    assert reason == "body nested deeper than 64 levels" and fields[0].field == "body"
    assert describe_malformed(RecursionError()) is not None  # whatever else recurses: malformed too


def test_o8_a_webhook_body_too_deep_or_not_json_is_unreadable_not_an_error_of_the_adapter() -> None:
    shopify = PLATFORM_ADAPTERS["shopify"]
    for body in (nested(10_000).encode(), b"{" * 50_000, b"not json"):
        with pytest.raises(UnreadablePayload) as caught:
            translate(AdapterSettings(shopify_scope="eu-fr"), shopify, "orders/create", body)
        assert caught.value.fields[0].field == "body"


# --- cursors: plain values only (C11, C7, O5; finding 6) ------------------------------------------


def forged(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_c11_a_search_cursor_reads_back_what_it_wrote() -> None:
    query = SearchInput(name="dub")
    run = search.Run({}, "s.sn")
    cursor = search.encode_cursor({"_id": "C10007", "s": {"sn": "dubois chloe"}}, 0, run, query)
    position = search.decode_cursor(query.model_copy(update={"cursor": cursor}))
    assert position == search.Position(0, "s.sn", "dubois chloe", "C10007")
    dated = SearchInput(sort="created")
    cursor = search.encode_cursor(
        {"_id": "C1", "registered_at": search.datetime(2026, 1, 2, 3, 4)}, 0, search.Run({}, "registered_at"), dated
    )
    assert search.decode_cursor(dated.model_copy(update={"cursor": cursor})).value == search.datetime(2026, 1, 2, 3, 4)


@pytest.mark.parametrize(
    "values",
    [
        ["name", False, 0, "s.sn", {"$gt": ""}, "C1"],  # an operator where the sort value goes
        ["name", False, 0, "s.sn", "dubois", {"$where": "sleep(10000)"}],
        ["name", False, 0, "s.sn", {"$where": "sleep(10000)"}, "C1"],
        ["name", False, 0, "$where", "x", "C1"],  # a field no search sorts on
        ["name", False, 7, "s.sn", "x", "C1"],  # a run that does not exist
        ["name", "false", 0, "s.sn", "x", "C1"],  # a string where a boolean goes (strict)
        ["name", False, 0, "s.sn", ["x"], "C1"],
        ["name", False, 0, "s.sn", 12, "C1"],
        ["created", False, 0, "registered_at", "not a time", "C1"],
        ["last_activity", False, 0, "s.sn", "x", "C1"],  # another search's cursor
        {"sort": "name"},
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    ],
)
def test_c11_a_tampered_search_cursor_is_a_field_error_on_the_cursor_never_a_query(values: Any) -> None:
    with pytest.raises(Rejected) as caught:
        search.decode_cursor(SearchInput(cursor=forged(values)))
    assert caught.value.error.code == "validation"
    assert [f.field for f in caught.value.error.fields] == ["payload.cursor"]


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "x" * 2000, forged("[" * 900 + "]" * 900)[:1000]])
def test_c11_a_cursor_that_is_not_base64_json_or_too_long_is_a_field_error(cursor: str) -> None:
    with pytest.raises(Rejected) as caught:
        cursors.decode_cursor(cursor, TypeAdapter(tuple[str, str]))
    assert caught.value.error.fields[0].field == "payload.cursor"


@FAST
@given(value=json_values)
def test_c7_o5_c11_any_json_but_the_declared_plain_tuple_is_refused(value: Any) -> None:
    shape = TypeAdapter(tuple[search.datetime, str])
    if isinstance(value, list) and len(value) == 2:
        return  # may be well-formed by chance; the tuple shape itself is tested above
    with pytest.raises(Rejected):
        cursors.decode_cursor(forged(value), shape)


def test_c7_history_and_o5_review_cursors_refuse_operators() -> None:
    from customer.history.rules import decode_cursor as history_cursor

    for values in (["2026-11-20T09:00:00+00:00", {"$gt": ""}], [{"$gt": ""}, "order|x"], ["2026-11-20T09:00:00", "k"]):
        with pytest.raises(Rejected):
            history_cursor(forged(values))


# --- unicode at the edges (C1, C11; finding 9) -------------------------------------------------------

INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"  # bidi
    "\u00ad\x00\x07\x1b\x7f\x9b"
)  # soft hyphen, controls


@pytest.mark.parametrize("char", list(INVISIBLE))
def test_c1_every_zero_width_bidi_and_control_character_is_removed_from_person_text(char: str) -> None:
    assert visible_text(f"An{char}na") == "Anna"
    assert TypeAdapter(Text).validate_python(f" An{char}na ") == "Anna"


def test_c1_no_control_format_or_surrogate_character_is_printable() -> None:
    """visible_text keeps a printable string whole: no invisible character of any kind
    (Cc, Cf, Cs) in this Python's Unicode may be printable, or it would stay in."""
    invisible = [ch for ch in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(ch) in ("Cc", "Cf", "Cs")]
    assert len(invisible) > 2000 and not [ch for ch in invisible if ch.isprintable()]
    assert visible_text("Zoë\u200b Ødegård") == "Zoë Ødegård" and visible_text("Zoë Ødegård") == "Zoë Ødegård"


def test_c1_ordinary_whitespace_becomes_spaces_and_compatibility_forms_fold() -> None:
    assert visible_text("Anna\tMaria\nvon\u00a0Berg\u2028X") == "Anna Maria von Berg X"
    assert visible_text("ＡＮＮＡ ﬁ") == "ANNA fi"
    with pytest.raises(ValidationError):
        TypeAdapter(Text).validate_python("\u200b\u202e\u2066")  # nothing visible: blank


@FAST
@given(text=st.text(max_size=40))
def test_c1_visible_text_is_nfkc_without_control_or_format_characters_and_idempotent(text: str) -> None:
    clean = visible_text(text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in clean)
    assert visible_text(clean) == clean
    assert unicodedata.is_normalized("NFKC", clean)


@FAST
@given(
    name=st.text(alphabet=st.characters(categories=("Lu", "Ll")), min_size=1, max_size=12),
    hidden=st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=4),
    at=st.integers(min_value=0),
)
def test_c11_a_name_with_invisible_characters_folds_to_the_same_search_key(
    name: str, hidden: list[str], at: int
) -> None:
    cut = at % (len(name) + 1)
    assert fold(name[:cut] + "".join(hidden) + name[cut:]) == fold(name)


def test_c2_a_fullwidth_email_is_the_ascii_one() -> None:
    assert normalize_email("ａdmin@example.com") == "admin@example.com"
    assert normalize_email("ＡＤＭＩＮ@ＥＸＡＭＰＬＥ.ＣＯＭ").lower() == "admin@example.com"
    assert normalize_email("ad\u200bmin@example.com") == "admin@example.com"
    assert email_key("ａdmin@example.com") == email_key("Admin@Example.com") == "admin@example.com"


# --- links: https only (O7, C14; finding 9) ---------------------------------------------------------

LINK = TypeAdapter(OptionalHttpsLink)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "http://track.example.com/1",
        "//evil.example/x",
        "/track/1",
        "track.example.com/1",
        "https://",
        "https:///path",
        "https://user:pw@evil.example/",
        'https://a.example/"onmouseover="x',
        "https://a.example/<script>",
        "https:\\\\evil.example",
        "ftp://x.example",
        "https://a.example:99999/",
    ],
)
def test_o7_a_link_that_is_not_https_to_a_host_is_refused(link: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LINK.validate_python(link)
    assert caught.value.errors()[0]["type"] == "https_link"


@pytest.mark.parametrize(
    "link",
    [
        "https://track.example.com/JD0123456789",
        "https://pay.example.com/P?id=1&lang=fr#top",
        "HTTPS://EXAMPLE.COM/x",
        "https://münchen.example/x",
        "https://a.example:8443/x",
    ],
)
def test_o7_https_links_pass_unchanged(link: str) -> None:
    assert LINK.validate_python(link) == link


@FAST
@given(scheme=st.from_regex(r"[a-zA-Z][a-zA-Z0-9+.-]{0,10}", fullmatch=True), rest=st.text(max_size=30))
def test_o7_any_other_scheme_is_refused(scheme: str, rest: str) -> None:
    if scheme.lower() == "https":
        return
    with pytest.raises(ValidationError):
        LINK.validate_python(f"{scheme}:{rest}" if rest.strip() else f"{scheme}:x")


def test_o7_c2_tracking_payment_and_account_links_are_refused_by_field() -> None:
    ref = {"source_system": "s", "order_number": "O-1", "scope": "eu-fr"}
    with pytest.raises(ValidationError) as caught:
        OrderShipped.model_validate(
            {
                "producer": "p",
                "payload": {
                    **ref,
                    "shipment_id": "S1",
                    "tracking_url": "javascript:alert(1)",
                    "shipped_at": "2026-11-20T09:00:00Z",
                },
            }
        )
    assert caught.value.errors()[0]["loc"] == ("payload", "tracking_url")
    with pytest.raises(ValidationError) as caught:
        PaymentRequested.model_validate(
            {
                "producer": "p",
                "payload": {
                    **ref,
                    "payment_id": "P1",
                    "amount": "1",
                    "currency": "EUR",
                    "payment_url": "data:text/html,x",
                    "requested_at": "2026-11-20T09:00:00Z",
                },
            }
        )
    assert caught.value.errors()[0]["loc"] == ("payload", "payment_url")
    with pytest.raises(ValidationError) as caught:
        CreateScope.model_validate(
            {
                "producer": "p",
                "payload": {"scope_id": "eu-fr", "name": "FR", "country": "FR", "account_url": "javascript:alert(1)//"},
            }
        )
    assert caught.value.errors()[0]["loc"] == ("payload", "account_url")


def test_o8_a_platforms_http_tracking_page_is_left_out_not_the_shipment() -> None:
    assert https_link("http://www.google.com/search?q=1Z2345") is None
    assert https_link("https://track.example/1") == "https://track.example/1"


# --- card numbers anywhere in an order or commerce message (O1, C7; finding 10) ----------------------


@st.composite
def card_numbers(draw: Any) -> str:
    """A Luhn-valid number of a major network: 13 to 19 digits, first digit 2 to 6."""
    length = draw(st.integers(min_value=13, max_value=19))
    body = str(draw(st.integers(min_value=2, max_value=6))) + "".join(
        str(draw(st.integers(min_value=0, max_value=9))) for _ in range(length - 2)
    )
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("a check digit always exists")


def spaced(number: str, separator: str) -> str:
    return separator.join(number[i : i + 4] for i in range(0, len(number), 4)) if separator else number


# No digits (they would make another number) and no lone surrogates (no JSON document carries one).
not_digits = st.text(alphabet=st.characters(exclude_categories=("Nd", "Cs")), max_size=20)


@FAST
@given(number=card_numbers(), separator=st.sampled_from(["", " ", "-"]), before=not_digits, after=not_digits)
def test_o1_c7_any_card_number_in_any_text_is_found_and_masked_to_its_last_four(
    number: str, separator: str, before: str, after: str
) -> None:
    text = f"{before}{spaced(number, separator)}{after}"
    assert card_numbers_in(text) == [number]
    masked = mask_card_numbers(text)
    assert not card_numbers_in(masked) and masked.startswith(before) and masked.endswith(after)
    assert "".join(ch for ch in masked if ch in "0123456789") == number[-4:]  # the last four digits, no more


@FAST
@given(
    number=card_numbers(),
    separator=st.sampled_from(["", " ", "-"]),
    key=st.sampled_from(["note", "notes", "customer_note", "card", "x"]),
    before=not_digits,
)
def test_o1_any_card_number_in_an_unknown_field_or_note_is_redacted_in_kept_copies(
    number: str, separator: str, key: str, before: str
) -> None:
    body = json.dumps(
        {
            "message_id": "m1",
            "payload": {
                "order_number": number,
                "lines": [{"sku": number}],
                key: f"{before}{spaced(number, separator)}",
                "deep": {"n": [int(number)]},
            },
        }
    ).encode()
    redacted = json.loads(redact_card_numbers_in_json(body))
    assert redacted["payload"]["order_number"] == number and redacted["payload"]["lines"][0]["sku"] == number
    kept = redacted["payload"][key]
    assert not card_numbers_in(kept) and "".join(ch for ch in kept if ch in "0123456789") == number[-4:]
    assert not card_numbers_in(json.dumps(redacted["payload"]["deep"]))


def test_o1_a_body_without_card_numbers_is_kept_byte_for_byte() -> None:
    body = b'{"payload": {"total": 59.70,   "order_number": "4111111111111111"}}'
    assert redact_card_numbers_in_json(body) is body
    assert b"4111 1111" not in redact_card_numbers_in_json(b'{"a": ["4111 1111 1111 1111"' + b"]" * 1)


EXAMPLE_ORDER = Path(__file__).resolve().parents[3] / "contracts" / "examples" / "order-placed.v1.json"


def order_payload(**changes: Any) -> dict[str, Any]:
    """The contract's example order (no customer id), with ``changes``. (Read here, not from the
    integration tests' helper: importing those loads the services and their fixtures.)"""
    raw = json.loads(EXAMPLE_ORDER.read_text(encoding="utf-8"))
    raw["payload"].update(order_number="EU-1", source_customer_id=None)
    return {**OrderPlaced.model_validate(raw).payload.model_dump(mode="json"), **changes}


def test_o1_a_card_number_in_a_known_order_field_is_refused_by_field() -> None:
    for field in ("first_name", "last_name", "email"):
        with pytest.raises(ValidationError) as caught:
            OrderPlaced.model_validate({"producer": "p", "payload": order_payload(**{field: "4111 1111 1111 1111"})})
        (error,) = caught.value.errors()
        assert error["loc"] == ("payload", field) and error["msg"] == CARD_NUMBER_REASON
        assert "4111" not in str(caught.value)
    lines = order_payload()["lines"]
    with pytest.raises(ValidationError) as caught:
        OrderPlaced.model_validate(
            {"producer": "p", "payload": order_payload(lines=[{**lines[0], "name": "gift card 5555 5555 5555 4444"}])}
        )
    assert caught.value.errors()[0]["loc"] == ("payload", "lines", 0, "name")


def test_o1_an_optional_field_with_a_card_number_is_set_aside_and_an_unknown_one_left_out_with_a_note() -> None:
    payload = order_payload(
        note="pay with 4111 1111 1111 1111 please",
        billing_address={
            **order_payload()["billing_address"],
            "line2": "4111111111111111",
            "card": "5555-5555-5555-4444",
        },
    )
    placed = OrderPlaced.model_validate({"producer": "p", "payload": payload})
    dumped = placed.model_dump_json()
    assert "1111 1111" not in dumped and "4111111111111111" not in dumped and "5555-5555" not in dumped
    assert placed.payload.billing_address.line2 is None
    notes = placed.payload.set_aside
    assert any(n.startswith("note (a field this contract does not know) left out") for n in notes)
    assert any(n.startswith("billing_address.card (a field") for n in notes)
    assert any(n.startswith("billing_address.line2 (str) set aside: looks like a full card number") for n in notes)
    assert not any(card_numbers_in(n) for n in notes)


def test_o1_c7_ids_phones_and_tracking_numbers_are_not_card_numbers() -> None:
    """A 13-19 digit Shopify id, EAN SKU or 13-digit phone passes Luhn one time in ten."""
    placed = OrderPlaced.model_validate(
        {
            "producer": "p",
            "payload": order_payload(
                order_number="4111111111111111", source_customer_id="5555555555554444", phone="+49 1512 3456789"
            ),
        }
    )
    assert placed.payload.order_number == "4111111111111111"
    cart = {
        "source_system": "shop",
        "source_customer_id": "4111111111111111",
        "scope": "eu-fr",
        "cart_id": "5555555555554444",
        "total": "1",
        "currency": "EUR",
        "updated_at": "2026-11-20T09:00:00Z",
        "lines": [{"sku": "4006381333931", "name": "pen", "quantity": 1, "unit_price": "1", "total": "1"}],
    }
    assert CartUpdated.model_validate({"producer": "p", "payload": cart}).payload.cart_id == "5555555555554444"


def test_o1_c7_a_card_number_beside_ids_and_phones_is_still_found_when_read_as_json() -> None:
    """An order with no run of card-number length outside ids and phones is read without a
    check per field (``cards.reading``); one card number anywhere else brings every check back."""
    clean = order_payload(source_customer_id="7485771028379", phone="0044 161 2779149")
    placed = OrderPlaced.model_validate_json(json.dumps({"producer": "p", "payload": clean}))
    assert placed.payload.set_aside == ()
    for changes, loc in (
        ({"first_name": "4111 1111 1111 1111"}, ("payload", "first_name")),
        ({"phone": "4111 1111 1111 1111"}, ("payload", "phone")),
    ):
        with pytest.raises(ValidationError) as caught:
            OrderPlaced.model_validate_json(json.dumps({"producer": "p", "payload": {**clean, **changes}}))
        assert caught.value.errors()[0]["loc"] == loc
    unknown = {**clean, "gift": {"card": 4111111111111111}}
    kept = OrderPlaced.model_validate_json(json.dumps({"producer": "p", "payload": unknown}))
    assert any(n.startswith("gift.card (a field this contract does not know) left out") for n in kept.payload.set_aside)


def test_o1_a_phone_field_refuses_only_a_run_longer_than_any_phone_number() -> None:
    base = "551191234567"  # a Brazilian mobile with its country code: 13 digits from 5
    check = next(c for c in "0123456789" if luhn_valid(base + c))
    phone = f"+55 11 91234-567{check}"
    assert card_numbers_in(phone)  # it passes the card check...
    placed = OrderPlaced.model_validate({"producer": "p", "payload": order_payload(phone=phone)})
    assert placed.payload.phone == phone  # ...and is a phone all the same
    with pytest.raises(ValidationError) as caught:
        OrderPlaced.model_validate({"producer": "p", "payload": order_payload(phone="4111 1111 1111 1111")})
    assert caught.value.errors()[0]["loc"] == ("payload", "phone")
    body = json.dumps({"payload": {"phone": phone, "billing_address": {"phone": "4111111111111111"}}}).encode()
    redacted = json.loads(redact_card_numbers_in_json(body))
    assert redacted["payload"]["phone"] == phone and redacted["payload"]["billing_address"]["phone"].endswith("1111")
    assert not card_numbers_in(redacted["payload"]["billing_address"]["phone"])


def test_c7_commerce_still_refuses_a_card_number_in_a_field_it_does_not_know() -> None:
    saved = {
        "source_system": "shop",
        "source_customer_id": "c1",
        "scope": "eu-fr",
        "token": "tok_1",
        "brand": "visa",
        "saved_at": "2026-11-20T09:00:00Z",
        "pan": "4111111111111111",
    }
    with pytest.raises(ValidationError) as caught:
        PaymentMethodSaved.model_validate({"producer": "shop", "payload": saved})
    assert "pan" in caught.value.errors()[0]["msg"]
