"""Countries as upstream systems and people write them -> ISO 3166-1 alpha-2 (O1).

Orders arrive with ``France``, ``Deutschland``, ``U.S.A.``, ``FRA`` or ``UK`` where the
contract says ``FR``, ``DE``, ``US``, ``FR``, ``GB``. ``country_code`` reads all of those
and answers ``None`` for anything it cannot read with certainty: no fuzzy matching, and a
name that means two countries (``Kongo`` in Polish and in Norwegian) means none.

Three lazily built indexes keep the common case cheap: the codes (pycountry, ~40 ms once),
pycountry's English names with the informal forms, and only when a value is none of those,
the CLDR names of the languages of commerce (Babel's data, ~0.15 s once). After that a
lookup is a dict hit, and a repeated value is not even folded again (``lru_cache``).
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

#: ISO keeps XK unassigned, but the EU, CLDR and the commerce platforms use it for Kosovo.
USER_ASSIGNED_CODES = {"XK": "XK"}

#: Code-like abbreviations that are no ISO code, written without dots ("U.K." is "UK"); with
#: the sports codes (IOC, FIFA) people write for the ISO ones, where no ISO code is spelled so.
INFORMAL_CODES = {
    "UK": "GB", "EL": "GR", "UAE": "AE", "KSA": "SA", "DRC": "CD",
    "GER": "DE", "NED": "NL", "SUI": "CH", "POR": "PT", "DEN": "DK", "CRO": "HR", "GRE": "GR",
    "ENG": "GB", "SCO": "GB", "RSA": "ZA", "PRC": "CN",
}  # fmt: skip

#: Names people write that are neither ISO's nor CLDR's (compared folded: see ``fold``).
INFORMAL_NAMES = {
    "GB": ("Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland",
           "Großbritannien", "Grande-Bretagne", "Angleterre", "Gran Bretaña", "Inglaterra",
           "Gran Bretagna", "Inghilterra", "Groot-Brittannië", "Engeland", "Schottland", "Écosse",
           "Escocia", "Scozia", "Schotland", "Nordirland", "Irlande du Nord", "Irlanda del Norte",
           "Pays de Galles", "Gales"),
    "US": ("United States of America", "America", "EE.UU.", "Vereinigte Staaten von Amerika",
           "États-Unis d'Amérique", "Estados Unidos de América", "Stati Uniti d'America",
           "Amerika", "Amérique", "América", "USA (Amerika)", "Etats Unis", "Estados Unidos de Norteamérica",
           "США", "アメリカ", "美国", "美國", "미국", "أمريكا"),
    "CN": ("P.R. China", "Mainland China", "Chine continentale", "中华人民共和国", "中華人民共和國"),
    "GR": ("Hellas",),
    "NL": ("Holland",),
    "CD": ("DR Congo",),
    "CZ": ("Czech Republic", "Česká republika"),
    "CI": ("Ivory Coast",),
    "MK": ("Macedonia",),
    "SZ": ("Swaziland",),
    "MM": ("Burma",),
    "TL": ("East Timor",),
    "VA": ("Vatican", "Holy See"),
    "TR": ("Turkey",),
    "IE": ("Eire", "Republic of Ireland"),
    "HK": ("Hong Kong", "香港"),
    "MO": ("Macau", "Macao", "澳門", "澳门"),
    "PS": ("Palestine",),
    "BA": ("Bosnia",),
    "CV": ("Cape Verde",),
    # Short and official names the CLDR tables do not hold: what buyers and exports write.
    "DE": ("Bundesrepublik Deutschland",),
    "AT": ("Republik Österreich",),
    "CH": ("Schweizerische Eidgenossenschaft", "Confédération suisse", "Confederazione Svizzera"),
    "FR": ("France métropolitaine", "Metropolitan France", "France (métropole)", "République française"),
    "ES": ("Reino de España",),
    "IT": ("Repubblica Italiana",),
    "BE": ("Royaume de Belgique", "Koninkrijk België", "Königreich Belgien"),
    "PL": ("Rzeczpospolita Polska",),
    "PT": ("República Portuguesa",),
    "RU": ("Российская Федерация",),
    "KR": ("Republic of Korea", "Korea, South", "한국", "남한", "韓國"),
    "JP": ("日本国",),
    "IN": ("भारत", "Bharat"),
    "SA": ("السعودية",),
    "AE": ("Emirates", "الإمارات"),
}  # fmt: skip

#: CLDR locales whose country names are read: the EU's languages and the big markets'.
#: "no" is Norwegian Bokmål: CLDR 46 keeps its names there, "nb" inherits them.
COMMERCE_LOCALES = (
    "en", "de", "fr", "es", "it", "nl", "pt", "pt_PT", "pl", "sv", "da", "no", "fi", "cs", "sk",
    "sl", "hr", "hu", "ro", "bg", "el", "lt", "lv", "et", "ru", "uk", "tr", "ja", "zh",
    "zh_Hant", "ko", "ar", "he",
)  # fmt: skip

#: Fillers for "no country" that would otherwise read as a code ("N/A" folds to Namibia's).
PLACEHOLDERS = frozenset({"n/a", "n.a.", "n. a.", "n/d", "-", "--", "?"})

# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d",
                               "þ": "th", "ß": "ss", "ı": "i"})  # fmt: skip
# German keyboards without umlauts: "Oesterreich", "Daenemark".
_UMLAUTS_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_HAS_UMLAUT = re.compile("[äöüÄÖÜ]")
_CODE_SEPARATORS = re.compile(r"[\s.]+")
_CODE_SHAPE = re.compile(r"[A-Z]{2,3}|[0-9]{1,3}")


def fold(text: str) -> str:
    """The form names are compared in: no case, accents, punctuation or spaces.

    ``ÉTATS-UNIS``, ``Etats Unis`` and ``états-unis`` all fold to ``etatsunis``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    # Combining accents, punctuation and spaces are not alphanumeric; letters of any script are.
    kept = "".join(char for char in decomposed if char.isalnum())
    return unicodedata.normalize("NFKC", kept)


