"""An independent ``OrderPlaced`` stream with ground truth, to cross-check the matcher.

``bench.matching.stream`` was written by the author of the matcher; this generator was written
without reading the matcher, its keys or ``stream._Gen``, from what real European and North
American commerce data looks like. It returns the same ``Stream`` (people as ``stream.Person``
describing each person truthfully: every phone, postal code and name form they use), and its
``undecidable`` sets are computed by ``stream._undecidable``, so the definition is the same.

    python -m bench.matching.independent --orders 10000 --seed 7 [--summary] [--diagnose]

The world (rates per person or per order, as drawn; every phenomenon is counted in ``counts``
as realised, and tagged per order for ``diagnose``):

People      ``orders // 5`` people in five scopes (us 25%, de 22%, uk 20%, eu-fr 19%, es 14%).
            Orders per person: 1 + a heavy-tailed (Pareto 1.15) share of the rest: ~40% of
            people order once or twice, a few 50+ times, over 180 days.
Channels    Shopify only 55%, POS only 20%, marketplace only 10%, Shopify+POS 10%,
            Shopify+marketplace 4%, all three 1%. Shopify: 45% registered (a 13-digit id per
            store, the same in each scope of the store); registered people check out as guest
            on 15% of orders; 1.5% of registered people open a second account with another
            email; staff-keyed phone orders 3% of Shopify orders (email on half). POS: 35% of
            POS shoppers hold a loyalty card (shown on 70% of sales; in 35% of carded households
            the family uses one card, the till then often showing the holder's name). What a
            shopper gives at the till is a habit kept on most sales: the phone 45%, an e-receipt
            email 20%, nothing 12% (then a name and a postal code), either 23%; names typed by
            the cashier; 2% of phones typed at the till are the store's own number or zeros; 3%
            of POS sales are uploaded hours later (offline till). Marketplace: buyer id and a
            relay email stable per buyer, the buyer's name, shipping address only, phone on
            50%, in US/UK a platform number with a per-buyer extension for 30% of buyers.
Households  9% of new people found a household of 2-4 (~20% of people): one address, a
            landline for 75% of households, the surname (spouses 70%, children always; Spanish
            children take both parents' first surnames); each member a mobile (90%) and an own
            email (88%); 25% of households have a family email that members without their own
            use, and others now and then; 20% of members' orders give the landline, mostly
            without email; 20% of US sons (5% elsewhere) carry their father's name.
Names       ~30 first names per sex and ~55 common surnames per country (Zipf), else a rarer
            generated surname (80%); 2/3 of Spaniards have two surnames (one shown on 40% of
            orders); 7% of people of another culture (ru, el, zh, ja, ko, ar, tr, pl, vi), some
            writing natively (zh, ja, ko, ru, el, ar on 5-40% of orders), else in one of several
            transliterations; nicknames (35% of people whose name has one, on 35% of orders);
            middle names (US/GB 30%, else 8%) shown on 30% of orders, as an initial on 60% of
            those; 2.5% of single people copy the full name of someone in their scope (40% in
            the same city): ~6% of people share their full name with someone in their scope. Per
            order: accents dropped (8% web, 20% marketplace, 30% POS), ALL CAPS (2/6/20%),
            lower case 3% (web), first/last swapped 1.5% (30% for East Asian names), hyphen as
            space 25%, a title (Mr, Dr., Frau, Mme) 1% (15% on phone orders), a typo 0.7%
            (1.5% keyed by staff), the whole name in first_name 1% (POS, marketplace), initial
            only 12% and no first name 6% at POS. 1.5% of women marry mid-stream (new surname,
            same email; the old one on 15% of later orders). 1.5% of people are small
            businesses: the company in the name on 25% of their orders.
Emails      Local parts first.last, flast, first_last, first+year, handles...; providers by
            country; one person per mailbox (gmail dots and googlemail folded). Per order:
            capitalised 6% (web), ALL CAPS 25% (POS), a space 1.5% (half inside), gmail dots
            dropped/added 4%, +tags (4% of gmail users, 70% of their web orders), googlemail
            users writing gmail 35%, a typo 0.8% (2% at POS); 5% of people change email
            mid-stream (the old one on 12% of later orders).
Phones      Valid numbers of the country (phonenumbers; US mobiles mostly with the home city's
            area code); per order national, compact, dotted, dashed, slashed, international,
            E.164, "00", "+xx (0)", bare country code (never "001" nor "(0)" in the US), and
            extensions on US lines; Shopify puts the phone on the shipping address only on ~35%
            of orders (where, is a per-person autofill habit); abroad, only "+"/"00" forms.
Addresses   Apartments (FR/ES/DE ~50%, US 30%, GB 25%) in line2, in line1, or left out; street
            abbreviations 15%; ZIP+4 on 40% of US orders of people with one; "D-" 3%; leading
            zeros lost (30% on the marketplace, 3% elsewhere); UK postcode case and spacing 20%;
            country as alpha-3 / local name (marketplace 20% / 5%, POS, phone orders), an
            misspelt or informal one ("Frnace", "GER", read as DE since 2026-12-07) rarely; gifts 5% of web and 6% of marketplace orders (30% to
            someone of the stream, with their phone on the shipping address half the time);
            shipping to work 30% of the web orders of 10% of people (company line); parcel
            lockers and pick-up points (FR/DE/ES) shared by many people; 4% of people
            (households together) move.
Stream      2% of people also order in a second scope; quick re-orders (5% within 20 minutes),
            double submits 0.4%; re-deliveries 2% (the same message), resends 0.7% (new
            message_id), edited resends 0.3% (new message_id, status changed).

``generate_tagged`` also returns the phenomena drawn per order; ``diagnose`` groups splits,
false merges and unnecessary reviews by what the order shared with the person's earlier
orders and by phenomenon (``--diagnose``).
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import time
import unicodedata
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from random import Random
from typing import Any

import phonenumbers

from contracts.upstream.orders import OrderPlaced

from .stream import (
    CALLING,
    MARKET,
    POS,
    PRODUCER,
    SCOPES,
    SHOPIFY,
    Address,
    Delivery,
    Person,
    Stream,
    _undecidable,
    fold,
    normal_phone,
    normal_postal,
)

SCOPE_OF_COUNTRY = {cc: s for s, cc, _ in SCOPES}
SCOPE_SHARE = {"us": 25, "de": 22, "uk": 20, "eu-fr": 19, "es": 14}
START = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 180

# --- the world -----------------------------------------------------------------------------------


def _range(prefix: str, numbers) -> list[str]:
    return [f"{prefix}{n}" for n in numbers]


#: city, region, postal codes (or UK outward codes), landline area codes, weight, stores there
CITIES: dict[str, list[tuple[str, str | None, list[str], list[str], int, bool]]] = {
    "FR": [
        ("Paris", None, [f"750{i:02d}" for i in range(1, 21)], ["1"], 20, True),
        ("Lyon", None, [f"6900{i}" for i in range(1, 10)], ["4"], 8, True),
        ("Marseille", None, [f"130{i:02d}" for i in range(1, 17)], ["4"], 8, False),
        ("Toulouse", None, ["31000", "31100", "31200", "31300", "31400", "31500"], ["5"], 6, False),
        ("Nice", None, ["06000", "06100", "06200", "06300"], ["4"], 5, False),
        ("Nantes", None, ["44000", "44100", "44200", "44300"], ["2"], 5, False),
        ("Strasbourg", None, ["67000", "67100", "67200"], ["3"], 4, False),
        ("Bordeaux", None, ["33000", "33100", "33200", "33300", "33800"], ["5"], 5, True),
        ("Lille", None, ["59000", "59160", "59260", "59800"], ["3"], 5, False),
        ("Bourg-en-Bresse", None, ["01000"], ["4"], 2, False),
        ("Laon", None, ["02000"], ["3"], 1, False),
        ("Troyes", None, ["10000"], ["3"], 2, False),
        ("Rennes", None, ["35000", "35200", "35700"], ["2"], 4, False),
        ("Montreuil", None, ["93100"], ["1"], 3, False),
        ("Versailles", None, ["78000"], ["1"], 3, False),
        ("Annecy", None, ["74000"], ["4"], 2, False),
    ],
    "DE": [
        ("Berlin", None, ["10115", "10117", "10119", "10243", "10245", "10405", "10435", "10437", "10551",
                          "10625", "10717", "10777", "10823", "10961", "10967", "10999", "12043", "12047",
                          "12157", "12203", "13347", "13353", "14057", "14197"], ["30"], 20, True),
        ("Hamburg", None, ["20095", "20144", "20249", "20253", "20354", "22041", "22085", "22301", "22765"],
         ["40"], 10, True),
        ("München", None, ["80331", "80333", "80469", "80639", "80797", "81369", "81541", "81667"], ["89"], 10,
         True),
        ("Köln", None, ["50667", "50672", "50674", "50677", "50733", "50823", "50937", "51063"], ["221"], 7,
         False),
        ("Frankfurt am Main", None, ["60311", "60313", "60316", "60318", "60385", "60389", "60487", "60594"],
         ["69"], 6, False),
        ("Leipzig", None, ["04103", "04105", "04107", "04109", "04155", "04177", "04229", "04275"], ["341"], 5,
         True),
        ("Dresden", None, ["01067", "01069", "01097", "01099", "01127", "01219", "01277", "01307"], ["351"], 4,
         False),
        ("Stuttgart", None, ["70173", "70176", "70178", "70182", "70190", "70197", "70372"], ["711"], 5, False),
        ("Düsseldorf", None, ["40210", "40211", "40213", "40215", "40219", "40223", "40477"], ["211"], 5, False),
        ("Chemnitz", None, ["09111", "09112", "09113", "09116", "09119", "09126"], ["371"], 2, False),
        ("Gera", None, ["07545", "07546", "07548"], ["365"], 1, False),
    ],
    "GB": [
        ("London", None, ["SW11", "SW4", "SW9", "SE15", "SE22", "E8", "E17", "E1", "N16", "N1", "N7", "NW5",
                          "NW6", "W12", "W3", "EC1V", "WC2H"], ["20"], 30, True),
        ("Manchester", None, ["M1", "M4", "M14", "M20", "M21"], ["161"], 9, True),
        ("Birmingham", None, ["B1", "B13", "B15", "B29"], ["121"], 8, False),
        ("Leeds", None, ["LS1", "LS6", "LS8"], ["113"], 6, False),
        ("Glasgow", None, ["G1", "G11", "G12", "G41"], ["141"], 6, False),
        ("Bristol", None, ["BS1", "BS5", "BS6", "BS8"], ["117"], 6, False),
        ("Edinburgh", None, ["EH1", "EH3", "EH6", "EH10"], ["131"], 5, True),
        ("Cardiff", None, ["CF10", "CF11", "CF24"], ["29"], 4, False),
        ("Sheffield", None, ["S1", "S7", "S10", "S11"], ["114"], 4, False),
        ("Brighton", None, ["BN1", "BN2", "BN3"], ["1273"], 3, False),
        ("Oxford", None, ["OX1", "OX2", "OX4"], ["1865"], 3, False),
    ],
    "US": [
        ("Boston", "MA", ["02108", "02109", "02115", "02116", "02118", "02119", "02125", "02130", "02134"],
         ["617", "857"], 6, True),
        ("Cambridge", "MA", ["02138", "02139", "02140", "02141"], ["617"], 2, False),
        ("New York", "NY", ["10001", "10002", "10003", "10009", "10011", "10016", "10019", "10023", "10025",
                            "10027", "10128"], ["212", "646", "917"], 14, True),
        ("Brooklyn", "NY", ["11201", "11205", "11206", "11211", "11215", "11217", "11222", "11238"],
         ["718", "347", "929"], 8, False),
        ("Chicago", "IL", ["60601", "60605", "60607", "60610", "60614", "60618", "60622", "60625", "60640",
                           "60647", "60657"], ["312", "773", "872"], 10, True),
        ("Los Angeles", "CA", ["90004", "90012", "90024", "90026", "90027", "90034", "90042", "90046", "90066"],
         ["213", "323", "310"], 12, True),
        ("San Francisco", "CA", ["94102", "94103", "94107", "94110", "94114", "94115", "94117", "94122"],
         ["415", "628"], 7, False),
        ("Seattle", "WA", ["98101", "98102", "98103", "98105", "98107", "98109", "98115", "98117", "98122"],
         ["206"], 6, False),
        ("Austin", "TX", ["78701", "78702", "78703", "78704", "78731", "78745", "78751", "78757"],
         ["512", "737"], 6, False),
        ("Miami", "FL", ["33125", "33127", "33130", "33131", "33133", "33137", "33139"], ["305", "786"], 5,
         False),
        ("Newark", "NJ", ["07102", "07103", "07104", "07105", "07107"], ["973", "862"], 3, False),
        ("Hartford", "CT", ["06103", "06105", "06106", "06114"], ["860"], 2, False),
        ("Portland", "ME", ["04101", "04102", "04103"], ["207"], 1, False),
        ("Denver", "CO", ["80202", "80203", "80205", "80206", "80209", "80210", "80218"], ["303", "720"], 5,
         False),
    ],
    "ES": [
        ("Madrid", "Madrid", ["28001", "28004", "28005", "28010", "28012", "28013", "28015", "28020", "28028",
                              "28039", "28045"], ["91"], 24, True),
        ("Barcelona", "Barcelona", ["08001", "08002", "08005", "08007", "08008", "08010", "08012", "08013",
                                    "08015", "08021", "08025", "08036"], ["93"], 20, True),
        ("Valencia", "Valencia", ["46001", "46002", "46004", "46005", "46010", "46015", "46020", "46022"],
         ["96"], 10, True),
        ("Sevilla", "Sevilla", ["41001", "41002", "41003", "41005", "41010", "41011", "41013"], ["954", "955"], 8,
         False),
        ("Bilbao", "Bizkaia", ["48001", "48003", "48005", "48007", "48011", "48013"], ["94"], 6, False),
        ("Málaga", "Málaga", ["29001", "29002", "29004", "29006", "29010", "29016"], ["952"], 6, False),
        ("Zaragoza", "Zaragoza", ["50001", "50003", "50004", "50008", "50010", "50012"], ["976"], 6, False),
        ("Girona", "Girona", ["17001", "17002", "17003", "17005"], ["972"], 3, False),
        ("Almería", "Almería", ["04001", "04002", "04004", "04005", "04007"], ["950"], 3, False),
        ("Palma", "Illes Balears", ["07001", "07002", "07003", "07004", "07010"], ["971"], 4, False),
        ("Ávila", "Ávila", ["05001", "05002", "05003"], ["920"], 2, False),
    ],
}  # fmt: skip

STREETS = {
    "FR": ["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Voltaire", "rue des Lilas",
           "place de la Mairie", "rue Pasteur", "allée des Tilleuls", "chemin du Moulin", "rue du Général Leclerc",
           "impasse des Roses", "rue de la Gare", "avenue de la Libération", "rue Nationale", "rue Saint-Michel",
           "boulevard Gambetta", "rue des Écoles", "rue du Château"],
    "DE": ["Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Dorfstraße", "Lindenstraße",
           "Bergstraße", "Kirchstraße", "Goethestraße", "Schillerstraße", "Am Markt", "Waldweg",
           "Friedrichstraße", "Kastanienallee", "Mühlenweg", "Ringstraße", "Wilhelm-Busch-Straße", "Sonnenallee"],
    "GB": ["High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane",
           "The Crescent", "Queen's Road", "Kings Road", "Manor Way", "Albert Street", "Green Lane", "Grove Road",
           "Springfield Road", "Windsor Close", "Elm Grove"],
    "US": ["Main Street", "Oak Street", "Maple Avenue", "Elm Street", "Washington Avenue", "Park Place",
           "2nd Street", "Cedar Lane", "Lake Shore Drive", "Pine Street", "Sunset Boulevard", "Highland Avenue",
           "Broadway", "Jefferson Street", "Lincoln Avenue", "Hillcrest Drive", "Martin Luther King Jr Boulevard"],
    "ES": ["Calle Mayor", "Calle de Alcalá", "Avenida de la Constitución", "Calle Real", "Plaza de España",
           "Calle San Juan", "Paseo de Gracia", "Carrer de Mallorca", "Calle del Carmen", "Avenida Diagonal",
           "Calle Nueva", "Calle Santa María", "Calle de Cervantes", "Avenida de Andalucía"],
}  # fmt: skip

#: (long, short) spellings of street words: the short one replaces the long on some orders
ABBREVIATIONS = {
    "FR": [("rue", "r."), ("avenue", "av."), ("boulevard", "bd"), ("place", "pl."), ("Général", "Gal"),
           ("Saint", "St")],
    "DE": [("straße", "str."), ("Straße", "Str.")],
    "GB": [("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave"), ("Lane", "Ln"), ("Close", "Cl")],
    "US": [("Street", "St."), ("Avenue", "Ave"), ("Drive", "Dr"), ("Boulevard", "Blvd"), ("Lane", "Ln"),
           ("Martin Luther King Jr", "MLK")],
    "ES": [("Calle ", "C/ "), ("Avenida", "Avda."), ("Plaza", "Pza."), ("Carrer ", "C/ "), ("Paseo", "Pº")],
}  # fmt: skip

APARTMENTS = {
    "FR": (0.5, ["Appt {n}", "Bât. {L}", "Bât. {L}, appt {n}", "{k}e étage", "Résidence Les Pins, appt {n}"]),
    "DE": (0.5, ["{k}. OG", "Whg. {n}", "Hinterhaus", "{k}. OG links", "App. {n}"]),
    "GB": (0.25, ["Flat {n}", "Flat {k}{L}", "Apartment {n}"]),
    "US": (0.3, ["Apt {n}", "Apt {k}{L}", "Unit {n}", "#{n}", "Apt. {k}{L}"]),
    "ES": (0.55, ["{k}º {j}ª", "{k}º {L}", "Piso {k}, puerta {L}", "Bajo {L}", "Esc. {L}, {k}º"]),
}

FIRST: dict[str, dict[str, list[str]]] = {
    "FR": {
        "M": ["Jean", "Pierre", "Michel", "Philippe", "Nicolas", "Thomas", "Julien", "Alexandre", "Christophe",
              "Frédéric", "Laurent", "Sébastien", "Antoine", "François", "Olivier", "Stéphane", "Maxime", "Hugo",
              "Lucas", "Théo", "Mathieu", "Jérôme", "Guillaume", "Éric", "Jean-Pierre", "Jean-François",
              "Dominique", "Benoît", "Rémi", "Cédric"],
        "F": ["Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Céline", "Sophie", "Julie", "Camille",
              "Émilie", "Aurélie", "Sandrine", "Valérie", "Christine", "Stéphanie", "Laura", "Léa", "Manon",
              "Chloé", "Inès", "Hélène", "Anne-Sophie", "Marie-Claire", "Élodie", "Mélanie", "Dominique",
              "Brigitte", "Françoise", "Agnès", "Margaux"],
    },
    "DE": {
        "M": ["Thomas", "Michael", "Andreas", "Stefan", "Christian", "Markus", "Alexander", "Daniel", "Tobias",
              "Jan", "Sebastian", "Florian", "Lukas", "Jonas", "Felix", "Maximilian", "Paul", "Jürgen", "Klaus",
              "Wolfgang", "Uwe", "Frank", "Peter", "Hans-Peter", "Karl-Heinz", "Matthias", "Björn", "Jörg",
              "Johannes", "Moritz"],
        "F": ["Anna", "Katharina", "Julia", "Laura", "Lena", "Sarah", "Lisa", "Sabine", "Petra", "Monika",
              "Claudia", "Andrea", "Nicole", "Stefanie", "Susanne", "Birgit", "Jana", "Sophie", "Marie", "Hannah",
              "Anna-Lena", "Jessica", "Melanie", "Christina", "Ursula", "Jutta", "Dörte", "Bärbel", "Franziska",
              "Johanna"],
    },
    "GB": {
        "M": ["Oliver", "Jack", "Harry", "George", "James", "William", "Thomas", "Daniel", "David", "Michael",
              "Christopher", "Matthew", "Andrew", "Richard", "Robert", "Paul", "Mark", "Steven", "John", "Peter",
              "Charlie", "Samuel", "Joshua", "Benjamin", "Mohammed", "Liam", "Callum", "Ryan", "Gareth", "Ian"],
        "F": ["Olivia", "Amelia", "Emily", "Sophie", "Jessica", "Charlotte", "Sarah", "Emma", "Laura", "Rebecca",
              "Hannah", "Lucy", "Katherine", "Elizabeth", "Claire", "Rachel", "Helen", "Nicola", "Joanne",
              "Victoria", "Amy", "Chloe", "Megan", "Grace", "Isla", "Fiona", "Susan", "Margaret", "Gemma", "Zoe"],
    },
    "US": {
        "M": ["James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
              "Christopher", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Andrew", "Joshua",
              "Kevin", "Brian", "José", "Carlos", "Tyler", "Ethan", "Jacob", "Noah", "Jonathan", "Ryan", "Brandon",
              "Justin"],
        "F": ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
              "Karen", "Lisa", "Nancy", "Ashley", "Emily", "Michelle", "Amanda", "Melissa", "Stephanie", "Rebecca",
              "Laura", "María", "Emma", "Olivia", "Madison", "Hannah", "Megan", "Katherine", "Rachel", "Lauren",
              "Samantha"],
    },
    "ES": {
        "M": ["Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "José Antonio", "Daniel",
              "José Luis", "Francisco Javier", "Carlos", "Jesús", "Alejandro", "Miguel", "José Manuel", "Rafael",
              "Pablo", "Sergio", "Fernando", "Jorge", "Luis", "Alberto", "Álvaro", "Diego", "Adrián", "Raúl",
              "Iñaki", "Jordi", "Pau"],
        "F": ["María Carmen", "María", "Carmen", "Ana María", "Laura", "María Pilar", "Josefa", "Isabel",
              "María Dolores", "Lucía", "Cristina", "Marta", "Elena", "Sara", "Paula", "Raquel", "Sofía", "Alba",
              "Irene", "Nuria", "Montserrat", "Rocío", "Pilar", "María José", "Beatriz", "Silvia", "Ainhoa",
              "Núria", "Concepción", "Dolores"],
    },
}  # fmt: skip

SURNAMES = {
    "FR": ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
           "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
           "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure",
           "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand",
           "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
           "Masson", "Nguyen", "Da Silva", "Le Gall", "Le Roux", "Benali", "Dos Santos"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz",
           "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz",
           "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "König", "Walter",
           "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn",
           "Yılmaz", "Kaya", "Nowak", "Groß", "von Bergen", "Schulte-Wien"],
    "GB": ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
           "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
           "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
           "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott",
           "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Khan", "Singh",
           "O'Brien", "MacDonald", "McKenzie"],
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
           "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
           "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
           "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
           "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
           "Roberts", "Kim", "Patel", "O'Connor", "McCarthy", "De La Cruz"],
    "ES": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
           "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Alonso",
           "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano",
           "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín",
           "Sanz", "Núñez", "Iglesias", "Medina", "Garrido", "Cortés", "Castillo", "Santos", "Lozano", "Guerrero",
           "Cano", "Prieto", "Puig", "Ferrer", "Etxeberria", "Vidal", "Pons"],
}  # fmt: skip

#: rarer surnames: a root and an ending
SURNAME_PARTS = {
    "FR": (["Bou", "Char", "Mar", "Ver", "Lan", "Gri", "Tes", "Pel", "Cour", "Mon", "Roch", "Bel", "Fav", "Jac",
            "Lef", "Pou", "Tho", "Gal", "Ren", "Vass", "Duch", "Bréb", "Cham", "Ferr"],
           ["in", "et", "ier", "aud", "ot", "eau", "ard", "on", "ois", "ille", "ière", "eux", "ac", "as", "at"]),
    "DE": (["Holz", "Berg", "Stein", "Lin", "Brück", "Wald", "Feld", "Eich", "Sonn", "Ross", "Hein", "Kess",
            "Bött", "Dietr", "Ebers", "Mühl", "Schwab", "Vogel", "Kraus", "Lind", "Reich", "Zieg", "Hüb", "Stroh"],
           ["mann", "er", "el", "ner", "inger", "berg", "hauer", "meier", "bach", "hardt", "ke", "ler", "ow",
            "ich"]),
    "GB": (["Ash", "Black", "Brad", "Craw", "Ell", "Fair", "Hol", "Kend", "Mor", "Pem", "Rad", "Stan", "Thorn",
            "Whit", "Wood", "Hart", "Cole", "Wat", "Dun", "Mal", "Ather", "Brom", "Chad", "Fen"],
           ["ley", "ton", "ford", "field", "by", "wood", "well", "worth", "son", "ridge", "man", "ings", "ster",
            "combe"]),
    "ES": (["Vall", "Cab", "Pal", "Mont", "Esc", "Mir", "Ol", "Riv", "Sol", "Bel", "Carr", "Fig", "Quint",
            "Arr", "Vill", "Berm", "Zap", "Gall", "Lam", "Sot"],
           ["ero", "ejo", "ana", "illo", "edo", "ez", "era", "ado", "ino", "eda", "ales", "ueta", "ar"]),
}  # fmt: skip
SURNAME_PARTS["US"] = SURNAME_PARTS["GB"]

NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will"], "Katherine": ["Kate", "Katie", "Kathy"],
    "Elizabeth": ["Liz", "Beth"], "James": ["Jim", "Jamie"], "Michael": ["Mike"], "Jennifer": ["Jen", "Jenny"],
    "Thomas": ["Tom"], "Christopher": ["Chris"], "Alexander": ["Alex"], "Margaret": ["Maggie", "Peggy"],
    "Richard": ["Rick", "Rich"], "Daniel": ["Dan", "Danny"], "Matthew": ["Matt"], "Jonathan": ["Jon"],
    "Joseph": ["Joe"], "Anthony": ["Tony"], "Samantha": ["Sam"], "Rebecca": ["Becky"], "Patricia": ["Pat"],
    "Susan": ["Sue"], "Steven": ["Steve"], "Andrew": ["Andy"], "Benjamin": ["Ben"], "Samuel": ["Sam"],
    "Katharina": ["Kathi", "Katja"], "Johannes": ["Hannes"], "Christian": ["Chris"], "Stefanie": ["Steffi"],
    "Franziska": ["Franzi"], "Maximilian": ["Max"], "Sebastian": ["Basti"], "Frédéric": ["Fred"],
    "Christophe": ["Chris"], "Alexandre": ["Alex"], "Nathalie": ["Nath"], "Stéphanie": ["Steph"],
    "Guillaume": ["Guigui"], "Francisco": ["Paco", "Fran"], "Dolores": ["Lola"], "Concepción": ["Concha"],
    "Manuel": ["Manolo"], "José": ["Pepe"], "Francisco Javier": ["Javi", "Fran"], "Alejandro": ["Álex"],
    "Montserrat": ["Montse"], "Javier": ["Javi"],
}  # fmt: skip

MIDDLE = {
    "M": ["Allen", "Edward", "James", "Lee", "Michael", "Thomas", "John", "Paul", "Ray", "Alan"],
    "F": ["Anne", "Marie", "Lynn", "Elizabeth", "Louise", "Jane", "Rose", "Grace", "Kay", "May"],
}

#: culture -> first names by sex (as written natively, other forms: transliterations, or short
#: forms for Latin-script cultures) and surnames (male, female, their forms)
CULTURES: dict[str, dict[str, list]] = {
    "ru": {
        "M": [("Дмитрий", ["Dmitry", "Dmitriy", "Dmitrii"]), ("Сергей", ["Sergey", "Sergei"]),
              ("Александр", ["Alexander", "Aleksandr"]), ("Андрей", ["Andrey", "Andrei"]), ("Иван", ["Ivan"])],
        "F": [("Екатерина", ["Ekaterina", "Yekaterina"]), ("Юлия", ["Yulia", "Iuliia", "Yuliya", "Julia"]),
              ("Наталья", ["Natalia", "Natalya", "Natalja"]), ("Ольга", ["Olga"]), ("Анна", ["Anna"])],
        "last": [("Иванов", "Иванова", ["Ivanov"], ["Ivanova"]), ("Смирнов", "Смирнова", ["Smirnov"], ["Smirnova"]),
                 ("Кузнецов", "Кузнецова", ["Kuznetsov", "Kuznecov"], ["Kuznetsova", "Kuznecova"]),
                 ("Попов", "Попова", ["Popov"], ["Popova"]), ("Соколов", "Соколова", ["Sokolov"], ["Sokolova"]),
                 ("Морозов", "Морозова", ["Morozov"], ["Morozova"]), ("Волков", "Волкова", ["Volkov"], ["Volkova"]),
                 ("Лебедев", "Лебедева", ["Lebedev"], ["Lebedeva"])],
    },
    "el": {
        "M": [("Γιώργος", ["Giorgos", "Georgios", "Yorgos"]), ("Δημήτρης", ["Dimitris", "Dimitrios"]),
              ("Νίκος", ["Nikos"])],
        "F": [("Ελένη", ["Eleni"]), ("Μαρία", ["Maria"]), ("Κατερίνα", ["Katerina"])],
        "last": [("Παπαδόπουλος", "Παπαδοπούλου", ["Papadopoulos"], ["Papadopoulou"]),
                 ("Οικονόμου", "Οικονόμου", ["Oikonomou", "Ikonomou"], ["Oikonomou", "Ikonomou"]),
                 ("Γεωργίου", "Γεωργίου", ["Georgiou"], ["Georgiou"]),
                 ("Νικολάου", "Νικολάου", ["Nikolaou"], ["Nikolaou"])],
    },
    "zh": {
        "M": [("伟", ["Wei"]), ("敏", ["Min"]), ("强", ["Qiang"]), ("磊", ["Lei"]), ("俊杰", ["Junjie", "Jun Jie"])],
        "F": [("秀英", ["Xiuying", "Xiu Ying"]), ("丽", ["Li"]), ("静", ["Jing"]), ("芳", ["Fang"]), ("婷", ["Ting"])],
        "last": [(x, x, f, f) for x, f in (("王", ["Wang"]), ("李", ["Li", "Lee"]), ("张", ["Zhang", "Chang"]),
                                           ("刘", ["Liu"]), ("陈", ["Chen", "Chan"]), ("杨", ["Yang"]),
                                           ("黄", ["Huang", "Wong"]), ("赵", ["Zhao", "Chao"]))],
    },
    "ja": {
        "M": [("翔太", ["Shota", "Shouta"]), ("大輔", ["Daisuke"]), ("健", ["Ken"])],
        "F": [("さくら", ["Sakura"]), ("陽子", ["Yoko", "Youko"]), ("美咲", ["Misaki"])],
        "last": [(x, x, f, f) for x, f in (("佐藤", ["Sato", "Satou"]), ("鈴木", ["Suzuki"]), ("高橋", ["Takahashi"]),
                                           ("田中", ["Tanaka"]), ("渡辺", ["Watanabe"]))],
    },
    "ko": {
        "M": [("민준", ["Minjun", "Min-jun", "Min Jun"]), ("지훈", ["Jihoon", "Ji-hoon", "Jihun"]),
              ("현우", ["Hyunwoo", "Hyun-woo"])],
        "F": [("서연", ["Seoyeon", "Seo-yeon"]), ("지은", ["Jieun", "Ji-eun"]), ("수진", ["Sujin", "Su-jin"])],
        "last": [(x, x, f, f) for x, f in (("김", ["Kim"]), ("박", ["Park", "Pak"]), ("이", ["Lee", "Yi", "Rhee"]),
                                           ("최", ["Choi", "Choe"]), ("정", ["Jung", "Jeong", "Chung"]))],
    },
    "ar": {
        "M": [("محمد", ["Mohammed", "Mohamed", "Muhammad"]), ("يوسف", ["Youssef", "Yousef", "Yusuf"]),
              ("أحمد", ["Ahmed", "Ahmad"]), ("علي", ["Ali"])],
        "F": [("فاطمة", ["Fatima", "Fatma"]), ("مريم", ["Mariam", "Maryam"]), ("ليلى", ["Leila", "Layla"])],
        "last": [(x, x, f, f) for x, f in (("حداد", ["Haddad"]), ("منصور", ["Mansour", "Mansur"]),
                                           ("خليل", ["Khalil"]), ("حسن", ["Hassan", "Hasan"]),
                                           ("إبراهيم", ["Ibrahim"]))],
    },
    "tr": {
        "M": [("Şükrü", []), ("Mehmet", []), ("Emre", []), ("Oğuz", [])],
        "F": [("Ayşe", []), ("Çağla", []), ("Elif", []), ("Zeynep", [])],
        "last": [(x, x, [], []) for x in ("Öztürk", "Yılmaz", "Doğan", "Kaya", "Şahin", "Çelik")],
    },
    "pl": {
        "M": [("Łukasz", []), ("Paweł", []), ("Krzysztof", [])],
        "F": [("Małgorzata", []), ("Agnieszka", []), ("Katarzyna", [])],
        "last": [("Wójcik", "Wójcik", [], []), ("Kowalczyk", "Kowalczyk", [], []), ("Nowak", "Nowak", [], []),
                 ("Wiśniewski", "Wiśniewska", [], []), ("Lewandowski", "Lewandowska", [], []),
                 ("Kamiński", "Kamińska", [], [])],
    },
    "vi": {
        "M": [("Văn Hùng", ["Hung"]), ("Minh Tuấn", ["Tuan"]), ("Đức Anh", ["Duc Anh"])],
        "F": [("Thị Lan", ["Lan"]), ("Thị Hương", ["Huong"]), ("Ngọc Anh", [])],
        "last": [(x, x, [], []) for x in ("Nguyễn", "Trần", "Lê", "Phạm")],
    },
}  # fmt: skip
#: which cultures live where (weights)
CULTURE_WEIGHTS = {
    "us": {"zh": 4, "ko": 3, "vi": 3, "ar": 2, "ru": 2, "ja": 1, "pl": 1, "el": 1},
    "uk": {"pl": 4, "zh": 3, "ar": 2, "ru": 1, "el": 1, "tr": 1, "ja": 1},
    "de": {"tr": 5, "pl": 3, "ru": 3, "ar": 2, "el": 2, "zh": 1, "vi": 1},
    "eu-fr": {"ar": 5, "vi": 2, "zh": 2, "tr": 1, "ru": 1, "pl": 1},
    "es": {"ar": 4, "ru": 2, "zh": 2, "pl": 1},
}
NATIVE_SCRIPT = {"ru", "el", "zh", "ja", "ko", "ar"}
EAST_ASIAN = {"zh", "ja", "ko", "vi"}

DOMAINS = {
    "FR": [("gmail.com", 34), ("orange.fr", 14), ("hotmail.fr", 12), ("yahoo.fr", 8), ("free.fr", 8),
           ("laposte.net", 5), ("sfr.fr", 5), ("outlook.fr", 5), ("wanadoo.fr", 4), ("icloud.com", 5)],
    "DE": [("gmail.com", 26), ("gmx.de", 20), ("web.de", 18), ("t-online.de", 10), ("gmx.net", 6),
           ("outlook.de", 5), ("yahoo.de", 4), ("googlemail.com", 6), ("icloud.com", 5)],
    "GB": [("gmail.com", 34), ("hotmail.co.uk", 14), ("outlook.com", 10), ("yahoo.co.uk", 10),
           ("btinternet.com", 7), ("icloud.com", 10), ("sky.com", 4), ("googlemail.com", 5), ("live.co.uk", 6)],
    "US": [("gmail.com", 45), ("yahoo.com", 14), ("hotmail.com", 8), ("outlook.com", 8), ("icloud.com", 12),
           ("aol.com", 5), ("comcast.net", 4), ("att.net", 4)],
    "ES": [("gmail.com", 45), ("hotmail.com", 18), ("hotmail.es", 10), ("yahoo.es", 8), ("outlook.es", 8),
           ("telefonica.net", 4), ("icloud.com", 7)],
}  # fmt: skip
TYPO_DOMAINS = {
    "gmail.com": ["gmial.com", "gmail.co", "gmai.com", "gnail.com", "gmail.con", "gmail.fr"],
    "hotmail.com": ["hotmial.com", "hotmail.co", "hotmai.com"], "hotmail.fr": ["hotmail.com", "hotmial.fr"],
    "yahoo.fr": ["yahoo.com", "yaho.fr"], "yahoo.com": ["yahooo.com", "yahoo.co"], "gmx.de": ["gmx.com", "gmx.e"],
    "web.de": ["web.com", "wed.de"], "orange.fr": ["orange.com", "ornage.fr"], "icloud.com": ["iclod.com"],
    "outlook.com": ["outlok.com"], "hotmail.co.uk": ["hotmail.com", "hotmail.co"],
}  # fmt: skip

TITLES = {
    "FR": {"M": ["M.", "Monsieur", "Dr"], "F": ["Mme", "Madame", "Mlle"]},
    "DE": {"M": ["Herr", "Dr.", "Hr."], "F": ["Frau", "Dr.", "Fr."]},
    "GB": {"M": ["Mr", "Mr.", "Dr"], "F": ["Mrs", "Ms", "Miss", "Dr"]},
    "US": {"M": ["Mr.", "Dr."], "F": ["Mrs.", "Ms.", "Dr."]},
    "ES": {"M": ["Sr.", "D."], "F": ["Sra.", "Dña."]},
}
COUNTRY_WRITTEN = {
    "FR": (["FRA"], ["France", "Frankreich"]),
    "DE": (["DEU"], ["Deutschland", "Germany", "Allemagne"]),
    "GB": (["GBR"], ["United Kingdom", "UK", "England", "Great Britain"]),
    "US": (["USA"], ["United States", "USA", "U.S.A.", "United States of America"]),
    "ES": (["ESP"], ["España", "Spain", "Espagne"]),
}
UNREADABLE_COUNTRY = {"DE": "GER", "GB": "Engl.", "US": "Amerika", "FR": "Frnace", "ES": "Spian"}
BUSINESS = {
    "FR": ["SARL {l}", "Boulangerie {l}", "{l} & Fils", "Cabinet {l}"],
    "DE": ["{l} GmbH", "Schreinerei {l}", "Praxis Dr. {l}", "{l} & Söhne KG"],
    "GB": ["{l} Ltd", "{l} & Sons", "{l} Plumbing Ltd"],
    "US": ["{l} LLC", "{l} Construction Inc.", "{l} Dental"],
    "ES": ["{l} S.L.", "Talleres {l}", "Farmacia {l}"],
}
EMPLOYERS = {
    "FR": ["Capgemini", "Société Générale", "Mairie de {c}", "CHU de {c}", "Decathlon"],
    "DE": ["Siemens AG", "Deutsche Bahn AG", "Stadtverwaltung {c}", "Universitätsklinikum {c}", "SAP SE"],
    "GB": ["NHS Trust", "Barclays", "{c} City Council", "University of {c}", "Deloitte LLP"],
    "US": ["Acme Corp", "Kaiser Permanente", "City of {c}", "University of {c}", "Deloitte LLP"],
    "ES": ["Telefónica", "Ayuntamiento de {c}", "Hospital Universitario de {c}", "Banco Santander", "Inditex"],
}
PICKUP = {
    "FR": [
        "Relais Colis - Tabac de la Gare",
        "Point Relais - Presse du Centre",
        "Mondial Relay - Pressing {c}",
        "Pickup Station Carrefour",
    ],
    "DE": ["Packstation {n}", "Packstation {n}", "DHL Paketshop - Kiosk am Markt", "Hermes PaketShop"],
    "ES": ["Correos Citypaq {n}", "Punto Pack - Papelería Central", "InPost Locker {n}"],
}
STORES = {  # store id prefix per scope, in the cities flagged with a store
    "eu-fr": "FR",
    "de": "DE",
    "uk": "GB",
    "us": "US",
    "es": "ES",
}
CATALOG = [
    (
        "TEE-ORG",
        ["T-shirt coton bio", "Bio-Baumwoll-T-Shirt", "Organic cotton tee", "Camiseta algodón orgánico"],
        "24.90",
    ),
    ("MUG-01", ["Mug céramique", "Keramikbecher", "Ceramic mug", "Taza de cerámica"], "12.00"),
    ("SOCK-3", ["Chaussettes x3", "Socken 3er-Pack", "Socks 3-pack", "Calcetines pack 3"], "14.50"),
    ("HOOD-NV", ["Sweat à capuche", "Kapuzenpullover", "Hoodie", "Sudadera con capucha"], "59.00"),
    ("BAG-TOTE", ["Sac cabas", "Stofftasche", "Tote bag", "Bolsa tote"], "19.00"),
    ("CAP-NVY", ["Casquette marine", "Kappe navy", "Navy cap", "Gorra azul marino"], "17.00"),
    ("BOT-INOX", ["Gourde inox", "Edelstahlflasche", "Steel bottle", "Botella de acero"], "29.90"),
]
LANG_INDEX = {"fr": 0, "de": 1, "en": 2, "es": 3}
TZ = {"FR": 1, "DE": 1, "GB": 0, "US": -5, "ES": 1}
CURRENCY = {"FR": "EUR", "DE": "EUR", "GB": "GBP", "US": "USD", "ES": "EUR"}
VAT = {"FR": "0.20", "DE": "0.19", "GB": "0.20", "ES": "0.21"}


# --- helpers -------------------------------------------------------------------------------------


def _strip_accents(text: str, umlaut_ae: bool = False) -> str:
    if umlaut_ae:
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
            text = text.replace(a, b)
    text = text.translate(str.maketrans({"ß": "ss", "ł": "l", "Ł": "L", "ı": "i", "ø": "o", "æ": "ae"}))
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _has_accents(text: str) -> bool:
    return _strip_accents(text) != text


def _ascii_local(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _strip_accents(text, umlaut_ae=True).lower())


def _money(x: Decimal) -> str:
    return str(x.quantize(Decimal("0.01")))


@dataclass(eq=False)
class _Addr:
    address: Address  # line1 canonical, city, postal, region, zip4
    apartment: str | None = None
    landline: str | None = None  # the line of the home (households)


@dataclass(eq=False)
class _P:
    """A person as the generator knows them (made into a ``stream.Person`` at the end)."""

    pid: str
    scope: str
    country: str
    sex: str
    first: str  # written as the person writes it (native script for foreign-script cultures)
    last: str
    first_forms: list[str] = field(default_factory=list)  # other first-name forms used
    last_forms: list[str] = field(default_factory=list)
    latin_first: list[str] = field(default_factory=list)  # transliterations (first the usual one)
    latin_last: list[str] = field(default_factory=list)
    culture: str | None = None
    native_share: float = 0.0
    middle: str | None = None
    nickname: str | None = None
    married_last: str | None = None
    marry_at: float | None = None
    emails: list[str] = field(default_factory=list)
    email_change_at: float | None = None
    family_email: str | None = None  # a household address this person uses
    family_email_share: float = 0.0
    googlemail: bool = False
    plus_tag: str | None = None
    mobile: str | None = None
    homes: list[_Addr] = field(default_factory=list)
    move_at: float | None = None
    work: _Addr | None = None
    employer: str | None = None
    pickup: int | None = None  # index of the pick-up point of the person's city
    postnummer: str | None = None
    landline_share: float = 0.0
    household: str | None = None
    channels: list[str] = field(default_factory=list)
    channel_weights: list[float] = field(default_factory=list)
    shopify_id: str | None = None
    account_email: str | None = None
    second_account: tuple[str, str, float] | None = None  # (id, email, from)
    loyalty_id: str | None = None
    shared_card_of: str | None = None  # pid of the household member whose card this person uses
    buyer_id: str | None = None
    relay_email: str | None = None
    masked_ext: str | None = None
    other_scope: str | None = None
    business: str | None = None
    same_name_as: str | None = None
    store: str | None = None
    pos_habit: str = "mixed"  # what the person gives at the till: phone, email, nothing, mixed
    web_phone_habit: float = 0.0  # where autofill puts the phone at checkout (a draw kept 85% of the time)
    n_orders: int = 1

    def home_at(self, t: float) -> _Addr:
        return (
            self.homes[1] if self.move_at is not None and t >= self.move_at and len(self.homes) > 1 else self.homes[0]
        )

    def landline_at(self, t: float) -> str | None:
        return self.home_at(t).landline

    def email_at(self, t: float) -> str | None:
        if not self.emails:
            return None
        if self.email_change_at is not None and t >= self.email_change_at and len(self.emails) > 1:
            return self.emails[1]
        return self.emails[0]


# --- the generator -------------------------------------------------------------------------------


class _World:
    def __init__(self, orders: int, seed: int) -> None:
        self.r = Random(seed)
        self.orders = orders
        self.n_people = max(2, orders // 5)
        self.c: Counter = Counter()
        self.tags: dict[str, list[str]] = {}
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.used_ids: set[str] = set()
        self.people: list[_P] = []
        self.by_scope: dict[str, list[_P]] = defaultdict(list)
        self.households: dict[str, list[_P]] = {}
        self.store_phone: dict[str, str] = {}
        self.platform_phone: dict[str, str] = {}
        self.pickups: dict[tuple[str, str], list[_Addr]] = {}
        self.stores: dict[str, list[tuple[str, str]]] = {}  # scope -> (store id, city)
        for scope, cc, _ in SCOPES:
            cities = [c for c in CITIES[cc] if c[5]]
            self.stores[scope] = [(f"{STORES[scope]}-{_ascii_local(c[0])[:6]}-{i + 1}", c[0])
                                  for c in cities for i in range(1 + (c[4] >= 20))]  # fmt: skip
            self.store_phone[scope] = self.phone(cc, landline=True, city=cities[0])
            self.platform_phone[scope] = self.phone(cc, landline=True, city=CITIES[cc][-1])

    # -- small draws --

    def hit(self, p: float, tag: str | None = None, tags: list[str] | None = None) -> bool:
        yes = self.r.random() < p
        if yes and tag is not None:
            if tags is not None:
                tags.append(tag)
            else:
                self.c[tag] += 1
        return yes

    def pick(self, pairs):
        items, weights = zip(*pairs, strict=True)
        return self.r.choices(items, weights)[0]

    def zipf(self, items: list[str], s: float = 0.9) -> str:
        return self.r.choices(items, [1 / (i + 1) ** s for i in range(len(items))])[0]

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def unique_id(self, make) -> str:
        while True:
            x = make()
            if x not in self.used_ids:
                self.used_ids.add(x)
                return x

    # -- phones (national significant numbers, valid for phonenumbers) --

    def phone(self, cc: str, landline: bool, city=None) -> str:
        r = self.r
        for _ in range(200):
            if cc == "FR":
                nsn = (
                    (city[3][0] if city else r.choice("12345")) + self.digits(8)
                    if landline
                    else ("6" + self.digits(8) if r.random() < 0.75 else "7" + r.choice("3456789") + self.digits(7))
                )
            elif cc == "DE":
                if landline:
                    area = city[3][0] if city else r.choice(["30", "40", "89", "221"])
                    nsn = area + r.choice("23456789") + self.digits(max(5, 9 - len(area)))
                else:
                    pre = r.choice(["151", "152", "157", "160", "162", "170", "171", "172", "173", "175", "176",
                                    "177", "178", "179"])  # fmt: skip
                    nsn = pre + self.digits(8 if pre[:2] in ("15", "17") and pre != "170" else 7)
            elif cc == "GB":
                if landline:
                    area = city[3][0] if city else "20"
                    nsn = area + ("7" if area == "20" else r.choice("2345")) + self.digits(9 - len(area))
                else:
                    nsn = "7" + r.choice("45789") + self.digits(8)
            elif cc == "US":
                area = r.choice(city[3] if city else [a for c in CITIES["US"] for a in c[3]])
                exchange = r.choice("23456789") + self.digits(2)
                if exchange[1:] == "11" or exchange == "555":
                    continue
                nsn = area + exchange + self.digits(4)
            else:  # ES
                if landline:
                    area = city[3][0] if city else "91"
                    nsn = area + self.digits(9 - len(area))
                else:
                    nsn = "6" + self.digits(8) if r.random() < 0.8 else "7" + r.choice("1234") + self.digits(7)
            if nsn in self.used_phones:
                continue
            number = phonenumbers.parse(f"+{CALLING[cc]}{nsn}")
            if not phonenumbers.is_valid_number(number):
                continue
            self.used_phones.add(nsn)
            return nsn
        raise RuntimeError(f"no valid phone number for {cc}")

    def render_phone(
        self, cc: str, nsn: str, scope_cc: str, style: str, tags: list[str], ext: str | None = None
    ) -> str:
        """``style``: 'web' (a checkout form), 'e164' (a platform that normalises), 'staff' (typed at a
        till or by a call centre), 'market'."""
        r = self.r
        number = phonenumbers.parse(f"+{CALLING[cc]}{nsn}")
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        intl = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        e164 = f"+{CALLING[cc]}{nsn}"
        if cc != scope_cc:  # abroad: only forms with the country code
            form = r.choice(["intl", "e164", "00"])
        elif style == "e164":
            form = "e164" if r.random() < 0.9 else "intl"
        else:
            weights = {
                "web": [
                    ("national", 40),
                    ("compact", 20),
                    ("sep", 8),
                    ("intl", 15),
                    ("e164", 6),
                    ("00", 4),
                    ("paren0", 3),
                    ("bare_cc", 0.5),
                ],
                "staff": [("national", 25), ("compact", 55), ("sep", 8), ("intl", 5), ("00", 3), ("paren0", 1)],
                "market": [("national", 25), ("compact", 10), ("intl", 35), ("e164", 25), ("00", 3), ("bare_cc", 2)],
            }[style]
            form = self.pick(weights)
        if cc == "US" and form in ("paren0", "00"):  # nobody in the US writes "001" or "(0)"
            form = "national"
        trunk = national.replace(" ", "").replace("(", "").replace(")", "").replace("-", "").replace("/", "")
        if form == "national":
            out = national
        elif form == "compact":
            out = trunk
        elif form == "sep":
            sep = {"FR": ".", "DE": "/", "GB": " ", "US": ".", "ES": "-"}[cc]
            if cc == "FR":
                out = ".".join(trunk[i : i + 2] for i in range(0, 10, 2))
            elif cc == "DE":
                area_len = len(national.split(" ")[0])
                out = trunk[:area_len] + sep + trunk[area_len:]
            elif cc == "US":
                out = (
                    f"{trunk[:3]}.{trunk[3:6]}.{trunk[6:]}"
                    if r.random() < 0.6
                    else f"{trunk[:3]}-{trunk[3:6]}-{trunk[6:]}"
                )
            elif cc == "ES":
                out = f"{trunk[:3]}-{trunk[3:6]}-{trunk[6:]}"
            else:
                out = trunk[:5] + " " + trunk[5:]
        elif form == "intl":
            out = intl if cc != "US" or r.random() < 0.6 else f"1-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
        elif form == "e164":
            out = e164
        elif form == "00":
            out = "00" + intl[1:] if r.random() < 0.6 else "00" + e164[1:]
        elif form == "paren0":
            cc_part, rest = intl.split(" ", 1)
            out = f"{cc_part} (0){rest}"
        else:  # bare_cc: the country code without + or 00
            out = e164[1:]
        tags.append(f"phone_{form}")
        if ext:
            out += r.choice([f" ext. {ext}", f" x{ext}", f" ext {ext}", f", ext. {ext}"])
            tags.append("phone_extension")
        return out

    # -- names --

    def surname(self, cc: str) -> str:
        if self.r.random() < 0.2:
            return self.zipf(SURNAMES[cc], 0.8)
        roots, ends = SURNAME_PARTS[cc]
        middle = self.r.choice(
            ["", "", "", "er", "en", "ing", "ow", "el"]
            if cc in ("DE", "GB", "US")
            else ["", "", "", "ar", "en", "iv", "on", "al"]
        )
        return self.r.choice(roots) + middle + self.r.choice(ends)

    def full_surname(self, cc: str) -> str:
        if cc == "ES" and self.r.random() < 0.67:
            a, b = self.surname(cc), self.surname(cc)
            return f"{a} {b}" if a != b else a
        return self.surname(cc)

    # -- addresses --

    def city(self, cc: str):
        return self.r.choices(CITIES[cc], [c[4] for c in CITIES[cc]])[0]

    def new_postal(self, cc: str, city) -> str:
        base = self.r.choice(city[2])
        if cc == "GB":
            return f"{base} {self.r.choice('123456789')}{self.r.choice('ABDEFGHJLNPQRSTUWXYZ')}{self.r.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        return base

    def address(self, cc: str, city=None, postal: str | None = None, apartment: bool | None = None) -> _Addr:
        r = self.r
        city = city or self.city(cc)
        street = r.choice(STREETS[cc])
        number = str(r.choice([r.randint(1, 40), r.randint(1, 180)]) if cc != "US" else r.randint(100, 9899))
        if cc in ("FR",) and r.random() < 0.05:
            number += " bis"
        if cc == "DE" and r.random() < 0.08:
            number += r.choice("abc")
        line1 = {"FR": f"{number} {street}", "DE": f"{street} {number}", "ES": f"{street}, {number}"}.get(
            cc, f"{number} {street}"
        )
        share, patterns = APARTMENTS[cc]
        apt = None
        if apartment if apartment is not None else r.random() < share:
            apt = r.choice(patterns).format(
                n=r.randint(1, 60), L=r.choice("ABCDEF"), k=r.randint(1, 8), j=r.randint(1, 4)
            )
        zip4 = self.digits(4) if cc == "US" and r.random() < 0.55 else None
        return _Addr(Address(line1, city[0], postal or self.new_postal(cc, city), city[1], zip4), apt)

    def city_of(self, cc: str, name: str):
        return next(c for c in CITIES[cc] if c[0] == name)

    # -- emails --

    def email_for(self, cc: str, first: str, last: str, sex: str) -> str:
        r = self.r
        f, l_ = _ascii_local(first.split(" ")[0].split("-")[0]) or "x", _ascii_local(last.split(" ")[0]) or "y"
        domain = self.pick(DOMAINS[cc])
        year = str(r.randint(1955, 2004))
        for _ in range(50):
            pattern = self.pick([("f.l", 30), ("fl", 10), ("f1.l", 8), ("f1l", 8), ("f_l", 5), ("f.l99", 12),
                                 ("fyear", 8), ("f1lnn", 7), ("handle", 12)])  # fmt: skip
            local = {
                "f.l": f"{f}.{l_}", "fl": f"{f}{l_}", "f1.l": f"{f[0]}.{l_}", "f1l": f"{f[0]}{l_}",
                "f_l": f"{f}_{l_}", "f.l99": f"{f}.{l_}{r.randint(1, 99)}", "fyear": f"{f}{year}",
                "f1lnn": f"{f[0]}{l_}{r.randint(10, 99)}",
                "handle": r.choice(["sunny", "blue", "happy", "little", "wild", "green", "night", "lucky",
                                    "crazy", "misty"]) + r.choice(["fox", "cat", "bird", "star", "bear", "moon",
                                                                   "wolf", "rose"]) + str(r.randint(1, 999)),
            }[pattern]  # fmt: skip
            email = f"{local}@{domain}"
            if _canonical_email(email) not in self.used_emails:  # one mailbox, one person (gmail ignores dots)
                self.used_emails.add(_canonical_email(email))
                return email
            domain = self.pick(DOMAINS[cc])
        raise RuntimeError("no email")

    # -- people --

    def new_person(self, scope: str, sex: str | None = None, last: str | None = None, household: str | None = None,
                   home: _Addr | None = None, foreign: bool | None = None) -> _P:  # fmt: skip
        r = self.r
        cc = next(c for s, c, _ in SCOPES if s == scope)
        sex = sex or r.choice("MF")
        pid = f"Q{len(self.people) + 1:05d}"
        p = _P(pid, scope, cc, sex, "", "", household=household)
        if foreign if foreign is not None else r.random() < 0.07:
            culture = self.pick(list(CULTURE_WEIGHTS[scope].items()))
            nf, lf = r.choice(CULTURES[culture][sex])
            male, female, lm, lfem = r.choice(CULTURES[culture]["last"])
            nl, ll = (male, lm) if sex == "M" else (female, lfem)
            p.culture = culture
            if culture in NATIVE_SCRIPT:
                p.first, p.last = nf, nl
                p.native_share = r.choice([0.05, 0.1, 0.2, 0.4])
                p.latin_first = r.sample(lf, len(lf))
                p.latin_last = r.sample(ll, len(ll))
            else:  # Latin with diacritics (tr, pl, vi); other forms are short forms
                p.first, p.last = nf, nl
                p.latin_first = list(lf)
            if last:  # married into a household: the household surname
                p.last, p.latin_last = last, []
        else:
            p.first = self.zipf(FIRST[cc][sex], 0.4)
            p.last = last or self.full_surname(cc)
        if p.first in NICKNAMES and r.random() < 0.35:
            p.nickname = r.choice(NICKNAMES[p.first])
        if r.random() < (0.3 if cc in ("US", "GB") else 0.08) and not p.culture:
            p.middle = r.choice(MIDDLE[sex])
        if home is None:
            home = self.address(cc)
            if r.random() < 0.18:
                home.landline = self.phone(cc, True, self.city_of(cc, home.address.city))
        p.homes = [home]
        # a US mobile keeps the area code of where it was bought: mostly the home city's
        city = self.city_of(cc, home.address.city) if cc == "US" and r.random() < 0.75 else None
        p.mobile = self.phone(cc, landline=False, city=city) if r.random() < (0.9 if household else 0.93) else None
        latin_first = p.latin_first[0] if p.culture in NATIVE_SCRIPT else p.first
        latin_last = p.latin_last[0] if p.culture in NATIVE_SCRIPT and p.latin_last else p.last
        if r.random() < 0.96:
            p.emails = [self.email_for(cc, latin_first, latin_last, sex)]
        if p.emails and "gmail.com" in p.emails[0] and r.random() < 0.04:
            p.plus_tag = r.choice(["shop", "acme", "orders", "promo", "online"])
        if p.emails and "googlemail.com" in p.emails[0]:
            p.googlemail = True
        self.people.append(p)
        self.by_scope[scope].append(p)
        return p

    def build_people(self) -> None:
        r = self.r
        scopes, weights = zip(*SCOPE_SHARE.items(), strict=True)
        while len(self.people) < self.n_people:
            scope = r.choices(scopes, weights)[0]
            if r.random() < 0.09 and self.n_people - len(self.people) >= 4:
                self.household(scope)
            else:
                self.new_person(scope)
        singles = [p for p in self.people if p.household is None]
        self.namesakes(singles)
        for p in self.people:
            self.traits(p)
        self.second_scopes()

    def household(self, scope: str) -> None:
        r = self.r
        cc = next(c for s, c, _ in SCOPES if s == scope)
        hid = f"H{len(self.households) + 1:04d}"
        home = self.address(cc, apartment=None)
        if r.random() < 0.75:
            home.landline = self.phone(cc, True, self.city_of(cc, home.address.city))
        size = r.choices([2, 3, 4], [55, 30, 15])[0]
        founder = self.new_person(scope, household=hid, home=home)
        members = [founder]
        surname = founder.last
        # the spouse or partner
        spouse_sex = ("F" if founder.sex == "M" else "M") if r.random() < 0.93 else founder.sex
        if cc == "ES" or r.random() > 0.7 or founder.culture in NATIVE_SCRIPT:
            spouse = self.new_person(
                scope, spouse_sex, household=hid, home=home, foreign=False if not founder.culture else None
            )
        else:
            spouse = self.new_person(scope, spouse_sex, last=surname, household=hid, home=home, foreign=False)
        members.append(spouse)
        father = founder if founder.sex == "M" else spouse
        mother = spouse if father is founder else founder
        for _ in range(size - 2):
            father_last, mother_last = self._latin(father)[1], self._latin(mother)[1]
            if cc == "ES":
                child_last = f"{father_last.split(' ')[0]} {mother_last.split(' ')[0]}"
            else:
                child_last = father_last
            child = self.new_person(scope, household=hid, last=child_last, home=home, foreign=False)
            if (
                child.sex == "M" and r.random() < (0.2 if cc == "US" else 0.05) and not father.culture
            ):  # named after the father
                child.first, child.middle, child.latin_first = father.first, father.middle, list(father.latin_first)
                child.nickname = father.nickname
                child.same_name_as = father.pid
                self.c["household_same_name_people"] += 1
            members.append(child)
        # shared phone, emails
        family_email = None
        if r.random() < 0.25:
            last_ascii = _ascii_local(
                (father.latin_last or [father.last])[0]
                if father.culture in NATIVE_SCRIPT
                else father.last.split(" ")[0]
            )
            local = r.choice([f"famille.{last_ascii}" if cc == "FR" else f"familie.{last_ascii}" if cc == "DE"
                              else f"familia{last_ascii}" if cc == "ES" else f"the{last_ascii}s",
                              f"{last_ascii}family", f"{last_ascii}.home", f"{last_ascii}{r.randint(1, 99)}"])  # fmt: skip
            family_email = f"{local}@{self.pick(DOMAINS[cc])}"
            while _canonical_email(family_email) in self.used_emails:
                family_email = f"{local}{r.randint(100, 999)}@{self.pick(DOMAINS[cc])}"
            self.used_emails.add(_canonical_email(family_email))
        for m in members:
            m.household = hid
            m.landline_share = 0.2 if home.landline else 0.0
            if m.emails and r.random() < 0.12:  # no email of one's own (a child, an older parent)
                self.used_emails.discard(_canonical_email(m.emails[0]))
                m.emails = []
            if family_email:
                if not m.emails:
                    m.family_email, m.family_email_share = family_email, 1.0
                elif r.random() < 0.3:
                    m.family_email, m.family_email_share = family_email, 0.15
        if family_email and not any(m.family_email for m in members):
            members[0].family_email, members[0].family_email_share = family_email, 0.5
        self.households[hid] = members

    def traits(self, p: _P) -> None:
        r = self.r
        cc = p.country
        # channels
        combo = self.pick([(("shopify",), 55), (("pos",), 20), (("market",), 10), (("shopify", "pos"), 10),
                           (("shopify", "market"), 4), (("shopify", "pos", "market"), 1)])  # fmt: skip
        combo = list(combo)
        r.shuffle(combo)
        p.channels = combo
        p.channel_weights = [[1.0], [0.7, 0.3], [0.6, 0.3, 0.1]][len(combo) - 1]
        if not p.emails and not p.family_email and "pos" not in combo and r.random() < 0.6:
            p.channels, p.channel_weights = ["pos"], [1.0]  # people without email mostly buy in store
        if "shopify" in p.channels and r.random() < 0.45 and (p.emails or p.family_email):
            p.shopify_id = self.unique_id(lambda: str(r.randint(5_000_000_000_000, 8_999_999_999_999)))
            p.account_email = p.email_at(0) or p.family_email
            if p.plus_tag and p.account_email and "gmail" in p.account_email:
                local, domain = p.account_email.split("@")
                p.account_email = f"{local}+{p.plus_tag}@{domain}"
            if r.random() < 0.015:
                other = self.email_for(cc, *(self._latin(p)), p.sex)
                p.second_account = (
                    self.unique_id(lambda: str(r.randint(5_000_000_000_000, 8_999_999_999_999))),
                    other,
                    r.uniform(0.2, 0.8) * DAYS * 86400,
                )
                self.c["people_duplicate_shopify_accounts"] += 1
        if "pos" in p.channels:
            stores = self.stores[p.scope]
            near = [s for s, city in stores if city == p.homes[0].address.city]
            p.store = r.choice(near) if near and r.random() < 0.85 else r.choice(stores)[0]
            if r.random() < 0.35:
                p.loyalty_id = self.unique_id(lambda: f"LC{self.digits(10)}")
            p.pos_habit = self.pick([("phone", 45), ("email", 20), ("nothing", 12), ("mixed", 23)])
        p.web_phone_habit = r.random()
        if "market" in p.channels:
            p.buyer_id = self.unique_id(lambda: f"BZ-{self.digits(9)}")
            p.relay_email = f"{''.join(r.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(14))}@marketplace.bazaar.example"
            if cc in ("US", "GB") and r.random() < 0.3:
                p.masked_ext = self.digits(5)
        # life events
        if p.emails and r.random() < 0.05:
            p.emails.append(self.email_for(cc, *(self._latin(p)), p.sex))
            p.email_change_at = r.uniform(0.15, 0.85) * DAYS * 86400
        if p.sex == "F" and not p.household and r.random() < 0.015 and not p.culture:
            p.married_last = (
                f"{self.surname(cc)} {self.surname(cc)}" if cc == "ES" else
                f"{p.last}-{self.surname(cc)}" if r.random() < 0.2 else self.surname(cc)
            )  # fmt: skip
            p.marry_at = r.uniform(0.15, 0.8) * DAYS * 86400
        if r.random() < 0.1:
            city = self.city_of(cc, p.homes[0].address.city) if r.random() < 0.7 else self.city(cc)
            p.work = self.address(cc, city, apartment=False)
            p.employer = r.choice(EMPLOYERS[cc]).format(c=city[0])
        if cc in PICKUP and r.random() < 0.15:
            p.pickup = r.randrange(3)
            if cc == "DE":
                p.postnummer = self.digits(9)
        if r.random() < 0.015:
            p.business = r.choice(BUSINESS[cc]).format(l=self._latin(p)[1].split(" ")[0])
        if not p.household:
            p.landline_share = 0.25 if p.homes[0].landline else 0.0
        if not p.mobile and not p.landline_at(0) and r.random() < 0.5:
            p.homes[0].landline = self.phone(cc, True, self.city_of(cc, p.homes[0].address.city))
            p.landline_share = 1.0

    def _latin(self, p: _P) -> tuple[str, str]:
        if p.culture in NATIVE_SCRIPT:
            return p.latin_first[0], (p.latin_last[0] if p.latin_last else p.last)
        return p.first, p.last

    def namesakes(self, singles: list[_P]) -> None:
        r = self.r
        for p in singles:
            if p.culture or r.random() >= 0.02:
                continue
            others = [o for o in self.by_scope[p.scope] if o is not p and o.sex == p.sex and not o.culture]
            if not others:
                continue
            model = r.choice(others)
            p.first, p.last, p.middle, p.nickname = model.first, model.last, None, model.nickname
            if p.emails:
                self.used_emails.discard(_canonical_email(p.emails[0]))
                p.emails = [self.email_for(p.country, p.first, p.last, p.sex)]
                p.googlemail, p.plus_tag = "googlemail.com" in p.emails[0], None
            self.c["people_namesake_copies"] += 1
            if r.random() < 0.4:  # the same city, and then often the same postal code
                city = self.city_of(p.country, model.homes[0].address.city)
                postal = model.homes[0].address.postal_code if r.random() < 0.4 else None
                p.homes[0] = self.address(p.country, city, postal)
                self.c["people_namesake_same_city"] += 1
                self.c["people_namesake_same_postal"] += postal is not None

    def second_scopes(self) -> None:
        r = self.r
        for p in self.people:
            if p.household or not p.emails or "shopify" not in p.channels or r.random() >= 0.02:
                continue
            p.other_scope = r.choice([s for s, _, _ in SCOPES if s != p.scope])

    def moves(self) -> None:
        r = self.r
        moved: set[str] = set()
        for p in self.people:
            if p.pid in moved or r.random() >= 0.04:
                continue
            group = self.households[p.household] if p.household else [p]
            group = [m for m in group if m in self.alive]
            cc = p.country
            new = self.address(cc, self.city_of(cc, p.homes[0].address.city) if r.random() < 0.6 else None)
            if any(m.landline_at(0) for m in group) and r.random() < 0.8:
                new.landline = self.phone(cc, True, self.city_of(cc, new.address.city))
            at = r.uniform(0.1, 0.9) * DAYS * 86400
            for m in group:
                m.homes.append(new)
                m.move_at = at
                moved.add(m.pid)
            self.c["people_moving"] += len(group)

    # -- schedule --

    def schedule(self) -> list[tuple[float, _P, str, str, list[str]]]:
        """(seconds into the stream, person, channel, scope, tags) for every order."""
        r = self.r
        people = self.people
        weights = [min(r.paretovariate(1.15), 60.0) * (1.3 if p.channels == ["pos"] else 1.0) for p in people]
        extra = r.choices(range(len(people)), weights, k=max(0, self.orders - len(people)))
        for i in extra:
            people[i].n_orders += 1
        plan = []
        span = DAYS * 86400
        for p in people:
            start = r.uniform(0, span * 0.95) if p.n_orders <= 2 else r.uniform(0, span * 0.5)
            times: list[float] = []
            for k in range(p.n_orders):
                if times and r.random() < 0.05:
                    times.append(times[-1] + r.uniform(60, 1200))
                    continue
                times.append(r.uniform(start, span) if k else start)
            times.sort()
            double_next = False
            for k, t in enumerate(times):
                tags: list[str] = []
                channel = r.choices(p.channels, p.channel_weights)[0]
                scope = p.scope
                if p.other_scope and (k == len(times) - 1 and p.n_orders > 1 or r.random() < 0.2):
                    scope, channel = p.other_scope, "shopify"
                    tags.append("order_in_second_scope")
                if double_next:
                    tags.append("double_submit")
                    prev = plan[-1]
                    plan.append((prev[0] + r.uniform(2, 15), p, prev[2], prev[3], tags))
                    double_next = False
                    continue
                if k < len(times) - 1 and r.random() < 0.004:
                    double_next = True
                plan.append((self._daytime(t, scope, channel), p, channel, scope, tags))
        plan.sort(key=lambda x: x[0])
        return plan

    def _daytime(self, t: float, scope: str, channel: str) -> float:
        """Seconds into the stream moved into plausible local hours (web 7-24, shops 9-20)."""
        cc = next(c for s, c, _ in SCOPES if s == scope)
        day = int(t // 86400)
        frac = (t % 86400) / 86400
        lo, hi = (9, 20) if channel == "pos" else (7, 24)
        local = lo + frac * (hi - lo)
        return day * 86400 + local * 3600 - TZ[cc] * 3600

    # -- rendering one order --

    def name(self, p: _P, t: float, channel: str, tags: list[str], staff: bool) -> tuple[str | None, str | None]:
        r = self.r
        cc = p.country
        native = p.culture in NATIVE_SCRIPT and r.random() < (p.native_share * (1.5 if channel == "market" else 1))
        if p.culture in NATIVE_SCRIPT and not native:
            first = p.latin_first[0] if r.random() < 0.8 or len(p.latin_first) == 1 else r.choice(p.latin_first[1:])
            last = (
                (p.latin_last[0] if r.random() < 0.85 or len(p.latin_last) == 1 else r.choice(p.latin_last[1:]))
                if p.latin_last
                else p.last
            )
            tags.append("name_transliterated")
            if first != p.latin_first[0] or (p.latin_last and last != p.latin_last[0]):
                tags.append("name_translit_variant")
                self._form(p, first=first, last=last)
        else:
            first, last = p.first, p.last
            if native:
                tags.append("name_native_script")
        if p.culture and p.culture not in NATIVE_SCRIPT and p.latin_first and r.random() < 0.3:
            first = r.choice(p.latin_first)  # "Lan" for "Thị Lan"
            self._form(p, first=first)
            tags.append("name_short_form")
        if p.married_last:
            if t >= p.marry_at and r.random() < 0.85:
                last = p.married_last
                tags.append("name_married")
            elif t >= p.marry_at:
                tags.append("name_maiden_after_marriage")
        if p.nickname and r.random() < 0.35:
            first = p.nickname
            tags.append("name_nickname")
        if cc == "ES" and " " in last and not p.culture:
            x = r.random()
            if x < 0.4:
                last = last.split(" ")[0]
                tags.append("name_es_one_surname")
            elif x < 0.45:
                last = last.replace(" ", "-")
                tags.append("name_hyphenated")
        if "-" in first and r.random() < 0.25:
            first = first.replace("-", " ")
            tags.append("name_hyphen_space")
        if p.middle and r.random() < 0.3:
            if r.random() < 0.6:
                first = f"{first} {p.middle[0]}." if r.random() < 0.7 else f"{first} {p.middle[0]}"
                self._form(p, first=f"{first.split(' ')[0]} {p.middle[0]}")
                tags.append("name_middle_initial")
            else:
                first = f"{first} {p.middle}"
                tags.append("name_middle_name")
        if p.same_name_as and r.random() < 0.15 and cc == "US":
            last = f"{last} Jr."
            tags.append("name_suffix_jr")
        accents = {"shopify": 0.08, "market": 0.2, "pos": 0.3}[channel]
        if _has_accents(first + last) and r.random() < accents:
            ae = cc == "DE" and r.random() < 0.5
            first, last = _strip_accents(first, ae), _strip_accents(last, ae)
            tags.append("name_accents_dropped")
        if channel == "pos" and first and " " not in p.first:
            x = r.random()
            if x < 0.12:
                first = first[0] + ("." if r.random() < 0.5 else "")
                tags.append("name_initial_only")
            elif x < 0.18:
                first = None
                tags.append("name_no_first")
        if staff and r.random() < 0.015 or not staff and r.random() < 0.007:
            which = r.random() < 0.5 and first and len(first) > 3
            word = first if which else last
            i = r.randrange(1, len(word) - 1) if len(word) > 2 else 0
            typo = r.choice([word[:i] + word[i + 1 :], word[:i] + word[i] + word[i:],
                             word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :]])  # fmt: skip
            if typo != word:
                first, last = (typo, last) if which else (first, typo)
                tags.append("name_typo")
        caps = {"shopify": 0.02, "market": 0.06, "pos": 0.2}[channel] * (3 if staff and channel != "pos" else 1)
        if r.random() < caps:
            first, last = first.upper() if first else first, last.upper()
            tags.append("name_all_caps")
        elif channel == "shopify" and r.random() < 0.03:
            first, last = first.lower() if first else first, last.lower()
            tags.append("name_lower_case")
        if r.random() < (0.3 if p.culture in EAST_ASIAN else 0.015) and first:
            first, last = last, first
            tags.append("name_swapped")
        if r.random() < (0.15 if staff and channel == "shopify" else 0.01):
            title = r.choice(TITLES[cc][p.sex])
            if staff and cc == "DE" and r.random() < 0.5:
                first = title  # "Frau" "Müller": the first name never asked
            elif r.random() < 0.6 and first:
                first = f"{title} {first}"
            else:
                last = f"{title} {last}"
            tags.append("name_title")
        if channel in ("pos", "market") and first and r.random() < 0.01:
            first, last = f"{first} {last}", None
            tags.append("name_whole_in_first")
        if p.business and r.random() < 0.25:
            if r.random() < 0.5:
                first, last = None, p.business
            else:
                last = p.business
            tags.append("name_company")
        return first, last

    def _form(self, p: _P, first: str | None = None, last: str | None = None) -> None:
        if first and first not in p.first_forms and first != p.first:
            p.first_forms.append(first)
        if last and last not in p.last_forms and last != p.last:
            p.last_forms.append(last)

    def email(self, p: _P, t: float, channel: str, tags: list[str], staff: bool) -> str | None:
        r = self.r
        email = p.email_at(t)
        if p.email_change_at is not None and t >= p.email_change_at:
            if r.random() < 0.12:
                email = p.emails[0]
                tags.append("email_old_after_change")
            else:
                tags.append("email_new_after_change")
        if p.family_email and (email is None or r.random() < p.family_email_share):
            email = p.family_email
            tags.append("email_shared_family")
        if email is None:
            return None
        local, domain = email.split("@")
        if domain == "gmail.com" and not staff:
            if p.plus_tag and r.random() < 0.7:
                local = f"{local}+{p.plus_tag}"
                tags.append("email_plus_tag")
            if r.random() < 0.04:
                local = (
                    local.replace(".", "")
                    if "." in local
                    else (local[:3] + "." + local[3:] if len(local) > 4 else local)
                )
                tags.append("email_gmail_dots")
        if p.googlemail and r.random() < 0.35:
            domain = "gmail.com"
            tags.append("email_googlemail")
        email = f"{local}@{domain}"
        if r.random() < (0.02 if staff else 0.008):
            if r.random() < 0.5 and domain in TYPO_DOMAINS:
                email = f"{local}@{r.choice(TYPO_DOMAINS[domain])}"
            else:
                i = r.randrange(1, max(2, len(local) - 1))
                email = (
                    f"{local[:i] + local[i + 1 :] if r.random() < 0.6 else local[:i] + local[i] + local[i:]}@{domain}"
                )
            tags.append("email_typo")
        if staff and channel == "pos" and r.random() < 0.25:
            email = email.upper()
            tags.append("email_case")
        elif not staff and r.random() < 0.06:
            email = email[0].upper() + email[1:]
            tags.append("email_case")
        if r.random() < 0.015:
            if r.random() < 0.5:
                email = email + " "
                tags.append("email_space_trailing")
            elif "." in email.split("@")[0]:
                email = email.replace(".", ". ", 1)
                tags.append("email_space_inside")
        return email

    def line1(self, a: _Addr, cc: str, tags: list[str], apt_place: str) -> tuple[str, str | None]:
        r = self.r
        line1, line2 = a.address.line1, a.apartment
        if r.random() < 0.15:
            for long, short in ABBREVIATIONS[cc]:
                if long in line1:
                    line1 = line1.replace(long, short)
                    tags.append("street_abbreviated")
                    break
        if cc == "DE" and "straße" in line1 and r.random() < 0.1:
            line1 = line1.replace("straße", "strasse")
            tags.append("street_ss")
        if cc == "FR" and r.random() < 0.1:
            line1 = line1.replace(" ", ", ", 1)
        if line2:
            if apt_place == "line1" or r.random() < 0.1:
                line1, line2 = (
                    (f"{line2}, {line1}" if cc == "GB" else f"{line1} {line2}" if cc == "US" else f"{line1}, {line2}"),
                    None,
                )
                tags.append("apartment_in_line1")
            elif r.random() < 0.1:
                line2 = None
                tags.append("apartment_left_out")
            else:
                tags.append("apartment_line2")
        return line1, line2

    def postal(self, a: _Addr, cc: str, tags: list[str], channel: str) -> str:
        r = self.r
        code = a.address.postal_code
        if cc == "US" and a.address.zip4 and r.random() < 0.4:
            code = f"{code}-{a.address.zip4}"
            tags.append("postal_zip4")
        if code[0] == "0" and cc in ("FR", "DE", "ES", "US") and r.random() < (0.3 if channel == "market" else 0.03):
            code = code.lstrip("0")
            tags.append("postal_lost_leading_zero")
        if cc == "DE" and r.random() < 0.03:
            code = f"D-{code}"
            tags.append("postal_d_prefix")
        if cc == "GB" and r.random() < 0.2:
            code = code.replace(" ", "") if r.random() < 0.6 else code.lower()
            tags.append("postal_uk_variant")
        return code

    def country(self, cc: str, channel: str, tags: list[str]) -> str | None:
        r = self.r
        if channel == "shopify":
            return cc
        if channel == "pos":
            x = r.random()
            if x < 0.55:
                return None
            if x < 0.95:
                return cc
        else:
            x = r.random()
            if x < 0.75:
                return cc
            if x < 0.95:
                tags.append("country_alpha3")
                return COUNTRY_WRITTEN[cc][0][0]
        if r.random() < 0.04:
            tags.append("country_unreadable")
            return UNREADABLE_COUNTRY[cc]
        tags.append("country_name")
        return r.choice(COUNTRY_WRITTEN[cc][1])

    def postal_address(self, a: _Addr, cc: str, first, last, channel: str, tags: list[str], *, company=None,
                       phone=None, region=True) -> dict[str, Any]:  # fmt: skip
        line1, line2 = self.line1(a, cc, tags, "line1" if channel == "pos" else "")
        out = {
            "first_name": first, "last_name": last, "company": company, "line1": line1, "line2": line2,
            "city": a.address.city if self.r.random() > 0.03 else a.address.city.upper(),
            "region": a.address.region if region and cc in ("US", "ES") else None,
            "postal_code": self.postal(a, cc, tags, channel), "country": self.country(cc, channel, tags),
            "phone": phone,
        }  # fmt: skip
        return {k: v for k, v in out.items() if v is not None}

    def gift_recipient(self, p: _P, scope: str, tags: list[str]) -> tuple[str, str, _Addr, str | None]:
        r = self.r
        cc = next(c for s, c, _ in SCOPES if s == scope)
        pool = [o for o in self.by_scope[scope] if o is not p and (not p.household or o.household != p.household)]
        if pool and r.random() < 0.3:
            o = r.choice(pool)
            tags.append("gift_to_known_person")
            first, last = self._latin(o)
            return first, last, o.home_at(0), o.mobile and f"+{CALLING[o.country]}{o.mobile}"
        sex = r.choice("MF")
        first = self.zipf(FIRST[cc][sex], 0.5)
        last = self.full_surname(cc)
        return first, last, self.address(cc), None

    def lines_and_totals(self, cc: str, lang: str) -> tuple[list[dict], dict]:
        r = self.r
        lines = []
        subtotal = Decimal(0)
        for sku, names, price in r.sample(CATALOG, r.choice([1, 1, 1, 2, 2, 3])):
            qty = r.choice([1, 1, 1, 2])
            unit = Decimal(price)
            total = unit * qty
            subtotal += total
            lines.append({"sku": sku, "name": names[LANG_INDEX[lang]], "quantity": qty, "unit_price": _money(unit),
                          "total": _money(total)})  # fmt: skip
        shipping = Decimal("0") if subtotal >= 50 else Decimal("4.90")
        if cc == "US":
            tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
            totals = {"subtotal": _money(subtotal), "shipping": _money(shipping), "tax": _money(tax),
                      "total": _money(subtotal + shipping + tax)}  # fmt: skip
        else:
            rate = Decimal(VAT[cc])
            total = subtotal + shipping
            tax = (total * rate / (1 + rate)).quantize(Decimal("0.01"))
            totals = {"subtotal": _money(subtotal), "shipping": _money(shipping), "tax": _money(tax),
                      "total": _money(total), "taxes_included": True}  # fmt: skip
        return lines, totals

    def order(self, t: float, p: _P, channel: str, scope: str, tags: list[str], seq: int) -> dict[str, Any]:
        r = self.r
        cc = next(c for s, c, _ in SCOPES if s == scope)
        lang = next(lg for s, _, lg in SCOPES if s == scope)
        home = p.home_at(t)
        hc = p.country  # the country of the person's addresses (another scope: still home)
        placed = START + timedelta(seconds=t)
        local_tz = timezone(timedelta(hours=TZ[cc]))
        staff = False
        out: dict[str, Any] = {
            "scope": scope,
            "currency": CURRENCY[cc],
            "placed_at": placed.astimezone(local_tz).isoformat(),
        }
        if home is not p.homes[0]:
            tags.append("after_move")
        # phones of the person
        landline = p.landline_at(t)
        use_landline = landline and (not p.mobile or r.random() < p.landline_share)
        nsn = landline if use_landline else p.mobile
        if use_landline and p.household:
            tags.append("phone_household_landline")
        if channel == "shopify":
            source = SHOPIFY[scope]
            staff = r.random() < 0.03 and scope == p.scope
            order_number = self.unique_id(lambda: str(r.randint(5_400_000_000_000, 5_999_999_999_999)))
            out |= {"order_number": order_number, "display_number": f"#{seq + 1001}", "source_system": source}
            tags.append("shopify_phone_order" if staff else "shopify_web")
            first, last = self.name(p, t, channel, tags, staff)
            registered = p.shopify_id and not staff and SHOPIFY.get(p.scope) == source
            if registered and r.random() < 0.15:
                registered = False
                tags.append("registered_checkout_as_guest")
            if registered:
                sid, email = p.shopify_id, p.account_email
                if p.second_account and t >= p.second_account[2] and r.random() < 0.7:
                    sid, email = p.second_account[0], p.second_account[1]
                    tags.append("second_shopify_account")
                if p.emails and p.email_change_at is not None and t >= p.email_change_at and r.random() < 0.6:
                    email = p.emails[1]  # the account's email updated
                    tags.append("email_new_after_change")
                out |= {"source_customer_id": sid, "account_type": "registered", "email": email}
                tags.append("registered")
            else:
                email = self.email(p, t, channel, tags, staff)
                if staff and r.random() < 0.5:
                    email = None
                    tags.append("phone_order_without_email")
                elif not staff and email and r.random() < 0.02 and nsn:
                    email = None
                    tags.append("guest_phone_only_checkout")
                out |= {"email": email, "account_type": "guest" if r.random() < 0.8 else None}
                tags.append("guest")
            out |= {"first_name": first, "last_name": last}
            if not staff and r.random() < 0.9:
                out["preferred_language"] = lang if p.country == cc or r.random() < 0.5 else "en"
            # the phone: order level (normalised by the platform), shipping address, both, neither
            where = (p.web_phone_habit if r.random() < 0.85 else r.random()) if nsn and not staff else 1.0
            phone_cc = p.country
            order_phone = ship_phone = None
            if staff and nsn:
                order_phone = self.render_phone(phone_cc, nsn, cc, "staff", tags)
            elif where < 0.35:
                ship_phone = self.render_phone(phone_cc, nsn, cc, "web", tags)
                tags.append("phone_only_on_shipping")
            elif where < 0.55:
                order_phone = self.render_phone(phone_cc, nsn, cc, "e164", tags)
                ship_phone = self.render_phone(phone_cc, nsn, cc, "web", tags)
            elif where < 0.65:
                order_phone = self.render_phone(phone_cc, nsn, cc, "staff" if staff else "e164", tags)
            if order_phone is None and not out.get("email") and nsn:
                order_phone = self.render_phone(phone_cc, nsn, cc, "staff" if staff else "web", tags)
            if order_phone and cc == "US" and use_landline and r.random() < 0.05:
                order_phone = self.render_phone(phone_cc, nsn, cc, "web", tags, ext=str(r.randint(10, 4999)))
            out["phone"] = order_phone
            b_first, b_last = (first, last) if r.random() < 0.85 else self._billing_name(p, first, last)
            billing = self.postal_address(home, hc, b_first, b_last, channel, tags)
            if staff and r.random() < 0.2:
                billing = None
            ship_to, ship_first, ship_last, company, ship_cc = home, b_first, b_last, None, hc
            x = r.random()
            if x < 0.05:
                ship_first, ship_last, ship_to, recipient_phone = self.gift_recipient(p, scope, tags)
                tags.append("gifts")
                ship_cc = cc
                y = r.random()
                ship_phone = recipient_phone if y < 0.5 else (ship_phone if y < 0.75 else None)
                if recipient_phone and y < 0.5:
                    tags.append("gift_recipient_phone")
            elif p.work and x < 0.05 + 0.3:
                ship_to, company = p.work, p.employer
                tags.append("ship_to_work")
            elif p.pickup is not None and hc in PICKUP and x < 0.4:
                ship_to, company = self.pickup_point(hc, home, p), None
                tags.append("pickup_point")
            if billing and ship_to is home and (ship_first, ship_last) == (b_first, b_last):
                shipping = {k: v for k, v in billing.items() if k != "phone"}  # "same as billing": one copy
                if ship_phone:
                    shipping["phone"] = ship_phone
            else:
                shipping = self.postal_address(ship_to, ship_cc, ship_first, ship_last, channel, tags,
                                               company=company, phone=ship_phone)  # fmt: skip
            out |= {"billing_address": billing, "shipping_address": shipping}
            out["status"] = r.choice(["confirmed", "paid", "paid", "pending"])
        elif channel == "pos":
            staff = True
            store = p.store or r.choice(self.stores[scope])[0]
            day = placed.astimezone(local_tz).strftime("%Y%m%d")
            order_number = self.unique_id(lambda: f"{store}-{day}-{r.randint(1, 9999):04d}")
            out |= {"order_number": order_number, "source_system": POS, "store_id": store}
            tags.append("pos")
            first, last = self.name(p, t, channel, tags, staff)
            card = None
            if p.loyalty_id and r.random() < 0.7:
                card = p.loyalty_id
            if p.household and not p.loyalty_id:
                holder = next((m for m in self.households[p.household] if m.loyalty_id and m.shared_card_of is None
                               and m is not p), None)  # fmt: skip
                if holder and holder.pid in self.shared_cards and r.random() < 0.6:
                    card = holder.loyalty_id
                    tags.append("shared_loyalty_card")
                    if r.random() < 0.7:  # the till shows the card holder's name
                        first, last = self._latin(holder)
                        tags.append("name_of_card_holder")
            if card:
                tags.append("loyalty_card")
            p_email, p_phone = {"phone": (0.08, 0.95), "email": (0.9, 0.15), "nothing": (0.03, 0.08),
                                "mixed": (0.3, 0.5)}[p.pos_habit]  # fmt: skip
            email = self.email(p, t, channel, tags, staff) if r.random() < p_email else None
            phone = None
            if nsn and (
                r.random() < p_phone or (not email and not card and p.pos_habit == "mixed" and r.random() < 0.8)
            ):
                if r.random() < 0.02:
                    phone = r.choice([self.render_phone(cc, self.store_phone[scope], cc, "staff", tags), "0000000000",
                                      "0" * 10 if cc != "US" else "000-000-0000"])  # fmt: skip
                    tags.append("phone_placeholder")
                else:
                    phone = self.render_phone(p.country, nsn, cc, "staff", tags)
            out |= {"source_customer_id": card, "email": email, "phone": phone, "first_name": first, "last_name": last}
            x = r.random()
            if x < 0.15:
                out["billing_address"] = self.postal_address(home, cc, first, last, channel, tags)
                tags.append("pos_full_address")
            elif x < 0.45 or not (email or phone or card):
                out["billing_address"] = {"postal_code": self.postal(home, cc, tags, channel)}
                tags.append("pos_postal_only")
            if not (email or phone or card):
                if not (out.get("first_name") or out.get("last_name")):
                    out["last_name"] = self._latin(p)[1]
                tags.append("pos_name_postal_only")
            if r.random() < 0.03:
                tags.append("pos_offline_batch")
        else:  # marketplace
            order_number = self.unique_id(lambda: f"{r.randint(100, 999)}-{self.digits(7)}-{self.digits(7)}")
            out |= {"order_number": order_number, "source_system": MARKET, "source_customer_id": p.buyer_id,
                    "email": p.relay_email, "account_type": "registered"}  # fmt: skip
            tags.append("marketplace")
            first, last = self.name(p, t, channel, tags, staff)
            out |= {"first_name": first, "last_name": last}
            phone = None
            if p.masked_ext and r.random() < 0.8:
                phone = self.render_phone(cc, self.platform_phone[scope], cc, "market", tags, ext=p.masked_ext)
                tags.append("phone_masked_market")
            elif nsn and r.random() < 0.5:
                phone = self.render_phone(p.country, nsn, cc, "market", tags)
            ship_to, ship_first, ship_last = home, first, last
            if r.random() < 0.06:
                ship_first, ship_last, ship_to, recipient_phone = self.gift_recipient(p, scope, tags)
                tags.append("gifts")
                if recipient_phone and r.random() < 0.5:
                    phone = recipient_phone
                    tags.append("gift_recipient_phone")
            out["phone"] = phone
            out["shipping_address"] = self.postal_address(ship_to, cc, ship_first, ship_last, channel, tags,
                                                          phone=phone)  # fmt: skip
            out["status"] = "paid"
        lines, totals = self.lines_and_totals(cc, lang)
        out |= {"lines": lines, "totals": totals}
        return {k: v for k, v in out.items() if v is not None}

    def _billing_name(self, p: _P, first, last) -> tuple[str | None, str | None]:
        """The card holder's name as printed, on some orders different from the contact name."""
        if p.middle:
            return (f"{first} {p.middle[0]}." if first else first), last
        return (first.upper() if first else first), (last.upper() if last else last)

    @property
    def shared_cards(self) -> set[str]:
        return self._shared_cards

    def pickup_point(self, cc: str, home: _Addr, p: _P) -> _Addr:
        key = (cc, home.address.city)
        if key not in self.pickups:
            city = self.city_of(cc, home.address.city)
            points = []
            for _ in range(3):
                name = self.r.choice(PICKUP[cc]).format(n=self.r.randint(100, 299), c=city[0])
                a = self.address(cc, city, apartment=False)
                a.address = Address(name, a.address.city, a.address.postal_code, a.address.region)
                points.append(a)
            self.pickups[key] = points
        point = self.pickups[key][p.pickup or 0]
        if cc == "DE" and point.address.line1.startswith("Packstation") and p.postnummer:
            return _Addr(point.address, p.postnummer)
        return point

    # -- the stream --

    def run(self) -> tuple[Stream, dict[str, list[str]]]:
        r = self.r
        self.build_people()
        self.alive = set(self.people)
        self.moves()
        self._shared_cards = {
            m.pid
            for members in self.households.values()
            for m in members
            if m.loyalty_id and m in self.alive and r.random() < 0.35
        }
        plan = self.schedule()
        base: list[tuple[float, Delivery, OrderPlaced]] = []
        seq: Counter = Counter()
        previous: dict[str, dict] = {}
        for t, p, channel, scope, tags in plan:
            if "double_submit" in tags and p.pid in previous:
                data = dict(previous[p.pid])
                source = data["source_system"]
                store = data.get("store_id")
                data["order_number"] = (
                    self.unique_id(lambda: str(r.randint(5_400_000_000_000, 5_999_999_999_999)))
                    if source != POS
                    else self.unique_id(lambda store=store: f"{store}-X{self.digits(6)}")
                )
                data["placed_at"] = (
                    datetime.fromisoformat(data["placed_at"]) + timedelta(seconds=r.uniform(2, 15))
                ).isoformat()
                tags = tags + [x for x in self.tags.get(previous[p.pid]["_key"], []) if x != "double_submit"]
                data.pop("_key")
            else:
                data = self.order(t, p, channel, scope, tags, seq[channel, scope])
            seq[channel, scope] += 1
            key = f"{data['source_system']}|{data['order_number']}"
            previous[p.pid] = data | {"_key": key}
            placed = datetime.fromisoformat(data["placed_at"])
            delay = r.uniform(1, 40) if "pos_offline_batch" not in tags else r.uniform(3600, 6 * 3600)
            message = OrderPlaced.model_validate(
                {
                    "message_id": str(uuid.UUID(int=r.getrandbits(128), version=4))
                    if data["source_system"] != POS
                    else f"pos-{data['order_number']}",
                    "occurred_at": (placed + timedelta(seconds=delay)).astimezone(UTC).isoformat(),
                    "producer": PRODUCER[data["source_system"]],
                    "payload": data,
                }
            )
            if message.payload.set_aside:
                tags.append("field_set_aside")
            o = message.payload
            if not o.email:
                tags.append("orders_without_email")
            if not o.phone:
                tags.append("orders_without_phone")
            if p.household:
                tags.append("in_household")
            if p.same_name_as or any(x.same_name_as == p.pid for x in self.households.get(p.household or "", [])):
                tags.append("household_same_name")
            self.tags[key] = tags
            base.append(((placed + timedelta(seconds=delay)).timestamp(), Delivery(message, p.pid, key), message))
        base.sort(key=lambda x: x[0])
        first_deliveries = [d for _, d, _ in base]
        for d in first_deliveries:
            for tag in self.tags[d.order_key]:
                self.c[tag] += 1
        deliveries = self.redeliver(first_deliveries)
        persons = {p.pid: self.person(p) for p in self.people}
        self.count_people(persons, first_deliveries)
        undecidable, with_candidate = _undecidable(first_deliveries, persons, self.c)
        households = {p.pid: p.household for p in self.people if p.household}
        stream = Stream(
            persons,
            deliveries,
            truth={d.order_key: d.person_id for d in first_deliveries},
            scope_of={d.order_key: d.message.payload.scope for d in first_deliveries},
            undecidable=undecidable,
            undecidable_with_candidate=with_candidate,
            households=households,
            scopes=list(SCOPES),
            counts=self.c,
        )
        return stream, self.tags

    def redeliver(self, base: list[Delivery]) -> list[Delivery]:
        r = self.r
        out = list(base)
        inserts: list[tuple[int, Delivery]] = []
        for i, d in enumerate(base):
            x = r.random()
            if x < 0.02:
                inserts.append((i + r.randint(1, 2000), d))
                self.c["redeliveries"] += 1
                self.tags[d.order_key].append("redelivered")
            elif x < 0.027:
                again = d.message.model_copy(update={"message_id": str(uuid.UUID(int=r.getrandbits(128), version=4))})
                inserts.append((i + r.randint(5, 3000), Delivery(again, d.person_id, d.order_key)))
                self.c["resends_new_message_id"] += 1
                self.tags[d.order_key].append("resent")
            elif x < 0.03:
                payload = d.message.payload.model_copy(update={"status": "paid"})
                again = d.message.model_copy(update={"message_id": str(uuid.UUID(int=r.getrandbits(128), version=4)),
                                                     "payload": payload})  # fmt: skip
                inserts.append((i + r.randint(5, 3000), Delivery(again, d.person_id, d.order_key)))
                self.c["resends_edited"] += 1
                self.tags[d.order_key].append("resent_edited")
        for position, d in sorted(inserts, key=lambda x: -x[0]):
            out.insert(min(position, len(out)), d)
        return out

    def person(self, p: _P) -> Person:
        """The truthful ``stream.Person``: every first and last name form the person used, every
        phone and every postal code of theirs (homes, old and new, and work)."""
        firsts = [*p.latin_first, *p.first_forms]
        if p.nickname:
            firsts.append(p.nickname)
        if p.middle:
            firsts += [f"{f} {p.middle[0]}" for f in [p.first, *firsts]]
        lasts = [*p.latin_last, *p.last_forms]
        if p.married_last:
            lasts.append(p.married_last)
        homes = [h.address for h in p.homes] + ([p.work.address] if p.work else [])
        landlines = [h.landline for h in p.homes if h.landline]
        return Person(
            person_id=p.pid,
            scope=p.scope,
            first_name=p.first,
            last_name=p.last,
            household=p.household,
            country=p.country,
            middle_name=p.middle,
            first_latin=tuple(dict.fromkeys(firsts)),
            last_latin=tuple(dict.fromkeys(lasts)),
            culture=p.culture,
            native_share=p.native_share,
            emails=tuple(p.emails + ([p.family_email] if p.family_email else [])),
            email_change_at=p.email_change_at,
            mobile=p.mobile,
            landline=landlines[0] if landlines else None,
            addresses=tuple(homes),
            move_at=p.move_at,
            channels=tuple(p.channels),
            shopify_id=p.shopify_id,
            loyalty_id=p.loyalty_id,
            buyer_id=p.buyer_id,
            relay_email=p.relay_email,
            other_scope=p.other_scope,
        )

    def count_people(self, persons: dict[str, Person], orders: list[Delivery]) -> None:
        c = self.c
        names = Counter((p.scope, fold(p.first_name), fold(p.last_name)) for p in persons.values())
        c["people_namesakes"] = sum(
            1 for p in persons.values() if names[(p.scope, fold(p.first_name), fold(p.last_name))] > 1
        )
        c["people_foreign_culture"] = sum(1 for p in self.people if p.culture)
        c["people_with_nickname"] = sum(1 for p in self.people if p.nickname)
        c["people_with_middle_name"] = sum(1 for p in self.people if p.middle)
        c["people_changing_email"] = sum(1 for p in self.people if p.email_change_at is not None)
        c["people_marrying"] = sum(1 for p in self.people if p.married_last)
        c["people_registered_shopify"] = sum(1 for p in self.people if p.shopify_id)
        c["people_loyalty_card"] = sum(1 for p in self.people if p.loyalty_id)
        c["people_sharing_a_household_card"] = len(self._shared_cards)
        c["people_without_email"] = sum(1 for p in self.people if not p.emails)
        c["people_using_family_email"] = sum(1 for p in self.people if p.family_email)
        c["households_with_family_email"] = len({p.household for p in self.people if p.family_email})
        c["people_small_business"] = sum(1 for p in self.people if p.business)
        c["people_shipping_to_work"] = sum(1 for p in self.people if p.work)
        c["people_using_pickup_points"] = sum(1 for p in self.people if p.pickup is not None)
        c["people_with_landline"] = sum(1 for p in persons.values() if p.landline)
        c["people_in_two_scopes"] = len(
            {d.person_id for d in orders if d.message.payload.scope != persons[d.person_id].scope}
        )
        c["people_market_masked_phone"] = sum(1 for p in self.people if p.masked_ext)


