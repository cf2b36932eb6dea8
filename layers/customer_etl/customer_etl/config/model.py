"""The configuration model. `docs/configuration.md` is generated from it.

Every field carries a description: the generator refuses a field without one, so the
reference cannot drift from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from customer_etl.config.alarms import AlarmSettings
from customer_etl.config.encryption import EncryptionSettings
from customer_etl.config.error_classes import ErrorClassRule
from customer_etl.config.health import HealthSettings
from customer_etl.config.lineage import LineageSettings
from customer_etl.config.network import WarehouseNetworkSettings
from customer_etl.config.observability import ObservabilitySettings
from customer_etl.config.privacy import PrivacySettings, encrypted_columns
from customer_etl.config.residency import ResidencySettings
from customer_etl.config.retention import RetentionSettings, missing_classes
from customer_etl.config.subject_requests import SubjectRequestSettings
from customer_etl.config.warehouse_tls import WarehouseTlsSettings
from customer_etl.core.schema import CANONICAL_COLUMNS

Environment = Literal["local", "dev", "staging", "prod"]

WAREHOUSE_DIALECTS = ("sqlite", "postgresql", "mssql")
"""The SQLAlchemy dialects the warehouse supports."""

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
    workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Worker processes of a local run: transform and enrich run that many "
        "chunks at once (and load too, on a warehouse other than SQLite, whose single writer "
        "loads one chunk at a time). Empty: the machine's cores.",
    )


class WarehouseSettings(_Section):
    url: str = Field(
        "sqlite:///.etl/warehouse.db",
        description="SQLAlchemy URL of the warehouse, without a password "
        "(SQLite, PostgreSQL or SQL Server): `dialect[+driver]://user@host[:port]/database`, "
        "or `sqlite:///path/to/file.db`. Checked when the configuration is read: a URL that "
        "does not parse, names another dialect or an unknown driver is a configuration error.",
    )
    password_ref: SecretRef | None = Field(
        None,
        description="Reference to the warehouse password (`env:`, `secretsmanager:`, "
        "`ssm:`); never the password itself.",
    )
    connect_timeout_seconds: int = Field(
        10, ge=1, le=300, description="Seconds to wait for a connection before failing."
    )
    connect_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="Attempts to connect before the run fails as retryable; the waits "
        "between them double from `connect_backoff_seconds`, with jitter.",
    )
    connect_backoff_seconds: float = Field(
        0.5, ge=0, le=60, description="Wait before the second connection attempt."
    )
    pool_size: int = Field(
        5, ge=1, le=100, description="Connections kept open in the pool (per process)."
    )
    pool_timeout_seconds: int = Field(
        30, ge=1, le=600, description="Seconds to wait for a free pooled connection."
    )
    batch_rows: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Rows per sub-batch of a load, each in its own savepoint: a sub-batch "
        "the database refuses is rolled back and quarantined without failing the load.",
    )
    max_failed_batches: int = Field(
        3,
        ge=0,
        le=1000,
        description="Refused sub-batches a load tolerates; one more rolls the whole load "
        "back and fails the run.",
    )
    tls: WarehouseTlsSettings = Field(
        default_factory=WarehouseTlsSettings,
        description="Certificate validation of the connection: on by default (SQL Server: "
        "`Encrypt=yes`; PostgreSQL outside `local`: `sslmode=verify-full`).",
    )
    auto_upgrade: bool = Field(
        False,
        description="Apply pending schema migrations when a run first connects. Meant for "
        "the local SQLite warehouse; shared databases are upgraded with "
        "`customer-etl db upgrade` as a deployment step, and a run against an out-of-date "
        "schema refuses to start.",
    )

    @field_validator("url")
    @classmethod
    def _a_usable_url_without_password(cls, value: str) -> str:
        """Parsed by SQLAlchemy's own parser, so that a URL the engine would refuse fails
        here, as a configuration error. The messages never echo the URL or a part of it:
        a password may have been pasted into it."""
        if urlsplit(value).password:
            raise ValueError("must not contain a password: set warehouse.password_ref instead")
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise ValueError(
                "is not a SQLAlchemy URL: write dialect[+driver]://user@host[:port]/database "
                "(e.g. postgresql+psycopg://etl@db.example.com:5432/warehouse) or "
                "sqlite:///path/to/warehouse.db"
            ) from None
        if url.get_backend_name() not in WAREHOUSE_DIALECTS:
            raise ValueError(
                "names a dialect the warehouse does not support: use sqlite, postgresql or mssql"
            )
        try:
            url.get_dialect()
        except NoSuchModuleError:
            raise ValueError(
                "names a driver SQLAlchemy does not know: use postgresql+psycopg, "
                "mssql+pyodbc, sqlite, or leave the driver out"
            ) from None
        return value


class ApiClientSettings(_Section):
    """What every enrichment API client shares: timeouts, retries, breaker, cache, ceiling."""

    enabled: bool = Field(True, description="Ask this API; false uses the fallback only.")
    timeout_seconds: float = Field(
        3.0,
        gt=0,
        le=60,
        description="Connect and read timeout of one request; short, so that a run "
        "without network finishes in seconds.",
    )
    concurrency: int = Field(
        4, ge=1, le=32, description="Requests in flight at once (one thread each)."
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries of a request after a timeout, a connection error, a 5xx or a "
        "429, with exponential backoff and jitter.",
    )
    backoff_initial_seconds: float = Field(
        0.5, ge=0, le=60, description="Wait before the first retry; doubles on each retry."
    )
    backoff_max_seconds: float = Field(
        10.0, ge=0, le=300, description="Longest wait between two retries (jitter aside)."
    )
    failure_threshold: int = Field(
        5,
        ge=1,
        le=100,
        description="Consecutive failed requests after which the circuit opens and the "
        "API is not asked again until `reset_timeout_seconds` have passed.",
    )
    reset_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds an open circuit waits before letting one trial request through.",
    )
    cache_ttl_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Days an answer (found or unknown) is kept in the persistent cache; "
        "0 turns the cache off for this API.",
    )
    max_fallback_share: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Largest share of the rows needing this API that may fall back because "
        "it failed; above it the run fails. 1 means never fail.",
    )


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _https_unless_loopback(url: str) -> str:
    """Personal data (postcodes) and API keys travel to these APIs: HTTPS only. Plain HTTP
    is allowed to this machine alone, where the tests' fake APIs listen."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return url
    raise ValueError("must be an https:// URL (plain http:// only to localhost)")


