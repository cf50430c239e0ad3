"""Times on console pages in the staff member's own time zone, each labelled (I5).

Services keep and answer every time in UTC. A staff member picks an IANA zone once
(``/preferences``, kept on their staff account); ``console.page`` renders each page in it, and
templates show a time with ``local_when`` ("2026-12-04 10:06 CET") or a day with
``local_day``. A zone no longer known (tzdata dropped it) falls back to UTC, labelled so.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any

DEFAULT_ZONE = "UTC"
#: Zones a staff member may pick: the IANA "Area/Location" names, and UTC.
ZONES: tuple[str, ...] = (
    DEFAULT_ZONE,
    *sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))),
)
_KNOWN = frozenset(ZONES)

_zone_name: ContextVar[str] = ContextVar("console_time_zone", default=DEFAULT_ZONE)


def known_zone(name: str | None) -> str:
    """``name`` if it is a zone on offer, else UTC."""
    return name if name in _KNOWN else DEFAULT_ZONE


@cache
def _zone(name: str) -> tzinfo:
    return UTC if name == DEFAULT_ZONE else zoneinfo.ZoneInfo(name)


@contextmanager
def rendering_in(name: str | None) -> Iterator[None]:
    """Render what runs inside in zone ``name`` (one page)."""
    token = _zone_name.set(known_zone(name))
    try:
        yield
    finally:
        _zone_name.reset(token)


def zone_name() -> str:
    return _zone_name.get()


def local(t: datetime | str | None) -> datetime | None:
    """``t`` (a datetime, or an ISO 8601 string as some services answer) in the page's zone;
    a time without a zone is UTC, as every service keeps it."""
    if t is None or t == "":
        return None
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t)
        except ValueError:
            return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(_zone(zone_name()))


def local_when(t: Any, seconds: bool = False) -> str:
    """'2026-12-04 10:06 CET': the day, the time and the zone's abbreviation (or offset)."""
    shown = local(t)
    if shown is None:
        return "" if t in (None, "") else str(t)
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def local_clock(t: Any) -> str:
    """'10:06:03 CET': a time of today, such as when a figure was counted."""
    shown = local(t)
    return shown.strftime("%H:%M:%S %Z") if shown else ""


def local_day(t: Any) -> str:
    """'2026-12-04': the day it was where the staff member is (the column says which zone)."""
    shown = local(t)
    return shown.strftime("%Y-%m-%d") if shown else ""


def install(env: Any) -> None:
    """Offer the helpers to every template of ``env``."""
    env.globals.update(
        local_when=local_when, local_clock=local_clock, local_day=local_day, zone_name=zone_name, time_zones=ZONES
    )
