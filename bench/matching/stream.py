"""A large, messy, multilingual ``OrderPlaced`` stream with its ground truth (O2-O6 benchmark).

``generate(orders, seed=11)`` is pure and deterministic for a seed (one ``random.Random``, no
hash-order dependence). Each phenomenon is drawn at the rate below and counted, as realised,
in ``Stream.summary()``. Realised on 10,000 orders: ~20% of orders without email, 2.8-3.9%
undecidable depending on the seed (3.3% at 100,000, seed 11), most of them (85-90%) cash sales
with a name and a postal code only.

Scopes, sources  eu-fr/FR/fr 22% of people, de/DE/de 22%, uk/GB/en 18%, us/US/en 23%, es/ES/es
  15%. ``shopify:acme-eu`` serves eu-fr, de, es; ``shopify:acme-na`` uk, us; ``pos:stores`` and
  ``marketplace:bazaar`` every scope. A person uses 1 (60%), 2 (30%) or 3 (10%) channels
  (Shopify 55 : POS 25 : marketplace 20), the first most (6:3:1). Shopify: 55% of its users
  registered (a 13-digit id per person and store, the same in each scope of the store), guest
  checkouts on 10% of their orders; 3% of guest orders phone-only. POS (store_id always): cash
  sales 15% (name and postal code only; the first name an initial on 40% of them, absent on
  10%); otherwise email 35%, phone 50% (phone added when no email, phone or card), loyalty card
  id as source_customer_id on 70% of sales of its 40% of holders; realised ~29% email, ~63%
  phone, ~26% card. Marketplace: buyer id, relay email stable per buyer, real name, shipping
  address, phone 70%.
Names  ~40 first names and ~40 surnames per country (Zipf; the surname from them for 40% of
  people, else from ~400 rarer ones); two surnames for 60% of Spaniards (the second left out on
  40% of orders); 10% of people of another script or culture (ru, el, ja, zh, vi, tr, pl,
  nordic) written natively on 20-70% of their orders, else in one of 1-2 transliterations. Per
  order: accents dropped 8% (20% on the marketplace; umlauts as ae/oe/ue or stripped), compound
  first name with a space 30%, ALL CAPS 4% (10% at POS), first/last swapped 2%, a one-letter
  typo 1%; a middle name (12% of people, 30% in GB/US) shown on 40% of orders.
Emails  per order: case changed 8%, stray spaces 2%, gmail dots toggled 12%, gmail +tag 5%,
  googlemail<->gmail 5% (15% from googlemail), +tag at outlook/hotmail/icloud 5%, local-part
  typo 0.5%; 8% of people change email mid-stream (the old one on 10% of later orders).
Phones  valid numbers of the country (mobile 92% of people, a landline for every household and
  20% of the others, used on 30% of orders of people with both); national formats on 75% of
  orders (50% on the marketplace), else international ("+33 6 12 34 56 78", "0033612345678",
  "+49 (0)30 1234567", "+1 415-555-0132"), only "+" forms in another scope.
Postal codes  leading zeros exist (Bourg-en-Bresse, Leipzig, Boston, Barcelona, ...), lost on
  15% of such addresses; ``D-`` 4% in DE; ZIP+4 on 30% of US addresses having one (60%); UK
  case/spacing 20%. Country as a name or alpha-3 in 2% of addresses; one the contract can't
  read ("US of A") is replaced by the ISO code (``country_unreadable_fallback``).
Addresses  billing and shipping on Shopify, shipping on the marketplace, billing on 50% of POS
  sales; gifts on 7.5% of orders with a shipping address (~5% of orders): another person's name
  and address there; 5% of people (households together) move mid-stream.
Households  8.5% of new people found one of 2-4 (~20% of people): one landline, street, postal
  code and (85%) surname; their own first name (8% of households: a son named after his
  father), email (92%) and mobile (80%); 15% of members' orders use the landline, no email (at
  POS then 40% under the surname only).
Namesakes  the Zipf names, plus 3% of single people copying the full name of someone of their
  scope, 40% of those in the same postal code.
Volume  1 + a capped Pareto(1.2) share of the rest per person (many 1-2, some 20+) over 120
  days, in waking hours, interleaved; 3% of people start with a burst of 2-4 orders within a
  second (consecutive deliveries); 4.5% of single people with an email shop in a second scope too
  (at least one and 25% of their later orders, same email). Re-deliveries 3% (the same message object again, up
  to 3,000 deliveries later); resends 1% (same order and payload, a new message_id, later).

Undecidable  An order is undecidable iff it has no email and no source_customer_id, and two or
  more people with orders in its scope *fit* it. A person fits when each identifying field the
  order has is theirs: its phone (E.164) one of their phones; its postal code (billing, else
  shipping; case, spaces, ``D-``, ZIP+4, a lost leading zero normalised) one of theirs, old or
  new; its surname (folded: case, accents, script via anyascii, umlaut spellings, punctuation)
  one of their surname forms, and its first name, if any, one of their first-name forms (with or
  without middle name) or, if an initial, the initial of one; first and last may be swapped.
  Checked on the generated orders against the ground-truth people of the whole stream. A sale
  with only a name and a postal code (no phone, no street) is undecidable too as soon as one
  person who fits it has shown that postal code on an order in the scope before it (a matcher
  cannot doubt a postal code it never saw): the issue counts such cash sales among
  the orders no careful matcher can decide, and wants them in review when a candidate exists.
  An order nobody fits (a typo) is not undecidable. ``undecidable_with_candidate`` are those
  that someone who fits had ordered in the scope before: a matcher has a candidate to doubt
  (the first order at a household's phone has none, and is created).
"""

from __future__ import annotations

import gc
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from itertools import accumulate
from random import Random

import phonenumbers
from anyascii import anyascii

from contracts.countries import country_code
from contracts.upstream.orders import OrderPlaced

SCOPES = [("eu-fr", "FR", "fr"), ("de", "DE", "de"), ("uk", "GB", "en"), ("us", "US", "en"), ("es", "ES", "es")]
SCOPE_WEIGHTS = [22, 22, 18, 23, 15]
SHOPIFY = {
    "eu-fr": "shopify:acme-eu",
    "de": "shopify:acme-eu",
    "es": "shopify:acme-eu",
    "uk": "shopify:acme-na",
    "us": "shopify:acme-na",
}
POS, MARKET = "pos:stores", "marketplace:bazaar"
PRODUCER = {
    "shopify:acme-eu": "shopify-acme-eu",
    "shopify:acme-na": "shopify-acme-na",
    POS: "pos-gateway",
    MARKET: "bazaar-connector",
}
CURRENCY = {"FR": "EUR", "DE": "EUR", "GB": "GBP", "US": "USD", "ES": "EUR"}
TZ = {k: timezone(timedelta(hours=h)) for k, h in {"FR": 1, "DE": 1, "GB": 0, "US": -5, "ES": 1}.items()}
CALLING = {"FR": "33", "DE": "49", "GB": "44", "US": "1", "ES": "34"}
#: country -> (national forms, international forms) of "area subscriber" (a, s): n = a + s, p = s in pairs,
#: d = pairs with dots, x/y = s split 3/4, e/t = n grouped 3-2-2-2 / 3-3-3.
PHONE_FORMATS = {
    "FR": ("0{a} {p}|0{n}|0{a}.{d}", "+33 {a} {p}|+33{n}|0033{n}|+33 (0){a} {p}"),
    "DE": ("0{a} {s}|0{a}/{s}|0{a}-{s}|(0{a}) {s}", "+49 {a} {s}|+49 (0){a} {s}|0049{n}|+49{n}"),
    "GB": ("0{a} {s}|0{n}", "+44 {a} {s}|+44 (0){a} {s}|0044 {a} {s}|+44{n}"),
    "US": ("({a}) {x}-{y}|{a}-{x}-{y}|{a}.{x}.{y}|{n}", "+1 {a}-{x}-{y}|+1 ({a}) {x}-{y}|+1{n}|1-{a}-{x}-{y}"),
    "ES": ("{e}|{n}|{t}", "+34 {e}|0034{n}|+34{n}|+34 {t}"),
}
START, WINDOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC), 120 * 86400.0

