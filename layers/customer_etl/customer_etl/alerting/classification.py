"""The error classification: each error class a run can end with, its category, severity,
escalation target and section of `docs/incident-response.md`.

Runs and manifests carry an error's class *name* (a Step Functions Catch sees no Python
type), so the classification is keyed by name. `tests/unit/test_alert_classification.py`
fails when a `CustomerEtlError` subclass has no entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from customer_etl.config.error_classes import Category, ErrorClassRule, Severity

UNEXPECTED = "UnexpectedError"
"""The entry of any class not classified: an unforeseen exception is a defect until shown
otherwise, and a class that shipped unclassified must be noticed, so it pages (P1)."""

QUALITY_WARNING = "QualityWarning"
"""A warning threshold crossed: the run goes on (not an exception class)."""

ROWS_QUARANTINED = "RowsQuarantined"
"""A run quarantined some of its rows (not an exception class)."""

RUN_RECOVERED = "RunRecovered"
"""A failed run succeeded on a later attempt (not an exception class)."""

RETENTION_OVERDUE = "RetentionOverdue"
"""Records past their retention period, or the last retention job failed (not an exception
class): `customer-etl retention report`."""
LIKELY_TO_BREACH = "LikelyToBreach"
"""A source's runs trend toward a limit they have not crossed (not an exception class)."""

ON_CALL = "on-call data engineer"
DATA_STEWARD = "data steward of the source"
SUPPLIER = "sender of the file, through the data steward"
DBA = "on-call data engineer, then the database administrators"
PLATFORM = "on-call data engineer, then the platform team"
PRIVACY = "on-call data engineer and the data protection officer"
STEWARD_AND_PRIVACY = "data steward of the source and the data protection officer"
KEYS = "on-call data engineer, then the key custodians (security team)"
DEVELOPERS = "on-call data engineer, then the pipeline's developers"


def _rule(category: Category, severity: Severity, escalation: str, anchor: str) -> ErrorClassRule:
    return ErrorClassRule(
        category=category, severity=severity, escalation=escalation, anchor=anchor
    )


