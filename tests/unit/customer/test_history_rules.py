"""Rules of history and stores (C6, C7) and the card-number guard of the commerce contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.order_sync.linking import OrderLinked, OrderSummary
from contracts.upstream.commerce import (
    CARD_NUMBER_REASON,
    CartUpdated,
    PaymentMethodSaved,
    card_numbers_in,
    luhn_valid,
    mask_card_numbers,
)
from customer.history.rules import (
    OrderNews,
    apply_dated,
    apply_order,
    apply_order_news,
    apply_payment,
    count_order,
    decode_cursor,
    delete_payment_method,
    encode_cursor,
    order_entry_id,
    rank_stores,
    recount_orders,
)
from customer.records.rules import Customer
from plumbing.errors import Rejected

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- card numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "card: 5555555555554444, thanks",
        "378282246310005",
        "6011111111111117",
        "4222222222222",  # Amex 15, Discover 16, Visa 13 digits
    ],
)
def test_c7_full_card_numbers_are_found(text: str) -> None:
    assert card_numbers_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails the Luhn check
        "411111111111",  # 12 digits
        "41111111111111111111",  # 20 digits: an id, not a card
        "8415995487234108",  # passes Luhn, but no card network starts with 8 (a PSP reference)
        "tok_4242",
        "•••• 4242",
        "EU-100234",
        "+33 6 12 34 56 78",
        "2026-11-20 09:14:01",
    ],
)
def test_c7_other_numbers_are_not_card_numbers(text: str) -> None:
    assert not card_numbers_in(text)


def test_c7_luhn_check() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_c7_masking_keeps_the_last_four_digits_and_the_rest_of_the_text() -> None:
    assert mask_card_numbers('{"token": "4111 1111 1111 1111", "id": "1234567890123"}') == (
        '{"token": "**** **** **** 1111", "id": "1234567890123"}'
    )


SAVED = {
    "source_system": "shop",
    "source_customer_id": "c1",
    "scope": "eu-fr",
    "token": "tok_1",
    "brand": "visa",
    "last4": "4242",
    "expiry_month": 12,
    "expiry_year": 2030,
    "saved_at": "2026-11-20T09:00:00Z",
}


def test_c7_a_card_number_in_any_field_is_refused_by_field() -> None:
    PaymentMethodSaved.model_validate({"producer": "shop", "payload": SAVED})
    with pytest.raises(ValidationError) as caught:
        PaymentMethodSaved.model_validate({"producer": "shop", "payload": {**SAVED, "token": "4111111111111111"}})
    (error,) = caught.value.errors()
    assert error["loc"] == ("payload", "token") and error["msg"] == CARD_NUMBER_REASON
    assert "4111" not in str(caught.value), "the number never reaches a log line"
    with pytest.raises(ValidationError) as caught:
        PaymentMethodSaved.model_validate({"producer": "shop", "payload": {**SAVED, "pan": "4111111111111111"}})
    assert "pan" in caught.value.errors()[0]["msg"]  # a field the contract does not know
    cart = {
        "source_system": "shop",
        "source_customer_id": "c1",
        "scope": "eu-fr",
        "cart_id": "K1",
        "total": "1",
        "currency": "EUR",
        "updated_at": "2026-11-20T09:00:00Z",
        "lines": [{"name": "gift 5555 5555 5555 4444", "quantity": 1, "unit_price": "1", "total": "1"}],
    }
    with pytest.raises(ValidationError) as caught:
        CartUpdated.model_validate({"producer": "shop", "payload": cart})
    assert caught.value.errors()[0]["loc"] == ("payload", "lines", 0, "name")


def test_c7_a_payment_method_has_no_card_number_field_and_last4_is_four_digits() -> None:
    assert "card_number" not in PaymentMethodSaved.model_fields["payload"].annotation.model_fields
    with pytest.raises(ValidationError):
        PaymentMethodSaved.model_validate({"producer": "shop", "payload": {**SAVED, "last4": "42424"}})


# --- orders and stores ----------------------------------------------------------------------------


def summary(status: str, store_id: str | None = "paris-3") -> dict:
    return {
        "source_system": "shop",
        "order_number": "O-1",
        "scope_id": "eu-fr",
        "status": status,
        "total": "59.70",
        "currency": "EUR",
        "placed_at": T0.isoformat(),
        "store_id": store_id,
    }


def test_c7_an_order_takes_the_newest_status_whatever_the_order_of_arrival() -> None:
    first = apply_order(None, "C1", summary("shipped"), event_at=at(10), now=at(11))
    assert first.new_order and first.entry["fields"]["status"] == "shipped"
    late = apply_order(
        first.entry,
        "C1",
        summary("confirmed"),
        event_at=at(1),
        now=at(12),
        shipment={"shipment_id": "S1", "shipped_at": at(5).isoformat()},
    )
    assert not late.new_order
    assert late.entry["fields"]["status"] == "shipped", "an older event does not roll the status back"
    assert [s["shipment_id"] for s in late.entry["fields"]["shipments"]] == ["S1"]
    again = apply_order(
        late.entry,
        "C1",
        summary("shipped"),
        event_at=at(10),
        now=at(13),
        shipment={"shipment_id": "S1", "shipped_at": at(5).isoformat()},
    )
    assert len(again.entry["fields"]["shipments"]) == 1, "a shipment delivered twice is kept once"
    assert again.entry["at"] == T0 and again.entry["_id"] == "order|shop|O-1"


def test_c7_a_shipment_published_after_a_status_change_does_not_roll_the_status_back() -> None:
    """Order-sync handles an order's events side by side: the shipment it publishes last may
    carry the summary it read before the status change it published first."""
    linked = apply_order(None, "C1", summary("confirmed"), event_at=at(1), now=at(1))
    status = apply_order(linked.entry, "C1", summary("shipped"), event_at=at(10), now=at(10))
    shipped = apply_order(
        status.entry,
        "C1",
        summary("confirmed"),
        event_at=at(11),
        now=at(11),
        shipment={"shipment_id": "S1", "shipped_at": at(9).isoformat()},
    )
    assert shipped.entry["fields"]["status"] == "shipped"
    assert [s["shipment_id"] for s in shipped.entry["fields"]["shipments"]] == ["S1"]


def test_c6_stores_rank_by_orders_then_by_the_latest_order() -> None:
    stores: list[dict] = []
    for minutes, store in ((0, "lyon-1"), (1, "paris-3"), (2, "paris-3"), (3, "nice-2"), (4, None)):
        stores = rank_stores(stores, store, at(minutes))
    assert [(s["store_id"], s["orders"]) for s in stores] == [("paris-3", 2), ("nice-2", 1), ("lyon-1", 1)]
    assert [s["store_id"] for s in rank_stores(stores, "lyon-1", at(5))][:2] == ["lyon-1", "paris-3"]


def test_c6_only_the_most_used_stores_are_kept() -> None:
    stores: list[dict] = []
    for n in range(12):
        stores = rank_stores(stores, f"s{n}", at(n), cap=10)
    stores = rank_stores(stores, "s0", at(20), cap=10)  # pushed out before: back with one order
    assert len(stores) == 10 and stores[0]["store_id"] == "s0" and "s2" not in {s["store_id"] for s in stores}


def test_c6_c7_counting_an_order() -> None:
    counted = count_order({"order_count": 2, "last_order_at": at(30), "stores": []}, at(10), "paris-3")
    assert counted["order_count"] == 3 and counted["last_order_at"] == at(30)  # an older order arriving late
    assert count_order({}, at(10), None) == {"order_count": 1, "last_order_at": at(10), "stores": []}


def order_news(code: str, number: str, status: str, minutes: int, message_id: str | None = None) -> OrderNews:
    order = OrderSummary(
        source_system="shop",
        order_number=number,
        scope_id="eu-fr",
        status=status,
        total=Decimal("10"),
        currency="EUR",
        placed_at=at(minutes),
        store_id="paris-3",
    )
    payload = {"customer_code": code, "rule": "email", "customer_created": False, "order": order}
    message: Envelope = OrderLinked(producer="order-sync", payload=payload, occurred_at=at(minutes))
    if message_id:
        message = message.model_copy(update={"message_id": message_id})
    return OrderNews(message, code, order)


def test_c6_c7_a_batch_of_order_events_applies_each_once_and_counts_each_new_order_once() -> None:
    anna = Customer({"_id": "C1", "version": 3, "order_count": 1, "stores": []})
    news = [
        order_news("C1", "O-1", "confirmed", 1, "m1"),
        order_news("C9", "O-9", "confirmed", 1, "m9"),  # no such customer
        order_news("C1", "O-1", "shipped", 2, "m2"),
        order_news("C1", "O-1", "confirmed", 1, "m1"),  # delivered twice in the batch
        order_news("C1", "O-2", "confirmed", 3, "m3"),
        order_news("C1", "O-3", "confirmed", 4, "m4"),
    ]
    inbox_ids = [f"customer:{n.message.message_id}" for n in news]
    done = apply_order_news(news, inbox_ids, {"customer:m4"}, {"C1": anna}, {}, now=at(5))
    assert [f.error.code if f else None for f in done.failures] == [None, "not_found", None, None, None, None]
    assert done.applied == ["customer:m1", "customer:m2", "customer:m3"]  # m4 was applied before
    assert set(done.entries) == {order_entry_id(news[0].order), order_entry_id(news[4].order)}
    assert done.entries["order|shop|O-1"]["fields"]["status"] == "shipped"  # the newest event's
    assert done.counters["C1"]["order_count"] == 3 and done.counters["C1"]["last_order_at"] == at(3)
    assert anna.doc["order_count"] == 3  # the next batch's orders count on it


def saved_visa() -> dict:
    """A payment method saved at T0: shop|tok of C1."""
    return apply_dated(
        None,
        "payment_method",
        "shop|tok",
        "C1",
        changed_at=at(0),
        at=at(0),
        active=True,
        fields={"token": "tok", "brand": "visa"},
        now=at(0),
    )


def test_c7_a_csr_deletes_only_an_active_payment_method_of_the_customer_and_leaves_a_tombstone() -> None:
    saved = saved_visa()
    deleted = delete_payment_method(saved, "C1", "shop|tok", deleted_by="csr-7", reason="asked by phone", at=at(5))
    assert deleted["active"] is False and deleted["fields"]["brand"] == "visa"
    assert (deleted["fields"]["deleted_by"], deleted["fields"]["deleted_at"]) == ("csr-7", at(5).isoformat())
    for existing, code in ((None, "C1"), (saved, "C2"), (deleted, "C1")):
        with pytest.raises(Rejected) as caught:
            delete_payment_method(existing, code, "shop|tok", deleted_by="csr-7", reason=None, at=at(6))
        assert caught.value.error.code == "not_found" and caught.value.error.fields[0].field == "payload.token"
    with pytest.raises(Rejected) as ahead:  # the entry changed after now: a clock elsewhere is ahead
        delete_payment_method(saved, "C1", "shop|tok", deleted_by="csr-7", reason=None, at=at(-1))
    assert ahead.value.error.code == "conflict"


# --- payments, carts, payment methods -------------------------------------------------------------


def test_c7_a_payment_received_stays_received_when_its_request_comes_late() -> None:
    order = {"source_system": "shop", "order_number": "O-1"}
    paid = apply_payment(
        None,
        "C1",
        order,
        {"payment_id": "P1", "amount": "5", "currency": "EUR", "method": "visa", "at": at(20).isoformat()},
        received=True,
        now=at(21),
    )
    both = apply_payment(
        paid,
        "C1",
        order,
        {
            "payment_id": "P1",
            "amount": "5",
            "currency": "EUR",
            "payment_url": "https://pay.test",
            "at": at(10).isoformat(),
        },
        received=False,
        now=at(22),
    )
    assert both["fields"]["status"] == "received" and both["fields"]["payment_url"] == "https://pay.test"
    assert both["at"] == at(10)


def test_c7_a_removed_payment_method_is_not_brought_back_by_an_older_save() -> None:
    saved = saved_visa()
    removed = apply_dated(
        saved,
        "payment_method",
        "shop|tok",
        "C1",
        changed_at=at(5),
        at=None,
        active=False,
        fields={"removed_at": at(5).isoformat()},
        now=at(5),
    )
    assert removed["active"] is False and removed["fields"]["brand"] == "visa" and removed["at"] == at(0)
    assert (
        apply_dated(
            removed,
            "payment_method",
            "shop|tok",
            "C1",
            changed_at=at(1),
            at=at(1),
            active=True,
            fields={"token": "tok"},
            now=at(6),
        )
        is None
    )


def test_c7_history_cursor_round_trips_and_a_forged_one_is_a_field_error() -> None:
    entry = {"_id": "order|shop|O-1", "at": T0}
    assert decode_cursor(encode_cursor(entry)) == (T0, "order|shop|O-1")
    with pytest.raises(Rejected) as caught:
        decode_cursor("not-a-cursor")
    assert caught.value.error.fields[0].field == "payload.cursor"


def test_c6_c7_c13_counting_again_from_the_order_entries() -> None:
    """After an unmerge gives orders back, counts and stores come from the entries left."""
    entries = [
        {"at": at(minutes), "fields": {"store_id": store}}
        for minutes, store in ((5, "paris-3"), (1, "lyon-1"), (3, "paris-3"), (9, None))
    ]
    counted = recount_orders(entries)
    assert counted["order_count"] == 4 and counted["last_order_at"] == at(9)
    assert [(s["store_id"], s["orders"]) for s in counted["stores"]] == [("paris-3", 2), ("lyon-1", 1)]
    assert recount_orders([]) == {"order_count": 0, "last_order_at": None, "stores": []}


def test_c7_o1_dead_letters_mask_card_numbers_of_commerce_messages_and_keep_orders_byte_for_byte() -> None:
    from order_sync.handlers import mask_card_numbers_in_body

    card = b'{"payload": {"token": "4111 1111 1111 1111"}}'
    assert b"4111 1111 1111 1111" not in mask_card_numbers_in_body("commerce.payment-method-saved.v1", card)
    order = b'{"payload": {"order_number": "4111111111111111"}}'  # a long platform id passing Luhn
    assert mask_card_numbers_in_body("order.order-placed.v1", order) == order
