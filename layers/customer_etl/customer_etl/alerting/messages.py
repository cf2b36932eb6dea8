"""The alerts a run sends, built from its manifest alone: ids, stage names, error classes,
counts and reason codes, never a record's values.

Example:
    >>> from customer_etl.config.model import AlertsSettings
    >>> from customer_etl.core.manifest import RunManifest
    >>> failed = RunManifest.start("run-1", "customers.csv")
    >>> run_failed(failed, "extract", "InputFileError", AlertsSettings()).subject
    '[P3] customer-etl run run-1 failed: InputFileError'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from customer_etl.alerting.classification import (
    LIKELY_TO_BREACH,
    QUALITY_WARNING,
    RETENTION_OVERDUE,
    ROWS_QUARANTINED,
    RUN_RECOVERED,
    Classification,
    classify,
)
from customer_etl.alerting.templates import TemplateName, render
from customer_etl.config.model import AlertsSettings
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import Alert

THRESHOLD_ERROR = "QualityThresholdError"
NO_STAGE = "none (before the first stage)"


def run_failed(
    manifest: RunManifest, stage: str | None, error_class: str, settings: AlertsSettings
) -> Alert:
    """The one alert of a failed run; a quality threshold's failure has its own text."""
    template: TemplateName = "threshold_breach" if error_class == THRESHOLD_ERROR else "run_failed"
    return _alert(
        template,
        manifest,
        classify(error_class, settings.errors),
        settings,
        stage=stage,
        message=manifest.error or "(no message)",
    )


def quality_warning(
    manifest: RunManifest, stage: str | None, warning: str, settings: AlertsSettings
) -> Alert:
    """A warning threshold crossed (`warning` holds counts and settings): the run goes on."""
    return _alert(
        "quality_warning",
        manifest,
        classify(QUALITY_WARNING, settings.errors),
        settings,
        stage=stage,
        message=warning,
    )


def rows_quarantined(manifest: RunManifest, settings: AlertsSettings) -> Alert:
    """A notice that a run quarantined rows, for the steward who corrects them."""
    return _alert(
        "quarantine_notice",
        manifest,
        classify(ROWS_QUARANTINED, settings.errors),
        settings,
        stage=None,
        message="",
    )


def run_recovered(manifest: RunManifest, settings: AlertsSettings) -> Alert:
    """The one notice that a failed run has since succeeded (a redrive or a resume)."""
    attempts = f"after {manifest.attempts} attempts"
    if manifest.incident:
        attempts += f"; incident {manifest.incident} resolved"
    return _alert(
        "run_recovered",
        manifest,
        classify(RUN_RECOVERED, settings.errors),
        settings,
        stage=None,
        message=attempts,
    )


def retention_overdue(
    overdue: Mapping[str, int],
    last_job_id: str | None,
    last_job: str,
    last_success: str,
    settings: AlertsSettings,
) -> Alert:
    """Records past their period by class (counts, never ids), or a failed last job."""
    classification = classify(RETENTION_OVERDUE, settings.errors)
    total = sum(overdue.values())
    summary = (
        f"{total} record(s) past their retention period"
        if total
        else "the last retention job did not succeed"
    )
    lines = "\n".join(f"  {name}: {count}" for name, count in sorted(overdue.items()) if count)
    rendered = render(
        "retention_overdue",
        {
            "summary": summary,
            "run_id": last_job_id or "none",
            "severity": classification.severity,
            "category": classification.category,
            "escalation": classification.escalation,
            "classes": lines or "  none",
            "last_job": last_job,
            "last_success": last_success,
            "runbook_url": runbook_url(settings, classification.anchor),
        },
    )
    return Alert(subject=rendered.subject, body=rendered.body, severity=classification.severity)


def likely_to_breach(manifest: RunManifest, forecasts: str, settings: AlertsSettings) -> Alert:
    """The P3 notice that the run's source is trending toward a limit; `forecasts` says
    which, one line each, in figures only (no file name, no value of a record)."""
    return _alert(
        "likely_to_breach",
        manifest,
        classify(LIKELY_TO_BREACH, settings.errors),
        settings,
        stage=None,
        message=forecasts,
    )


def runbook_url(settings: AlertsSettings, anchor: str) -> str:
    """The section `anchor` of the incident-response guide."""
    return f"{settings.runbook_base_url.rstrip('/')}/incident-response.md#{anchor}"


def _alert(
    template: TemplateName,
    manifest: RunManifest,
    classification: Classification,
    settings: AlertsSettings,
    *,
    stage: str | None,
    message: str,
) -> Alert:
    rendered = render(
        template,
        {
            "run_id": manifest.run_id,
            "stage": stage or NO_STAGE,
            "status": manifest.status,
            "error_class": classification.error_class,
            "severity": classification.severity,
            "category": classification.category,
            "escalation": classification.escalation,
            "message": message,
            "rows_in": manifest.rows_in,
            "rows_loaded": manifest.rows_loaded,
            "rows_quarantined": manifest.rows_quarantined,
            "reasons": _reasons(manifest),
            "runbook_url": runbook_url(settings, classification.anchor),
        },
    )
    return Alert(subject=rendered.subject, body=rendered.body, severity=classification.severity)


def _reasons(manifest: RunManifest) -> str:
    counts: Counter[str] = Counter()
    for report in manifest.stages.values():
        counts.update(report.reasons)
    if not counts:
        return "none"
    return ", ".join(f"{code} {count}" for code, count in sorted(counts.items()))
