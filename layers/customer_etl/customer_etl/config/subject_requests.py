"""Settings of data subject requests (`customer-etl subject ...`, the subject-request
function): how an erasure treats the warehouse row, and the processing record an access
export states for each field (docs/governance/subject-requests.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ProcessingPurpose(_Section):
    purpose: str = Field(description="Why the pipeline holds the field (article 30(1)(b)).")
    lawful_basis: str = Field(description="The article 6 basis of that processing.")
    recipients: tuple[str, ...] = Field(
        description="Who receives the field (article 30(1)(d)): teams, processors, systems."
    )


def _customer_purpose() -> ProcessingPurpose:
    return ProcessingPurpose(
        purpose="customer relationship management: keeping one validated, enriched record "
        "of each customer for the services they receive",
        lawful_basis="contract (article 6(1)(b))",
        recipients=("the controller's customer data team", "the warehouse's hosting provider"),
    )


def _marketing_purpose() -> ProcessingPurpose:
    return ProcessingPurpose(
        purpose="direct marketing, only while the customer consents and has not objected",
        lawful_basis="consent (article 6(1)(a)); objection honoured under article 21(3)",
        recipients=("the controller's marketing team",),
    )


class SubjectRequestSettings(_Section):
    erasure: Literal["delete", "anonymise"] = Field(
        "delete",
        description="What `subject erase` does to the warehouse row: `delete` it, or "
        "`anonymise` it (personal fields and blind indexes cleared, customer id replaced by "
        "a random one, the non-personal facts kept for statistics). Audit rows and run "
        "artefacts holding the person are removed either way.",
    )
    processing: ProcessingPurpose = Field(
        default_factory=_customer_purpose,
        description="The processing record an access export states for every field.",
    )
    field_processing: dict[str, ProcessingPurpose] = Field(
        default_factory=lambda: {"marketing_consent": _marketing_purpose()},
        description="Fields processed for another purpose than `processing`'s, by field name.",
    )
