"""Deterministic, messy, multilingual customers for benchmarks: namesakes, shared family
phones, accents, several scripts, Zipf-like surname frequencies."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

FIRST = (
    "Marie Jean Pierre Michel Nathalie Isabelle Philippe Chloé Léa Théo Zoë Émile Anaïs Hélène Noé "
    "Jürgen Müge Sören Björn Åsa Jörg Günther Ülkü Özlem Łukasz Wojciech Małgorzata Zofia Jiří Tomáš "
    "María José Lucía Nuñez Begoña João Conceição Giulia Francesco Niccolò Ilaria Sean Siobhán Aoife "
    "Anna Emma Olivia Noah Liam Lucas Hugo Louis Arthur Jules Adam Gabriel Raphaël Mohamed Fatima Youssef "
    "Yuki Haruto Sakura 太郎 花子 Wei Mei Xiaoming Olga Dmitri Светлана Иван Αλέξανδρος Ελένη Ingrid Kari Martine Martin"
).split()
LAST = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel "
    "Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre Mercier Dupont Lambert Bonnet "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Groß Köhler Lößner "
    "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Żółw Łukaszewicz García Fernández López Martínez Sánchez "
    "Pérez Gómez Rossi Russo Ferrari Esposito Bianchi Romano Silva Santos Ferreira Pereira Oliveira "
    "Johansson Andersson Øvreås Ødegård Jensen Nielsen Hansen Smith Jones Williams Brown Taylor O'Brien "
    "MacDonald Yılmaz Kaya Demir Şahin 山田 佐藤 鈴木 Wang Li Zhang Иванов Смирнов Παπαδόπουλος Nguyễn"
).split()
DOMAINS = ("example.fr", "example.de", "example.com", "mail.example", "example.pl", "example.es", "example.jp")
TAGS = ("vip", "wholesale", "newsletter", "b2b", "staff", "fraud-check")
FLAGS = ("red", "orange", "yellow", "green", "blue", "purple", "CHK")
SCOPES = (("eu-fr", "FR"), ("de", "DE"), ("es", "ES"), ("pl", "PL"))


def _zipf_choice(rng: random.Random, items: tuple[str, ...] | list[str]) -> str:
    """Earlier items far more often than later ones, as surnames are."""
    index = min(int(rng.paretovariate(1.2)) - 1, len(items) - 1)
    return items[index] if rng.random() < 0.6 else rng.choice(items)


def person(index: int, seed: int = 7) -> dict[str, Any]:
    """The customer number ``index``: the same every run."""
    rng = random.Random(seed * 1_000_003 + index)
    scope_id, country = SCOPES[index % len(SCOPES)]
    first, last = rng.choice(FIRST), _zipf_choice(rng, LAST)
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    family = index // 3  # every three customers share a household phone
    phone_rng = random.Random(seed + family)
    national = {"FR": "06", "DE": "0151", "ES": "6", "PL": "5"}[country]
    phone = national + "".join(str(phone_rng.randint(0, 9)) for _ in range(8))
    postal = {
        "FR": f"{rng.randint(1, 95):02d}{rng.randint(0, 999):03d}",
        "DE": f"{rng.randint(10000, 99999)}",
        "ES": f"{rng.randint(1000, 52999):05d}",
        "PL": f"{rng.randint(0, 99):02d}-{rng.randint(0, 999):03d}",
    }[country]
    row: dict[str, Any] = {
        "scope_id": scope_id,
        "first_name": first,
        "last_name": last,
        "email": f"{local}{index}@{DOMAINS[index % len(DOMAINS)]}",
        "phone": phone,
        "account_type": "registered" if rng.random() < 0.7 else "guest",
        "kind": "organization" if rng.random() < 0.005 else "customer",
        "active": rng.random() > 0.05,
        "tags": [rng.choice(TAGS)] if rng.random() < 0.1 else [],
        "flag": rng.choice(FLAGS) if rng.random() < 0.01 else None,
        "addresses": [
            {"line1": f"{rng.randint(1, 200)} Main street", "city": "City", "postal_code": postal, "country": country}
        ],
        "channel": "import",
        "idempotency_key": f"bench-{index}",
    }
    return row


def people(count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    for index in range(start, start + count):
        yield person(index)
