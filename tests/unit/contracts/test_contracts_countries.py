"""O1: countries as exports write them beyond a code or a name (the spellings of
test_contracts_tolerant_intake): official and colloquial names, a name beside its code, a
name as an index sorts it, a name in a language outside the languages of commerce."""

from __future__ import annotations

import pytest

from contracts.countries import country_code

WRITTEN = [
    ("Bundesrepublik Deutschland", "DE"), ("Republic of Korea", "KR"), ("Korea, Republic of", "KR"),
    ("Netherlands, The", "NL"), ("Gambia, The", "GM"),
    ("Germany (DE)", "DE"), ("DE - Germany", "DE"), ("Deutschland / Germany", "DE"), ("France [FR]", "FR"),
    ("США", "US"), ("アメリカ", "US"), ("한국", "KR"), ("中华人民共和国", "CN"), ("भारत", "IN"),
    ("السعودية", "SA"), ("الإمارات", "AE"),
    ("Србија", "RS"), ("Lëtzebuerg", "LU"),  # Serbian, Luxembourgish: CLDR's names in every language
]  # fmt: skip


@pytest.mark.parametrize(("written", "code"), WRITTEN, ids=[w for w, _ in WRITTEN])
def test_o1_a_country_written_officially_colloquially_or_beside_its_code_reads_as_its_code(
    written: str, code: str
) -> None:
    assert country_code(written) == code


@pytest.mark.parametrize("written", ["Germany (FR)", "France - Germany", "Korea", "Germany (Atlantis)", "(DE)x"])
def test_o1_parts_that_name_two_countries_or_none_for_certain_read_as_none(written: str) -> None:
    """A name beside another country's code is no country for certain: no guess."""
    assert country_code(written) is None
