"""Value formats a rule can require: each checks a column of present values at once and
gives their canonical form.

Every function takes the values to check (no missing ones: presence is the `required`
rule's business) and returns the normalised values and a mask of the invalid ones, both
on the same index. Normalised values of invalid entries are left as they came.
"""

from __future__ import annotations

import pandas as pd
import phonenumbers

from customer_etl.core import fast_paths

# The UK postcode shapes (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA) with the
# letters Royal Mail allows in each position, matched after upper-casing and removing spaces.
UK_POSTCODE_PATTERN = (
    r"^(?:GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y])[0-9][ABD-HJLNP-UW-Z]{2})$"
)
# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not
# something a pattern can tell.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
"""The shape of an alpha-2 code (the rule itself reads names too: reference.countries)."""

PHONE_REGIONS: tuple[str, ...] = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))

Checked = tuple[pd.Series, pd.Series]
"""(normalised values, invalid mask)"""


def email(values: pd.Series) -> Checked:
    lowered = values.str.lower()
    return lowered, ~lowered.str.match(EMAIL_PATTERN).astype(bool)


def uk_postcode(values: pd.Series) -> Checked:
    """`sw1a1aa`, `SW1A 1AA` and ` sw1a  1aa ` all become `SW1A 1AA`."""
    compact = values.str.upper().str.replace(r"\s+", "", regex=True)
    invalid = ~compact.str.match(UK_POSTCODE_PATTERN).astype(bool)
    canonical = compact.str[:-3] + " " + compact.str[-3:]
    return canonical.where(~invalid, values), invalid


def regex(values: pd.Series, pattern: str) -> Checked:
    return values, ~values.str.fullmatch(pattern).astype(bool)


def dates(values: pd.Series, formats: list[str]) -> Checked:
    """Dates in the first of `formats` that reads them (calendar-checked: no 30 February);
    NaT where none does."""
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]")
    for date_format in formats:
        todo = parsed.isna()
        if not todo.any():
            break
        attempt = pd.to_datetime(values[todo], format=date_format, errors="coerce")
        parsed[todo] = attempt.astype("datetime64[s]")
    return parsed, parsed.isna()


def phones(values: pd.Series, regions: pd.Series, strictness: str) -> Checked:
    """Telephone numbers in E.164 (`+447700900123`), read with each record's region for
    numbers written without an international prefix.

    Parsing is the `phonenumbers` library's (Google's libphonenumber metadata, kept current
    with numbering plans), not a pattern of ours. It is asked once per distinct
    (number, region) pair of the chunk, then the answers are mapped back to the rows.
    """
    keys = values + "|" + regions
    e164 = pd.Series(pd.NA, index=values.index, dtype=object)
    if strictness == "possible" and fast_paths.ACTIVE.uk_phones:
        e164 = uk_e164(values, regions)
    todo = e164.isna()
    answers = {key: _e164(key, strictness) for key in keys[todo].unique()}
    e164[todo] = keys[todo].map(answers)
    invalid = e164.isna()
    return e164.where(~invalid, values), invalid


# A UK number as people write it: the national `0` (read in GB) or `+44` (read anywhere),
# then ten digits, spaces allowed between them. Ten digits from 1-3, 5, 7-9 on are what
# GB's numbering plan (libphonenumber's general pattern) takes; `phonenumbers` strips the
# national `0` before them and finds the ten digits a possible length, so each such number
# is possible and its E.164 is `+44` and the ten. Nationals starting 180020 (the plan's
# other national prefix) are left to `phonenumbers`. A property test keeps this equal to
# `phonenumbers` (tests/unit/test_phone_fast_path.py).
_UK_NATIONAL = r"(?: ?[1235789])(?: ?[0-9]){9}"
_UK_DOMESTIC = rf"^0{_UK_NATIONAL}$"
_UK_INTERNATIONAL = rf"^\+44{_UK_NATIONAL}$"


def uk_e164(values: pd.Series, regions: pd.Series) -> pd.Series:
    """E.164 of the well-formed UK numbers, NA for every other value (for `phonenumbers`)."""
    text = values.astype("string")
    domestic = text.str.match(_UK_DOMESTIC).fillna(False).astype(bool) & regions.eq("GB")
    international = text.str.match(_UK_INTERNATIONAL).fillna(False).astype(bool)
    international &= regions.notna()
    digits = text.str.replace(" ", "", regex=False)
    national = digits.str.slice(1).where(domestic, digits.str.slice(3))
    fast = (domestic | international) & ~national.str.startswith("180020").fillna(True)
    e164 = pd.Series(pd.NA, index=values.index, dtype=object)
    e164[fast] = "+44" + national[fast]
    return e164


def _e164(key: str, strictness: str) -> str | None:
    number, _, region = key.rpartition("|")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if strictness == "valid":
        ok = phonenumbers.is_valid_number(parsed)
    else:
        # Numbers only diallable within their area ("local only") are not possible alone.
        reason = phonenumbers.is_possible_number_with_reason(parsed)
        ok = reason == phonenumbers.ValidationResult.IS_POSSIBLE
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) if ok else None


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check digit test of card numbers. Written here because it is four
    lines and no well-kept library is a dependency already."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0
