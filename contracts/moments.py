"""Dates and times as exports and older platforms write them -> ISO 8601 (O1).

The contract's time fields read RFC 3339 (and a date alone, or a time without an offset, as
UTC). Exports write more: a date day or month first where that is plain (``20.11.2026
09:14``, ``20/11/2026``, ``11/20/2026``; dots are never written month first), Ruby's and
Rails' ``2026-11-20 09:14:00 +0100``, PHP's and email's ``Fri, 20 Nov 2026 09:14:00 +0100``,
a US spreadsheet's ``Nov 20, 2026 9:14 PM``, a zone's abbreviation (``09:14 CET``) or IANA
name (``17:42 Europe/Berlin``, RFC 9557's ``17:42:08[Europe/Berlin]``), ``2026/11/20``, a
month's name in a scope's language or a neighbour's (``20 novembre 2026``, ``20. November
2026 um 09:14``, ``20 de noviembre de 2026``, ``20 listopada 2026``, ``20 ноября 2026``),
``2026年11月20日 午後5時42分``, ``2026년 11월 20일 오후 5:42``; digits of any script
(``２０２６－１１－２０``, ``٢٠٢٦-١١-٢٠``). ``moment_text`` reads the plain day-or-month-first
dates itself and the others with python-dateutil, month and weekday names being CLDR's
(Babel's data) for ``READING_LOCALES``, and only where the text names one moment: a year of
four digits, or of two after the day and month (``20.11.26``, ``20-NOV-26``: 2026), a month
and a day present (no part of the date taken from anywhere else), and the same reading day
first or month first (``05/11/2026`` could be either: refused by the field). A zone's
abbreviation is read where it names one offset (``CST`` is the US's and China's, ``IST``
India's and Ireland's: refused). Anything else is left as written for the field to judge.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

#: Read by the datetime type itself (and fast): left alone.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.I)
_YEAR = re.compile(r"(?<!\d)(?:1[89]|2\d)\d{2}(?!\d)")
#: Chinese, Japanese and Korean dates: 2026年11月20日 09:14, 2026년 11월 20일 오후 5:42,
#: 2026年11月20日(金) 午後5時42分.
_CJK = re.compile(
    r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]"
    r"(?:\s*(?:[(（][^)）]*[)）])?\s*(午前|午後|上午|下午|오전|오후)?\s*"
    r"(\d{1,2})\s*[:時시点點]\s*(\d{1,2})\s*[:分분]?(?:\s*(\d{1,2})\s*[秒초]?)?)?\s*"
)
#: The afternoon's markers (before noon: 午前, 上午, 오전).
_AFTERNOON = ("午後", "下午", "오후")

#: The languages whose month and weekday names are read: the scopes', their neighbours' and
#: the large markets' whose exports write the month's name (genitive and stand-alone forms
#: both: 'ноября', 'listopadu', 'marraskuuta').
READING_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb", "cs", "fi", "ro", "tr", "el",
                   "ru", "ar")  # fmt: skip
#: Words between a date's parts: 'de' (20 de noviembre), 'um' and 'à' (at), 'kl.' (klokken),
#: 'Uhr' (o'clock), 'hs' (horas), 'г.' (год, year).
_JOINING_WORDS = ["de", "del", "à", "às", "um", "le", "el", "om", "kl", "klo", "alle", "ore", "o", "uhr", "hs", "г"]

#: Abbreviations of time zones that name one offset (hours). Not CST (US Central, China), IST
#: (India, Ireland, Israel), AST (Atlantic, Arabia); BST is British Summer Time, as UK shops write it.
ZONE_OFFSETS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "CEST": 2, "MEZ": 1,
    "MESZ": 2, "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6,
    "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8,
    "AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5, "AWST": 8, "NZST": 12, "NZDT": 13,
}  # fmt: skip

#: Two defaults that differ in every part of a date: a part read from neither tells that the
#: text lacks it.
_DEFAULTS = (datetime(1901, 1, 1), datetime(1902, 2, 2))


class _UnknownZone(ValueError):
    pass


def _zone(name: str | None, offset: int | None) -> Any:
    """dateutil's ``tzinfos``: a zone's abbreviation by ``ZONE_OFFSETS``, else the offset written."""
    if name and name.upper() not in ("UTC", "GMT", "UT", "Z"):
        hours = ZONE_OFFSETS.get(name.upper())
        if hours is None:
            raise _UnknownZone(name)
        return timezone(timedelta(hours=hours))
    if offset is None:
        return UTC if name else None
    return timezone(timedelta(seconds=offset))


def moment_text(text: str) -> str | None:
    """``text`` as ISO 8601 when it names one moment and the datetime type would not read it
    itself; else None."""
    stripped = plain_digits(text).strip()
    if _ISO.fullmatch(stripped):
        return None if stripped == text.strip() else stripped  # the type's own, once in ASCII digits
    if found := _IN_ZONE.fullmatch(stripped):
        return _in_zone(found.group(1), found.group(2) or found.group(3))
    if found := _DAY_MONTH_YEAR.fullmatch(stripped):
        return _day_or_month_first(*found.groups())
    if found := _SHORT_YEAR_AFTER_MONTH_NAME.match(stripped):  # '20-NOV-26': 20-NOV-2026
        stripped = f"{found.group(1)}20{found.group(3)}{stripped[found.end() :]}"
    if not _YEAR.search(stripped):
        return None  # no year of four digits: nothing certain to add
    if found := _CJK.fullmatch(stripped):
        year, month, day, marker, hour, minute, second = found.groups()
        if hour and marker:
            if not 0 <= int(hour) <= 11:
                return None  # 午後12時 is noon to some and midnight to others
            hour = str(int(hour) + (12 if marker in _AFTERNOON else 0))
        clock = f" {hour}:{minute}:{second or '00'}" if hour else ""
        stripped = f"{year}-{int(month):02d}-{int(day):02d}{clock}"
    from dateutil.parser import ParserError, parse  # only for a text the type does not read

    # 'GMT+1' is one hour east, as people write it (dateutil reads it the POSIX way, west).
    # JavaScript's Date#toString names the zone after its offset: '(Central European Standard Time)'.
    cleaned = _OFFSET_AFTER_UTC.sub(_offset, _without_weekdays(_ZONE_NAME_AFTER.sub("", stripped)))
    readings: set[datetime] = set()
    # A year written first is read year, month, day (no one writes year, day, month).
    orders = [False] if re.match(r"\s*\d{4}\D", cleaned) else [False, True]
    for day_first in orders:
        for default in _DEFAULTS:
            try:
                read = parse(cleaned, parserinfo=_info(), dayfirst=day_first, default=default, tzinfos=_zone)
            except (ParserError, ValueError, OverflowError, TypeError):
                return None
            readings.add(read)
    if len(readings) != 1:
        return None  # a part of the date missing, or day and month could be either
    return readings.pop().isoformat()


_ZONE_NAME_AFTER = re.compile(r"(?<=\d)\s*\([^\d()]+\)\s*$")
#: Digits only, day or month first: '20.11.2026 09:14', '20/11/2026', '11/20/2026', '20.11.26'
#: (a year of two digits is this century's).
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
#: A month's name between a day and a year of two digits: '20-NOV-26' (Oracle's), '20.Nov.26'.
_SHORT_YEAR_AFTER_MONTH_NAME = re.compile(r"(\d{1,2}([./-])[^\W\d_]{3,}\.?\2)(\d{2})(?=$|[\sT,])")
#: A moment and the IANA name of its zone: '2026-11-20 17:42 Europe/Berlin', RFC 9557's
#: '2026-11-20T17:42:08+01:00[Europe/Berlin]' ('!' marks the zone as critical: it is read anyway).
_ZONE_ID = r"[A-Za-z][\w+-]*(?:/[\w+-]+)+"
_IN_ZONE = re.compile(rf"(.*\d[Zz]?)(?:\[!?({_ZONE_ID})\]|\s+({_ZONE_ID}))")


def plain_digits(text: str) -> str:
    """``text`` with its digits in ASCII (fullwidth, Arabic-Indic, Persian, Devanagari: each a
    decimal digit by Unicode), fullwidth marks as their ASCII forms ('－') and no invisible
    marks (the bidi marks of right-to-left text)."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else char
        for char in unicodedata.normalize("NFKC", text)
        if unicodedata.category(char) != "Cf"
    )