ApiUrl = Annotated[str, AfterValidator(_https_unless_loopback)]


class PostcodesSettings(ApiClientSettings):
    base_url: ApiUrl = Field(
        "https://api.postcodes.io",
        description="Base URL of the postcodes.io API.",
    )
    batch_size: int = Field(
        100, ge=1, le=100, description="Postcodes per bulk request (the API takes 100 at most)."
    )


class CompaniesHouseSettings(ApiClientSettings):
    base_url: ApiUrl = Field(
        "https://api.company-information.service.gov.uk",
        description="Base URL of the Companies House public data API.",
    )
    api_key_ref: SecretRef | None = Field(
        None,
        description="Reference to the Companies House API key; unset (or an unset `env:` "
        "variable) skips company enrichment with one notice.",
    )
    concurrency: int = Field(
        2, ge=1, le=32, description="Requests in flight at once (one thread each)."
    )
    requests_per_window: int = Field(
        600,
        ge=1,
        le=100_000,
        description="Client-side rate limit: requests allowed per `window_seconds` "
        "(the API allows 600 per 5 minutes).",
    )
    window_seconds: float = Field(
        300.0, gt=0, le=3600, description="Length of the rate-limit window."
    )
    max_rate_limit_wait_seconds: float = Field(
        300.0,
        ge=0,
        le=900,
        description="Longest wait honoured after a 429 before giving up on the request.",
    )
    max_requests_per_run: int | None = Field(
        1000,
        ge=0,
        description="Company lookups one run may send (the rate limit makes a large file "
        "take hours); the rest are left for a later run. Null means no limit.",
    )


class EnrichmentSettings(_Section):
    postcodes: PostcodesSettings = Field(
        default_factory=PostcodesSettings, description="postcodes.io client."
    )
    companies_house: CompaniesHouseSettings = Field(
        default_factory=CompaniesHouseSettings, description="Companies House client."
    )
    cache_path: Path = Field(
        Path(".etl/enrichment-cache.db"),
        description="Local runs: SQLite file of the persistent cache of API answers "
        "(the cloud uses the DynamoDB table `aws.enrichment_cache_table`).",
    )


