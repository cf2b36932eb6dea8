"""The canonical customer record: its fields, their types, and which are personal data.

One module owns the record's shape so that the stages, the checkpoints, the warehouse
tables and the docs agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    STRING = "string"
    DATE = "date"
    BOOLEAN = "boolean"
    FLOAT = "float"


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool
    personal: bool
    max_length: int | None
    meaning: str


#: The columns a source file carries, in canonical order. `customer_id` is the business key.
CANONICAL_FIELDS: tuple[Field, ...] = (
    Field(
        "customer_id",
        FieldType.STRING,
        True,
        False,
        64,
        "Business key: the source system's identifier for the customer.",
    ),
    Field("first_name", FieldType.STRING, True, True, 100, "Given name."),
    Field("last_name", FieldType.STRING, True, True, 100, "Family name."),
    Field("email", FieldType.STRING, True, True, 254, "Email address, lower-cased."),
    Field(
        "phone",
        FieldType.STRING,
        False,
        True,
        32,
        "Telephone number in E.164 (`+447700900123`), read with the record's country.",
    ),
    Field(
        "postcode",
        FieldType.STRING,
        False,
        True,
        10,
        "Postcode in its country's own format: Royal Mail's `SW1A 1AA` for the UK and the "
        "Crown Dependencies, `M5V 3L9` in Canada, `1012 AB` in the Netherlands, `75001` in "
        "France. Required where the country needs one (the rules say which).",
    ),
    Field(
        "company_name",
        FieldType.STRING,
        False,
        True,
        200,
        "Employer or trading company, when the customer is a business contact. Personal data: "
        "a sole trader's company name is often the person's own name.",
    ),
    Field(
        "company_number",
        FieldType.STRING,
        False,
        False,
        8,
        "Companies House registration number: 8 digits, or two letters (`SC`, `NI`, `OC`...) "
        "and 6 digits.",
    ),
    Field(
        "date_of_birth",
        FieldType.DATE,
        False,
        True,
        None,
        "Date of birth (ISO `YYYY-MM-DD`); never in the future.",
    ),
    Field(
        "signup_date",
        FieldType.DATE,
        False,
        False,
        None,
        "Date the customer signed up (ISO `YYYY-MM-DD`); never in the future.",
    ),
    Field(
        "country",
        FieldType.STRING,
        False,
        False,
        2,
        "ISO 3166-1 alpha-2 country code of the address (`GB` for the UK); names and "
        "alpha-3 codes are read (`Chile`, `CHL` -> `CL`).",
    ),
    Field(
        "marketing_consent",
        FieldType.BOOLEAN,
        False,
        False,
        None,
        "Whether the customer consented to marketing (`true`/`false`, `yes`/`no`, `1`/`0`); "
        "`false` where a file gives none (privacy by default).",
    ),
    # The address came after the first twelve fields: files in the first layout still read.
    Field(
        "address_line_1",
        FieldType.STRING,
        False,
        True,
        200,
        "First line of the postal address: house number or name and street.",
    ),
    Field(
        "address_line_2",
        FieldType.STRING,
        False,
        True,
        200,
        "Second line of the postal address: flat, building or locality.",
    ),
    Field("city", FieldType.STRING, False, True, 100, "Town or city of the postal address."),
    Field(
        "county",
        FieldType.STRING,
        False,
        True,
        100,
        "County, state, province or region of the postal address, as written (the "
        "enrichment's `region` is postcodes.io's).",
    ),
)

#: Columns the enrich stage adds.
ENRICHMENT_FIELDS: tuple[Field, ...] = (
    Field(
        "post_town",
        FieldType.STRING,
        False,
        False,
        100,
        "Post town of the postcode area (reference table).",
    ),
    Field("region", FieldType.STRING, False, False, 100, "Region (postcodes.io)."),
    Field(
        "admin_district",
        FieldType.STRING,
        False,
        False,
        100,
        "Local authority district (postcodes.io).",
    ),
    Field(
        "postcode_country",
        FieldType.STRING,
        False,
        False,
        50,
        "UK nation of the postcode: England, Scotland, Wales, Northern Ireland...",
    ),
    Field("latitude", FieldType.FLOAT, False, False, None, "Latitude of the postcode centroid."),
    Field("longitude", FieldType.FLOAT, False, False, None, "Longitude of the postcode centroid."),
    Field(
        "enrichment_source",
        FieldType.STRING,
        True,
        False,
        20,
        "Where the enrichment came from: `postcodes.io`, `reference`, `none` (a UK record "
        "neither knows), or `not_applicable` (a record outside the UK and the Crown "
        "Dependencies: never given a UK place).",
    ),
    # Company columns are optional in the warehouse: rows loaded before company
    # enrichment existed have none, and a migration cannot invent them.
    Field(
        "company_status",
        FieldType.STRING,
        False,
        False,
        40,
        "Company status on the register (`active`, `dissolved`, ...), from Companies House.",
    ),
    Field(
        "company_type",
        FieldType.STRING,
        False,
        False,
        60,
        "Company type (`ltd`, `plc`, `llp`, ...), from Companies House.",
    ),
    Field(
        "sic_codes",
        FieldType.STRING,
        False,
        False,
        60,
        "Standard Industrial Classification codes, separated by `;`, from Companies House.",
    ),
    Field(
        "incorporation_date",
        FieldType.DATE,
        False,
        False,
        None,
        "Date the company was incorporated, from Companies House.",
    ),
    Field(
        "company_enrichment_source",
        FieldType.STRING,
        False,
        False,
        20,
        "Where the company columns came from: `companies_house`, or `none` (no company "
        "number, unknown to the register, API skipped or failed).",
    ),
)

BUSINESS_KEY = "customer_id"
CANONICAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in CANONICAL_FIELDS)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in CANONICAL_FIELDS if f.required)
"""Fields the shipped rules require of every record: what a file's header must have (or its
mapping give) under them. A rules file decides its own (`quality.rules.required_fields`)."""
NOT_NULL_COLUMNS: tuple[str, ...] = (BUSINESS_KEY, "marketing_consent", "enrichment_source")
"""The warehouse columns that always hold a value, whatever the rules: the business key,
the consent (`false` when a file gives none) and where the enrichment came from. Every other
column takes what the rules accept, so a rules file that makes a field optional needs no
schema change."""
ENRICHMENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in ENRICHMENT_FIELDS)
PERSONAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in CANONICAL_FIELDS if f.personal)


def field(name: str) -> Field:
    """The definition of one canonical or enrichment field."""
    for candidate in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS):
        if candidate.name == name:
            return candidate
    raise KeyError(name)
