"""I5: console times in the staff member's zone, labelled (gateway/local_time.py), no server."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.local_time import ZONES, known_zone, local_day, local_when, rendering_in, zone_name

AT = datetime(2026, 12, 4, 20, 36, 5, tzinfo=UTC)


def test_i5_a_time_shows_in_the_chosen_zone_with_its_label_and_utc_otherwise() -> None:
    assert local_when(AT) == "2026-12-04 20:36 UTC" and zone_name() == "UTC"
    with rendering_in("Asia/Kolkata"):
        assert local_when(AT) == "2026-12-05 02:06 IST"  # the next day there
        assert local_day(AT) == "2026-12-05" and zone_name() == "Asia/Kolkata"
        # Services answer some times as ISO strings, some without a zone: both are UTC.
        assert local_when("2026-12-04T20:36:05+00:00", seconds=True) == "2026-12-05 02:06:05 IST"
        assert local_when(datetime(2026, 12, 4, 20, 36)) == "2026-12-05 02:06 IST"
    with rendering_in("America/New_York"):
        assert local_when(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "2026-07-01 08:00 EDT"  # summer time
    assert zone_name() == "UTC"  # each page in its own zone, none left behind


def test_i5_unknown_zones_fall_back_to_utc_and_empty_times_stay_empty() -> None:
    assert known_zone("Mars/Olympus_Mons") == "UTC" and known_zone(None) == "UTC"
    assert "Europe/Paris" in ZONES and ZONES[0] == "UTC" and "localtime" not in ZONES
    with rendering_in("../../etc/passwd"):
        assert zone_name() == "UTC"
    assert local_when(None) == "" and local_when("") == "" and local_when("not a time") == "not a time"