class SourceSettings(_Section):
    encoding: Literal["auto", "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"] = Field(
        "auto",
        description="Text encoding of source files; `auto` detects it (byte-order mark, "
        "then UTF-8, then Windows-1252, then Latin-1) and the summary says which was used.",
    )
    delimiter: Literal["auto", ",", ";", "\t", "|"] = Field(
        "auto",
        description="Field delimiter of source files; `auto` picks the one under which the "
        "header names the most known columns.",
    )
    max_columns: int = Field(
        300,
        ge=len(CANONICAL_COLUMNS),
        le=2000,
        description="Columns a source file's header may have; a wider file is refused. The "
        "run manifest names every column and travels between the cloud stages, where a "
        "state is limited to 256 KiB: 300 columns keep it near 80 KiB.",
    )
    max_field_bytes: int = Field(
        65_536,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Longest field (UTF-8 bytes) a source row may hold; a row with a longer "
        "one is quarantined (`field_too_large`, the field cut to this length in the "
        "quarantine) and the rest of the file loads. No canonical field needs more than "
        "254 characters.",
    )


class QualitySettings(_Section):
    rules_file: Path | None = Field(
        None,
        description="YAML file of data quality rules (docs/data-quality.md); unset uses the "
        "rules shipped in the package.",
    )
    max_bad_ratio: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of a file's rows that may be quarantined; a run whose share is "
        "strictly greater fails after quarantining, loading nothing, with an alert.",
    )
    warn_bad_ratio: float | None = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of quarantined rows above which the run alerts but goes on; "
        "null turns the warning off.",
    )
    warn_below_quality_score: float | None = Field(
        90.0,
        ge=0,
        le=100,
        description="Run quality score (0 to 100) below which the run alerts but goes on; "
        "null turns the warning off.",
    )
    on_invalid_rows: Literal["quarantine", "fail_file"] = Field(
        "quarantine",
        description="`quarantine` loads the good rows and quarantines the rest; "
        "`fail_file` quarantines the bad rows and loads nothing if there is any.",
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
    timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Timeout of each SMTP connect, read and write."
    )
    ca_file: Path | None = Field(
        None,
        description="CA certificates (PEM) that sign the relay's STARTTLS certificate; unset "
        "trusts the system's store.",
    )

    @model_validator(mode="after")
    def _login_needs_a_password(self) -> SmtpSettings:
        if self.username and not self.password_ref:
            raise ValueError("alerts.smtp.username is set: set alerts.smtp.password_ref too")
        return self


IncidentTool = Literal["servicenow", "jira", "webhook"]
ToolId = Annotated[str, BeforeValidator(lambda value: str(value))]
"""An id a tool gives as digits ("4"), which YAML and environment variables read as a
number: kept as text."""


class ServiceNowSettings(ApiClientSettings):
    """ServiceNow's Table API (`/api/now/table/incident`), with HTTP Basic auth."""

    base_url: ApiUrl = Field(description="The instance, e.g. https://example.service-now.com.")
    username: str = Field(description="The integration user that opens and resolves incidents.")
    password_ref: SecretRef = Field(description="Reference to the integration user's password.")
    assignment_group: str | None = Field(
        None, description="Group (name or sys_id) the incident is assigned to."
    )
    category: str = Field("software", description="The incident's category.")
    close_code: str = Field(
        "Solved (Permanently)",
        description="Resolution code of a recovered run's incident (a choice of the "
        "instance's `close_code` field).",
    )
    timeout_seconds: float = Field(10.0, gt=0, le=60, description="Timeout of one request.")


class JiraSettings(ApiClientSettings):
    """Jira Service Management's REST API (`/rest/servicedeskapi/request`), with HTTP Basic
    auth by e-mail and API token."""

    base_url: ApiUrl = Field(description="The site, e.g. https://example.atlassian.net.")
    email: str = Field(description="E-mail of the account that opens and resolves requests.")
    api_token_ref: SecretRef = Field(description="Reference to that account's API token.")
    service_desk_id: ToolId = Field(description="Service desk the request is raised in.")
    request_type_id: ToolId = Field(description="Request type of an incident in that desk.")
    resolve_transition_id: ToolId = Field(
        description="Transition that resolves a request (GET "
        "/rest/servicedeskapi/request/{key}/transition lists them)."
    )
    timeout_seconds: float = Field(10.0, gt=0, le=60, description="Timeout of one request.")


class WebhookSettings(ApiClientSettings):
    """A generic webhook that takes PagerDuty's Events API v2 payload (PagerDuty itself, or
    any tool that accepts it)."""

    url: ApiUrl = Field(
        "https://events.pagerduty.com/v2/enqueue", description="Where the events are posted."
    )
    routing_key_ref: SecretRef = Field(
        description="Reference to the routing (integration) key of the service."
    )
    timeout_seconds: float = Field(10.0, gt=0, le=60, description="Timeout of one request.")


