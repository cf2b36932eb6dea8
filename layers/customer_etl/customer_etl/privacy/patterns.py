"""Content tests for each class of personal data: each takes a column of present, trimmed
values and says which of them look like that class.

Each test runs once per distinct value where it needs Python (phone parsing, IP parsing,
the Luhn check), then maps the answers back, so a column of repeated values costs little.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import date
from typing import Final

import pandas as pd
import phonenumbers

from customer_etl.core.classification import PersonalDataClass
from customer_etl.core.formats import EMAIL_PATTERN, UK_POSTCODE_PATTERN, dates, luhn_valid

Matcher = Callable[[pd.Series, date], pd.Series]

# HMRC: two prefix letters (D, F, I, Q, U, V never; O never second; BG, GB, KN, NK, NT, TN,
# ZZ never allocated), six digits, suffix A to D.
NI_NUMBER_PATTERN: Final = (
    r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"
)
_PHONE_SHAPE: Final = r"^\+?[0-9 ().-]+$"
_PHONE_DIGITS: Final = (9, 15)  # shorter numbers are extensions or codes, not lines
_CARD_SHAPE: Final = r"^[0-9]{13,19}$"
_DATE_FORMATS: Final = ["%Y-%m-%d", "%d/%m/%Y"]
_OLDEST_YEARS: Final = 120
# Letters, then up to three more words joined by spaces, apostrophes (straight or curly),
# dots or hyphens: `Anne-Marie`, `O'Brien`, `J. Smith`.
_NAME_SHAPE: Final = "^[^\\W\\d_]+(?:[ '\u2019.-]+[^\\W\\d_]+){0,3}\\.?$"
# Name-shaped words that are codes or answers in business columns, not names: two capital
# letters (ISO country and region codes: `GB`, `FR`) and yes/no answers.
_NOT_A_NAME: Final = r"^(?:[A-Z]{2}|(?i:true|false|yes|no|y|n|t|f|on|off))$"

# A small list of common given names and surnames in the UK, from the ONS baby-name and
# surname tables: a hit makes a name column more certain; a miss does not rule it out.
_COMMON_NAMES_TEXT: Final = """
    oliver george harry jack jacob noah charlie muhammad thomas oscar william james henry
    leo alfie joshua freddie archie ethan isaac alexander joseph edward samuel max daniel
    arthur lucas mohammed logan theo harrison benjamin mason sebastian finley adam dylan
    zachary riley teddy david john michael peter paul robert richard mark stephen andrew
    christopher matthew anthony kevin ian gary simon martin neil lee craig jason darren
    olivia amelia isla ava emily isabella mia poppy ella lily sophia grace evie sophie
    chloe jessica alice florence freya ruby charlotte daisy phoebe matilda elsie rosie
    sarah emma laura rebecca hannah lucy katie amy claire helen karen susan julie lisa
    jennifer elizabeth mary margaret patricia linda barbara jane anne louise rachel nicola
    smith jones williams taylor brown davies evans wilson thomas johnson roberts robinson
    thompson wright walker white edwards hughes green hall lewis harris clarke patel
    jackson wood turner martin cooper hill ward morris moore clark lee king baker harrison
    morgan allen james scott phillips watson davis parker price bennett young griffiths
    mitchell kelly cook carter richardson bailey collins bell shaw murphy miller cox
    richards khan marshall anderson simpson ellis adams singh begum wilkinson foster
    chapman powell webb rogers gray mason ali hunt hussain campbell matthews owen palmer
    holmes mills barnes knight lloyd butler russell barker fisher stevens jenkins murray
    dixon harvey graham pearson ahmed fletcher walsh kaur gibson howard andrews stewart
    elliott reynolds saunders payne fox ford pearce day brooks west lawrence cole atkinson
    bradley spencer gill dawson ball burton o'brien watts rose booth perry ryan grant
    wells armstrong francis rees hayes hart hudson newman barrett webster hunter gregory
    carr lowe page marsh riley dunn woods parsons berry stone reid holland hawkins harding
    porter robertson newton oliver reed kennedy williamson bird gardner shah dean lane
    cooke bates henderson parry burgess bishop walton burns nicholson shepherd ross
    cross long freeman warren nicholls hamilton byrne sutton mcdonald yates hodgson
    robson curtis hopkins o'connor harper coleman watkins moss mccarthy chambers
    o'neill griffin sharp hardy wheeler potter osborne johnston gordon doyle wallace
    george jordan hutchinson rowe burke may pritchard gilbert willis higgins read miles
    stevenson stephenson hammond arnold buckley walters hewitt barber nelson slater
    austin sullivan whitehead mann frost lambert stephens blake akhtar lynch goodwin
    barton woodward thomson cunningham quinn barnett baxter bibi clayton nash greenwood
    jennings holt kemp poole gallagher bond stokes tucker davidson fowler heath norman
    middleton lawson banks french stanley jarvis gibbs ferguson hayward carroll douglas