FIRST = {
    "FR": "Jean,Marie,Pierre,Michel,Nathalie,Isabelle,Philippe,Catherine,Nicolas,Sophie,Anne-Sophie,Jean-Pierre,"
    "Christophe,Sandrine,Julien,Céline,Stéphane,Valérie,Frédéric,Hélène,Léa,Chloé,Camille,Manon,Thomas,Lucas,"
    "Hugo,Émilie,Aurélie,Sébastien,François,Françoise,Jérôme,Amélie,Benoît,Gaëlle,Noémie,Loïc,Marie-Claire,Zoé",
    "DE": "Thomas,Michael,Andreas,Stefan,Peter,Sabine,Petra,Monika,Ursula,Klaus,Jürgen,Hans-Jürgen,Karl-Heinz,Anna,"
    "Lena,Lukas,Jonas,Leonie,Sophie,Maximilian,Katharina,Julia,Tobias,Jörg,Björn,Günter,Uwe,Dieter,Birgit,Heike,"
    "Jens,Sven,Anja,Mareike,Felix,Paul,Marie,Lea,Till,Sören",
    "GB": "Oliver,George,Harry,Jack,James,William,Charlotte,Olivia,Amelia,Emily,Sophie,Jessica,David,John,Paul,Mark,"
    "Sarah,Emma,Laura,Rebecca,Daniel,Thomas,Matthew,Andrew,Claire,Helen,Rachel,Chloe,Lucy,Hannah,Ben,Sam,Joe,"
    "Megan,Zoe,Ruth,Gareth,Siobhan,Niamh,Rhys",
    "US": "James,Michael,Robert,John,David,William,Mary,Jennifer,Linda,Patricia,Elizabeth,Jessica,Sarah,Ashley,Emily,"
    "Christopher,Matthew,Daniel,Joshua,Andrew,Brian,Kevin,Jason,Amanda,Stephanie,Nicole,Megan,Lauren,Tyler,"
    "Brandon,Madison,Hannah,Olivia,Ethan,Noah,Emma,Sophia,Isabella,José,Mary-Kate",
    "ES": "María,José,Antonio,Manuel,Francisco,David,Juan,Javier,Carmen,Ana,Laura,Isabel,Lucía,Marta,Cristina,Pablo,"
    "Sergio,Jorge,Alejandro,Carlos,Álvaro,Raúl,Iñaki,Begoña,Nuria,Montserrat,Pilar,Rocío,Inés,Ángel,Jesús,Rubén,"
    "Elena,Paula,Sara,Andrea,Jordi,María-José,José-Luis,Juan-Carlos",
}
LAST = {
    "FR": "Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,Laurent,Lefèvre,Michel,Garcia,"
    "David,Bertrand,Roux,Vincent,Fournier,Morel,Girard,André,Lefebvre,Mercier,Dupont,Lambert,Bonnet,François,"
    "Martinez,Legrand,Garnier,Faure,Rousseau,Blanc,Guérin,Müller,Boyer,Chevalier,Lemaître",
    "DE": "Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,Hoffmann,Schäfer,Koch,Bauer,Richter,"
    "Klein,Wolf,Schröder,Neumann,Schwarz,Zimmermann,Braun,Krüger,Hofmann,Hartmann,Lange,Schmitt,Werner,Schmitz,"
    "Krause,Meier,Lehmann,Schmid,Schulze,Maier,Köhler,Herrmann,König,Groß,Jäger,Weiß",
    "GB": "Smith,Jones,Williams,Taylor,Brown,Davies,Evans,Wilson,Thomas,Johnson,Roberts,Robinson,Thompson,Wright,"
    "Walker,White,Edwards,Hughes,Green,Hall,Lewis,Harris,Clarke,Patel,Jackson,Wood,Turner,Martin,Cooper,Hill,"
    "Ward,Morris,Moore,Clark,Lee,King,Baker,Harrison,Morgan,O'Brien",
    "US": "Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Rodriguez,Martinez,Hernandez,Lopez,Gonzalez,Wilson,"
    "Anderson,Thomas,Taylor,Moore,Jackson,Martin,Lee,Perez,Thompson,White,Harris,Sanchez,Clark,Ramirez,Lewis,"
    "Robinson,Walker,Young,Allen,King,Wright,Scott,Torres,Nguyen,Hill,O'Connor",
    "ES": "García,Rodríguez,González,Fernández,López,Martínez,Sánchez,Pérez,Gómez,Martín,Jiménez,Ruiz,Hernández,"
    "Díaz,Moreno,Muñoz,Álvarez,Romero,Alonso,Gutiérrez,Navarro,Torres,Domínguez,Vázquez,Ramos,Gil,Ramírez,"
    "Serrano,Blanco,Molina,Morales,Suárez,Ortega,Delgado,Castro,Ortiz,Rubio,Marín,Sanz,Núñez",
}
#: culture -> (first names, last names), each "native/transliteration[/another]".
FOREIGN = {
    "ru": (
        "Сергей/Sergey/Sergei,Анна/Anna,Дмитрий/Dmitry/Dmitriy,Ольга/Olga,Наталья/Natalya/Natalia,"
        "Алексей/Alexey/Aleksei,Екатерина/Ekaterina/Yekaterina",
        "Иванов/Ivanov,Смирнов/Smirnov,Кузнецов/Kuznetsov/Kuznetsoff,Попова/Popova,"
        "Соколова/Sokolova,Волков/Volkov,Михайлова/Mikhailova/Mikhaylova",
    ),
    "el": (
        "Ελένη/Eleni,Γιώργος/Giorgos/Georgios,Νίκος/Nikos,Μαρία/Maria,Δημήτρης/Dimitris,Κατερίνα/Katerina",
        "Παπαδόπουλος/Papadopoulos,Παπαδοπούλου/Papadopoulou,Οικονόμου/Oikonomou/Economou,Γεωργίου/Georgiou,"
        "Νικολάου/Nikolaou",
    ),
    "ja": (
        "太郎/Taro/Tarō,花子/Hanako,健/Ken,陽子/Yoko/Yōko,翔太/Shota/Shōta,美咲/Misaki",
        "山田/Yamada,佐藤/Sato/Satō,鈴木/Suzuki,高橋/Takahashi,田中/Tanaka,伊藤/Ito/Itō",
    ),
    "zh": ("伟/Wei,芳/Fang,军/Jun,丽/Li,静/Jing,敏/Min", "王/Wang,李/Li,张/Zhang/Chang,陈/Chen/Chan,刘/Liu,杨/Yang"),
    "vi": (
        "Minh,Thảo/Thao,Hương/Huong,Dũng/Dung,Anh,Tuấn/Tuan",
        "Nguyễn/Nguyen,Trần/Tran,Lê/Le,Phạm/Pham,Hoàng/Hoang,Võ/Vo",
    ),
    "tr": (
        "Mehmet,Ayşe/Ayse,Gülşen/Gulsen,Çağrı/Cagri,Emre,Zeynep",
        "Yılmaz/Yilmaz,Şahin/Sahin,Öztürk/Ozturk/Oeztuerk,Kaya,Demir,Çelik/Celik",
    ),
    "pl": (
        "Łukasz/Lukasz,Małgorzata/Malgorzata,Wojciech,Agnieszka,Paweł/Pawel,Katarzyna",
        "Wójcik/Wojcik,Kowalski,Wiśniewska/Wisniewska,Nowak,Lewandowski,Kamińska/Kaminska",
    ),
    "nordic": (
        "Søren/Soren/Soeren,Bjørn/Bjorn/Bjoern,Åsa/Asa/Aasa,Sigrid,Mikael,Ingrid",
        "Jørgensen/Jorgensen/Joergensen,Østergaard/Ostergaard,Ångström/Angstrom,Lindqvist,Halvorsen,"
        "Sjöberg/Sjoberg/Sjoeberg",
    ),
}
#: country -> (prefixes, suffixes) of a long tail of rarer surnames ("Beauchamp", "Steinhauser").
TAIL = {
    "FR": (
        "Beau,Bel,Mont,Roche,Bois,Font,Ville,Champ,Mar,Lan,Dela,Haut,Grand,Saint,Clair,Bon,Mal,Vau,Char,Ber",
        "champ,court,fort,mont,rive,lin,neuve,bert,val,ier,ard,aud,eau,ot,in,ès,ay,et,on,ault",
    ),
    "DE": (
        "Acker,Berg,Stein,Wald,Ross,Feld,Linden,Busch,Kirch,Hoch,Brück,Dorn,Eich,Frei,Hain,Kalt,Lau,Mühl,Rein,Stroh",
        "mann,er,hoff,bauer,berger,meier,huber,ner,dorf,hausen,bach,feld,eder,ling,stätter,wieser,brink,kamp,ke,hardt",
    ),
    "GB": (
        "Ash,Black,Brad,Fair,Hart,Mil,Whit,Stan,Lang,Red,Bar,Brook,Cald,Craw,Hay,Hol,Kent,Mar,Old,Stock",
        "ford,field,ley,ton,wood,well,bury,worth,by,croft,hurst,more,ham,dale,stone,wick,combe,den,shaw,all",
    ),
    "US": (
        "Ash,Black,Brad,Fair,Hart,Mil,Whit,Stan,Kirk,Hol,Ander,Carl,Fitz,Gold,Hen,Mc,Ny,Pet,Rich,Van",
        "ford,field,ley,ton,wood,well,bury,man,by,son,berg,stein,gerald,ardson,dyke,sen,ney,kins,ers,ski",
    ),
    "ES": (
        "Val,Mont,Ar,Vill,Cas,Ber,Sal,Mar,Fuen,Olm,Al,Bal,Cer,Gal,Lar,Mend,Pin,Quint,Riv,Tor",
        "ero,edo,alba,anueva,illas,ejo,ado,ares,tes,eda,oza,iel,ín,uela,ayo,ana,ueta,era,illo,ente",
    ),
}
#: country -> "city|postal prefix|area code|region" (prefixes with a leading zero on purpose).
CITIES = {
    "FR": "Paris|75|1|,Lyon|69|4|,Marseille|13|4|,Bourg-en-Bresse|01|4|,Nice|06|4|,Saint-Quentin|02|3|,"
    "Lille|59|3|,Nantes|44|2|,Toulouse|31|5|,Bordeaux|33|5|",
    "DE": "Berlin|1|30|,München|8|89|,Hamburg|2|40|,Köln|5|221|,Stuttgart|70|711|,Leipzig|04|341|,Dresden|01|351|,"
    "Frankfurt am Main|60|69|,Düsseldorf|40|211|,Chemnitz|09|371|",
    "GB": "London|SW1A E1 N1 SE15 NW3|20|,Manchester|M1 M14|161|,Birmingham|B1 B15|121|,Leeds|LS1 LS6|113|,"
    "Glasgow|G1 G12|141|,Bristol|BS1 BS8|117|,Edinburgh|EH1 EH9|131|",
    "US": "New York|100|212|NY,San Francisco|941|415|CA,Boston|021|617|MA,Newark|071|973|NJ,Hartford|061|860|CT,"
    "Chicago|606|312|IL,Austin|787|512|TX,Seattle|981|206|WA,Miami|331|305|FL,Los Angeles|900|213|CA",
    "ES": "Madrid|28|91|,Barcelona|08|93|,Valencia|46|96|,Sevilla|41|95|,Bilbao|48|94|,Zaragoza|50|976|,"
    "Málaga|29|952|,Girona|17|972|,Alicante|03|965|,Almería|04|950|",
}
STREETS = {
    "FR": (
        "{n} rue de la Paix,{n} avenue Jean Jaurès,{n} rue Victor Hugo,{n} boulevard Voltaire,{n} place de l'Église,"
        "{n} chemin des Vignes,{n} rue du Moulin,{n} allée des Tilleuls"
    ),
    "DE": (
        "Hauptstraße {n},Torstraße {n},Bahnhofstraße {n},Gartenweg {n},Schillerstraße {n},Lindenallee {n},Am Markt {n}"
    ),
    "GB": "{n} High Street,{n} Station Road,{n} Church Lane,{n} Victoria Road,{n} Park Avenue,Flat {n} Mill House",
    "US": "{n} Market St,{n} Main Street,{n} Oak Ave,{n} Maple Drive,{n} Washington Blvd,{n} Elm St Apt 4",
    "ES": "Calle Mayor {n},Avenida de la Constitución {n},C/ Real {n},Plaza de España {n},Calle Alcalá {n}",
}
CARELESS = {
    "FR": "France,FRA,Frankreich",
    "DE": "Deutschland,Germany,Allemagne,DEU,GER",
    "GB": "United Kingdom,UK,GBR,Great Britain,England",
    "US": "USA,U.S.A.,United States,US of A",
    "ES": "España,Spain,ESP,Espagne",
}
DOMAINS = {
    "FR": "gmail.com*4,orange.fr*2,free.fr,laposte.net,hotmail.fr,outlook.fr,yahoo.fr,icloud.com",
    "DE": "gmail.com*2,googlemail.com,gmx.de*3,web.de*2,t-online.de,outlook.de,icloud.com",
    "GB": "gmail.com*4,hotmail.co.uk*2,outlook.com,btinternet.com,yahoo.co.uk,icloud.com",
    "US": "gmail.com*5,yahoo.com*2,outlook.com,hotmail.com,icloud.com*2,aol.com,comcast.net",
    "ES": "gmail.com*4,hotmail.es*2,outlook.es,yahoo.es,telefonica.net,icloud.com",
}
CATALOG = [
    ("TEE-ORG", "T-shirt coton bio|Bio-T-Shirt|Organic cotton tee|Camiseta de algodón", "19.90"),
    ("CAP-NVY", "Casquette marine|Kappe navy|Navy cap|Gorra azul marino", "15.00"),
    ("MUG-01", "Mug émaillé|Emaille-Becher|Enamel mug|Taza esmaltada", "12.50"),
    ("SCK-3", "Chaussettes x3|Socken 3er|Socks 3-pack|Calcetines x3", "9.99"),
    ("HOD-GRY", "Sweat à capuche|Kapuzenpulli|Grey hoodie|Sudadera gris", "49.00"),
    ("BAG-TOTE", "Tote bag|Stofftasche|Tote bag|Bolsa de tela", "7.50"),
]
LANG_INDEX = {"fr": 0, "de": 1, "en": 2, "es": 3}
TAGS = ["shop", "acme", "orders", "promo", "bazaar", "2026"]


