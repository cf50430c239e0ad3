"""Creating several customers at once (customer/records/rules.py): how an import batch is cut
into transactions (C17) and which attempts read the keys and emails already taken first (C1,
C17, O3). No server."""

from __future__ import annotations

from customer.records.rules import creation_attempts, import_parts


def test_c17_a_long_import_goes_in_parts_of_at_most_the_part_size_the_last_with_the_rest() -> None:
    assert import_parts(450, 200) == [(0, 200), (200, 400), (400, 450)]
    assert import_parts(1000, 500) == [(0, 500), (500, 1000)]  # the largest batch: two transactions
    assert import_parts(1001, 500) == [(0, 500), (500, 1000), (1000, 1001)]
    for rows, size in ((450, 200), (1000, 500), (7, 3), (501, 500)):
        parts = import_parts(rows, size)
        assert [start for start, _ in parts] == [0, *(stop for _, stop in parts[:-1])]  # no gap, no overlap
        assert parts[-1][1] == rows and all(0 < stop - start <= size for start, stop in parts)


def test_c17_a_short_batch_or_one_applied_before_is_one_part() -> None:
    assert import_parts(500, 500) == [(0, 500)]
    assert import_parts(3, 500) == [(0, 3)]
    assert import_parts(0, 500) == [(0, 0)]
    assert import_parts(1000, None) == [(0, 1000)]  # applied before: it answers what it kept, at once


def test_c1_c17_o3_an_import_tries_first_without_reading_keys_and_emails_a_batch_of_orders_never() -> None:
    assert creation_attempts(one_event=True) == (False, True, True)
    assert creation_attempts(one_event=False) == (True, True)