def _in_zone(moment: str, zone_name: str) -> str | None:
    """``moment`` in the IANA zone ``zone_name``, as ISO 8601 with the zone's offset then; None
    for a zone no one named, a time the zone's clocks passed twice or skipped (a change of
    summer time), or an offset written beside it that is not the zone's then. A UTC time
    ('Z[Europe/Berlin]') is that instant, written in the zone's offset."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(zone_name)
        read = datetime.fromisoformat(moment if _ISO.fullmatch(moment) else moment_text(moment) or "")
    except (ZoneInfoNotFoundError, ValueError):
        return None
    if moment.upper().endswith("Z"):
        return read.astimezone(zone).isoformat()
    if read.tzinfo is not None:
        return read.isoformat() if read.astimezone(zone).utcoffset() == read.utcoffset() else None
    local = read.replace(tzinfo=zone)
    if local.utcoffset() != local.replace(fold=1).utcoffset():
        return None
    return local.isoformat()


def _day_or_month_first(
    first: str, mark: str, second: str, year: str, hour: str | None, minute: str | None, seconds: str | None
) -> str | None:
    """Where that is plain: a part over 12 is the day, dots are never written month first,
    and '05/05/2026' is one day either way. '05/11/2026' could be either: None
    (``day_or_month_first``)."""
    a, b = int(first), int(second)
    if a > 12 >= b or (mark == "." and b <= 12) or a == b:
        day, month = a, b
    elif b > 12 >= a:
        day, month = b, a
    else:
        return None
    clock = f"T{int(hour):02d}:{minute}:{seconds or '00'}" if hour else ""
    return f"{_full_year(year)}-{month:02d}-{day:02d}{clock}"


def _full_year(year: str) -> str:
    """'26' -> '2026': a year written with two digits is this century's."""
    return f"20{year}" if len(year) == 2 else year


