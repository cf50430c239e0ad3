"""A third stream with ground truth, built with Faker as an evaluation stream often is.

    python -m bench.matching.faker_stream --orders 10000 --seed 1   # simulated, scored

Written by a helper session without reading the matcher (like ``independent.py``), to find
what a stream made of Faker's names, numbers, addresses and free-mail domains trips on (its
first runs found Faker's US numbers at codes not in service set aside, its 'x123' extensions
read as other lines, '+tags' at Yahoo read as other mailboxes, its British flats read as
streets). Faker's numbers are kept as Faker writes them on 30% of people whose number no plan
assigns (``P["phone_not_in_service"]``); transliterations by anyascii.

``generate(orders=10_000, seed=1) -> Stream`` imitates a realistic order stream: ~orders/5 people
in five country scopes, two Shopify stores, a POS chain and a marketplace, with households,
namesakes, people of other cultures and the usual messiness of real order data (see FAKER_STREAM.md
and ``P`` below for what is drawn and how often). ``generate_tagged`` also returns, per order
key, the list of phenomena applied to that order. Deterministic for a seed: one
``random.Random`` plus seeded Faker instances; message ids come from the same generator.

Written without looking at the matcher under test; it only uses the bench's dataclasses
(``Stream``, ``Delivery``, ``Person``, ``Address``) and its ``_undecidable`` definition.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

import phonenumbers as pn
from anyascii import anyascii
from faker import Faker
from pydantic import ValidationError

import contracts.upstream.orders as _orders_module
from contracts.upstream.orders import OrderPlaced

from .stream import SCOPES as BENCH_SCOPES
from .stream import Address, Delivery, Person, Stream, _undecidable

# --- configuration ---------------------------------------------------------------------------

#: (scope id, country, language). The ids are the bench's own, because ``_undecidable`` looks
#: the scope's country up in ``bench.matching.stream.SCOPES``.
SCOPES = [("us", "US", "en"), ("uk", "GB", "en"), ("de", "DE", "de"), ("eu-fr", "FR", "fr"), ("es", "ES", "es")]
SCOPE_WEIGHTS = [28, 18, 22, 18, 14]
assert {s for s, _, _ in SCOPES} <= {s for s, _, _ in BENCH_SCOPES}

LOCALE = {"US": "en_US", "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "ES": "es_ES"}
CULTURES = {"ru": "ru_RU", "ua": "uk_UA", "zh": "zh_CN", "ar": "ar_AA", "el": "el_GR"}
CULTURE_WEIGHTS = [3, 2, 3, 3, 2]
TZ = {
    cc: ZoneInfo(z)
    for cc, z in [
        ("US", "America/New_York"),
        ("GB", "Europe/London"),
        ("DE", "Europe/Berlin"),
        ("FR", "Europe/Paris"),
        ("ES", "Europe/Madrid"),
    ]
}
CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "ES": "EUR"}
VAT = {"GB": Decimal("0.20"), "DE": Decimal("0.19"), "FR": Decimal("0.20"), "ES": Decimal("0.21")}
US_SALES_TAX = Decimal("0.0725")

#: Two Shopify stores (one for the English-speaking scopes, one for the EU), a POS chain, a marketplace.
SHOPIFY = {s: "shopify:northwind-intl" if s in ("us", "uk") else "shopify:northwind-eu" for s, _, _ in SCOPES}
POS, MARKET = "pos:northwind-retail", "marketplace:amazon"
PRODUCER = {
    "shopify:northwind-intl": "shopify-northwind-intl",
    "shopify:northwind-eu": "shopify-northwind-eu",
    POS: "pos-northwind",
    MARKET: "amazon-sp-connector",
}
RELAY_DOMAIN = {
    cc: f"marketplace.amazon.{tld}"
    for cc, tld in [("US", "com"), ("GB", "co.uk"), ("DE", "de"), ("FR", "fr"), ("ES", "es")]
}
START, DAYS = datetime(2025, 6, 2, tzinfo=UTC), 180

#: Every probability the generator draws, in one place (FAKER_STREAM.md explains them).
P = {
    # people
    "foreign_culture": 0.10,  # names from ru_RU/uk_UA/zh_CN/ar_AA/el_GR
    "middle_name": 0.08, "middle_name_anglo": 0.25,  # anglo: US, GB
    "middle_name_shown": 0.35,  # per order of a person with one
    "two_surnames_es": 0.50, "second_surname_dropped": 0.35,  # the latter per order
    "particle_surname": 0.04,  # FR, ES: "de la Roy", "del Pino" (Faker prefix())
    "household_found": 0.09,  # a new person founds a household of 2-4
    "household_landline": 0.80, "household_same_surname": 0.85, "household_family_email": 0.25,
    "family_email_used": 0.30,  # per order of a member, instead of their own
    "member_own_email": 0.90, "member_own_mobile": 0.75,
    "landline_order": 0.25,  # per guest/POS order of a member: the landline, no email
    "namesake": 0.03,  # a single person copies the full name of someone in the scope
    "namesake_same_city": 0.40, "namesake_same_postcode": 0.50,  # the latter of those in the same city
    "big_city": 0.50,  # lives in one of the scope's 12 big cities (15 shared postcodes each)
    "secondary_address": 0.25,  # "Apt. 492", "Flat 37" where the locale has it
    "no_email": 0.08,
    "phone_not_in_service": 0.30,  # a person's Faker number kept though no plan assigns it
    "email_from_name": 0.75,  # else fk.free_email() (80%) or fk.email() (20%)
    "email_change": 0.06, "old_email_after_change": 0.10,
    "no_phone": 0.15, "single_landline": 0.10,
    "move": 0.05,  # people (households together) moving mid-stream
    "second_channel": 0.35, "second_channel_order": 0.30,
    "nickname_user": 0.50,  # of people whose first name has a nickname
    "nickname_order": 0.40,
    # channels
    "shopify_registered": 0.55, "logged_in": 0.90, "guest_phone_only": 0.05, "shopify_phone": 0.60, "gift": 0.06,
    "pos_cash": 0.15, "pos_cash_initial": 0.30, "pos_cash_no_first": 0.10,
    "loyalty_holder": 0.35, "loyalty_shown": 0.80,
    "pos_email": 0.35, "pos_phone": 0.50, "pos_address": 0.30, "pos_other_store": 0.15,
    "market_phone": 0.60,
    "title": 0.03,  # Faker prefix_male()/prefix_female() before the first name in an address
    # per-order renderings
    "name_upper": 0.04, "name_lower": 0.02, "accents_dropped": 0.08, "accents_dropped_market": 0.20,
    "name_swapped": 0.02, "initial": 0.02, "name_typo": 0.012,
    "email_case": 0.06, "email_spaces": 0.02, "gmail_dots": 0.10, "plus_tag": 0.04, "googlemail": 0.05,
    "email_domain_typo": 0.01,
    "country_written": 0.10, "country_missing": 0.03,
    "lost_leading_zero": 0.15, "d_prefix": 0.05, "uk_postcode_spacing": 0.20, "zip4_address": 0.55, "zip4_order": 0.40,
    "lines_merged": 0.20,
    # transport
    "redelivery": 0.025, "resend": 0.008,
}  # fmt: skip
#: How a phone is written on an order (weights): as the person typed it at sign-up (Faker's
#: string), E.164, national, international, digits only, "00" + country code.
PHONE_STYLES = (("raw", 35), ("e164", 15), ("national", 20), ("international", 15), ("digits", 10), ("idd00", 5))

NICKNAMES = {
    "William": ["Bill", "Will"],
    "Robert": ["Bob", "Rob"],
    "Elizabeth": ["Liz", "Beth"],
    "Alexander": ["Alex"],
    "Alexandra": ["Alex"],
    "Katharina": ["Kathi"],
    "Francisco": ["Paco"],
    "James": ["Jim"],
    "Richard": ["Rick"],
    "Michael": ["Mike"],
    "Jennifer": ["Jenny"],
    "Margaret": ["Maggie", "Peggy"],
    "Thomas": ["Tom"],
    "Christopher": ["Chris"],
    "Daniel": ["Dan"],
    "Joseph": ["Joe"],
    "Anthony": ["Tony"],
    "Matthew": ["Matt"],
    "Nicholas": ["Nick"],
    "Benjamin": ["Ben"],
    "Samuel": ["Sam"],
    "Katherine": ["Kate"],
    "Catherine": ["Cathy"],
    "Patricia": ["Pat"],
    "Susan": ["Sue"],
    "Andrew": ["Andy"],
    "Edward": ["Ed"],
    "Rebecca": ["Becky"],
    "Johannes": ["Hannes"],
    "Maximilian": ["Max"],
    "Stefanie": ["Steffi"],
    "Wolfgang": ["Wolf"],
    "Nicolas": ["Nico"],
    "Frédéric": ["Fred"],
    "Christophe": ["Chris"],
    "José": ["Pepe"],
    "Manuel": ["Manolo"],
    "Dolores": ["Lola"],
    "Ignacio": ["Nacho"],
    "Guadalupe": ["Lupe"],
}
FAMILY_WORD = {"en": "the{l}s", "de": "familie.{l}", "fr": "famille.{l}", "es": "familia.{l}"}
COUNTRY_WRITTEN = {
    "US": ["USA", "United States", "U.S.A.", "United States of America"],
    "GB": ["United Kingdom", "UK", "Great Britain", "England", "GBR"],
    "DE": ["Deutschland", "Germany", "DEU"],
    "FR": ["France", "FRA"],
    "ES": ["España", "Spain", "ESP"],
}
DOMAIN_TYPOS = {
    "gmail.com": ["gmial.com", "gmail.co", "gmai.com", "gnail.com"],
    "yahoo.com": ["yaho.com", "yahoo.co"],
    "hotmail.com": ["hotmial.com", "hotmail.co", "hotmal.com"],
    "outlook.com": ["outlok.com"],
    "web.de": ["wep.de", "web.d"],
    "gmx.de": ["gmx.d", "gmxx.de"],
}
LANGS = ("en", "de", "fr", "es")
#: sku, price, names in en|de|fr|es
CATALOG = [
    ("TEE-ORG", "19.90", "Organic cotton tee|Bio-T-Shirt|T-shirt coton bio|Camiseta orgánica"),
    ("CAP-NVY", "15.00", "Navy cap|Kappe navy|Casquette marine|Gorra azul"),
    ("MUG-01", "12.50", "Enamel mug|Emaille-Becher|Mug émaillé|Taza esmaltada"),
    ("SCK-3", "9.99", "Socks 3-pack|Socken 3er|Chaussettes x3|Calcetines x3"),
    ("HOD-GRY", "49.00", "Grey hoodie|Kapuzenpulli|Sweat à capuche|Sudadera gris"),
    ("BAG-TOTE", "7.50", "Tote bag|Stofftasche|Tote bag|Bolsa de tela"),
]
EXAMPLE = Path(_orders_module.__file__).parents[1] / "examples" / "order-placed.v1.json"


# --- people ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    line1: str
    line2: str | None
    city: str
    postcode: str
    region: str | None = None
    zip4: str | None = None


@dataclass(frozen=True)
class Phone:
    raw: str  # as Faker wrote it (and the person types it)
    number: pn.PhoneNumber

    @property
    def nsn(self) -> str:
        return pn.national_significant_number(self.number)


@dataclass
class Human:
    """A person as the generator sees them (converted to a bench ``Person`` at the end)."""

    pid: str
    scope: str
    country: str
    lang: str
    gender: str
    first: str = ""  # native script for people of another culture
    last: str = ""
    culture: str | None = None
    first_latin: str | None = None
    last_latin: str | None = None
    native_share: float = 1.0
    middle: str | None = None
    nicknames: list[str] = field(default_factory=list)
    uses_nickname: bool = False
    household: str | None = None
    emails: list[str] = field(default_factory=list)  # the first; from email_change_at on, the second
    email_change_at: float | None = None
    family_email: str | None = None
    mobile: Phone | None = None
    landline: Phone | None = None
    homes: list[Home] = field(default_factory=list)  # from move_at on, the second
    move_at: float | None = None
    city_index: int | None = None  # which big city, if any
    channels: list[str] = field(default_factory=list)  # "shopify", "pos", "market"; the first most
    shopify_id: str | None = None
    loyalty_id: str | None = None
    buyer_id: str | None = None
    relay_email: str | None = None
    store_id: str | None = None

    def home_at(self, t: float) -> Home:
        return self.homes[1] if self.move_at is not None and t >= self.move_at else self.homes[0]


def is_latin(text: str) -> bool:
    return all(ord(ch) < 0x250 for ch in text)


def deaccent(text: str, umlauts: bool = False) -> str:
    """Accents dropped (anyascii) from a Latin-script name; other scripts are left alone."""
    if not is_latin(text):
        return text
    if umlauts:
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
            text = text.replace(a, b)
    return anyascii(text)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", anyascii(text).lower())


def latin(text: str, culture: str | None) -> str:
    """anyascii, cleaned of the marks it leaves (Arabic '@', '`'); Chinese syllables joined."""
    s = re.sub(r"[^A-Za-z' -]", "", anyascii(text))
    s = re.sub(r"\s+", " ", s).strip(" '-")
    if culture == "zh":
        s = s.replace(" ", "")
    return s.title() if culture in ("ar", "zh") else s


class _Gen:
    def __init__(self, orders: int, seed: int):
        self.r, self.c, self.n_orders = Random(seed), Counter(), orders
        self.n_people = max(1, round(orders / 5))
        self.fk = {cc: self._faker(LOCALE[cc], seed, i) for i, cc in enumerate(LOCALE)}
        self.fx = {k: self._faker(loc, seed, 10 + i) for i, (k, loc) in enumerate(CULTURES.items())}
        self.used: set[str] = set()
        self.tags: dict[str, list[str]] = {}
        self.cities = {s: self._big_cities(cc) for s, cc, _ in SCOPES}
        self.stores = {
            s: [f"{s.upper()}-{slug(city)[:10].upper()}-{k + 1:02d}" for k, (city, _, _) in enumerate(cities[:4])]
            for s, cities in self.cities.items()
        }

    @staticmethod
    def _faker(locale: str, seed: int, salt: int) -> Faker:
        fk = Faker(locale)
        fk.seed_instance(seed * 1009 + salt)
        return fk

    def hit(self, p: float) -> bool:
        return self.r.random() < p

    def unique(self, make) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    # --- places and phones -------------------------------------------------------------------

    def _postcode(self, cc: str, region: str | None) -> str:
        fk = self.fk[cc]
        return fk.postcode_in_state(region) if cc == "US" else fk.postcode()

    def _big_cities(self, cc: str) -> list[tuple[str, str | None, list[str]]]:
        """12 cities per scope, each with 15 postcodes shared by its inhabitants."""
        fk, out = self.fk[cc], []
        for _ in range(12):
            region = fk.state_abbr(include_territories=False) if cc == "US" else None
            out.append((fk.city(), region, [self._postcode(cc, region) for _ in range(15)]))
        return out

    def home(self, h: Human, city: int | None = None, postcode: str | None = None) -> Home:
        """A Faker address; in a big city (weighted 1/rank) half of the time, or in ``city``."""
        cc, fk, r = h.country, self.fk[h.country], self.r
        if city is None and self.hit(P["big_city"]):
            city = r.choices(range(12), weights=[1 / (i + 1) for i in range(12)])[0]
        h.city_index = city
        street = fk.street_address().split("\n")  # en_GB: "Flat 57\nRyan Square"
        line1, line2 = street[-1], (street[0] if len(street) > 1 else None)
        has_unit = any(w in line1 for w in ("Apt.", "Suite", "Puerta", "Piso"))
        if line2 is None and not has_unit and hasattr(fk, "secondary_address") and self.hit(P["secondary_address"]):
            line2 = fk.secondary_address()
        if city is not None:
            name, region, codes = self.cities[h.scope][city]
            code = postcode or r.choice(codes)
        else:
            region = fk.state_abbr(include_territories=False) if cc == "US" else None
            name, code = fk.city(), self._postcode(cc, region)
        zip4 = f"{r.randrange(1, 10000):04d}" if cc == "US" and self.hit(P["zip4_address"]) else None
        return Home(line1, line2, name, code, region, zip4)

    def phone(self, cc: str) -> Phone:
        """fk.phone_number(), redrawn until phonenumbers calls it a valid number of the country,
        or, for ``P["phone_not_in_service"]`` of people, a possible one no plan assigns (Faker
        writes many at codes not in service: a generator that keeps them does too)."""
        fk, region = self.fk[cc], cc
        code = pn.country_code_for_region(region)
        keep_unassigned = self.hit(P["phone_not_in_service"])
        for _ in range(60):
            raw = fk.phone_number()
            try:
                num = pn.parse(raw, region)
            except pn.NumberParseException:
                continue
            e164 = pn.format_number(num, pn.PhoneNumberFormat.E164)
            valid = pn.is_valid_number(num) and pn.region_code_for_number(num) == region
            unassigned = keep_unassigned and num.country_code == code and pn.is_possible_number(num)
            if (valid or unassigned) and e164 not in self.used:
                self.used.add(e164)
                return Phone(raw, num)
        raise RuntimeError(f"no valid {cc} phone from Faker")

    # --- names and emails --------------------------------------------------------------------

    def name(self, h: Human, surname: str | None = None, culture: str | None = None) -> None:
        """Fill h's names (local Faker, or another culture's Faker with anyascii transliteration)."""
        r, female = self.r, h.gender == "f"
        if culture:
            fx = self.fx[culture]
            while True:
                first = fx.first_name_female() if female else fx.first_name_male()
                gendered = getattr(fx, "last_name_female" if female else "last_name_male", fx.last_name)
                last = surname or gendered()
                if len(latin(first, culture)) >= 2 and len(latin(last, culture)) >= 2:
                    break
            h.culture, h.first, h.last = culture, first, last
            h.first_latin, h.last_latin = latin(first, culture), latin(last, culture)
            h.native_share = r.uniform(0.2, 0.7)
            return
        fk = self.fk[h.country]
        h.first = fk.first_name_female() if female else fk.first_name_male()
        if surname:
            h.last = surname
        elif h.country == "ES" and self.hit(P["two_surnames_es"]):
            h.last = f"{fk.last_name()} {fk.last_name()}"
        elif h.country in ("FR", "ES") and self.hit(P["particle_surname"]):
            h.last = f"{fk.prefix()} {fk.last_name()}"
        else:
            h.last = fk.last_name()
        if self.hit(P["middle_name_anglo"] if h.country in ("US", "GB") else P["middle_name"]):
            h.middle = fk.first_name_female() if female else fk.first_name_male()
        h.nicknames = NICKNAMES.get(h.first, [])
        h.uses_nickname = bool(h.nicknames) and self.hit(P["nickname_user"])

    def email(self, h: Human) -> str:
        """Most from the name with free_email_domain(); some fk.free_email() / fk.email()."""
        fk, r = self.fk[h.country], self.r
        if self.hit(P["email_from_name"]):
            f = slug(h.first_latin or h.first)
            last = h.last_latin or h.last
            l = slug(last.split(" ")[0] if h.country == "ES" else last)  # noqa: E741
            local = r.choice(
                [
                    f"{f}.{l}",
                    f"{f}{l}",
                    f"{f[0]}{l}",
                    f"{f}_{l}",
                    f"{f}.{l}{r.randint(1, 99)}",
                    f"{l}.{f}",
                    f"{f}{r.randint(60, 99)}",
                    f"{f[0]}.{l}",
                ]
            )
            domain = fk.free_email_domain()
            address = f"{local}@{domain}"
            while address in self.used:  # a namesake got there first
                address = f"{local}{r.randint(1, 999)}@{domain}"
            self.used.add(address)
            return address
        return self.unique(fk.free_email if self.hit(0.8) else fk.email)

    def contact(self, h: Human, own_email: bool = True, own_mobile: bool = True) -> None:
        """Emails (maybe changing later) and phones."""
        if own_email and not self.hit(P["no_email"]):
            h.emails = [self.email(h)]
            if self.hit(P["email_change"]):
                h.emails.append(self.email(h))
                h.email_change_at = self.r.uniform(0.2, 0.9) * DAYS * 86400
        if own_mobile and not self.hit(P["no_phone"]):
            h.mobile = self.phone(h.country)
        if h.household is None and h.mobile and self.hit(P["single_landline"]):
            h.landline = self.phone(h.country)

    # --- people ------------------------------------------------------------------------------

    def new_human(self, scope: str) -> Human:
        _, cc, lang = next(x for x in SCOPES if x[0] == scope)
        pid = f"P{len(self.people) + 1:05d}"
        return Human(pid, scope, cc, lang, self.r.choice("fm"))

    def make_people(self) -> list[Human]:
        r, c = self.r, self.c
        self.people: list[Human] = []
        by_scope: dict[str, list[Human]] = defaultdict(list)
        households = 0
        while len(self.people) < self.n_people:
            scope = r.choices([s for s, _, _ in SCOPES], weights=SCOPE_WEIGHTS)[0]
            culture = r.choices(list(CULTURES), weights=CULTURE_WEIGHTS)[0] if self.hit(P["foreign_culture"]) else None
            left = self.n_people - len(self.people)
            if left >= 2 and self.hit(P["household_found"]):
                households += 1
                size = min(left, r.choices((2, 3, 4), weights=(5, 3, 2))[0])
                members = self.household(scope, culture, size, households)
            else:
                h = self.new_human(scope)
                twin = by_scope[scope] and self.hit(P["namesake"]) and r.choice(by_scope[scope])
                if twin:  # the same full name as someone else in the scope
                    h.first, h.last, h.culture = twin.first, twin.last, twin.culture
                    h.first_latin, h.last_latin, h.native_share = twin.first_latin, twin.last_latin, r.uniform(0.2, 0.7)
                    h.nicknames = twin.nicknames
                    h.uses_nickname = bool(h.nicknames) and self.hit(P["nickname_user"])
                    c["people_namesakes_made"] += 1
                    same_city = twin.city_index is not None and self.hit(P["namesake_same_city"])
                    same_code = same_city and self.hit(P["namesake_same_postcode"])
                    c["people_namesakes_same_city"] += same_city
                    c["people_namesakes_same_postcode"] += same_code
                    h.homes = [
                        self.home(h, twin.city_index, twin.homes[0].postcode if same_code else None)
                        if same_city
                        else self.home(h)
                    ]
                else:
                    self.name(h, culture=culture)
                    h.homes = [self.home(h)]
                self.contact(h)
                members = [h]
            for h in members:
                self.people.append(h)
                by_scope[scope].append(h)
        self.moves()
        for h in self.people:
            self.channels(h)
        return self.people

    def household(self, scope: str, culture: str | None, size: int, n: int) -> list[Human]:
        """2-4 people at one address with one landline, mostly one surname, maybe a family email."""
        r, hid = self.r, f"H{n:04d}"
        founder = self.new_human(scope)
        founder.household = hid
        self.name(founder, culture=culture)
        home = self.home(founder)
        landline = self.phone(founder.country) if self.hit(P["household_landline"]) else None
        family = None
        if self.hit(P["household_family_email"]):
            fam = FAMILY_WORD[founder.lang].format(l=slug(founder.last_latin or founder.last.split(" ")[0]))
            fk = self.fk[founder.country]
            family = self.unique(lambda: f"{fam}{r.randint(1, 99) if self.hit(0.5) else ''}@{fk.free_email_domain()}")
        members = [founder]
        for i in range(size):
            pid = f"P{len(self.people) + i + 1:05d}"
            h = founder if i == 0 else Human(pid, scope, founder.country, founder.lang, r.choice("fm"))
            if i:
                h.household = hid
                same = self.hit(P["household_same_surname"])
                while True:  # a first name of their own
                    self.name(h, surname=founder.last if same else None, culture=culture)
                    if slug(h.first) not in {slug(m.first) for m in members}:
                        break
                if same:
                    h.last_latin = founder.last_latin
                members.append(h)
            h.homes, h.landline, h.family_email, h.city_index = [home], landline, family, founder.city_index
            self.contact(h, i == 0 or self.hit(P["member_own_email"]), i == 0 or self.hit(P["member_own_mobile"]))
        self.c["households_with_family_email"] += family is not None
        return members

    def moves(self) -> None:
        """5% of people move mid-stream; a household moves together."""
        done: set[str] = set()
        for h in self.people:
            key = h.household or h.pid
            if key in done or not self.hit(P["move"]):
                continue
            done.add(key)
            at, new = self.r.uniform(0.15, 0.85) * DAYS * 86400, self.home(h)
            for m in self.people:
                if (m.household or m.pid) == key:
                    m.homes, m.move_at = [m.homes[0], new], at
                    self.c["people_moving"] += 1

    def channels(self, h: Human) -> None:
        r = self.r
        if not h.emails and not h.mobile and not h.landline and not h.family_email:
            h.channels = ["pos"]  # nothing to check out online with: a walk-in customer
        else:
            first = r.choices(["shopify", "pos", "market"], weights=(55, 25, 20))[0]
            h.channels = [first]
            if self.hit(P["second_channel"]):
                h.channels.append(r.choice([x for x in ("shopify", "pos", "market") if x != first]))
        if "shopify" in h.channels and h.emails and self.hit(P["shopify_registered"]):
            h.shopify_id = self.unique(lambda: str(r.randrange(10**12, 10**13)))
        if "pos" in h.channels:
            stores = self.stores[h.scope]
            local_store = h.city_index is not None and h.city_index < len(stores)
            h.store_id = stores[h.city_index] if local_store else r.choice(stores)
            if self.hit(P["loyalty_holder"]):
                h.loyalty_id = self.unique(lambda: f"LOY{r.randrange(10**8):08d}")
        if "market" in h.channels:
            h.buyer_id = self.unique(lambda: "A" + "".join(r.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=13)))
            local = "".join(r.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=16))
            h.relay_email = f"{local}@{RELAY_DOMAIN[h.country]}"

    # --- schedule ----------------------------------------------------------------------------

    def schedule(self) -> list[tuple[datetime, Human, float]]:
        """Orders per person: 1 + a Pareto share of the rest; each at a daytime moment after
        the person's first appearance, over DAYS days. Sorted by the instant."""
        r, people = self.r, self.people
        weights = [min(r.paretovariate(1.2), 60.0) for _ in people]
        counts = Counter(range(len(people)))
        counts.update(r.choices(range(len(people)), weights=weights, k=max(0, self.n_orders - len(people))))
        plan = []
        for i, h in enumerate(people[: self.n_orders]):
            arrive = r.uniform(0, 0.9) * DAYS * 86400
            moments = [arrive] + [r.uniform(arrive, DAYS * 86400) for _ in range(counts[i] - 1)]
            for t in moments:
                day, frac = divmod(t, 86400)
                local = datetime.combine(START.date() + timedelta(days=int(day)), datetime.min.time(), TZ[h.country])
                plan.append((local + timedelta(seconds=int(8 * 3600 + frac * 13.5 / 24)), h, t))
        plan.sort(key=lambda x: (x[0], x[1].pid))
        return plan

    # --- rendering ---------------------------------------------------------------------------

    def typo(self, s: str) -> str:
        r, i = self.r, self.r.randrange(1, max(2, len(s) - 1))
        op = r.randrange(3)
        if op == 0 and i + 1 < len(s):
            return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
        if op == 1:
            return s[:i] + s[i + 1 :]
        return s[:i] + s[i] + s[i:]

    def render_name(self, h: Human, channel: str, tags: list[str]) -> tuple[str, str]:
        r = self.r
        first, last = h.first, h.last
        if h.culture and not self.hit(h.native_share):
            first, last = h.first_latin, h.last_latin
            tags.append("name_transliterated")
        elif h.culture:
            tags.append("name_native_script")
        if h.uses_nickname and self.hit(P["nickname_order"]):
            first = r.choice(h.nicknames)
            tags.append("nickname")
        elif h.middle and self.hit(P["middle_name_shown"]):
            first = f"{first} {h.middle}"
            tags.append("middle_name")
        if " " in last and h.country == "ES" and not h.culture and self.hit(P["second_surname_dropped"]):
            last = last.split(" ")[0]
            tags.append("second_surname_dropped")
        if self.hit(P["accents_dropped_market"] if channel == "market" else P["accents_dropped"]):
            umlauts = h.country == "DE" and self.hit(0.5)  # "Müller" as "Mueller" rather than "Muller"
            plain = deaccent(first, umlauts), deaccent(last, umlauts)
            if plain != (first, last):
                first, last = plain
                tags.append("accents_dropped")
        if self.hit(P["initial"]) and first and is_latin(first):
            first = first[0] + "."
            tags.append("initial")
        if self.hit(P["name_typo"]) and len(last) >= 4 and last.isascii():
            last = self.typo(last)
            tags.append("name_typo")
        x = r.random()
        if x < P["name_upper"]:
            first, last = first.upper(), last.upper()
            tags.append("name_upper")
        elif x < P["name_upper"] + P["name_lower"]:
            first, last = first.lower(), last.lower()
            tags.append("name_lower")
        if self.hit(P["name_swapped"]):
            first, last = last, first
            tags.append("name_swapped")
        return first, last

    def render_email(self, email: str, tags: list[str]) -> str:
        r = self.r
        local, domain = email.split("@")
        if domain in ("gmail.com", "googlemail.com"):
            if self.hit(P["gmail_dots"]):
                half = len(local) // 2
                local = local.replace(".", "") if "." in local else f"{local[:half]}.{local[half:]}"
                tags.append("gmail_dots")
            if self.hit(P["googlemail"]):
                domain = "googlemail.com" if domain == "gmail.com" else "gmail.com"
                tags.append("googlemail")
        plus_ok = domain.split(".")[0] in ("gmail", "googlemail", "outlook", "hotmail", "icloud", "yahoo")
        if plus_ok and self.hit(P["plus_tag"]):
            local += "+" + r.choice(["shop", "orders", "northwind", "promo", "2025"])
            tags.append("plus_tag")
        if self.hit(P["email_domain_typo"]):
            generic = domain.replace(".", "", 1) if domain.count(".") > 1 else domain[:-1]  # "yahoode", "free.f"
            domain = r.choice(DOMAIN_TYPOS.get(domain, [generic]))
            tags.append("email_domain_typo")
        out = f"{local}@{domain}"
        if self.hit(P["email_case"]):
            out = r.choice([out.upper(), out.title(), out[0].upper() + out[1:], local.title() + "@" + domain.upper()])
            tags.append("email_case")
        if self.hit(P["email_spaces"]):
            out = r.choice([f" {out}", f"{out} ", f" {out} ", out.replace("@", " @")])
            tags.append("email_spaces")
        return out

    def render_phone(self, phone: Phone, tags: list[str]) -> str:
        style = self.r.choices([s for s, _ in PHONE_STYLES], weights=[w for _, w in PHONE_STYLES])[0]
        num = pn.PhoneNumber(country_code=phone.number.country_code, national_number=phone.number.national_number)
        if style != "raw":
            tags.append(f"phone_{style}")
        elif "x" in phone.raw:
            tags.append("phone_extension")
        return {
            "raw": lambda: phone.raw,
            "e164": lambda: pn.format_number(num, pn.PhoneNumberFormat.E164),
            "national": lambda: pn.format_number(num, pn.PhoneNumberFormat.NATIONAL),
            "international": lambda: pn.format_number(num, pn.PhoneNumberFormat.INTERNATIONAL),
            "digits": lambda: re.sub(r"\D", "", pn.format_number(num, pn.PhoneNumberFormat.NATIONAL)),
            # "0049 30 ...", but an American writes "1 609 ..." (the US exit code is 011)
            "idd00": lambda: f"{'' if num.country_code == 1 else '00'}{num.country_code}{phone.nsn}",
        }[style]()

    def render_postcode(self, cc: str, home: Home, tags: list[str]) -> str:
        code, r = home.postcode, self.r
        if cc == "US" and home.zip4 and self.hit(P["zip4_order"]):
            code = f"{code}-{home.zip4}"
            tags.append("zip4")
        if cc in ("US", "DE", "FR", "ES") and code.startswith("0") and self.hit(P["lost_leading_zero"]):
            code = code.lstrip("0")
            tags.append("postcode_lost_leading_zero")
        if cc == "DE" and self.hit(P["d_prefix"]):
            code = "D-" + code
            tags.append("postcode_d_prefix")
        if cc == "GB" and self.hit(P["uk_postcode_spacing"]):
            code = r.choice([code.replace(" ", ""), code.lower(), code.replace(" ", "  ")])
            tags.append("postcode_uk_spacing")
        return code

    def render_country(self, cc: str, tags: list[str], may_omit: bool = False) -> str | None:
        if may_omit and self.hit(P["country_missing"]):
            tags.append("country_missing")
            return None
        if self.hit(P["country_written"]):
            tags.append("country_written")
            return self.r.choice(COUNTRY_WRITTEN[cc] + [cc.lower()])
        return cc

    def render_address(self, h: Human, home: Home, first: str | None, last: str | None, tags: list[str]) -> dict:
        line1, line2 = home.line1, home.line2
        if line2 and self.hit(P["lines_merged"]):
            line1, line2 = f"{line2}, {line1}" if h.country == "GB" else f"{line1} {line2}", None
            tags.append("address_lines_merged")
        return {
            "first_name": first,
            "last_name": last,
            "line1": line1,
            "line2": line2,
            "city": home.city.upper() if "name_upper" in tags else home.city,
            "region": home.region,
            "postal_code": self.render_postcode(h.country, home, tags),
            "country": self.render_country(h.country, tags, may_omit=True),
        }

    def title(self, h: Human, first: str, tags: list[str]) -> str:
        """Faker's prefix_male()/prefix_female() ("Mr.", "Dr", "Frau") in en/de scopes."""
        if h.lang not in ("en", "de") or not self.hit(P["title"]):
            return first
        fk = self.fk[h.country]
        tags.append("title_prefix")
        return f"{fk.prefix_female() if h.gender == 'f' else fk.prefix_male()} {first}"

    # --- orders ------------------------------------------------------------------------------

    def build(self, plan: list[tuple[datetime, Human, float]]) -> list[Delivery]:
        r, c = self.r, self.c
        template = json.loads(EXAMPLE.read_text())
        template.pop("message_id")
        serial: Counter = Counter()
        market_numbers: set[str] = set()
        out = []
        for placed, h, t in plan:
            tags: list[str] = []
            channel = h.channels[1] if len(h.channels) > 1 and self.hit(P["second_channel_order"]) else h.channels[0]
            home = h.home_at(t)
            if h.move_at is not None and t >= h.move_at:
                tags.append("after_move")
            email = h.emails[0] if h.emails else None
            if h.email_change_at is not None and t >= h.email_change_at:
                if self.hit(P["old_email_after_change"]):
                    tags.append("old_email_after_change")
                else:
                    email = h.emails[1]
                    tags.append("changed_email")
            if h.family_email and (email is None or self.hit(P["family_email_used"])):
                email = h.family_email
                tags.append("family_email")
            phone = h.mobile or h.landline
            if h.landline and h.mobile and self.hit(0.2):
                phone = h.landline
            first, last = self.render_name(h, channel, tags)
            pay: dict = {"scope": h.scope, "account_type": "guest", "preferred_language": h.lang, "status": "confirmed"}
            if channel == "shopify":
                source = SHOPIFY[h.scope]
                serial[source] += 1
                number = str(1000 + serial[source])
                pay["display_number"] = f"#{number}"
                if h.shopify_id and self.hit(P["logged_in"]):
                    pay.update(account_type="registered", source_customer_id=h.shopify_id)
                    tags.append("shopify_registered")
                else:
                    tags.append("shopify_guest")
                    if h.household and h.landline and self.hit(P["landline_order"]):
                        email, phone = None, h.landline
                        tags.append("household_landline_no_email")
                    elif email and phone and self.hit(P["guest_phone_only"]):
                        email = None
                        tags.append("guest_phone_only")
                assert email or phone, h  # people with no contact at all only buy in stores
                if email and not self.hit(P["shopify_phone"]):
                    phone = None
                bill = self.render_address(h, home, self.title(h, first, tags), last, tags)
                ship = dict(bill)
                if self.hit(P["gift"]):  # shipped to someone else, at their address
                    fk = self.fk[h.country]
                    street, city = fk.street_address().split("\n")[-1], fk.city()
                    gift_home = Home(street, None, city, self._postcode(h.country, home.region), home.region)
                    ship = self.render_address(h, gift_home, fk.first_name(), fk.last_name(), tags)
                    tags.append("gift_shipping")
                pay.update(billing_address=bill, shipping_address=ship)
            elif channel == "pos":
                source = POS
                store = h.store_id or r.choice(self.stores[h.scope])
                if self.hit(P["pos_other_store"]):
                    store = r.choice(self.stores[h.scope])
                serial[store] += 1
                number, pay["store_id"] = f"{store}-{serial[store]:06d}", store
                loyalty = h.loyalty_id if h.loyalty_id and self.hit(P["loyalty_shown"]) else None
                show_email, show_phone = email and self.hit(P["pos_email"]), phone and self.hit(P["pos_phone"])
                if h.household and h.landline and not loyalty and self.hit(P["landline_order"]):
                    show_email, show_phone, phone = False, True, h.landline
                    tags.append("household_landline_no_email")
                if self.hit(P["pos_cash"]) or not (loyalty or show_email or show_phone or phone):
                    # a cash sale: the cashier types a name and a postal code, nothing else
                    email = phone = None
                    x = r.random()
                    if x < P["pos_cash_initial"] and first and is_latin(first):
                        first = first[0] + "."
                    elif x < P["pos_cash_initial"] + P["pos_cash_no_first"]:
                        first = None
                    code = self.render_postcode(h.country, home, tags)
                    pay["billing_address"] = {"postal_code": code, "country": h.country}
                    tags.append("pos_cash_name_postcode_only")
                else:
                    if not (loyalty or show_email or show_phone):
                        show_phone = True
                    email, phone = email if show_email else None, phone if show_phone else None
                    if loyalty:
                        pay.update(account_type="registered", source_customer_id=loyalty)
                        tags.append("pos_loyalty_card")
                    if self.hit(P["pos_address"]):
                        pay["billing_address"] = self.render_address(h, home, first, last, tags)
                tags.append("pos")
            elif channel == "market":
                source = MARKET
                number = self.unique_in(market_numbers, lambda: f"{r.randint(111, 407)}-{r.randrange(10**14):014d}")
                number = f"{number[:11]}-{number[11:]}"  # Amazon style: 123-1234567-1234567
                email = h.relay_email
                phone = phone if self.hit(P["market_phone"]) else None
                pay.update(
                    account_type="registered",
                    source_customer_id=h.buyer_id,
                    shipping_address=self.render_address(h, home, self.title(h, first, tags), last, tags),
                )
                tags.append("marketplace_relay_email")
            if email and channel != "market":
                email = self.render_email(email, tags)
            c["orders_without_email"] += not email
            c["orders_without_phone"] += not phone
            c["gifts"] += "gift_shipping" in tags
            lang = h.lang
            pay.update(
                order_number=number,
                source_system=source,
                email=email,
                phone=self.render_phone(phone, tags) if phone else None,
                first_name=first,
                last_name=last,
                placed_at=placed.isoformat(),
                currency=CURRENCY[h.country],
                **self.basket(h.country, lang, channel),
            )
            message = {
                **template,
                "message_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                "correlation_id": f"{source.split(':')[0]}-{r.getrandbits(40):010x}",
                "producer": PRODUCER[source],
                "occurred_at": (placed + timedelta(seconds=r.randint(1, 30))).isoformat(),
                "payload": _clean(pay),
            }
            key = f"{source}|{number}"
            try:
                validated = OrderPlaced.model_validate(message)
            except ValidationError:  # e.g. a digits-only phone that reads like a card number
                message["payload"]["phone"] = phone.raw if phone else None
                validated = OrderPlaced.model_validate(message)
                tags.append("phone_rewritten_after_refusal")
            assert not validated.payload.set_aside, validated.payload.set_aside
            self.tags[key] = tags
            c.update(tags)
            out.append(Delivery(validated, h.pid, key))
        return out

    @staticmethod
    def unique_in(seen: set[str], make) -> str:
        while (value := make()) in seen:
            pass
        seen.add(value)
        return value

    def basket(self, cc: str, lang: str, channel: str) -> dict:
        r = self.r
        lines, subtotal = [], Decimal(0)
        for sku, price, names in r.sample(CATALOG, r.choices((1, 2, 3), weights=(6, 3, 1))[0]):
            q, unit, name = r.choice((1, 1, 1, 2)), Decimal(price), names.split("|")[LANGS.index(lang)]
            lines.append({"sku": sku, "name": name, "quantity": q, "unit_price": price, "total": str(unit * q)})
            subtotal += unit * q
        shipping = Decimal(0) if channel == "pos" or subtotal >= 50 else Decimal("4.95")
        if cc == "US":
            tax = ((subtotal + shipping) * US_SALES_TAX).quantize(Decimal("0.01"))
            total, included = subtotal + shipping + tax, False
        else:
            total, included = subtotal + shipping, True
            tax = (total - total / (1 + VAT[cc])).quantize(Decimal("0.01"))
        totals = {"subtotal": subtotal, "shipping": shipping, "tax": tax, "discount": 0, "total": total}
        return {"lines": lines, "totals": {**{k: str(v) for k, v in totals.items()}, "taxes_included": included}}

    def redeliver(self, base: list[Delivery]) -> list[Delivery]:
        """Re-deliveries (the same message again) and re-sends (same order, new message_id), later."""
        r, extra = self.r, []
        for i, d in enumerate(base):
            if self.hit(P["redelivery"]):
                extra.append((i + r.randint(1, 300) + 0.5, d))
                self.tags[d.order_key].append("redelivered")
                self.c["redelivered"] += 1
            elif self.hit(P["resend"]):
                copy = OrderPlaced.model_validate(
                    {
                        **d.message.model_dump(),
                        "message_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                        "occurred_at": d.message.occurred_at + timedelta(minutes=r.uniform(5, 720)),
                    }
                )
                extra.append((i + r.randint(1, 1500) + 0.5, Delivery(copy, d.person_id, d.order_key)))
                self.tags[d.order_key].append("resent")
                self.c["resent"] += 1
        merged = [(float(i), d) for i, d in enumerate(base)] + extra
        return [d for _, d in sorted(merged, key=lambda x: x[0])]