class IncidentSettings(_Section):
    """Incidents opened in the operators' tool for the severities that need one, resolved
    when the run recovers (docs/incident-response.md#incident-tools)."""

    open_for: dict[str, IncidentTool] = Field(
        default_factory=dict,
        description="Tool that gets an incident for a failed run of each severity, e.g. "
        "`{P1: servicenow}`; a severity not listed gets the alert only.",
    )
    servicenow: ServiceNowSettings | None = Field(None, description="ServiceNow, if used.")
    jira: JiraSettings | None = Field(None, description="Jira Service Management, if used.")
    webhook: WebhookSettings | None = Field(
        None, description="A PagerDuty Events v2 webhook, if used."
    )

    @field_validator("open_for")
    @classmethod
    def _severities(cls, value: dict[str, IncidentTool]) -> dict[str, IncidentTool]:
        # Upper-cased: an environment variable's key arrives lower-cased (`..._OPEN_FOR__P1`).
        routes = {severity.upper(): tool for severity, tool in value.items()}
        if unknown := sorted(set(routes) - {"P1", "P2", "P3"}):
            raise ValueError(f"severities are P1, P2 and P3, not {', '.join(unknown)}")
        return routes

    @model_validator(mode="after")
    def _every_routed_tool_is_configured(self) -> IncidentSettings:
        for severity, tool in self.open_for.items():
            if getattr(self, tool) is None:
                raise ValueError(
                    f"alerts.incidents.open_for sends {severity} to {tool}: configure "
                    f"alerts.incidents.{tool}"
                )
        return self