def _pick(r: Random, items, weights):
    """One of ``items`` by ``weights`` (small lists: cheaper than ``Random.choices``)."""
    x = r.random() * sum(weights)
    for item, w in zip(items, weights, strict=False):  # weights may run past items: as before
        x -= w
        if x < 0:
            return item
    return items[-1]


def _daytime(t: float, country: str) -> float:
    """Seconds into the stream moved into the waking hours (07:00-23:00) of ``country``, in order."""
    day, second = divmod(t, 86400)
    return day * 86400 + 7 * 3600 + second * 16 / 24 - TZ[country].utcoffset(None).total_seconds()


def _split(text: str) -> list[str]:
    return [w for w in text.split(",") if w]


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str  # as the post office writes it
    region: str | None = None
    zip4: str | None = None


@dataclass(frozen=True)
class Person:
    person_id: str
    scope: str
    first_name: str  # as the person writes it (native script for people of another script)
    last_name: str
    household: str | None
    country: str = ""
    middle_name: str | None = None
    first_latin: tuple[str, ...] = ()  # transliterations, for people of another script or culture
    last_latin: tuple[str, ...] = ()
    culture: str | None = None
    native_share: float = 1.0  # share of orders written in the native script
    emails: tuple[str, ...] = ()  # the first; from email_change_at on, the second
    email_change_at: float | None = None  # seconds into the stream
    mobile: str | None = None  # national significant number, "area subscriber"
    landline: str | None = None
    addresses: tuple[Address, ...] = ()  # from move_at on, the second
    move_at: float | None = None
    channels: tuple[str, ...] = ()  # "shopify", "pos", "market", most used first
    shopify_id: str | None = None  # registered on the store of the person's scope
    loyalty_id: str | None = None
    buyer_id: str | None = None
    relay_email: str | None = None
    other_scope: str | None = None  # a second scope the person also shops in

    @property
    def phones(self) -> set[str]:
        """Every phone of the person, E.164."""
        return {f"+{CALLING[self.country]}{n.replace(' ', '')}" for n in (self.mobile, self.landline) if n}

    @property
    def postal_codes(self) -> set[str]:
        return {normal_postal(self.country, a.postal_code) for a in self.addresses}

    def name_keys(self) -> tuple[set[str], set[str]]:
        """Folded first-name forms (with and without middle name) and surname forms."""
        firsts = {self.first_name, *self.first_latin}
        if self.middle_name:
            firsts |= {f"{f} {self.middle_name}" for f in firsts}
        lasts = {self.last_name, *self.last_latin}
        lasts |= {n.split(" ")[0] for n in lasts if self.country == "ES" and " " in n}
        return (
            {k for n in firsts for k in (fold(n), fold(_umlauts(n)))},
            {k for n in lasts for k in (fold(n), fold(_umlauts(n)))},
        )


