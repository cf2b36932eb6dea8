"""Country names and codes to ISO 3166-1 alpha-2, through `pycountry` (the ISO 3166 data
Debian's iso-codes project keeps current), not a table of ours.

`Chile`, `CHL`, `cl` and `Republic of Chile` all become `CL`. A handful of spellings that
ISO does not list but customer exports use are added below, each with why.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pycountry

# Spellings ISO 3166 does not list. `UK` is exceptionally reserved for the United Kingdom
# by ISO itself; the UK's nations appear as a country in many CRM exports.
_ALIASES: dict[str, str] = {
    "UK": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "USA": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    # Short English names ISO 3166 lists only in a longer form, and former names it no longer
    # lists, all common in exports. pycountry's fuzzy search is not used instead: it also
    # matches subdivisions, so `Kent` would become GB and `Holland` NL by province name.
    "RUSSIA": "RU",
    "TURKEY": "TR",
    "IVORY COAST": "CI",
    "CAPE VERDE": "CV",
    "SWAZILAND": "SZ",
    "BURMA": "MM",
    "MACEDONIA": "MK",
    "HOLLAND": "NL",
    "THE NETHERLANDS": "NL",
    "PITCAIRN ISLANDS": "PN",
    "PALESTINE": "PS",
    "VATICAN": "VA",
    "VATICAN CITY": "VA",
    "SOUTH KOREA": "KR",
    "NORTH KOREA": "KP",
}

UK_POSTAL_COUNTRIES: frozenset[str] = frozenset({"GB", "JE", "GG", "IM"})
"""The UK and the Crown Dependencies: the countries of Royal Mail postcodes, the only
ones postcodes.io and the postcode-area table know."""


# Bounded: a file's country column holds a few hundred distinct values, a hostile one any
# number.
@lru_cache(maxsize=4_096)
def alpha_2(value: str) -> str | None:
    """The ISO alpha-2 code of a country name or code; None when it names no country."""
    text = " ".join(value.split())
    if not text:
        return None
    alias = _ALIASES.get(text.upper())
    if alias is not None:
        return alias
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        return None
    return str(country.alpha_2)


def alpha_2_codes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(codes, invalid mask): each value's alpha-2 code, the value as written where it names
    no country. Asked once per distinct value."""
    answers = {value: alpha_2(str(value)) for value in values.unique()}
    codes = values.map(answers)
    invalid = codes.isna()
    return codes.where(~invalid, values), invalid