BUILT_IN: Mapping[str, ErrorClassRule] = {
    # The file cannot be used: the pipeline is healthy, the sender must act.
    "InputFileError": _rule("input", "P3", SUPPLIER, "inputfileerror"),
    "MappingError": _rule("input", "P3", SUPPLIER, "mappingerror"),
    "InputChangedError": _rule("input", "P3", SUPPLIER, "inputchangederror"),
    # The file holds personal data in a column nobody said how to handle: refused, not loaded.
    "UnexpectedPersonalDataError": _rule(
        "privacy", "P2", STEWARD_AND_PRIVACY, "unexpectedpersonaldataerror"
    ),
    # The data was read but is not good enough to load.
    "QualityThresholdError": _rule("data_quality", "P2", DATA_STEWARD, "qualitythresholderror"),
    QUALITY_WARNING: _rule("data_quality", "P3", DATA_STEWARD, "qualitywarning"),
    ROWS_QUARANTINED: _rule("data_quality", "P3", DATA_STEWARD, "rowsquarantined"),
    RUN_RECOVERED: _rule("pipeline", "P3", ON_CALL, "runrecovered"),
    # A forecast, not a failure: someone looks before the limit is crossed.
    LIKELY_TO_BREACH: _rule("pipeline", "P3", ON_CALL, "likelytobreach"),
    # A dependency failed; a resume finishes the run once it is back.
    "TransientError": _rule("dependency", "P2", ON_CALL, "transienterror"),
    "EnrichmentUnavailableError": _rule("dependency", "P3", ON_CALL, "enrichmentunavailableerror"),
    "EnrichmentDegradedError": _rule("dependency", "P2", ON_CALL, "enrichmentdegradederror"),
    "CacheUnavailableError": _rule("dependency", "P3", ON_CALL, "cacheunavailableerror"),
    # AWS itself: throttled or failing beyond every retry (the outage outlasted them), or a
    # call refused (a role, a key policy, a bucket policy: every run fails until fixed).
    "AwsServiceUnavailableError": _rule("dependency", "P2", ON_CALL, "awsserviceunavailableerror"),
    "AwsRequestRefusedError": _rule("configuration", "P1", PLATFORM, "awsrequestrefusederror"),
    # The warehouse: unreachable (this run waits) or of the wrong version (every run fails).
    "WarehouseUnavailableError": _rule("warehouse", "P2", DBA, "warehouseunavailableerror"),
    # Read-only, immutable or its disk full: no retry cures it, someone must act.
    "WarehouseWriteError": _rule("warehouse", "P2", DBA, "warehousewriteerror"),
    "LoadAbortedError": _rule("warehouse", "P2", DBA, "loadabortederror"),
    "WarehouseSchemaError": _rule("warehouse", "P1", DBA, "warehouseschemaerror"),
    # Settings, rules and secrets: every run of the environment fails until fixed.
    "ConfigError": _rule("configuration", "P1", PLATFORM, "configerror"),
    "RulesError": _rule("configuration", "P1", PLATFORM, "ruleserror"),
    "SecretError": _rule("configuration", "P1", PLATFORM, "secreterror"),
    "EncryptionConfigError": _rule("configuration", "P1", PLATFORM, "encryptionconfigerror"),
    "BlindIndexKeyError": _rule("configuration", "P1", PLATFORM, "encryptionconfigerror"),
    # Keys: without them nothing can be protected or read back, so every run stops.
    "KmsKeyError": _rule("privacy", "P1", KEYS, "kmskeyerror"),
    "KeyFileError": _rule("privacy", "P1", KEYS, "keyfileerror"),
    "MaskingKeyError": _rule("privacy", "P1", KEYS, "maskingkeyerror"),
    # Protected data that cannot be read back: keys or tokens are wrong.
    "DecryptionError": _rule("privacy", "P1", PRIVACY, "decryptionerror"),
    # Governance: a hold refused as asked (nothing was changed), or data kept too long.
    "LegalHoldError": _rule("privacy", "P3", PRIVACY, "legalholderror"),
    "SubjectRequestError": _rule("privacy", "P3", PRIVACY, "subjectrequesterror"),
    RETENTION_OVERDUE: _rule("privacy", "P2", PRIVACY, "retentionoverdue"),
    # Operator reports (PDF): no data is at risk, the report is simply not made.
    "ChromiumNotFoundError": _rule("reporting", "P3", ON_CALL, "chromiumnotfounderror"),
    "PdfRenderError": _rule("reporting", "P3", ON_CALL, "pdfrendererror"),
    # The incident tool did not take an incident: the alert itself went out.
    "IncidentToolError": _rule("reporting", "P3", ON_CALL, "incidenttoolerror"),
    # The pipeline's own failures.
    "ChunkMissingError": _rule("pipeline", "P2", ON_CALL, "chunkmissingerror"),
    "RunIdInUseError": _rule("pipeline", "P3", ON_CALL, "runidinuseerror"),
    "RunInterruptedError": _rule("pipeline", "P3", ON_CALL, "runinterruptederror"),
    "CustomerEtlError": _rule("pipeline", "P2", ON_CALL, "customeretlerror"),
    "StageError": _rule("pipeline", "P2", ON_CALL, "stageerror"),
    "RunFailedError": _rule("pipeline", "P2", ON_CALL, "runfailederror"),
    "QuarantineError": _rule("pipeline", "P3", DATA_STEWARD, "quarantineerror"),
    # The run's own files (checkpoints, manifest, documents) cannot be written: disk full.
    "OutputWriteError": _rule("pipeline", "P2", PLATFORM, "outputwriteerror"),
    # A Lambda stage's stand-in for an unexpected error (its message could quote a value).
    "UnexpectedStageError": _rule("pipeline", "P1", DEVELOPERS, "unexpectederror"),
    UNEXPECTED: _rule("pipeline", "P1", DEVELOPERS, "unexpectederror"),
}


@dataclass(frozen=True)
class Classification:
    """How one error class is handled (see `classify`)."""

    error_class: str
    category: Category
    severity: Severity
    escalation: str
    anchor: str


def classify(
    error_class: str, overrides: Mapping[str, ErrorClassRule] | None = None
) -> Classification:
    """The classification of `error_class`: the configuration's override if any, else the
    built-in entry, else the entry of unexpected errors. Names match case-insensitively,
    because environment-variable overrides arrive lower-cased.

    Example:
        >>> classify("WarehouseUnavailableError").severity
        'P2'
        >>> classify("KeyError").severity
        'P1'
    """
    built_in = _find(error_class, BUILT_IN) or BUILT_IN[UNEXPECTED]
    rule = _find(error_class, overrides or {}) or built_in
    anchor = rule.anchor or built_in.anchor
    assert anchor is not None  # every built-in entry names its section
    return Classification(
        error_class=error_class,
        category=rule.category,
        severity=rule.severity,
        escalation=rule.escalation,
        anchor=anchor,
    )


def _find(error_class: str, rules: Mapping[str, ErrorClassRule]) -> ErrorClassRule | None:
    wanted = error_class.casefold()
    return next((rule for name, rule in rules.items() if name.casefold() == wanted), None)
