"""A deterministic generator of realistic UK customer records with a known share of defects.

The sample exercises the pipeline end to end: its valid rows must pass every check, and its
defective rows carry exactly one defect each, of a kind the validate stage must catch. The
`defects` series says which rows are defective and why, so tests can compare the pipeline's
verdicts with the truth.

Speed matters (a million rows are used for load tests), so Faker is only asked for pools of
names and companies; every per-row choice is a vectorised draw from one seeded numpy
generator. The same (rows, seed, defect_rate) therefore always gives the same records, for a
given Faker version: Faker's word lists are part of the output.

Telephone numbers come from the ranges Ofcom reserves for drama and testing, so no sample
record can ever reach a real line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from faker import Faker

from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.reference.postcode_areas import POSTCODE_AREAS

ADDRESS_COLUMNS: Final = ("address_line_1", "address_line_2", "city", "county")
SAMPLE_COLUMNS: Final = tuple(name for name in CANONICAL_COLUMNS if name not in ADDRESS_COLUMNS)
"""The sample's columns: the record's first twelve fields. The address fields came later and
stay out, so the committed sample is still byte for byte what the generator makes."""

DEFECT_KINDS: Final = (
    "bad_email",
    "bad_postcode",
    "missing_customer_id",
    "duplicate_customer_id",
    "impossible_date",
)

_ObjArray = npt.NDArray[np.object_]
_IntArray = npt.NDArray[np.int64]

# Fixed ranges, never "today": the output must not change from one day to the next.
# Every birth date is before every signup date, so no valid row is born after signing up.
_BIRTH_FIRST = date(1940, 1, 1)
_BIRTH_LAST = date(2006, 12, 31)
_SIGNUP_FIRST = date(2015, 1, 1)
_SIGNUP_LAST = date(2025, 12, 31)

# Pool sizes: Faker's en_GB lists hold only a few hundred first and last names (surnames
# weighted by how common they are), so a thousand draws of each keep the realistic mix while
# keeping Faker's share of the run small.
_FIRST_NAME_POOL = 1000
_LAST_NAME_POOL = 1000
_COMPANY_POOL = 1000

_EMAIL_DOMAINS = np.array(
    # Domains reserved for examples (RFC 2606), so no generated address can reach a person.
    [
        "example.com",
        "example.org",
        "example.net",
        "mail.example.com",
        "post.example.org",
        "home.example.net",
        "webmail.example.org",
    ],
    dtype=object,
)

# Local parts are first name + separator + last name; one style uses the initial instead.
_EMAIL_SEPARATORS = np.array([".", "", "", "_"], dtype=object)
_EMAIL_INITIAL_STYLE = 2
_NUMBERED_EMAIL_SHARE = 0.7

# Ofcom's drama ranges: each prefix is followed by three digits (000-999).
_PHONE_PREFIXES = np.array(
    [
        "07700 900",
        "07700 900",
        "07700 900",  # mobiles are the most common
        "+44 7700 900",
        "+44 7700 900",
        "020 7946 0",
        "0113 496 0",
        "0121 496 0",
        "0131 496 0",
        "0141 496 0",
        "0161 496 0",
        "029 2018 0",
        "028 9649 6",
    ],
    dtype=object,
)

# Areas named for the nations whose addresses carry country "GB"; the Crown Dependencies
# (GY, JE, IM) have country codes of their own, so they would contradict the `country`
# column.
_GB_AREAS = tuple(
    code
    for code, area in POSTCODE_AREAS.items()
    if area.country not in {"Channel Islands", "Isle of Man"}
)
# Real central-London districts with a trailing letter (the A9A and AA9A shapes): those
# shapes exist nowhere else, so they are drawn from this list rather than made up.
_LETTERED_DISTRICTS = (
    "E1W",
    "N1C",
    "W1A",
    "W1B",
    "W1C",
    "W1D",
    "W1F",
    "W1G",
    "W1H",
    "W1J",
    "W1K",
    "W1S",
    "W1T",
    "W1U",
    "W1W",
    "EC1A",
    "EC1M",
    "EC1N",
    "EC1R",
    "EC1V",
    "EC1Y",
    "EC2A",
    "EC2M",
    "EC2N",
    "EC2R",
    "EC2V",
    "EC2Y",
    "EC3A",
    "EC3M",
    "EC3N",
    "EC3R",
    "EC3V",
    "EC4A",
    "EC4M",
    "EC4N",
    "EC4R",
    "EC4V",
    "EC4Y",
    "SW1A",
    "SW1E",
    "SW1H",
    "SW1P",
    "SW1V",
    "SW1W",
    "SW1X",
    "SW1Y",
    "WC1A",
    "WC1B",
    "WC1E",
    "WC1H",
    "WC1N",
    "WC1R",
    "WC1V",
    "WC1X",
    "WC2A",
    "WC2B",
    "WC2E",
    "WC2H",
    "WC2N",
    "WC2R",
)
# District numbers run 1-29 in every area. Not every area has that many (ZE stops at ZE3),
# so some outward codes do not exist; they are still well-formed, which is all the validate
# stage checks, and the enrich stage falls back to the area table for unknown postcodes.
_MAX_DISTRICT = 29
# The letters Royal Mail uses in the inward code (C, I, K, M, O and V are never used).
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

_COMPANY_SHARE = 0.40
_PHONE_SHARE = 0.90
_CONSENT_SHARE = 0.35
_LOWER_CASE_POSTCODE_SHARE = 0.08
_UNSPACED_POSTCODE_SHARE = 0.08
_LETTERED_DISTRICT_SHARE = 0.05

# Characters that force a CSV field to be quoted, and how many rows to join per write (bounds
# the memory the joined text takes).
_CSV_SPECIALS = (",", '"', "\r", "\n")
_WRITE_CHUNK_ROWS = 100_000

_NOT_SLUG = re.compile(r"[^a-z0-9]")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Days one past the end of a month: (month, day).
_SHORT_MONTH_OVERFLOWS = ((2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31))


@dataclass(frozen=True)
class Sample:
    """Generated records and the truth about their defects.

    `frame` has the canonical columns in canonical order, every value a str ("" for empty).
    `defects` is indexed by row position in `frame`, holds one of DEFECT_KINDS per defective
    row, and has no entry for a valid row.
    """

    frame: pd.DataFrame
    defects: pd.Series


def generate_customers(rows: int, seed: int = 42, defect_rate: float = 0.05) -> Sample:
    """`rows` customer records, exactly `round(rows * defect_rate)` of them defective.

    Each defective row has exactly one defect; the kinds are spread evenly over DEFECT_KINDS.
    Raises ValueError for a negative `rows`, a `defect_rate` outside [0, 1], or when a
    duplicate_customer_id defect has no earlier valid row to copy (too few valid rows).
    """
    columns, defects = _generate(rows, seed, defect_rate)
    return Sample(frame=_frame(columns), defects=defects)


def write_sample(path: Path, rows: int, seed: int = 42, defect_rate: float = 0.05) -> Sample:
    """Generate a sample and write it to `path` as a UTF-8 CSV with a header and LF endings.

    Parent directories are created. Fields are quoted only when they must be (a comma, a
    double quote or a line break), exactly as the csv module's QUOTE_MINIMAL does.
    """
    columns, defects = _generate(rows, seed, defect_rate)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Hand-joined rather than csv.writer, which spends most of its time re-checking the
    # many columns that can never need quoting; here each column is checked once, as a whole.
    # The bytes then depend on neither the csv module's nor pandas' version.
    fields = [_csv_fields(columns[name].tolist()) for name in SAMPLE_COLUMNS]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(_csv_fields(list(SAMPLE_COLUMNS))) + "\n")
        for start in range(0, rows, _WRITE_CHUNK_ROWS):
            chunk = (column[start : start + _WRITE_CHUNK_ROWS] for column in fields)
            handle.write("".join([",".join(row) + "\n" for row in zip(*chunk, strict=True)]))
    del fields  # the frame is built next; do not hold both copies of every value at once
    return Sample(frame=_frame(columns), defects=defects)


def _csv_fields(values: list[str]) -> list[str]:
    """`values` as CSV fields: quoted, with inner quotes doubled, where they hold a comma, a
    double quote or a line break; unchanged otherwise."""
    joined = "".join(values)
    if not any(special in joined for special in _CSV_SPECIALS):
        return values
    return [
        '"' + value.replace('"', '""') + '"'
        if any(special in value for special in _CSV_SPECIALS)
        else value
        for value in values
    ]


def _frame(columns: dict[str, _ObjArray]) -> pd.DataFrame:
    return pd.DataFrame({name: columns[name] for name in SAMPLE_COLUMNS})


def _generate(rows: int, seed: int, defect_rate: float) -> tuple[dict[str, _ObjArray], pd.Series]:
    if rows < 0:
        raise ValueError(f"rows must not be negative, got {rows}")
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError(f"defect_rate must be between 0 and 1, got {defect_rate}")

    rng = np.random.default_rng(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)

    first_pool = np.array([fake.first_name() for _ in range(_FIRST_NAME_POOL)], dtype=object)
    last_pool = np.array([fake.last_name() for _ in range(_LAST_NAME_POOL)], dtype=object)
    company_pool = np.array([fake.company() for _ in range(_COMPANY_POOL)], dtype=object)

    first_idx = rng.integers(0, len(first_pool), rows)
    last_idx = rng.integers(0, len(last_pool), rows)
    first_names = first_pool[first_idx]
    last_names = last_pool[last_idx]

    columns: dict[str, _ObjArray] = {
        "customer_id": _customer_ids(rows),
        "first_name": first_names,
        "last_name": last_names,
        "email": _emails(rng, _slugs(first_pool)[first_idx], _slugs(last_pool)[last_idx]),
        "phone": _phones(rng, rows),
        "postcode": _postcodes(rng, rows),
    }
    columns["company_name"], columns["company_number"] = _companies(rng, company_pool, rows)
    columns["date_of_birth"] = _dates(rng, _BIRTH_FIRST, _BIRTH_LAST, rows)
    columns["signup_date"] = _dates(rng, _SIGNUP_FIRST, _SIGNUP_LAST, rows)
    columns["country"] = np.full(rows, "GB", dtype=object)
    columns["marketing_consent"] = np.where(
        rng.random(rows) < _CONSENT_SHARE, "true", "false"
    ).astype(object)

    defects = _inject_defects(rng, columns, rows, defect_rate)

    return columns, defects


def _customer_ids(rows: int) -> _ObjArray:
    return np.array([f"CUST-{number:08d}" for number in range(1, rows + 1)], dtype=object)


def _slugs(names: _ObjArray) -> _ObjArray:
    """Names reduced to what an email local part can hold: "O'Connor" -> "oconnor"."""
    return np.array([_NOT_SLUG.sub("", name.lower()) or "customer" for name in names], dtype=object)


def _emails(rng: np.random.Generator, firsts: _ObjArray, lasts: _ObjArray) -> _ObjArray:
    """Addresses people really pick: "jane.smith", "janesmith", "jsmith" or "jane_smith",
    often followed by a number, at a common UK mail domain."""
    rows = len(firsts)
    style = rng.integers(0, len(_EMAIL_SEPARATORS), rows)
    initials = np.array([first[0] for first in firsts], dtype=object)
    heads = np.where(style == _EMAIL_INITIAL_STYLE, initials, firsts)
    separators = _EMAIL_SEPARATORS[style]
    # Most people add a number to get a free address; the rest have none.
    number_pool = np.array(["", *(str(n) for n in range(1, 1000))], dtype=object)
    numbers = number_pool[rng.integers(1, len(number_pool), rows)]
    numbers[rng.random(rows) >= _NUMBERED_EMAIL_SHARE] = ""
    domains = _EMAIL_DOMAINS[rng.integers(0, len(_EMAIL_DOMAINS), rows)]
    return np.array(
        [
            f"{head}{sep}{last}{number}@{domain}"
            for head, sep, last, number, domain in zip(
                heads, separators, lasts, numbers, domains, strict=True
            )
        ],
        dtype=object,
    )


def _phones(rng: np.random.Generator, rows: int) -> _ObjArray:
    # Every possible number is built once and shared, so a million rows cost no extra strings.
    numbers = np.array(
        [f"{prefix}{n:03d}" for prefix in _PHONE_PREFIXES for n in range(1000)], dtype=object
    )
    phones = numbers[rng.integers(0, len(numbers), rows)]
    phones[rng.random(rows) >= _PHONE_SHARE] = ""
    return phones


def _postcodes(rng: np.random.Generator, rows: int) -> _ObjArray:
    """Valid UK postcodes in canonical form, some written lower-case or without the space
    (the pipeline normalises both, so they are not defects)."""
    # Outward codes: an area and a district number (A9, A99, AA9, AA99), or one of the real
    # lettered central-London districts (A9A, AA9A).
    numbered = np.array(
        [f"{area}{n}" for area in _GB_AREAS for n in range(1, _MAX_DISTRICT + 1)], dtype=object
    )
    outward = numbered[rng.integers(0, len(numbered), rows)]
    lettered = rng.random(rows) < _LETTERED_DISTRICT_SHARE
    lettered_pool = np.array(_LETTERED_DISTRICTS, dtype=object)
    outward[lettered] = lettered_pool[rng.integers(0, len(lettered_pool), int(lettered.sum()))]

    inward_pool = np.array(
        [f"{d}{a}{b}" for d in range(10) for a in _INWARD_LETTERS for b in _INWARD_LETTERS],
        dtype=object,
    )
    inward = inward_pool[rng.integers(0, len(inward_pool), rows)]

    variant = rng.random(rows)
    lower = variant < _LOWER_CASE_POSTCODE_SHARE
    unspaced = (variant >= _LOWER_CASE_POSTCODE_SHARE) & (
        variant < _LOWER_CASE_POSTCODE_SHARE + _UNSPACED_POSTCODE_SHARE
    )
    postcodes = np.array(
        [
            f"{out}{inn}" if no_space else (f"{out} {inn}".lower() if low else f"{out} {inn}")
            for out, inn, low, no_space in zip(outward, inward, lower, unspaced, strict=True)
        ],
        dtype=object,
    )
    return postcodes


def _companies(rng: np.random.Generator, pool: _ObjArray, rows: int) -> tuple[_ObjArray, _ObjArray]:
    """Company name and Companies House number for business contacts, "" for the others."""
    has_company = rng.random(rows) < _COMPANY_SHARE
    count = int(has_company.sum())
    names = np.full(rows, "", dtype=object)
    names[has_company] = pool[rng.integers(0, len(pool), count)]

    # Most companies are registered in England and Wales (8 digits); Scottish ("SC") and
    # Northern Irish ("NI") registrations carry a prefix and 6 digits.
    jurisdiction = rng.random(count)
    digits8 = rng.integers(0, 16_000_000, count)
    digits6 = rng.integers(0, 1_000_000, count)
    numbers = [
        f"SC{six:06d}" if j < 0.08 else f"NI{six:06d}" if j < 0.11 else f"{eight:08d}"
        for j, eight, six in zip(jurisdiction, digits8, digits6, strict=True)
    ]
    company_numbers = np.full(rows, "", dtype=object)
    company_numbers[has_company] = np.array(numbers, dtype=object)
    return names, company_numbers


def _dates(rng: np.random.Generator, first: date, last: date, rows: int) -> _ObjArray:
    # Every day in the range is formatted once and shared between rows.
    one_day = np.timedelta64(1, "D")
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + one_day, one_day)
    pool = np.datetime_as_string(days, unit="D").astype(object)
    picked: _ObjArray = pool[rng.integers(0, len(pool), rows)]
    return picked


def _inject_defects(
    rng: np.random.Generator, columns: dict[str, _ObjArray], rows: int, defect_rate: float
) -> pd.Series:
    """Spoil one field in each of `round(rows * defect_rate)` rows; say which and how."""
    count = round(rows * defect_rate)
    positions: _IntArray = np.sort(rng.choice(rows, size=count, replace=False)).astype(np.int64)
    kinds = np.array([DEFECT_KINDS[i % len(DEFECT_KINDS)] for i in range(count)], dtype=object)
    rng.shuffle(kinds)
    kinds = _place_duplicates_after_valid_rows(positions, kinds)

    valid = np.ones(rows, dtype=bool)
    valid[positions] = False
    valid_positions = np.flatnonzero(valid)

    for position, kind in zip(positions.tolist(), kinds.tolist(), strict=True):
        if kind == "bad_email":
            columns["email"][position] = _spoil_email(rng, columns["email"][position])
        elif kind == "bad_postcode":
            columns["postcode"][position] = _spoil_postcode(rng, columns["postcode"][position])
        elif kind == "missing_customer_id":
            columns["customer_id"][position] = ""
        elif kind == "duplicate_customer_id":
            earlier = int(np.searchsorted(valid_positions, position))
            source = int(valid_positions[rng.integers(0, earlier)])
            columns["customer_id"][position] = columns["customer_id"][source]
        else:
            field = "date_of_birth" if rng.random() < 0.5 else "signup_date"
            columns[field][position] = _impossible_date(rng, columns[field][position])

    return pd.Series(
        kinds.tolist(), index=pd.Index(positions, dtype="int64"), name="defect", dtype=str
    )


def _place_duplicates_after_valid_rows(positions: _IntArray, kinds: _ObjArray) -> _ObjArray:
    """Move duplicate_customer_id defects off rows that have no valid row before them.

    With `positions` sorted, the row at index i has `positions[i] - i` valid rows before it.
    """
    has_valid_before = positions - np.arange(len(positions)) > 0
    is_duplicate = kinds == "duplicate_customer_id"
    stranded = np.flatnonzero(is_duplicate & ~has_valid_before).tolist()
    free = np.flatnonzero(~is_duplicate & has_valid_before).tolist()
    if len(stranded) > len(free):
        raise ValueError(
            "too few valid rows for the duplicate_customer_id defects: lower defect_rate "
            "or raise rows"
        )
    kinds = kinds.copy()
    # Swapping keeps the number of each kind unchanged.
    for i, j in zip(stranded, free, strict=False):
        kinds[i], kinds[j] = kinds[j], kinds[i]
    return kinds


def _spoil_email(rng: np.random.Generator, email: str) -> str:
    local, domain = email.split("@")
    variant = int(rng.integers(0, 3))
    if variant == 0:
        return f"{local}.{domain}"  # no "@" at all
    if variant == 1:
        return f"{local}@@{domain}"  # two "@"
    return f"{local}@{domain.split('.')[0]}"  # no dot in the domain


def _spoil_postcode(rng: np.random.Generator, postcode: str) -> str:
    """A value that is no UK postcode even after upper-casing and removing spaces."""
    canonical = postcode.upper()
    if " " not in canonical:
        canonical = f"{canonical[:-3]} {canonical[-3:]}"
    variant = int(rng.integers(0, 4))
    if variant == 0:
        return "".join(str(d) for d in rng.integers(0, 10, 5))  # digits only: "12345"
    if variant == 1:
        return canonical.replace(" ", "-")  # a hyphen survives normalisation: "SW1A-1AA"
    if variant == 2:
        return "".join(_ALPHABET[i] for i in rng.integers(0, 26, 7))  # letters: "ABCDEFG"
    return f"{int(rng.integers(1, 10))}{canonical[-2:]} {canonical[-3:]}"  # "1AA 9ZZ"


def _impossible_date(rng: np.random.Generator, real: str) -> str:
    """A date in (or next to) the year of `real` that no calendar has."""
    year = int(real[:4])
    variant = int(rng.integers(0, 5))
    if variant == 0:
        # 29 February of a year that is not a leap year (the ranges hold no 1900 or 2100).
        return f"{year + 1 if year % 4 == 0 else year:04d}-02-29"
    if variant == 1:
        month, day = _SHORT_MONTH_OVERFLOWS[int(rng.integers(0, len(_SHORT_MONTH_OVERFLOWS)))]
        return f"{year:04d}-{month:02d}-{day:02d}"  # "2020-04-31", "1985-02-30"
    if variant == 2:
        return f"{year:04d}-13-{int(rng.integers(1, 29)):02d}"  # no thirteenth month
    if variant == 3:
        return f"{year:04d}-00-{int(rng.integers(1, 29)):02d}"  # no month zero
    return f"{year:04d}-{int(rng.integers(1, 13)):02d}-32"  # no month has 32 days
