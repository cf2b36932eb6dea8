"""The built-in postcode area table and area_of."""

from __future__ import annotations

import pytest

from customer_etl.reference.postcode_areas import POSTCODE_AREAS, PostcodeArea, area_of
from customer_etl.reference.sample import generate_customers

NATIONS = {"England", "Scotland", "Wales", "Northern Ireland", "Channel Islands", "Isle of Man"}


def test_table_covers_every_area() -> None:
    # 121 UK areas plus Guernsey, Jersey and the Isle of Man.
    assert len(POSTCODE_AREAS) == 124
    for code, area in POSTCODE_AREAS.items():
        assert code.isascii() and code.isupper() and 1 <= len(code) <= 2, code
        assert area.post_town, code
        assert area.country in NATIONS, code


def test_non_geographic_codes_are_left_out() -> None:
    for code in ("BF", "BX", "GIR"):
        assert code not in POSTCODE_AREAS


@pytest.mark.parametrize(
    ("code", "post_town", "country"),
    [
        ("SW", "London", "England"),
        ("EH", "Edinburgh", "Scotland"),
        ("CF", "Cardiff", "Wales"),
        ("BT", "Belfast", "Northern Ireland"),
        ("AB", "Aberdeen", "Scotland"),
        ("B", "Birmingham", "England"),
        ("ZE", "Lerwick", "Scotland"),
        ("GY", "Guernsey", "Channel Islands"),
        ("JE", "Jersey", "Channel Islands"),
        ("IM", "Isle of Man", "Isle of Man"),
        # Cross-border areas take the nation of their post town.
        ("CH", "Chester", "England"),
        ("SY", "Shrewsbury", "England"),
        ("LD", "Llandrindod Wells", "Wales"),
        ("NP", "Newport", "Wales"),
        ("TD", "Galashiels", "Scotland"),
        ("DG", "Dumfries", "Scotland"),
    ],
)
def test_known_areas(code: str, post_town: str, country: str) -> None:
    assert POSTCODE_AREAS[code] == PostcodeArea(post_town=post_town, country=country)


def test_nation_counts() -> None:
    countries = [area.country for area in POSTCODE_AREAS.values()]
    assert countries.count("Scotland") == 16
    assert countries.count("Wales") == 5
    assert countries.count("Northern Ireland") == 1


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        POSTCODE_AREAS["XX"] = PostcodeArea("Nowhere", "England")  # type: ignore[index]


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        ("sw1a 1aa", "SW"),
        ("SW1A1AA", "SW"),
        ("B33 8TH", "B"),
        ("  ec1a 1bb", "EC"),
        ("W1A 0AX", "W"),
        ("ABCDEFG", "ABCDEFG"),
        ("123", None),
        ("1AA 9ZZ", None),
        ("", None),
        ("-SW1A", None),
    ],
)
def test_area_of(postcode: str, expected: str | None) -> None:
    assert area_of(postcode) == expected


def test_every_area_the_generator_uses_is_in_the_table() -> None:
    sample = generate_customers(5000, seed=3, defect_rate=0.0)
    areas = {area_of(postcode) for postcode in sample.frame["postcode"]}
    assert None not in areas
    assert areas <= set(POSTCODE_AREAS)
    # The generator should spread records over the country, not a handful of areas.
    assert len(areas) > 100