@dataclass(frozen=True)
class Delivery:
    message: OrderPlaced
    person_id: str
    order_key: str  # f"{source_system}|{order_number}"


@dataclass
class Stream:
    people: dict[str, Person]
    deliveries: list[Delivery]  # publishing order, re-deliveries included
    truth: dict[str, str]  # order_key -> person_id, each order once
    scope_of: dict[str, str]  # order_key -> scope id
    undecidable: set[str]  # order keys no careful matcher can decide (module docstring)
    undecidable_with_candidate: set[str]  # of them, those someone who fits had ordered before
    households: dict[str, str]  # person_id -> household id, for people in a household
    scopes: list[tuple[str, str, str]]  # (scope_id, country alpha-2, default language)
    counts: Counter = field(default_factory=Counter)  # what the generator drew, by phenomenon

    def summary(self) -> dict[str, int | float]:
        """Flat counts of each phenomenon generated (and a few shares)."""
        orders, per_person = len(self.truth), Counter(self.truth.values())
        out: dict[str, int | float] = {
            "orders": orders,
            "deliveries": len(self.deliveries),
            "people": len(self.people),
            "people_in_households": len(self.households),
            "households": len(set(self.households.values())),
            "people_1_2_orders": sum(n <= 2 for n in per_person.values()),
            "people_20_plus_orders": sum(n >= 20 for n in per_person.values()),
            "max_orders_of_one_person": max(per_person.values(), default=0),
            "undecidable": len(self.undecidable),
            **dict(sorted(self.counts.items())),
        }
        for name in ("undecidable", "orders_without_email", "orders_without_phone", "gifts"):
            out[f"{name}_share"] = round(out.get(name, 0) / orders, 4) if orders else 0.0
        return out


# --- folding and normalising (the undecidable check; the tests) ----------------------------------


@cache
def fold(name: str) -> str:
    """Case, accents, script (anyascii) and punctuation folded: "Anne-Sophie" -> "anne sophie"."""
    return " ".join(re.findall(r"[a-z0-9]+", anyascii(name).lower()))