class AlertsSettings(_Section):
    email: EmailSettings = Field(default_factory=EmailSettings, description="Who is told.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="Local SMTP relay.")
    runbook_base_url: str = Field(
        "docs",
        description="Where the docs are served (a URL, or the repository's `docs` folder); "
        "alerts link to `<this>/incident-response.md#<section>`.",
    )
    errors: dict[str, ErrorClassRule] = Field(
        default_factory=dict,
        description="Overrides of the built-in error classification, keyed by error class "
        "name (case-insensitive): category, severity (P1-P3), escalation, anchor. The "
        "built-in matrix is in docs/incident-response.md.",
    )
    incidents: IncidentSettings = Field(
        default_factory=IncidentSettings,
        description="Incidents in ServiceNow, Jira Service Management or a PagerDuty-style "
        "webhook, by severity.",
    )

    @model_validator(mode="after")
    def _smtp_needs_recipients(self) -> AlertsSettings:
        if self.smtp.host and not self.email.to:
            raise ValueError("alerts.smtp.host is set: list the recipients in alerts.email.to")
        return self


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
    quarantine_bucket: str = Field(
        "",
        description="Bucket for quarantined rows (Parquet, under `quarantine/`); empty uses "
        "the checkpoint bucket.",
    )
    enrichment_cache_table: str = Field(
        "", description="DynamoDB table of cached API answers (set by the stack)."
    )
    circuit_breaker_table: str = Field(
        "",
        description="DynamoDB table holding each API's circuit state, shared by every "
        "invocation (set by the stack).",
    )
    state_machine_arn: str = Field(
        "",
        description="The pipeline's state machine, which the start function starts (set by "
        "the stack).",
    )
    max_concurrency: int = Field(
        10,
        ge=1,
        le=10000,
        description="Chunks of a run processed at once in the cloud (each Distributed Map's "
        "MaxConcurrency): size it against the warehouse's connections and the APIs' rate "
        "limits (docs/scaling.md).",
    )
    lambda_memory_mb: int = Field(
        2048, ge=128, le=10240, description="Memory of each stage function."
    )
    lambda_timeout_seconds: int = Field(
        900, ge=1, le=900, description="Timeout of each stage function."
    )
    retain_data: bool = Field(
        True, description="Keep buckets and the key when the stack is deleted (true in prod)."
    )
    reports_bucket: str = Field(
        "", description="Bucket the scheduled period reports are written to (set by the stack)."
    )
    reports_prefix: str = Field(
        "reports/",
        pattern=r"^([A-Za-z0-9_.-]+/)*$",
        description="Key prefix of the period reports in `reports_bucket`; the report "
        "function may write under it and nowhere else.",
    )
    alarms: AlarmSettings = Field(
        default_factory=AlarmSettings, description="Thresholds of the CloudWatch alarms."
    )
    accept_microsoft_odbc_licence: bool = Field(
        False,
        description="Build the SQL Server ODBC layer (unixODBC, Microsoft ODBC Driver 18 "
        "and pyodbc) when the stack is deployed, for a `mssql+pyodbc` warehouse. True "
        "accepts the licence terms of Microsoft's driver "
        "(https://aka.ms/odbc18eula) on your organisation's behalf: read them first.",
    )
    secondary_region: str | None = Field(
        None,
        description="Region of the optional secondary (replica) stack: the landing and "
        "checkpoint buckets replicate to it (docs/disaster-recovery.md). Must differ from "
        "`region` and pass `residency`.",
    )
    residency: ResidencySettings = Field(
        default_factory=ResidencySettings,
        description="Data residency: the country this environment's data belongs to and "
        "the regions it may be held in; a region outside them is a configuration error.",
    )
    warehouse_network: WarehouseNetworkSettings = Field(
        default_factory=WarehouseNetworkSettings,
        description="The warehouse's VPC, subnets and security group or address range: the "
        "functions that reach the warehouse run there (docs/deployment.md, Network).",
    )

    @model_validator(mode="after")
    def _region_keeps_the_data_in_its_country(self) -> AwsSettings:
        refusal = self.residency.refusal(self.region)
        if refusal:
            raise ValueError(f"aws.region: {refusal}")
        if self.secondary_region is not None:
            if self.secondary_region == self.region:
                raise ValueError("aws.secondary_region must differ from aws.region")
            refusal = self.residency.refusal(self.secondary_region)
            if refusal:
                raise ValueError(f"aws.secondary_region: {refusal}")
        return self


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
        default_factory=RetentionSettings,
        description="Retention classes: how long each kind of data is kept and what "
        "happens when it expires (docs/governance/retention-schedule.md).",
    )
    alerts: AlertsSettings = Field(default_factory=AlertsSettings, description="Alerting.")
    aws: AwsSettings = Field(default_factory=AwsSettings, description="Cloud deployment.")
    source: SourceSettings = Field(
        default_factory=SourceSettings, description="How source files are read."
    )
    quality: QualitySettings = Field(
        default_factory=QualitySettings,
        description="Data quality rules, thresholds and degraded modes.",
    )
    encryption: EncryptionSettings = Field(
        default_factory=EncryptionSettings,
        description="Field-level encryption of personal data at rest (docs/encryption.md).",
    )
    health: HealthSettings = Field(
        default_factory=HealthSettings,
        description="`customer-etl health` and the health function: timeouts, disk limits.",
    )
    observability: ObservabilitySettings = Field(
        default_factory=ObservabilitySettings,
        description="Logs and console output: log folder, log level, progress bar.",
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings,
        description="Personal-data classification of source columns and masking for "
        "non-production environments (docs/data-protection.md).",
    )
    subject_requests: SubjectRequestSettings = Field(
        default_factory=SubjectRequestSettings,
        description="Data subject requests: erasure mode and the processing record "
        "(docs/governance/subject-requests.md).",
    )
    lineage: LineageSettings = Field(
        default_factory=LineageSettings,
        description="OpenLineage run events of the run and its stages (docs/lineage.md).",
    )

    @model_validator(mode="after")
    def _every_policy_names_a_retention_class(self) -> Config:
        named = {p.retention_class for p in self.privacy.classification.policies.values()}
        missing = missing_classes(named, self.retention)
        if missing:
            raise ValueError(
                f"privacy.classification.policies name retention class(es) {', '.join(missing)} "
                "that retention.classes does not define: add them there"
            )
        return self

    @model_validator(mode="after")
    def _encryption_follows_the_policies(self) -> Config:
        # The class policies are the one source of what is encrypted: unset columns are
        # derived from them, and a list that says otherwise is refused, not half-honoured.
        derived = encrypted_columns(self.privacy.classification)
        if "columns" not in self.encryption.model_fields_set:
            encryption = self.encryption.model_copy(update={"columns": derived})
            object.__setattr__(self, "encryption", encryption)
        elif set(self.encryption.columns) != set(derived):
            raise ValueError(
                f"encryption.columns ({', '.join(self.encryption.columns) or 'none'}) "
                "disagrees with privacy.classification.policies, which encrypt "
                f"{', '.join(derived) or 'none'}: change the class policies, and leave "
                "encryption.columns unset"
            )
        return self