class _Names:
    """Folded name -> code, where a name given for two codes maps to neither."""

    def __init__(self, unless_in: dict[str, str | None] | None = None) -> None:
        self.codes: dict[str, str | None] = {}
        self._unless_in = unless_in or {}

    def add(self, names: Iterable[str], code: str) -> None:
        for name in names:
            keys = {fold(name)}
            if _HAS_UMLAUT.search(name):
                keys.add(fold(name.casefold().translate(_UMLAUTS_SPELLED_OUT)))
            for key in keys:
                if key and key not in self._unless_in:
                    if self.codes.setdefault(key, code) != code:
                        self.codes[key] = None  # ambiguous: never guess


@cache
def _codes() -> dict[str, str]:
    """Alpha-2, alpha-3 and numeric codes, the user-assigned and informal ones."""
    import pycountry

    codes = dict(INFORMAL_CODES)
    for country in pycountry.countries:
        codes |= {country.alpha_3: country.alpha_2, country.numeric: country.alpha_2}
    codes |= {country.alpha_2: country.alpha_2 for country in pycountry.countries}
    return codes | USER_ASSIGNED_CODES


@cache
def _english_names() -> dict[str, str | None]:
    """pycountry's short, official and common names, and the informal ones."""
    import pycountry

    iso, informal = _Names(), _Names()
    for country in pycountry.countries:
        found = (getattr(country, attr, None) for attr in ("name", "official_name", "common_name"))
        iso.add((name for name in found if isinstance(name, str) and name), country.alpha_2)
    for code, names in INFORMAL_NAMES.items():
        informal.add(names, code)
    return iso.codes | informal.codes  # the informal form wins: "America" is not ambiguous here


@cache
def _cldr_names() -> dict[str, str | None]:
    """The CLDR names in ``COMMERCE_LOCALES``, except those already read as English."""
    from babel import localedata

    valid = set(_codes().values())
    # The same names as Locale(...).territories at half the cost: merging each locale into
    # CLDR's root data, which Babel does for Locale, is what takes the time, and root holds
    # no names. A regional locale (pt_PT) holds only the names that differ from its parent's.
    named = {
        (name, code)
        for locale in COMMERCE_LOCALES
        for code, name in own_locale_data(localedata, locale).get("territories", {}).items()
        if code in valid  # not regions ("150", "EU") nor private-use codes ("ZZ")
    }
    names = _Names(unless_in=_english_names())
    for name, code in named:
        names.add((name,), code)
    return names.codes


@cache
def _every_cldr_name() -> dict[str, str | None]:
    """The CLDR names in every language Babel holds ('Србија', 'Lëtzebuerg', 'ኢትዮጵያ'), but
    those read before: asked for only when a value is none of those (about 0.7 s, once)."""
    from babel import localedata

    valid = set(_codes().values())
    named = {
        (name, code)
        for locale in localedata.locale_identifiers()
        for code, name in own_locale_data(localedata, locale).get("territories", {}).items()
        if code in valid
    }
    names = _Names(unless_in=_english_names() | _cldr_names())
    for name, code in named:
        names.add((name,), code)
    return names.codes


def own_locale_data(localedata: Any, locale: str) -> dict[str, Any]:
    """A locale's own CLDR data, without its parents', read as Babel reads it but not kept in
    Babel's cache: ``localedata.load(locale, merge_inherited=False)`` keeps it there, and every
    ``Locale`` of that name made afterwards lacks what it inherits (French month names: a
    KeyError in ``babel.dates``)."""
    with open(localedata.resolve_locale_filename(locale), "rb") as file:
        data: dict[str, Any] = pickle.load(file)  # noqa: S301 - Babel's own data files, as Babel reads them
    return data


@lru_cache(maxsize=4096)
def country_code(raw: str) -> str | None:
    """The ISO 3166-1 alpha-2 code ``raw`` names, or None when it names none for certain."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text or text.casefold() in PLACEHOLDERS:
        return None
    code_form = _CODE_SEPARATORS.sub("", text).upper()
    if _CODE_SHAPE.fullmatch(code_form):
        code = _codes().get(code_form.zfill(3) if code_form.isdigit() else code_form)
        if code:
            return code
    named = _named(text)
    if named is not _UNKNOWN:
        return named
    # 'Germany (DE)', 'DE - Germany', 'Deutschland / Germany': parts that each name a
    # country, and the same one.
    parts = [part for part in _PARTS.split(text) if part.strip()]
    if len(parts) > 1:
        read = {country_code(part) for part in parts}
        if len(read) == 1 and None not in read:
            return read.pop()
    return None


_UNKNOWN = "?"
_PARTS = re.compile(r"\s+[-–—/|]\s+|[()\[\]]")


def _named(text: str) -> str | None:
    """The code of a country's name in any language Babel knows; None for a name of two
    countries; ``_UNKNOWN`` for no country's name."""
    readings = [text]
    # 'Netherlands, The', 'Korea, Republic of': the name as indexes sort it.
    head, comma, tail = text.rpartition(",")
    if comma and head.strip() and tail.strip():
        readings.append(f"{tail.strip()} {head.strip()}")
    # "The Gambia", "the Netherlands": ISO and CLDR name them without the article.
    readings += [reading[4:] for reading in readings if reading[:4].casefold() == "the "]
    for names in (_english_names, _cldr_names, _every_cldr_name):
        for reading in readings:
            if (key := fold(reading)) in (index := names()):
                return index[key]
    return _UNKNOWN
