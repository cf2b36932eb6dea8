"""Settings of personal-data classification and of masking for non-production
environments (docs/data-protection.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from customer_etl.core.classification import Handling, PersonalDataClass
from customer_etl.core.schema import PERSONAL_COLUMNS, field

# The type of `model.SecretRef`, written out: model.py imports this module, so this one
# cannot import model.py.
SecretRef = Annotated[str, StringConstraints(pattern=r"^(env|secretsmanager|ssm):[^\s]+$")]


CLASS_OF_COLUMN: dict[str, PersonalDataClass] = {
    "first_name": PersonalDataClass.PERSON_NAME,
    "last_name": PersonalDataClass.PERSON_NAME,
    "email": PersonalDataClass.EMAIL,
    "phone": PersonalDataClass.PHONE,
    "postcode": PersonalDataClass.POSTCODE,
    "date_of_birth": PersonalDataClass.DATE_OF_BIRTH,
    # A company name is often its owner's name (sole traders, partnerships): handled as one.
    "company_name": PersonalDataClass.PERSON_NAME,
    "address_line_1": PersonalDataClass.ADDRESS,
    "address_line_2": PersonalDataClass.ADDRESS,
    "city": PersonalDataClass.ADDRESS,
    "county": PersonalDataClass.ADDRESS,
}
"""The class of each personal column of the record: its class policy is its handling."""
if set(CLASS_OF_COLUMN) != set(PERSONAL_COLUMNS):  # pragma: no cover - a schema change
    raise RuntimeError("CLASS_OF_COLUMN must name every personal column of the schema")

MaskingMethod = Literal["pseudonymise", "email", "postcode", "phone", "birth_year", "redact"]

MASKING_METHODS_BY_FIELD: dict[str, tuple[MaskingMethod, ...]] = {
    # Only methods whose output still passes the field's validation rules: a required
    # field cannot be redacted to nothing, an email must stay an email.
    "first_name": ("pseudonymise", "redact"),
    "last_name": ("pseudonymise", "redact"),
    "email": ("email",),
    "phone": ("phone", "redact"),
    "postcode": ("postcode",),
    "date_of_birth": ("birth_year", "redact"),
    "company_name": ("pseudonymise", "redact"),
    "address_line_1": ("pseudonymise", "redact"),
    "address_line_2": ("pseudonymise", "redact"),
    "city": ("pseudonymise", "redact"),
    "county": ("pseudonymise", "redact"),
}
"""The masking methods each personal field of the record can take."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ClassPolicy(_Section):
    handling: Handling = Field(
        description="What the pipeline does with data of this class, and so with the record's "
        "columns of it (the single source of `encryption.columns` and of the default "
        "`privacy.masking.fields`): `encrypt` (stored encrypted where encryption is on, "
        "docs/encryption.md; also masked where masking is on), `mask` (masked where masking "
        "is on, stored in clear elsewhere), `keep` (stored as is, never masked), or `drop` "
        "(not carried past extract: only for classes no column of the record holds, i.e. "
        "extra columns).",
    )
    retention_class: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Name of the retention class records of this kind fall under: one of "
        "`retention.classes` (a configuration error otherwise); written into "
        "`classification.json` and the records of processing.",
    )


def _default_policies() -> dict[PersonalDataClass, ClassPolicy]:
    c = PersonalDataClass
    return {
        c.EMAIL: ClassPolicy(handling="encrypt", retention_class="customer"),
        c.PHONE: ClassPolicy(handling="encrypt", retention_class="customer"),
        c.POSTCODE: ClassPolicy(handling="encrypt", retention_class="customer"),
        c.PERSON_NAME: ClassPolicy(handling="encrypt", retention_class="customer"),
        c.DATE_OF_BIRTH: ClassPolicy(handling="encrypt", retention_class="customer"),
        c.NATIONAL_INSURANCE_NUMBER: ClassPolicy(handling="encrypt", retention_class="special"),
        c.PAYMENT_CARD: ClassPolicy(handling="encrypt", retention_class="special"),
        c.IP_ADDRESS: ClassPolicy(handling="encrypt", retention_class="customer"),
        c.ADDRESS: ClassPolicy(handling="encrypt", retention_class="customer"),
    }


class ExtraColumnPolicy(_Section):
    handling: Literal["drop"] = Field(
        "drop",
        description="What to do with this non-canonical column: `drop` (the only choice: "
        "the warehouse has fixed columns, so an extra column is never loaded).",
    )


class ClassificationSettings(_Section):
    enabled: bool = Field(
        True, description="Classify every column of each incoming file before it is read on."
    )
    sample_rows: int = Field(
        1000,
        ge=10,
        le=100_000,
        description="Records of the first chunk the classifier looks at (at most "
        "`pipeline.chunk_rows`): the file is never read a second time for it.",
    )
    confidence_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Confidence (0 to 1) from which a column counts as holding its class; "
        "findings below it go to the review list of `classification.json`.",
    )
    min_confidence: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Confidence below which a column is reported as holding no personal data.",
    )
    policies: dict[PersonalDataClass, ClassPolicy] = Field(
        default_factory=_default_policies,
        description="Per class of personal data: its handling and retention class. A class "
        "left out here keeps its default.",
    )
    extra_columns: dict[str, ExtraColumnPolicy] = Field(
        default_factory=dict,
        description="Per non-canonical source column (header as written): how to handle it "
        "when it holds personal data. Without an entry such a column fails the run.",
    )

    @model_validator(mode="after")
    def _every_class_has_a_policy(self) -> ClassificationSettings:
        # A file may override some classes only; the others keep their defaults.
        merged = {**_default_policies(), **self.policies}
        object.__setattr__(self, "policies", merged)
        if self.min_confidence > self.confidence_threshold:
            raise ValueError("min_confidence must not exceed confidence_threshold")
        return self