def _clean(d: dict) -> dict:
    """Without None values (nested), as upstream systems leave fields out."""
    return {k: _clean(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


# --- the stream ------------------------------------------------------------------------------


def to_person(h: Human) -> Person:
    """The bench's Person: canonical names, transliterations and nicknames as accepted first-name
    forms, phones as national significant numbers, every address lived at."""
    firsts = ([h.first_latin] if h.first_latin else []) + h.nicknames
    return Person(
        h.pid,
        h.scope,
        h.first,
        h.last,
        h.household,
        country=h.country,
        middle_name=h.middle,
        first_latin=tuple(firsts),
        last_latin=(h.last_latin,) if h.last_latin else (),
        culture=h.culture,
        native_share=h.native_share if h.culture else 1.0,
        emails=tuple(h.emails),
        email_change_at=h.email_change_at,
        mobile=h.mobile.nsn if h.mobile else None,
        landline=h.landline.nsn if h.landline else None,
        addresses=tuple(Address(a.line1, a.city, a.postcode, a.region, a.zip4) for a in h.homes),
        move_at=h.move_at,
        channels=tuple(h.channels),
        shopify_id=h.shopify_id,
        loyalty_id=h.loyalty_id,
        buyer_id=h.buyer_id,
        relay_email=h.relay_email,
    )


def generate_tagged(orders: int = 10_000, seed: int = 1) -> tuple[Stream, dict[str, list[str]]]:
    g = _Gen(orders, seed)
    humans = g.make_people()
    base = g.build(g.schedule())
    deliveries = g.redeliver(base)
    ordering = {d.person_id for d in base}
    people = {h.pid: to_person(h) for h in humans if h.pid in ordering}
    c = g.c
    names = Counter((h.scope, slug(h.first), slug(h.last)) for h in humans if h.pid in people)
    for label, test in (
        ("people_foreign_culture", lambda h: h.culture),
        ("people_with_middle_name", lambda h: h.middle),
        ("people_using_nickname", lambda h: h.uses_nickname),
        ("people_without_email", lambda h: not h.emails),
        ("people_without_phone", lambda h: not h.mobile and not h.landline),
        ("people_changing_email", lambda h: h.email_change_at is not None),
        ("people_namesakes", lambda h: names[(h.scope, slug(h.first), slug(h.last))] > 1),
        ("people_shopify_registered", lambda h: h.shopify_id),
        ("people_loyalty_card", lambda h: h.loyalty_id),
        ("people_marketplace_buyers", lambda h: h.buyer_id),
    ):
        c[label] = sum(1 for h in humans if h.pid in people and test(h))
    undecidable, with_candidate = _undecidable(base, people, c)
    for key in undecidable:
        g.tags[key].append("undecidable")
    stream = Stream(
        people,
        deliveries,
        truth={d.order_key: d.person_id for d in base},
        scope_of={d.order_key: d.message.payload.scope for d in base},
        undecidable=undecidable,
        undecidable_with_candidate=with_candidate,
        scopes=list(SCOPES),
        counts=c,
        households={p.person_id: p.household for p in people.values() if p.household},
    )
    return stream, g.tags


def generate(orders: int = 10_000, seed: int = 1) -> Stream:
    return generate_tagged(orders, seed)[0]


def main() -> None:
    import argparse

    from .score import score
    from .simulate import simulate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    stream = generate(args.orders, seed=args.seed)
    outcome, reviews = simulate(stream)
    print(json.dumps(score(stream, outcome, reviews), indent=2))


if __name__ == "__main__":
    main()
