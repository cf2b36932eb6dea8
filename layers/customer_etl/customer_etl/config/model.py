"""The configuration model. `docs/configuration.md` is generated from it.

Every field carries a description: the generator refuses a field without one, so the
reference cannot drift from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Environment = Literal["local", "dev", "staging", "prod"]

SecretRef = Annotated[
    str,
    StringConstraints(pattern=r"^(env|secretsmanager|ssm):[^\s]+$"),
]
"""A reference to a secret, never the secret: `env:NAME`, `secretsmanager:ARN-or-name`, or
`ssm:/parameter/name`."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PipelineSettings(_Section):
    output_dir: Path = Field(
        Path(".etl/runs"),
        description="Local runs: folder that holds one sub-folder per run (checkpoints, "
        "quarantine, summary.json).",
    )
    chunk_rows: int = Field(
        50_000,
        ge=1,
        le=5_000_000,
        description="Rows per chunk: each stage processes one chunk at a time, so memory "
        "stays flat as files grow.",
    )


class WarehouseSettings(_Section):
    url: str = Field(
        "sqlite:///.etl/warehouse.db",
        description="SQLAlchemy URL of the warehouse, without a password "
        "(SQLite, PostgreSQL or SQL Server).",
    )
    password_ref: SecretRef | None = Field(
        None,
        description="Reference to the warehouse password (`env:`, `secretsmanager:`, "
        "`ssm:`); never the password itself.",
    )
    connect_timeout_seconds: int = Field(
        10, ge=1, le=300, description="Seconds to wait for a connection before failing."
    )

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        if urlsplit(value).password:
            raise ValueError("must not contain a password: set warehouse.password_ref instead")
        return value


class PostcodesSettings(_Section):
    enabled: bool = Field(True, description="Ask postcodes.io for postcode details.")
    base_url: str = Field(
        "https://api.postcodes.io",
        pattern=r"^https?://",
        description="Base URL of the postcodes.io API.",
    )
    timeout_seconds: float = Field(
        3.0,
        gt=0,
        le=60,
        description="Connect and read timeout of one request; short, so that a run "
        "without network finishes in seconds.",
    )
    batch_size: int = Field(
        100, ge=1, le=100, description="Postcodes per bulk request (the API takes 100 at most)."
    )
    failure_threshold: int = Field(
        2,
        ge=1,
        le=100,
        description="Consecutive failed requests after which the circuit opens and the rest "
        "of the run uses the built-in reference table.",
    )


class EnrichmentSettings(_Section):
    postcodes: PostcodesSettings = Field(
        default_factory=PostcodesSettings, description="postcodes.io client."
    )


class RetentionSettings(_Section):
    customer_retention_days: int = Field(
        2190,
        ge=1,
        description="Days after a customer was last seen in a source file before their "
        "record is deleted by `customer-etl retention`.",
    )


class EmailSettings(_Section):
    to: list[str] = Field(
        default_factory=list,
        description="Alert recipients (SNS email subscriptions in the cloud, SMTP locally).",
    )
    from_address: str = Field(
        "customer-etl@localhost", alias="from", description="Sender of SMTP alerts."
    )


class SmtpSettings(_Section):
    host: str | None = Field(None, description="SMTP server; unset means alerts go to the log.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")
    username: str | None = Field(None, description="SMTP user name, if the server needs one.")
    password_ref: SecretRef | None = Field(None, description="Reference to the SMTP password.")
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="SMTP connect timeout.")


class AlertsSettings(_Section):
    email: EmailSettings = Field(default_factory=EmailSettings, description="Who is told.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="Local SMTP relay.")


class AwsSettings(_Section):
    account: str | None = Field(
        None, pattern=r"^\d{12}$", description="AWS account the CDK stack deploys to."
    )
    region: str = Field("eu-west-2", description="AWS region of the stack and its clients.")
    landing_bucket: str = Field(
        "", description="Bucket where CSV files land (set by the stack on each function)."
    )
    checkpoint_bucket: str = Field(
        "", description="Bucket for run checkpoints and quarantine (set by the stack)."
    )
    quarantine_queue_url: str = Field(
        "", description="SQS queue for quarantine notices (set by the stack)."
    )
    alert_topic_arn: str = Field("", description="SNS topic for alerts (set by the stack).")
    lambda_memory_mb: int = Field(
        2048, ge=128, le=10240, description="Memory of each stage function."
    )
    lambda_timeout_seconds: int = Field(
        900, ge=1, le=900, description="Timeout of each stage function."
    )
    retain_data: bool = Field(
        True, description="Keep buckets and the key when the stack is deleted (true in prod)."
    )


class Config(_Section):
    """The effective configuration of one environment.

    Example:
        >>> Config(environment="local").warehouse.url
        'sqlite:///.etl/warehouse.db'
    """

    environment: Environment = Field(description="Name of the environment this file configures.")
    pipeline: PipelineSettings = Field(
        default_factory=PipelineSettings, description="Local runner."
    )
    warehouse: WarehouseSettings = Field(
        default_factory=WarehouseSettings, description="Target database."
    )
    enrichment: EnrichmentSettings = Field(
        default_factory=EnrichmentSettings, description="Public APIs that enrich records."
    )
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings, description="How long records are kept."
    )
    alerts: AlertsSettings = Field(default_factory=AlertsSettings, description="Alerting.")
    aws: AwsSettings = Field(default_factory=AwsSettings, description="Cloud deployment.")
