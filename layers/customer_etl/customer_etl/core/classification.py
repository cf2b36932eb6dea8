"""The vocabulary of personal-data classification and what the classifier reports.

The kernel holds these records because the run manifest carries the report and the
configuration names the classes and handlings; the classifier itself is
`customer_etl.privacy.classification`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PersonalDataClass(StrEnum):
    """The kinds of personal data the classifier recognises in a column."""

    EMAIL = "email"
    PHONE = "phone"
    POSTCODE = "postcode"
    PERSON_NAME = "person_name"
    DATE_OF_BIRTH = "date_of_birth"
    NATIONAL_INSURANCE_NUMBER = "national_insurance_number"
    PAYMENT_CARD = "payment_card"
    IP_ADDRESS = "ip_address"
    ADDRESS = "address"
    """A postal address or a part of one (street, town, county)."""


Handling = Literal["encrypt", "mask", "keep", "drop"]
"""What a class policy does with a column's values."""

ColumnRole = Literal["canonical", "extra", "dropped"]
"""`canonical`: read into a record field; `extra`: not canonical, reported and not read on;
`dropped`: the source mapping drops it."""


class Evidence(BaseModel):
    """What a finding rests on: counts only."""

    model_config = ConfigDict(extra="forbid")

    sampled: int = Field(description="Values looked at (the sample's rows).")
    non_empty: int = Field(description="Sampled values that were not blank.")
    matched: float = Field(description="Non-empty values the class's content test accepted.")
    header_hint: bool = Field(description="Whether the header names the class.")


class ColumnFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    """The header as written in the file."""
    role: ColumnRole
    data_class: PersonalDataClass | None
    """None when no class reaches `min_confidence`."""
    confidence: float
    evidence: Evidence
    handling: Handling | None = None
    """The configured handling: the class policy's, or `drop` for a dropped column; `keep`
    for a canonical column that is not personal data in the record (stored as is)."""
    class_from: Literal["content", "record"] = "content"
    """`record`: the column feeds a personal field of the canonical record, whose class the
    configuration fixes (`data_class` is that class, whatever the content looked like), so
    `handling` is what the load does with it."""
    retention_class: str | None = None


class ClassificationReport(BaseModel):
    """What the classifier found in a file: saved as `classification.json` and in the run
    manifest. Names and numbers only, never values."""

    model_config = ConfigDict(extra="forbid")

    sampled_rows: int
    confidence_threshold: float
    columns: list[ColumnFinding]
    review: list[ColumnFinding] = Field(default_factory=list)
    """Findings of a class under `confidence_threshold`: worth a person's look."""

    @property
    def personal_columns(self) -> list[ColumnFinding]:
        return [
            finding
            for finding in self.columns
            if finding.data_class is not None and finding.confidence >= self.confidence_threshold
        ]