def _umlauts(name: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        name = name.replace(a, b)
    return name


def normal_postal(country: str, code: str) -> str:
    c = code.upper().replace(" ", "").removeprefix("D-")
    c = c.split("-")[0] if country == "US" else c
    return c.zfill(5) if country in ("FR", "DE", "ES", "US") and c.isdigit() else c


def normal_phone(raw: str, country: str) -> str | None:
    try:
        return phonenumbers.format_number(phonenumbers.parse(raw, country), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return None


# --- people --------------------------------------------------------------------------------------


class _Gen:
    def __init__(self, orders: int, seed: int, people: int | None):
        self.rng, self.c, self.used = Random(seed), Counter(), set()
        self.n_orders, self.n_people = orders, people if people is not None else max(1, orders // 5)
        zipf = lambda n: list(accumulate(1 / (i + 1) ** 0.7 for i in range(n)))  # noqa: E731
        self.first, self.last, self.streets, self.careless = (
            {k: _split(v) for k, v in t.items()} for t in (FIRST, LAST, STREETS, CARELESS)
        )
        self.wfirst, self.wlast = ({k: zipf(len(v)) for k, v in t.items()} for t in (self.first, self.last))
        self.tail = {
            k: [a + b for a in _split(pre) for b in _split(post) if a.lower() != b] for k, (pre, post) in TAIL.items()
        }
        self.foreign = {
            k: ([n.split("/") for n in _split(f)], [n.split("/") for n in _split(l)]) for k, (f, l) in FOREIGN.items()
        }
        self.cities = {k: [c.split("|") for c in _split(v)] for k, v in CITIES.items()}
        self.postals = {k: [self._postal_pool(k, c) for c in v] for k, v in self.cities.items()}
        self.domains = {
            k: [d.split("*")[0] for d in _split(v) for _ in range(int((d.split("*") + ["1"])[1]))]
            for k, v in DOMAINS.items()
        }

    def hit(self, p: float, name: str) -> bool:
        """True with probability ``p``; counted under ``name`` when true."""
        if self.rng.random() < p:
            self.c[name] += 1
            return True
        return False

    def _postal_pool(self, country: str, city: list[str]) -> list[str]:
        """A few postal codes per city, so that neighbours (and namesakes) share them."""
        r, prefix = self.rng, city[1]
        if country == "GB":
            return [
                f"{o} {r.randint(1, 9)}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                for o in prefix.split()
                for _ in range(3)
            ]
        return sorted({prefix + self._digits(5 - len(prefix)) for _ in range(6)})

    def _digits(self, n: int) -> str:
        return f"{self.rng.randrange(10**n):0{n}d}"

    def _unique(self, make) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    def phone(self, country: str, city: list[str], mobile: bool) -> str:
        """A valid national significant number, "area subscriber"."""
        r, d, area = self.rng, self._digits, city[2]
        if country == "FR":
            if mobile:
                return f"6 {r.choice('1245678')}{d(7)}" if r.random() < 0.8 else f"7 {r.choice('5678')}{d(7)}"
            return f"{area} {r.choice('12345678')}{d(7)}"
        if country == "DE":
            prefix = r.choice(["151", "152", "157", "160", "170", "171", "175", "176", "179"])
            return (
                f"{prefix} {d(8 if prefix in ('151', '152', '157', '176', '179') else 7)}"
                if mobile
                else f"{area} {r.randint(2, 9)}{d(6 if len(area) == 2 else 5)}"
            )
        if country == "GB":
            return (
                f"7{r.choice('45789')}{d(2)} {d(6)}"
                if mobile
                else f"{area} {r.choice('78') if area == '20' else r.choice('234')}{d(7 if area == '20' else 6)}"
            )
        if country == "US":
            return f"{area} {r.randint(2, 9)}{d(6)}"
        return f"6{d(2)} {d(6)}" if mobile else f"{area} {r.randint(2, 8)}{d(8 - len(area))}"

    def address(self, country: str, city_index: int | None = None, postal: str | None = None):
        r, cities = self.rng, self.cities[country]
        i = city_index if city_index is not None else _pick(r, range(len(cities)), [3] + [1] * (len(cities) - 1))
        line1 = r.choice(self.streets[country]).format(n=r.randint(1, 180) if country != "US" else r.randint(10, 9800))
        zip4 = self._digits(4) if country == "US" and r.random() < 0.6 else None
        return Address(
            line1, cities[i][0], postal or r.choice(self.postals[country][i]), cities[i][3] or None, zip4
        ), cities[i]

    def email(self, country: str, first: str, last: str) -> str:
        r = self.rng
        f, l = re.sub(r"[^a-z]", "", anyascii(first).lower()), re.sub(r"[^a-z]", "", anyascii(last).lower())
        while True:
            email = (
                r.choice(
                    [
                        f"{f}.{l}",
                        f"{f}{l}",
                        f"{f[:1]}{l}",
                        f"{f}.{l}{r.randint(1, 99)}",
                        f"{l}.{f}",
                        f"{f}_{l}",
                        f"{f}{r.randint(60, 99)}",
                        f"{f[:1]}.{l}{r.randint(1, 9)}",
                    ]
                )
                + "@"
                + r.choice(self.domains[country])
            )
            # One mailbox, one person: Gmail would not give 'maria.garcia' to one person and
            # 'mariagarcia' to another (dots do not count there).
            local, _, domain = email.partition("@")
            mailbox = f"{local.replace('.', '')}@gmail.com" if domain in ("gmail.com", "googlemail.com") else email
            if mailbox not in self.used:
                self.used.add(mailbox)
                return email

    def name(self, country: str, culture: str | None) -> tuple[str, tuple[str, ...], str, tuple[str, ...]]:
        r = self.rng
        if culture:
            f, l = r.choice(self.foreign[culture][0]), r.choice(self.foreign[culture][1])
            return f[0], tuple(f[1:]), l[0], tuple(l[1:])
        last = self.surname(country)
        if country == "ES" and r.random() < 0.6:
            last = f"{last} {self.surname(country)}"
        return r.choices(self.first[country], cum_weights=self.wfirst[country])[0], (), last, ()

    def surname(self, country: str) -> str:
        """40% one of the ~40 common names (Zipf), 60% one of a tail of rarer ones."""
        if self.rng.random() < 0.4:
            return self.rng.choices(self.last[country], cum_weights=self.wlast[country])[0]
        return self.rng.choice(self.tail[country])

    def people(self) -> list[Person]:
        r, out, by_scope = self.rng, [], defaultdict(list)
        while len(out) < self.n_people:
            scope, country, _ = _pick(r, SCOPES, SCOPE_WEIGHTS)
            size = min(_pick(r, [2, 3, 4], [5, 3, 2]) if r.random() < 0.085 else 1, self.n_people - len(out))
            household = f"H{len(out):06d}" if size > 1 else None
            culture = r.choice(list(FOREIGN)) if r.random() < 0.10 else None
            addr, city = self.address(country)
            addresses, move_at = (addr,), None
            if r.random() < 0.05:
                addresses, move_at = (addr, self.address(country)[0]), r.uniform(0.25, 0.8) * WINDOW
            landline = self.phone(country, city, False) if size > 1 or r.random() < 0.2 else None
            first, first_latin, last, last_latin = self.name(country, culture)
            if size == 1 and by_scope[scope] and self.hit(0.03, "namesakes_made"):
                twin = r.choice(by_scope[scope])
                first, first_latin, last, last_latin, culture = (
                    twin.first_name,
                    twin.first_latin,
                    twin.last_name,
                    twin.last_latin,
                    twin.culture,
                )
                if self.hit(0.4, "namesakes_made_in_same_postal_code"):
                    i = [c[0] for c in self.cities[country]].index(twin.addresses[0].city)
                    addresses, move_at = (self.address(country, i, twin.addresses[0].postal_code)[0],), None
            same_first = bool(household) and self.hit(0.08, "households_sharing_a_first_name")
            for m in range(size):
                if m:  # a member: their own first name (but a son named after his father), usually the surname
                    f, fl, l2, ll2 = self.name(country, culture)
                    head = out[-m]
                    first, first_latin = (head.first_name, head.first_latin) if m == 1 and same_first else (f, fl)
                    last, last_latin = (head.last_name, head.last_latin) if r.random() < 0.85 else (l2, ll2)
                latin = (first_latin[0] if first_latin else first, last_latin[0] if last_latin else last)
                emails = (self.email(country, *latin),) if m == 0 or r.random() < 0.92 else ()
                change = None
                if emails and r.random() < 0.08:
                    emails, change = emails + (self.email(country, *latin),), r.uniform(0.2, 0.8) * WINDOW
                mobile = self.phone(country, city, True) if r.random() < (0.92 if m == 0 else 0.8) else None
                if mobile is None and landline is None:
                    mobile = self.phone(country, city, True)
                pool, channels = {"shopify": 55, "pos": 25, "market": 20}, []
                for _ in range(_pick(r, [1, 2, 3], [6, 3, 1])):
                    channels.append(_pick(r, list(pool), list(pool.values())))
                    del pool[channels[-1]]
                market = "market" in channels
                p = Person(
                    f"P{len(out):06d}",
                    scope,
                    first,
                    last,
                    household,
                    country=country,
                    middle_name=r.choice(self.first[country]).split("-")[0]
                    if not culture and r.random() < (0.3 if country in ("GB", "US") else 0.12)
                    else None,
                    first_latin=first_latin,
                    last_latin=last_latin,
                    culture=culture,
                    native_share=r.uniform(0.2, 0.7),
                    emails=emails,
                    email_change_at=change,
                    mobile=mobile,
                    landline=landline,
                    addresses=addresses,
                    move_at=move_at,
                    channels=tuple(channels),
                    shopify_id=self._unique(lambda: "7" + self._digits(12))
                    if "shopify" in channels and r.random() < 0.55
                    else None,
                    loyalty_id=self._unique(lambda: "LC-" + self._digits(10))
                    if "pos" in channels and r.random() < 0.4
                    else None,
                    buyer_id=self._unique(lambda: "BZ" + self._digits(8)) if market else None,
                    relay_email=self._unique(
                        lambda: (
                            "".join(r.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(6))
                            + "@relay.bazaar.example"
                        )
                    )
                    if market
                    else None,
                    other_scope=r.choice([s for s, _, _ in SCOPES if s != scope])
                    if size == 1 and emails and r.random() < 0.045
                    else None,
                )
                out.append(p)
                by_scope[scope].append(p)
        return out

    # --- orders ----------------------------------------------------------------------------------

    def schedule(self, people: list[Person]) -> list[tuple[float, int, str]]:
        """(seconds into the stream, person index, scope) of every order, in publishing order."""
        r, n = self.rng, len(people)
        counts = [1 if i < self.n_orders else 0 for i in range(n)]
        weights = [min(r.paretovariate(1.2), 60.0) for _ in range(n)]  # Zipf-like, capped
        for i in r.choices(range(n), weights, k=max(0, self.n_orders - n)):
            counts[i] += 1
        bursts = {i for i in range(n) if counts[i] and r.random() < 0.03}
        for i in bursts:  # a burst of 2-4 orders: taken from heavy buyers
            for _ in range(40):
                if counts[i] >= 2:
                    break
                j = max(r.sample(range(n), min(n, 5)), key=counts.__getitem__)
                if counts[j] > 4 and j not in bursts:
                    counts[j], counts[i] = counts[j] - 1, counts[i] + 1
        events = []
        for i, p in enumerate(people):
            if not (k := counts[i]):
                continue
            start = r.uniform(0, WINDOW * 0.9 / (1 + k / 15))
            times = sorted(_daytime(t, p.country) for t in [start] + [r.uniform(start, WINDOW) for _ in range(k - 1)])
            start = times[0]
            if i in bursts and k >= 2:
                size = min(k, r.randint(2, 4))
                events.append((start, i, [(start + j * r.uniform(0.05, 0.3), p.scope) for j in range(size)]))
                self.c["bursts"] += 1
                self.c["burst_orders"] += size
                times = times[size:]
            abroad = r.randrange(len(times)) if p.other_scope and len(times) > 1 else -1  # at least one
            for j, t in enumerate(times):
                other = p.other_scope and (j or i in bursts) and (j == abroad or r.random() < 0.25)
                events.append((t, i, [(t, p.other_scope if other else p.scope)]))
        events.sort(key=lambda e: (e[0], e[1]))
        return [(t, i, s) for _, i, slots in events for t, s in slots]

    def render_name(self, p: Person, channel: str) -> tuple[str, str]:
        r, hit = self.rng, self.hit
        if p.culture and r.random() >= p.native_share:
            first, last = r.choice(p.first_latin or (p.first_name,)), r.choice(p.last_latin or (p.last_name,))
            self.c["names_transliterated"] += 1
        else:
            first, last = p.first_name, p.last_name
            self.c["names_native_script"] += bool(p.culture)
        if p.middle_name and hit(0.4, "names_middle_shown"):
            first = f"{first} {p.middle_name}"
        if p.country == "ES" and " " in last and hit(0.4, "names_second_surname_left_out"):
            last = last.split(" ")[0]
        if "-" in first and hit(0.3, "names_hyphen_as_space"):
            first = first.replace("-", " ")
        both = first + last
        if (
            not both.isascii()
            and all(ord(ch) < 0x250 for ch in both)
            and r.random() < (0.2 if channel == "market" else 0.08)
        ):  # Latin script: accents dropped
            umlaut = any(ch in "äöüßÄÖÜ" for ch in both) and r.random() < 0.5
            first, last = (_umlauts(first), _umlauts(last)) if umlaut else (anyascii(first), anyascii(last))
            self.c["names_umlauts_spelled_out" if umlaut else "names_accents_dropped"] += 1
        if hit(0.01, "names_typo"):
            on_last = len(last) > 3 and r.random() < 0.6
            w = last if on_last else first
            k = r.randint(1, len(w) - 2) if len(w) > 3 else 0
            w = (
                r.choice(
                    [
                        w[:k] + w[k + 1 :],
                        w[:k] + w[k] + w[k:],
                        w[:k] + w[k + 1] + w[k] + w[k + 2 :],
                        w[:k] + r.choice([ch for ch in "aeinorst" if ch != w[k]]) + w[k + 1 :],
                    ]
                )
                if k
                else w + w[-1]
            )
            first, last = (first, w) if on_last else (w, last)
        if hit(0.10 if channel == "pos" else 0.04, "names_all_caps"):
            first, last = first.upper(), last.upper()
        if hit(0.02, "names_swapped"):
            first, last = last, first
        return first, last

    def render_email(self, email: str) -> str:
        r, hit = self.rng, self.hit
        local, domain = email.split("@")
        if domain in ("gmail.com", "googlemail.com"):
            if hit(0.12, "email_gmail_dots"):
                k = r.randint(1, max(1, len(local) - 1))
                local = local.replace(".", "") if "." in local else f"{local[:k]}.{local[k:]}"
            if hit(0.05, "email_gmail_plus_tag"):
                local += "+" + r.choice(TAGS)
            if hit(0.15 if domain == "googlemail.com" else 0.05, "email_googlemail_or_gmail"):
                domain = "gmail.com" if domain == "googlemail.com" else "googlemail.com"
        elif domain.split(".")[0] in ("outlook", "hotmail", "icloud") and hit(0.05, "email_other_plus_tag"):
            local += "+" + r.choice(TAGS)
        if hit(0.005, "email_typos"):
            k = r.randrange(len(local))
            local = local[:k] + r.choice([ch for ch in "aeiostnr" if ch != local[k]]) + local[k + 1 :]
        text = f"{local}@{domain}"
        if hit(0.08, "email_case_changed"):
            text = r.choice([text.upper(), text.title(), f"{local.capitalize()}@{domain.capitalize()}"])
        if hit(0.02, "email_stray_spaces"):
            text = r.choice([f" {text}", f"{text} ", f"  {text} ", text.replace("@", " @"), text.replace("@", "@ ")])
        return text

    def render_phone(self, country: str, nsn: str, intl: bool, home: bool) -> str:
        """National or international, in one of the ways people of ``country`` write it; only
        "+" forms outside the person's own scope (another country reads the others differently)."""
        (a, s), r = nsn.split(" "), self.rng
        n = a + s
        self.c["phones_international" if intl else "phones_national"] += 1
        pairs = " ".join(s[i : i + 2] for i in range(0, len(s) - 1, 2))
        fields = {
            "a": a,
            "s": f"{s[:4]} {s[4:]}" if country == "GB" and len(s) == 8 else s,
            "n": n,
            "p": pairs,
            "d": pairs.replace(" ", "."),
            "x": s[:3],
            "y": s[3:],
            "e": f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}",
            "t": f"{n[:3]} {n[3:6]} {n[6:]}",
        }
        forms = [f.format(**fields) for f in PHONE_FORMATS[country][intl].split("|")]
        return r.choice(forms if home else [f for f in forms if f[0] == "+"])

    def render_address(
        self, country: str, a: Address, first: str | None, last: str | None, postal_only: bool = False
    ) -> dict:
        r, hit, code = self.rng, self.hit, a.postal_code
        if code[0] == "0" and country != "GB" and hit(0.15, "postal_leading_zero_lost"):
            code = code[1:]
        if country == "US" and a.zip4 and hit(0.3, "postal_zip_plus_4"):
            code = f"{code}-{a.zip4}"
        elif country == "DE" and hit(0.04, "postal_d_prefix"):
            code = f"D-{code}"
        elif country == "GB" and hit(0.2, "postal_uk_case_or_spacing"):
            code = r.choice([code.lower().replace(" ", ""), code.replace(" ", ""), code.lower()])
        written = country
        if r.random() < 0.02:  # "Deutschland", "U.S.A.", "GBR"; one the contract can't read: the ISO code
            written = r.choice(self.careless[country])
            if country_code(written) != country:
                written = country
                self.c["country_unreadable_fallback"] += 1
            self.c["country_written_out"] += written != country
        out = {"postal_code": code, "country": written}
        if not postal_only:
            out.update(first_name=first, last_name=last, line1=a.line1, city=a.city, region=a.region)
        return {k: v for k, v in out.items() if v is not None}

    def build(self, people: list[Person], plan: list[tuple[float, int, str]]) -> list[Delivery]:
        r, c, hit = self.rng, self.c, self.hit
        by_scope: dict[str, list[Person]] = defaultdict(list)
        for p in people:
            by_scope[p.scope].append(p)
        info = {s: (cc, lang) for s, cc, lang in SCOPES}
        serial: Counter = Counter()
        out = []
        for t, i, scope in plan:
            p = people[i]
            (country, lang), home = info[scope], scope == p.scope
            channel = (
                _pick(r, p.channels, (6, 3, 1))
                if home
                else ("market" if p.relay_email and r.random() < 0.5 else "shopify")
            )
            addr = p.addresses[1] if p.move_at is not None and t >= p.move_at else p.addresses[0]
            first, last = self.render_name(p, channel)
            email = p.emails[0] if p.emails else None
            if p.email_change_at is not None and t >= p.email_change_at and r.random() >= 0.1:
                email = p.emails[1]
            phone = p.landline if p.landline and (not p.mobile or r.random() < 0.3) else p.mobile
            intl = not home or r.random() < (0.5 if channel == "market" else 0.25)
            landline_only = p.household is not None and r.random() < 0.15  # the family's phone, no email
            pay: dict = {"scope": scope, "preferred_language": lang, "status": "confirmed", "account_type": "guest"}
            if channel == "shopify":
                source = SHOPIFY[scope]
                serial[source] += 1
                number = f"{source[-2:].upper()}{1000000 + serial[source]}"
                if p.shopify_id and SHOPIFY[p.scope] == source and r.random() < 0.9:
                    pay.update(account_type="registered", source_customer_id=p.shopify_id)
                    c["shopify_registered_orders"] += 1
                else:
                    c["shopify_guest_orders"] += 1
                    if home and (landline_only or not email or hit(0.03, "shopify_phone_only_orders")):
                        email, phone = None, p.landline if landline_only else phone
                        c["household_landline_no_email_orders"] += landline_only
                if email and r.random() >= 0.7:
                    phone = None
                bill = self.render_address(p.country, addr, first, last)
                if phone and r.random() < 0.3:
                    bill["phone"] = self.render_phone(p.country, phone, intl, home)
                pay.update(billing_address=bill, shipping_address=bill)
            elif channel == "pos":
                source = POS
                store = fold(addr.city if r.random() < 0.8 else r.choice(self.cities[country])[0]).replace(" ", "-")
                serial[store] += 1
                number, pay["store_id"] = f"{store}-{serial[store]:06d}", f"{store}-1"
                c["pos_orders"] += 1
                if hit(0.15, "pos_cash_sales"):  # a name and a postal code, nothing else
                    email = phone = None
                    if (x := r.random()) < 0.5:  # the cashier types an initial ("J." Martin) or no first name
                        first = f"{first[0]}." if x < 0.4 else None
                        c["pos_first_name_initial" if first else "pos_last_name_only"] += 1
                    pay["billing_address"] = self.render_address(p.country, addr, None, None, postal_only=True)
                else:
                    loyalty = p.loyalty_id if p.loyalty_id and r.random() < 0.7 else None
                    show_email, show_phone = r.random() < 0.35, r.random() < 0.5
                    if landline_only:
                        show_email, show_phone, phone = False, True, p.landline
                        c["household_landline_no_email_orders"] += 1
                    if not (loyalty or show_email and email or show_phone):
                        show_phone = True
                    email, phone = email if show_email else None, phone if show_phone else None
                    if loyalty:
                        pay.update(source_customer_id=loyalty, account_type="registered")
                        c["pos_loyalty_card_orders"] += 1
                    if hit(0.4 if landline_only else 0.03, "pos_last_name_only"):  # "Martin", the family
                        first = None
                    if r.random() < 0.5:
                        pay["billing_address"] = self.render_address(p.country, addr, first, last)
                c["pos_orders_with_email"] += bool(email)
                c["pos_orders_with_phone"] += bool(phone)
            else:
                source = MARKET
                serial[source] += r.randint(1, 9)
                number, email = f"BZ-{400000000 + serial[source]}", p.relay_email
                pay.update(
                    account_type="registered",
                    source_customer_id=p.buyer_id,
                    shipping_address=self.render_address(p.country, addr, first, last),
                )
                phone = phone if r.random() < 0.7 else None
                c["marketplace_orders"] += 1
            if pay.get("shipping_address") and r.random() < 0.075 and (q := r.choice(by_scope[p.scope])) is not p:
                q_addr = q.addresses[1] if q.move_at is not None and t >= q.move_at else q.addresses[0]
                pay["shipping_address"] = self.render_address(q.country, q_addr, q.first_name, q.last_name)
                c["gifts"] += 1
            c["orders_without_email"] += not email
            c["orders_without_phone"] += not phone
            c["orders_in_a_second_scope"] += not home
            placed = START + timedelta(seconds=t)
            lines, subtotal = [], Decimal(0)
            for sku, names, price in r.sample(CATALOG, _pick(r, (1, 2, 3), (6, 3, 1))):
                q, unit = r.choice((1, 1, 1, 2)), Decimal(price)
                lines.append(
                    {
                        "sku": sku,
                        "name": names.split("|")[LANG_INDEX[lang]],
                        "quantity": q,
                        "unit_price": unit,
                        "total": unit * q,
                    }
                )
                subtotal += unit * q
            shipping = Decimal(0) if channel == "pos" else Decimal("4.90")
            tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01")) if country == "US" else Decimal(0)
            pay.update(
                order_number=number,
                source_system=source,
                first_name=first,
                last_name=last,
                lines=lines,
                email=self.render_email(email) if email and channel != "market" else email,
                phone=self.render_phone(p.country, phone, intl, home) if phone else None,
                totals={"subtotal": subtotal, "shipping": shipping, "tax": tax, "total": subtotal + shipping + tax},
                currency=CURRENCY[country],
                placed_at=placed.astimezone(TZ[country]),
            )
            message = OrderPlaced.model_validate(
                {
                    "message_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    "producer": PRODUCER[source],
                    "occurred_at": placed + timedelta(seconds=r.uniform(0.2, 4)),
                    "payload": {k: v for k, v in pay.items() if v is not None},
                }
            )
            out.append(Delivery(message, p.person_id, f"{source}|{number}"))
        return out

    def redeliver(self, base: list[Delivery]) -> list[Delivery]:
        """Re-deliveries (the same message object) and resends (the same order, a new message_id)."""
        r, extra = self.rng, []
        for index, d in enumerate(base):
            if self.hit(0.03, "redeliveries"):
                extra.append((index + r.randint(1, 3000) + 0.5, d))
            elif self.hit(0.01 / 0.97, "resends"):
                update = {
                    "message_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    "occurred_at": d.message.occurred_at + timedelta(minutes=r.uniform(1, 600)),
                }
                extra.append(
                    (
                        index + r.randint(1, 3000) + 0.5,
                        Delivery(d.message.model_copy(update=update), d.person_id, d.order_key),
                    )
                )
        return [d for _, d in sorted([(float(i), d) for i, d in enumerate(base)] + extra, key=lambda x: x[0])]


# --- undecidable orders --------------------------------------------------------------------------


def _people_keys(p: Person) -> tuple[set[str], set[str], set[str], set[str]]:
    return (*p.name_keys(), p.phones, p.postal_codes)


def fitting_people(order, people: list[Person], keys: dict[str, tuple] | None = None) -> set[str]:
    """Who of ``people`` (those with orders in the order's scope) fits ``order`` (see the module docstring)."""
    country = next(cc for s, cc, _ in SCOPES if s == order.scope)
    phone = normal_phone(order.phone, country) if order.phone else None
    address = order.billing_address or order.shipping_address
    postal = normal_postal(country, address.postal_code) if address and address.postal_code else None
    first, last = fold(order.first_name or ""), fold(order.last_name or "")
    found = set()
    for p in people:
        firsts, lasts, phones, postals = keys[p.person_id] if keys else _people_keys(p)
        if phone and phone not in phones or postal and postal not in postals:
            continue
        if len(first) == 1:  # an initial fits every first name it begins
            fits = last in lasts and any(f[:1] == first for f in firsts)
        else:
            fits = last in lasts and (not first or first in firsts) or first in lasts and last in firsts
        if fits:
            found.add(p.person_id)
    return found


def _undecidable(orders: list[Delivery], people: dict[str, Person], c: Counter) -> tuple[set[str], set[str]]:
    """The undecidable orders, and those of them a matcher had a candidate for: someone who
    fits them had ordered in the scope before (the issue wants those in review; the first
    order of a household at its phone has nobody to be confused with yet)."""
    keys = {pid: _people_keys(p) for pid, p in people.items()}
    in_scope = {(d.message.payload.scope, d.person_id) for d in orders}
    by_surname: dict[tuple[str, str], list[Person]] = defaultdict(list)  # candidates, by scope and surname
    for scope, pid in in_scope:
        for k in keys[pid][1]:
            by_surname[(scope, k)].append(people[pid])
    out, with_candidate = set(), set()
    # (scope, person) -> the postal codes their orders there have shown so far
    shown: dict[tuple[str, str], set[str]] = defaultdict(set)

    def show(key: tuple[str, str], o) -> None:
        country = next(cc for s, cc, _ in SCOPES if s == o.scope)
        shown[key].update(
            normal_postal(country, a.postal_code)
            for a in (o.billing_address, o.shipping_address)
            if a and a.postal_code
        )
        shown[key].add("")  # ordered in the scope

    for d in orders:
        o = d.message.payload
        key = (o.scope, d.person_id)
        if o.email or o.source_customer_id:
            show(key, o)
            continue
        weak = not o.phone and not (o.billing_address and o.billing_address.line1)
        c["name_postal_only_orders"] += weak
        pool = {
            p.person_id: p
            for name in (o.last_name, o.first_name)
            if name
            for p in by_surname.get((o.scope, fold(name)), ())
        }
        fitting = fitting_people(o, list(pool.values()), keys)
        # A name and a postal code tell nobody apart (the issue's "cash sale with only a name
        # and postal code"): undecidable once someone who fits has shown that postal code on an
        # order in the scope, so that a matcher has a candidate to doubt.
        address = o.billing_address or o.shipping_address
        postal = (
            normal_postal(next(cc for s, cc, _ in SCOPES if s == o.scope), address.postal_code)
            if address and address.postal_code
            else ""
        )
        if len(fitting) >= 2 or (weak and any(postal in shown.get((o.scope, pid), ()) for pid in fitting)):
            out.add(d.order_key)
            if any("" in shown.get((o.scope, pid), ()) for pid in fitting):
                with_candidate.add(d.order_key)
            c["undecidable_name_postal_only"] += weak
            c["undecidable_with_phone"] += bool(o.phone)
        show(key, o)
    return out, with_candidate


def generate(orders: int, *, seed: int = 11, people: int | None = None) -> Stream:
    """A stream of ``orders`` orders by ``people`` people (default orders // 5), deterministic for ``seed``.

    The cyclic garbage collector is paused meanwhile: ~10^5 acyclic models would otherwise be
    scanned again and again (half of the time at 100,000 orders)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate(orders, seed, people)
    finally:
        if collecting:
            gc.enable()


def _generate(orders: int, seed: int, people: int | None) -> Stream:
    g = _Gen(orders, seed, people)
    persons = g.people()
    base = g.build(persons, g.schedule(persons))
    deliveries = g.redeliver(base)
    by_id = {p.person_id: p for p in persons}
    names = Counter((p.scope, fold(p.first_name), fold(p.last_name)) for p in persons)
    for name, test in (
        ("people_foreign_name", lambda p: p.culture),
        ("people_with_middle_name", lambda p: p.middle_name),
        ("people_two_phones", lambda p: p.mobile and p.landline),
        ("people_changing_email", lambda p: p.email_change_at is not None),
        ("people_moving", lambda p: p.move_at is not None),
        ("people_namesakes", lambda p: names[(p.scope, fold(p.first_name), fold(p.last_name))] > 1),
        ("people_postal_code_leading_zero", lambda p: p.addresses[0].postal_code[0] == "0"),
    ):
        g.c[name] = sum(1 for p in persons if test(p))
    g.c["people_in_two_scopes"] = len(
        {d.person_id for d in base if d.message.payload.scope != by_id[d.person_id].scope}
    )
    undecidable, with_candidate = _undecidable(base, by_id, g.c)
    return Stream(
        by_id,
        deliveries,
        truth={d.order_key: d.person_id for d in base},
        scope_of={d.order_key: d.message.payload.scope for d in base},
        undecidable=undecidable,
        undecidable_with_candidate=with_candidate,
        households={p.person_id: p.household for p in persons if p.household},
        scopes=list(SCOPES),
        counts=g.c,
    )