def generate(orders: int, *, seed: int = 7) -> Stream:
    """A stream of ``orders`` orders by ``orders // 5`` people, deterministic for ``seed``."""
    return generate_tagged(orders, seed=seed)[0]


def generate_tagged(orders: int, *, seed: int = 7) -> tuple[Stream, dict[str, list[str]]]:
    """The stream and, per order key, the phenomena drawn for that order (for ``diagnose``)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _World(orders, seed).run()
    finally:
        if collecting:
            gc.enable()


# --- diagnosis -----------------------------------------------------------------------------------


def _canonical_email(email: str | None) -> str | None:
    """The mailbox behind an address: case, spaces, googlemail, gmail dots and +tags folded."""
    if not email:
        return None
    e = email.strip().lower().replace(" ", "")
    if "@" not in e:
        return e
    local, domain = e.rsplit("@", 1)
    domain = "gmail.com" if domain == "googlemail.com" else domain
    local = local.split("+")[0]
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _ids(o, country: str) -> dict[str, Any]:
    """What an order carries, normalised the obvious way (for the diagnosis only)."""
    email = (o.email or "").strip().lower() or None
    phone = normal_phone(o.phone, country) if o.phone else None
    ship_phone = (
        normal_phone(o.shipping_address.phone, country) if o.shipping_address and o.shipping_address.phone else None
    )
    a = o.billing_address or o.shipping_address
    postal = normal_postal(country, a.postal_code) if a and a.postal_code else None
    first, last = fold(o.first_name or ""), fold(o.last_name or "")
    return {
        "email": email,
        "email_canon": _canonical_email(o.email),
        "phone": phone or ship_phone,
        "sid": f"{o.source_system}|{o.source_customer_id}" if o.source_customer_id else None,
        "first": first,
        "last": last,
        "postal": postal,
        "street": " ".join(fold(a.line1).split()[:2]) if a and a.line1 else None,
    }


def _name_relation(o: dict, seen: list[dict]) -> str:
    """'same' (a folded first and last name seen, either way round), 'compatible' (the surname
    seen and the first name absent, an initial of, or a word of one seen), or 'different'."""
    pairs = {(s["first"], s["last"]) for s in seen}
    if (o["first"], o["last"]) in pairs or (o["last"], o["first"]) in pairs:
        return "same"
    for f, l_ in pairs:
        if o["last"] and (o["last"] == l_ or o["last"].split(" ")[0] == l_.split(" ")[0]):
            a, b = o["first"], f
            if not a or not b or a[:1] == b[:1] and (len(a) == 1 or len(b) == 1):
                return "compatible"
            if a.split(" ")[0] == b.split(" ")[0]:
                return "compatible"
    return "different"


def _evidence(o: dict, seen: list[dict]) -> tuple[str, list[str]]:
    """How much an order shares with earlier orders: the bucket and the shared identifiers."""
    shared = [f for f in ("email", "phone", "sid") if o[f] and any(s[f] == o[f] for s in seen)]
    if "email" not in shared and o["email_canon"] and any(s["email_canon"] == o["email_canon"] for s in seen):
        shared.append("email variant")
    name = _name_relation(o, seen)
    street = bool(
        o["street"] and o["postal"] and any(s["street"] == o["street"] and s["postal"] == o["postal"] for s in seen)
    )
    postal = bool(o["postal"] and any(s["postal"] == o["postal"] for s in seen))
    if shared:
        bucket = f"shares {'+'.join(shared)}; name {name}"
    elif name != "different" and street:
        bucket = f"no shared id; name {name} + street + postal"
    elif name != "different" and postal:
        bucket = f"no shared id; name {name} + postal"
    elif name != "different":
        bucket = f"no shared id; name {name} only"
    else:
        bucket = "nothing in common"
    return bucket, shared


def _show(o) -> str:
    a = o.billing_address or o.shipping_address
    parts = [
        f"{o.source_system}",
        f"sid={o.source_customer_id}" if o.source_customer_id else "",
        f"email={o.email!r}" if o.email else "no-email",
        f"phone={o.phone!r}" if o.phone else "",
        f"ship_phone={o.shipping_address.phone!r}" if o.shipping_address and o.shipping_address.phone else "",
        f"name={o.first_name!r} {o.last_name!r}",
        f"addr={a.line1!r} {a.postal_code!r}" if a else "no-address",
        f"ship_to={o.shipping_address.first_name!r} {o.shipping_address.last_name!r} {o.shipping_address.postal_code!r}"
        if o.billing_address and o.shipping_address and o.shipping_address.postal_code != o.billing_address.postal_code
        else "",
    ]
    return " ".join(x for x in parts if x)


#: phenomena that explain a split or a merge, most specific first (the first an order has is its cause)
CAUSES = [
    "shared_loyalty_card", "email_shared_family", "phone_placeholder", "phone_masked_market",
    "gift_recipient_phone", "household_same_name", "second_shopify_account", "email_typo",
    "email_new_after_change", "email_old_after_change", "name_married", "order_in_second_scope",
    "email_space_inside", "email_gmail_dots", "email_plus_tag", "email_googlemail", "name_company",
    "name_whole_in_first", "name_title", "name_typo", "name_nickname", "name_translit_variant",
    "name_native_script", "name_of_card_holder", "name_initial_only", "name_no_first", "name_middle_name",
    "name_middle_initial", "name_swapped", "name_es_one_surname", "name_short_form", "after_move",
    "phone_household_landline", "pos_name_postal_only", "postal_lost_leading_zero",
]  # fmt: skip


def _cause(tags: list[str], channel_of_first: str, channels_before: set[str]) -> str:
    for c in CAUSES:
        if c in tags:
            return c
    if channel_of_first not in channels_before:
        return f"first {channel_of_first} order (other channel before)"
    return "none of the above"


def _channel(o) -> str:
    return o.source_system.split(":")[0]


def diagnose(
    stream: Stream, tags: dict[str, list[str]], outcome, reviews, samples: int = 30, seed: int = 0
) -> dict[str, Any]:
    """Splits, false merges and unnecessary reviews grouped by what the order shared with the
    person's earlier orders and by the phenomenon that produced it."""
    country = {s: cc for s, cc, _ in stream.scopes}
    payload = {}
    for d in stream.deliveries:
        payload.setdefault(d.order_key, d.message.payload)
    order_of = list(payload)  # publishing order
    position = {k: i for i, k in enumerate(order_of)}
    entity = {k: (stream.truth[k], stream.scope_of[k]) for k in stream.truth}
    ids = {k: _ids(payload[k], country[stream.scope_of[k]]) for k in order_of}
    code = {k: o.customer_code for k, o in outcome.items() if o.customer_code}
    by_entity: dict[tuple, list[str]] = defaultdict(list)
    entities_of: dict[str, list[str]] = defaultdict(list)
    for k in order_of:
        if k in code:
            by_entity[entity[k]].append(k)
            entities_of[code[k]].append(k)
    # --- splits: each extra customer of a person, and the order that started it, against the
    # person's orders on their main customer (the one with most of their orders) before it
    split_rows = []
    for e, keys in by_entity.items():
        codes = list(dict.fromkeys(code[k] for k in keys))
        if len(codes) < 2:
            continue
        main = Counter(code[k] for k in keys).most_common(1)[0][0]
        for c in codes:
            if c == main:
                continue
            first = next(k for k in keys if code[k] == c)
            before = [k for k in keys if code[k] == main and position[k] < position[first]]
            if not before:  # the extra customer came first: compare the other way round
                first, before = (
                    next(k for k in keys if code[k] == main),
                    [
                        k
                        for k in keys
                        if code[k] == c and position[k] < position[next(k for k in keys if code[k] == main)]
                    ],
                )
            bucket, shared = _evidence(ids[first], [ids[k] for k in before])
            cause = _cause(tags[first], _channel(payload[first]), {_channel(payload[k]) for k in before})
            other_people = len({entity[k] for k in entities_of[c]}) > 1
            split_rows.append((e, first, before, bucket, cause, other_people))
    # --- false merges: each customer with orders of several people; each minority person's
    # first order on it against the majority person's orders before it
    merge_rows = []
    for c, keys in entities_of.items():
        es = Counter(entity[k] for k in keys)
        if len(es) < 2:
            continue
        major = es.most_common(1)[0][0]
        for e in es:
            if e == major:
                continue
            first = next(k for k in keys if entity[k] == e)
            before = [k for k in keys if entity[k] == major and position[k] < position[first]] or [
                k for k in keys if entity[k] == major
            ]
            bucket, shared = _evidence(ids[first], [ids[k] for k in before])
            h1, h2 = stream.households.get(e[0]), stream.households.get(major[0])
            household = h1 is not None and h1 == h2
            owner_tags = {t for k in before for t in tags[k]}
            cause = (
                next((x for x in CAUSES[:6] if x in tags[first]), None)
                or next((f"{x} (owner's order)" for x in CAUSES[:6] if x in owner_tags), None)
                or ("household member of the same name" if household and "name same" in bucket else None)
                or next((x for x in CAUSES[6:] if x in tags[first]), None)
                or ("household member" if household else "namesake" if "name same" in bucket else "other")
            )
            if first in stream.undecidable:
                cause = f"undecidable order linked ({cause})"
            merge_rows.append((c, e, major, first, before, bucket, cause, household))
    # --- reviews of decidable orders
    review_rows = []
    for k in order_of:
        o = outcome.get(k)
        if not o or not o.review_id or k in stream.undecidable:
            continue
        earlier = [x for x in order_of[: position[k]] if entity.get(x) == entity[k]]
        bucket, shared = _evidence(ids[k], [ids[x] for x in earlier])
        candidates = reviews.get(o.review_id, [])
        people = [sorted({entity[x][0] for x in entities_of.get(c_, [])}) for c_ in candidates]
        only_theirs = bool(candidates) and all(ps == [entity[k][0]] for ps in people)
        others = sorted({p for ps in people for p in ps if p != entity[k][0]})
        household = any(
            stream.households.get(p) and stream.households.get(p) == stream.households.get(entity[k][0]) for p in others
        )
        review_rows.append((k, bucket, only_theirs, household, others, len(candidates)))

    def by(rows, i):
        return Counter(row[i] for row in rows).most_common()

    def cross(rows, bucket_i, cause_i):
        table: dict[str, Counter] = defaultdict(Counter)
        for row in rows:
            table[row[bucket_i]][row[cause_i]] += 1
        return {b: dict(c.most_common(8)) for b, c in sorted(table.items(), key=lambda x: -sum(x[1].values()))}

    r = Random(seed)
    out: dict[str, Any] = {
        "split_extra_customers": len(split_rows),
        "split_extra_customer_also_has_another_person": sum(1 for row in split_rows if row[5]),
        "split_by_scope": Counter(row[0][1] for row in split_rows).most_common(),
        "people_in_scope_by_scope": Counter(e[1] for e in by_entity).most_common(),
        "split_by_evidence": by(split_rows, 3),
        "split_by_cause": by(split_rows, 4),
        "split_evidence_x_cause": cross(split_rows, 3, 4),
        "merge_foreign_people": len(merge_rows),
        "merge_by_cause": by(merge_rows, 6),
        "merge_by_evidence": by(merge_rows, 5),
        "merge_first_order_undecidable": sum(1 for row in merge_rows if row[3] in stream.undecidable),
        "unnecessary_reviews": len(review_rows),
        "unnecessary_review_only_own_customers": sum(1 for x in review_rows if x[2]),
        "unnecessary_review_with_household_candidate": sum(1 for x in review_rows if x[3]),
        "unnecessary_review_candidates": Counter(x[5] for x in review_rows).most_common(),
        "unnecessary_review_by_scope": Counter(stream.scope_of[x[0]] for x in review_rows).most_common(),
        "unnecessary_review_by_evidence": by(review_rows, 1),
        "unnecessary_review_by_tag": Counter(
            next((c for c in CAUSES if c in tags[x[0]]), "pos" if "pos" in tags[x[0]] else "other") for x in review_rows
        ).most_common(),
        "split_samples": [],
        "merge_samples": [],
        "review_samples": [],
    }
    clean = lambda k: [t for t in tags[k] if t not in ("orders_without_email", "orders_without_phone")]  # noqa: E731
    for e, first, before, bucket, cause, _other in r.sample(split_rows, min(samples, len(split_rows))):
        out["split_samples"].append({
            "person": e[0], "scope": e[1], "evidence": bucket, "cause": cause, "tags": clean(first),
            "new_customer_order": _show(payload[first]),
            "earlier_orders": [_show(payload[k]) for k in before[-3:]],
        })  # fmt: skip
    for c, e, major, first, before, bucket, cause, household in r.sample(merge_rows, min(samples, len(merge_rows))):
        out["merge_samples"].append({
            "customer": c, "people": [major[0], e[0]], "cause": cause, "evidence": bucket, "household": household,
            "order": _show(payload[first]), "owner_orders": [_show(payload[k]) for k in before[-2:]], "tags": clean(first),
        })  # fmt: skip
    for k, bucket, only_theirs, _household, others, _ in r.sample(review_rows, min(10, len(review_rows))):
        out["review_samples"].append({
            "person": entity[k][0], "evidence": bucket, "only_own_customers": only_theirs, "other_people": others,
            "order": _show(payload[k]), "tags": clean(k),
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--summary", action="store_true", help="print the stream's summary() too")
    parser.add_argument("--diagnose", action="store_true", help="print splits and false merges by cause too")
    args = parser.parse_args()
    from .score import score
    from .simulate import simulate

    started = time.perf_counter()
    stream, tags = generate_tagged(args.orders, seed=args.seed)
    generated = time.perf_counter() - started
    outcome, reviews = simulate(stream)
    figures: dict[str, Any] = score(stream, outcome, reviews)
    figures["seconds_generate"] = round(generated, 1)
    figures["seconds_total"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, indent=2))
    if args.summary:
        print(json.dumps(stream.summary(), indent=2, ensure_ascii=False))
    if args.diagnose:
        print(json.dumps(diagnose(stream, tags, outcome, reviews), indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