def _default_masking_fields() -> dict[str, MaskingMethod]:
    return {
        "first_name": "pseudonymise",
        "last_name": "pseudonymise",
        "email": "email",
        "phone": "phone",
        "postcode": "postcode",
        "date_of_birth": "birth_year",
        "company_name": "pseudonymise",
        "address_line_1": "pseudonymise",
        "address_line_2": "pseudonymise",
        "city": "pseudonymise",
        "county": "pseudonymise",
    }


class MaskingSettings(_Section):
    enabled: bool = Field(
        False,
        description="Mask personal fields after validation and before enrichment (meant for "
        "dev and staging; off in local and prod).",
    )
    key_ref: SecretRef | None = Field(
        None,
        description="Reference to the masking key (at least 32 characters), e.g. "
        "`env:CUSTOMER_ETL_MASKING_KEY` or `secretsmanager:...`. Required when masking is "
        "on: a missing key fails the run, there is no default key. Keep it stable, or "
        "pseudonyms change and joins across runs break.",
    )
    fields: dict[str, MaskingMethod] = Field(
        default_factory=_default_masking_fields,
        description="Field -> method: `pseudonymise` (keyed HMAC-SHA-256), `email` (keeps "
        "the domain), `postcode` (keeps the outward code), `phone` (a fictional number of "
        "the same kind), `birth_year` (the year only), `redact`. A field left out is not "
        "masked. Unset: every field whose class policy is `encrypt` or `mask`, with the "
        "default method (shown). Set: a field whose class policy is `keep` is refused, and "
        "every field whose class policy is `mask` must be listed.",
    )

    @model_validator(mode="after")
    def _methods_fit_fields(self) -> MaskingSettings:
        for name, method in self.fields.items():
            allowed = MASKING_METHODS_BY_FIELD.get(name)
            if allowed is None:
                raise ValueError(
                    f"fields.{name}: not a maskable field (one of "
                    f"{', '.join(MASKING_METHODS_BY_FIELD)})"
                )
            if method not in allowed:
                raise ValueError(
                    f"fields.{name}: method {method} would break the field's validation "
                    f"rules; use one of {', '.join(allowed)}"
                )
        if self.enabled and self.key_ref is None:
            raise ValueError("key_ref is required when masking is enabled")
        return self


class PrivacySettings(_Section):
    classification: ClassificationSettings = Field(
        default_factory=ClassificationSettings,
        description="Classification of source columns and their handling policies.",
    )
    masking: MaskingSettings = Field(
        default_factory=MaskingSettings, description="Masking for non-production environments."
    )

    @model_validator(mode="after")
    def _masking_follows_the_policies(self) -> PrivacySettings:
        handling = handling_of_columns(self.classification)
        for column, how in handling.items():
            if how == "drop":
                raise ValueError(_refuse_drop(column))
        if "fields" not in self.masking.model_fields_set:
            derived = {
                column: method
                for column, method in _default_masking_fields().items()
                if handling[column] in ("encrypt", "mask")
            }
            masking = self.masking.model_copy(update={"fields": derived})
            object.__setattr__(self, "masking", masking)
            return self
        for column in self.masking.fields:
            if handling[column] == "keep":
                raise ValueError(
                    f"masking.fields.{column}: its class {CLASS_OF_COLUMN[column]} has the "
                    f"handling keep; remove the field, or give the class the handling mask"
                )
        unmasked = [
            c for c, how in handling.items() if how == "mask" and c not in self.masking.fields
        ]
        if unmasked:
            raise ValueError(
                f"masking.fields lacks {', '.join(unmasked)}: the class policy says mask; "
                "add the field(s), or leave masking.fields unset to take the defaults"
            )
        return self


def handling_of_columns(settings: ClassificationSettings) -> dict[str, Handling]:
    """The handling of each personal column of the record, from its class policy."""
    return {
        column: settings.policies[data_class].handling
        for column, data_class in CLASS_OF_COLUMN.items()
    }


def encrypted_columns(settings: ClassificationSettings) -> tuple[str, ...]:
    """The record's columns whose class policy is `encrypt`, in the record's order."""
    handling = handling_of_columns(settings)
    return tuple(column for column in PERSONAL_COLUMNS if handling[column] == "encrypt")


def _refuse_drop(column: str) -> str:
    data_class = CLASS_OF_COLUMN[column]
    where = f"classification.policies.{data_class}: handling drop"
    if field(column).required:
        return (
            f"{where} would leave the warehouse without its required column {column}; "
            "use encrypt, mask or keep"
        )
    return (
        f"{where} cannot apply to the record's column {column}; to not load it, drop it "
        "in the source mapping (`drop:`), and use encrypt, mask or keep here"
    )
