"""Propose a source mapping from a file's header and a sample of its rows: which header is
which canonical field (by name, with the usual synonyms, fuzzily for near misses), which
columns to combine or drop, and the value maps and date formats the sample calls for.

The proposal is printed as the mapping file (docs/mapping.md) for a person to review, edit
and keep; it is never applied on its own. Fuzzy matching is the standard library's
`difflib` (Ratcliff/Obershelp similarity): headers are short and few, so no faster library
is needed, and it adds no dependency.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

import pandas as pd

from customer_etl.core import formats
from customer_etl.core.mapping import normalise_header
from customer_etl.core.schema import BUSINESS_KEY, CANONICAL_COLUMNS
from customer_etl.reference.countries import alpha_2

# Normalised headers (`normalise_header`) that name each field in exports seen in the wild.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "id",
        "customer_number",
        "customer_no",
        "customer_ref",
        "client_id",
        "account_id",
        "account_number",
        "contact_id",
        "crm_id",
    ),
    "first_name": ("firstname", "given_name", "forename", "forenames", "first"),
    "last_name": ("lastname", "surname", "family_name", "last"),
    "email": ("e_mail", "email_address", "e_mail_address", "mail"),
    "phone": (
        "telephone",
        "tel",
        "mobile",
        "phone_number",
        "mobile_number",
        "cell",
        "phone_1",
        "phone_2",
        "phone1",
        "phone2",
        "telephone_1",
        "telephone_2",
    ),
    "postcode": ("post_code", "postal_code", "postal", "zip", "zip_code", "zipcode", "eircode"),
    "company_name": ("company", "organisation", "organization", "employer", "business_name"),
    "company_number": ("company_no", "company_registration_number", "crn", "registration_number"),
    "date_of_birth": ("dob", "birth_date", "birthdate", "birthday"),
    "signup_date": (
        "subscription_date",
        "signup",
        "sign_up_date",
        "joined",
        "date_joined",
        "created",
        "created_at",
        "customer_since",
        "registration_date",
    ),
    "country": ("country_code", "nation", "country_name"),
    "marketing_consent": (
        "consent",
        "opt_in",
        "optin",
        "marketing_opt_in",
        "email_opt_in",
        "subscribed",
        "newsletter",
        "marketing",
    ),
    "address_line_1": ("address", "address_1", "address1", "street", "street_address"),
    "address_line_2": ("address_2", "address2", "address_line2", "unit", "suite", "apartment"),
    "city": ("town", "post_town", "locality"),
    "county": ("state", "province", "region", "state_province"),
}
NEAR_MISS_CUTOFF = 0.8
"""Similarity (0 to 1) from which an unplaced header is reported as a near miss of a name."""

_RULE_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")  # what the shipped date rules read
_DATE_CANDIDATES = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%m/%d/%y",
    "%d/%m/%y",
)
_BOOLEAN_WORDS = {"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0", "on", "off"}
_NAMES: dict[str, str] = {
    **{name: name for name in CANONICAL_COLUMNS},
    **{synonym: name for name, synonyms in SYNONYMS.items() for synonym in synonyms},
}


@dataclass
class Suggestion:
    columns: dict[str, str] = field(default_factory=dict)
    combine: dict[str, list[str]] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)
    customer_id_from: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, list[str]] = field(default_factory=dict)
    near_misses: dict[str, str] = field(default_factory=dict)
    """Unplaced header -> the field it nearly names."""
    absent: list[str] = field(default_factory=list)
    """Fields no header gives that a mapping usually supplies (country, consent)."""


def suggest(header: list[str], sample: pd.DataFrame) -> Suggestion:
    """A mapping for a file with `header` whose first rows are `sample` (raw strings, one
    column per header)."""
    proposal = Suggestion()
    fed: dict[str, list[str]] = {}
    for name in header:
        target = _NAMES.get(normalise_header(name)) or _NAMES.get(_compact(name))
        if target is None:
            near = _near_miss(name)
            if near is not None:
                proposal.near_misses[name] = near
            proposal.drop.append(name)
            continue
        fed.setdefault(target, []).append(name)
    for target, names in fed.items():
        if len(names) > 1:
            proposal.combine[target] = names
        elif normalise_header(names[0]) != target:
            proposal.columns[names[0]] = target
    if BUSINESS_KEY not in fed and "email" in fed:
        proposal.customer_id_from = ["email"]
    proposal.absent = [name for name in ("country", "marketing_consent") if name not in fed]
    for target, names in fed.items():
        values = _present(sample, names)
        if target == "country" and any(alpha_2(v) not in (None, v) for v in values):
            proposal.values["country"] = "country"
        elif (
            target == "marketing_consent"
            and values
            and set(map(str.casefold, values)) <= (_BOOLEAN_WORDS)
        ):
            proposal.values["marketing_consent"] = "boolean"
        elif target in ("signup_date", "date_of_birth"):
            date_format = _date_format(values)
            if date_format is not None:
                proposal.date_formats[target] = [date_format]
    return proposal


def render(proposal: Suggestion, file_name: str) -> str:
    """The proposal as a mapping file, with comments saying what to check."""
    lines = [
        f"# Mapping proposed for {file_name} by `customer-etl mapping suggest`.",
        "# Review it, edit it, keep it beside the exports it reads (docs/mapping.md).",
    ]
    if proposal.columns or proposal.near_misses:
        lines.append("columns:")
        lines += [f"  {_q(source)}: {target}" for source, target in proposal.columns.items()]
        for source, target in proposal.near_misses.items():
            lines.append(
                f"  # {source}: did you mean {target}? To read it, write "
                f"`{_q(source)}: {target}` here and take it out of drop."
            )
    if proposal.combine:
        lines.append("combine:            # the first valid value of these columns")
        lines += [
            f"  {t}: [{', '.join(_q(s) for s in names)}]" for t, names in proposal.combine.items()
        ]
    if proposal.drop:
        lines.append("drop:               # columns no canonical field takes")
        lines += [f"  - {_q(name)}" for name in proposal.drop]
    if proposal.customer_id_from:
        lines.append("# No id column: a stable id from the email (docs/mapping.md).")
        lines.append(f"customer_id_from: [{', '.join(proposal.customer_id_from)}]")
    if proposal.values:
        lines.append("values:")
        lines += [f"  {target}: {name}" for target, name in proposal.values.items()]
    if proposal.date_formats:
        lines.append("date_formats:       # read from the sample; check day and month order")
        lines += [
            f"  {target}: [{', '.join(json.dumps(f) for f in fs)}]"
            for target, fs in proposal.date_formats.items()
        ]
    if "country" in proposal.absent:
        lines.append("# The file names no country: say which, e.g.")
        lines.append("# constants: {country: GB}")
    if "marketing_consent" in proposal.absent:
        lines.append("# No consent column: every record is recorded as not consenting.")
    return "\n".join(lines) + "\n"


def _compact(name: str) -> str:
    return normalise_header(name).replace("_", "")


def _near_miss(name: str) -> str | None:
    close = difflib.get_close_matches(normalise_header(name), _NAMES, n=1, cutoff=NEAR_MISS_CUTOFF)
    return _NAMES[close[0]] if close else None


def _present(sample: pd.DataFrame, names: list[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        if name in sample:
            column = sample[name].dropna().astype(str).str.strip()
            found += [value for value in column if value]
    return found


def _date_format(values: list[str]) -> str | None:
    """A strptime format that reads every sampled date, where the rules' formats do not."""
    if not values:
        return None
    column = pd.Series(values, dtype=object)
    if not formats.dates(column, list(_RULE_DATE_FORMATS))[1].any():
        return None
    for candidate in _DATE_CANDIDATES:
        if not formats.dates(column, [candidate])[1].any():
            return candidate
    return None


def _q(text: str) -> str:
    """A YAML key or item: quoted where plain YAML would read it otherwise."""
    plain = text.replace(" ", "").replace("-", "").replace("_", "")
    if plain.isalnum() and not text[0].isdigit() and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


_YAML_WORDS = {"yes", "no", "y", "n", "true", "false", "on", "off", "null"}