def day_or_month_first(text: str) -> tuple[datetime, datetime] | None:
    """The two moments a date of digits names when its day and month could be either
    ('05/11/2026 09:14': 5 November and 11 May, in that order, as UTC); None for any other
    text."""
    found = _DAY_MONTH_YEAR.fullmatch(plain_digits(text).strip())
    if found is None or _day_or_month_first(*found.groups()) is not None:
        return None
    first, _, second, year, hour, minute, seconds = found.groups()
    clock = (int(hour or 0), int(minute or 0), int(seconds or 0))
    try:
        return (
            datetime(int(_full_year(year)), int(second), int(first), *clock, tzinfo=UTC),
            datetime(int(_full_year(year)), int(first), int(second), *clock, tzinfo=UTC),
        )
    except ValueError:  # an hour of 25: the field says so
        return None


def names_a_year(text: str) -> bool:
    """Whether ``text`` holds a year of four digits (a date, however written), or of two
    after a day and a month ('20.11.26', '20-NOV-26')."""
    plain = plain_digits(text).strip()
    return bool(_YEAR.search(plain) or _DAY_MONTH_YEAR.fullmatch(plain) or _SHORT_YEAR_AFTER_MONTH_NAME.match(plain))


def without_its_year(text: str, published: datetime) -> datetime | None:
    """A date written without its year ('20 Nov 09:14', '20/11'): the latest such moment not
    after ``published`` (this year's or last year's), if the text names a month and a day
    for certain; else None."""
    if names_a_year(text):
        return None
    for year in (published.year, published.year - 1):
        written = moment_text(f"{text.strip()} {year}")
        if written is None:
            return None
        read = datetime.fromisoformat(written)
        read = read if read.tzinfo else read.replace(tzinfo=UTC)
        if read <= published + timedelta(days=1):
            return read
    return None


def nearest_before(readings: tuple[datetime, ...], published: datetime) -> datetime | None:
    """Of a date's readings, the one an event published at ``published`` happened at: the
    latest not after its publication (a day's grace for the zones), else None."""
    possible = [r for r in readings if r <= published + timedelta(days=1)]
    return max(possible) if possible else None


_OFFSET_AFTER_UTC = re.compile(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?\b")


def _offset(found: re.Match[str]) -> str:
    sign, hours, minutes = found.groups()
    return f"{sign}{int(hours):02d}{minutes or '00'}"


def _without_weekdays(text: str) -> str:
    """A weekday's name says nothing a date does not (and dateutil knows English ones only)."""
    return _weekday_names().sub(" ", text)


@cache
def _names() -> tuple[list[tuple[str, ...]], set[str]]:
    """Month names (each a tuple of forms, January first) and weekday names, in every form
    Babel gives for ``READING_LOCALES`` (wide and abbreviated, in a sentence and alone), with
    and without accents; a form that names two months, or a month and a weekday, is neither."""
    from babel.dates import get_day_names, get_month_names

    def forms(name: str) -> set[str]:
        # As dateutil compares them: lower case ('μάρτιος', its final sigma kept), and casefolded.
        written = {name.lower().strip().rstrip("."), name.casefold().strip().rstrip(".")}
        plain = {"".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c)) for w in written}
        return written | plain

    months: dict[str, set[int]] = {}
    weekdays: set[str] = set()
    for locale in READING_LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    for form in forms(name):
                        months.setdefault(form, set()).add(number)
                for name in get_day_names(width, context, locale).values():
                    weekdays |= forms(name)
    unique = {form: numbers.pop() for form, numbers in months.items() if len(numbers) == 1 and len(form) >= 3}
    by_month = [tuple(sorted(form for form, number in unique.items() if number == month)) for month in range(1, 13)]
    return by_month, {w for w in weekdays if w not in months and len(w) >= 2}


@cache
def _weekday_names() -> re.Pattern[str]:
    names = sorted(_names()[1], key=len, reverse=True)
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(map(re.escape, names)) + r")\.?,?(?![^\W\d_])", re.I)


@cache
def _info() -> Any:
    from dateutil.parser import parserinfo

    class Info(parserinfo):  # type: ignore[misc]
        JUMP = [*parserinfo.JUMP, *_JOINING_WORDS]
        MONTHS = _names()[0]

    return Info()
