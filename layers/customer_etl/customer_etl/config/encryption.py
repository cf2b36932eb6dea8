"""Settings of field-level encryption at rest (docs/encryption.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customer_etl.core.schema import PERSONAL_COLUMNS

KMS_KEY_VARIABLE = "CUSTOMER_ETL__ENCRYPTION__KMS_KEY_ID"
"""The environment variable through which the stack gives each function its KMS key."""


class EncryptionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    enabled: bool = Field(
        True,
        description="Encrypt the personal-data columns in the warehouse (AES-256-GCM per "
        "value under a data key per run) and write the email and phone blind indexes.",
    )
    columns: tuple[str, ...] = Field(
        PERSONAL_COLUMNS,
        description="Columns stored encrypted. Derived from "
        "`privacy.classification.policies`: the record's personal columns whose class has "
        "the handling `encrypt` (by default all of them). Leave it unset; a list that "
        "disagrees with the policies is a configuration error.",
    )
    key_file: Path = Field(
        Path(".etl/keys.json"),
        description="Local runs: the key-encryption key file (versioned keys and the "
        "blind-index key), created with owner-only permissions on first use. Back it up: "
        "without it the encrypted columns cannot be read.",
    )
    kms_key_id: str = Field(
        "",
        description="Cloud: the KMS key (id, ARN or `alias/...`) that wraps the data keys; "
        f"the stack sets it on each function as `{KMS_KEY_VARIABLE}`. Empty uses the "
        "local key file.",
    )
    # The pattern of `model.SecretRef`, written out: model.py imports this module, so this
    # one cannot import model.py.
    blind_index_key_ref: str | None = Field(
        None,
        pattern=r"^(env|secretsmanager|ssm):[^\s]+$",
        description="Reference to the blind-index secret (at least 32 characters; the "
        "HMAC key is derived from it with HKDF). It must never change once rows are "
        "indexed. Unset uses the index key kept in the local key file.",
    )

    @field_validator("columns")
    @classmethod
    def _personal_columns_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(PERSONAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"only personal-data columns can be encrypted; not {', '.join(unknown)}"
            )
        return value