"""
COMMON_NAMES: Final = frozenset(_COMMON_NAMES_TEXT.split())


def email(values: pd.Series, today: date) -> pd.Series:
    return values.str.lower().str.match(EMAIL_PATTERN).astype(bool)


def uk_postcode(values: pd.Series, today: date) -> pd.Series:
    compact = values.str.upper().str.replace(r"\s+", "", regex=True)
    return compact.str.match(UK_POSTCODE_PATTERN).astype(bool)


def national_insurance_number(values: pd.Series, today: date) -> pd.Series:
    compact = values.str.upper().str.replace(r"\s+", "", regex=True)
    return compact.str.match(NI_NUMBER_PATTERN).astype(bool)


def phone(values: pd.Series, today: date) -> pd.Series:
    """Numbers `phonenumbers` finds possible (UK unless written with `+`), of 9 to 15
    digits, written with digits, spaces, brackets, dots and dashes only, and not dates."""
    digits = values.str.count(r"[0-9]")
    shaped = (
        values.str.match(_PHONE_SHAPE).astype(bool)
        & digits.between(*_PHONE_DIGITS)
        & ~_looks_like_date(values)
    )
    return _per_distinct(values, shaped, _possible_phone)


def payment_card(values: pd.Series, today: date) -> pd.Series:
    """13 to 19 digits (spaces and dashes allowed) that pass the Luhn check."""
    compact = values.str.replace(r"[ -]", "", regex=True)
    shaped = compact.str.match(_CARD_SHAPE).astype(bool)
    return _per_distinct(compact, shaped, luhn_valid)


def ip_address(values: pd.Series, today: date) -> pd.Series:
    shaped = values.str.match(r"^[0-9A-Fa-f:.]+$").astype(bool) & values.str.contains(r"[.:]")
    return _per_distinct(values, shaped, _is_ip)


def date_of_birth(values: pd.Series, today: date) -> pd.Series:
    """Calendar dates (ISO or UK day-first) between 120 years ago and today."""
    parsed, invalid = dates(values, _DATE_FORMATS)
    oldest = pd.Timestamp(today.replace(year=today.year - _OLDEST_YEARS, day=1))
    plausible = (parsed >= oldest) & (parsed <= pd.Timestamp(today))
    return (~invalid & plausible).astype(bool)


def person_name(values: pd.Series, today: date) -> pd.Series:
    """The share a value is worth as a name: 1 for a name-shaped value one of whose words is
    a common name, 0.5 for a name-shaped value otherwise, 0 for anything else (two-letter
    capital codes and yes/no answers included)."""
    shaped = values.str.match(_NAME_SHAPE).astype(bool) & ~values.str.match(_NOT_A_NAME).astype(
        bool
    )
    words = values.str.lower().str.split(r"[ .-]+")
    known = words.map(lambda parts: any(part in COMMON_NAMES for part in parts))
    return shaped.astype(float) * (0.5 + 0.5 * known.astype(float))


# A house number (`12`, `12a`, `12-14`, `Flat 3,`) then a word: `12 High Street`, `3b Rue de
# Rivoli`. Towns and counties alone have no such shape; their headers tell.
_STREET_SHAPE: Final = (
    r"^(?:(?:flat|apartment|apt|unit)\s+\w+,?\s+)?\d+[A-Za-z]?(?:[-/]\d+)?,?\s+[^\W\d_]"
)


def street_address(values: pd.Series, today: date) -> pd.Series:
    return values.str.match(_STREET_SHAPE, case=False).astype(bool)


MATCHERS: Final[dict[PersonalDataClass, Matcher]] = {
    PersonalDataClass.EMAIL: email,
    PersonalDataClass.PHONE: phone,
    PersonalDataClass.POSTCODE: uk_postcode,
    PersonalDataClass.PERSON_NAME: person_name,
    PersonalDataClass.DATE_OF_BIRTH: date_of_birth,
    PersonalDataClass.NATIONAL_INSURANCE_NUMBER: national_insurance_number,
    PersonalDataClass.PAYMENT_CARD: payment_card,
    PersonalDataClass.IP_ADDRESS: ip_address,
    PersonalDataClass.ADDRESS: street_address,
}


def _possible_phone(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return False
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _looks_like_date(values: pd.Series) -> pd.Series:
    return values.str.match(r"^[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}$").astype(bool)


def _per_distinct(
    values: pd.Series, candidates: pd.Series, test: Callable[[str], bool]
) -> pd.Series:
    """`test` over the distinct candidate values only, mapped back to every row."""
    distinct = values[candidates].unique()
    answers = {value: test(value) for value in distinct}
    return values.map(lambda value: answers.get(value, False)).astype(bool) & candidates
