"""`customer-etl compliance report [--out FILE.html]`: the compliance page of a local
installation (reporting/compliance_report.py), from the configuration (classification
policies, retention classes), the warehouse, the runs folder and the log folder."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from customer_etl.adapters.private_files import write_private_text
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.compliance import consent_counts, customers_past
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.adapters.warehouse.subjects import SubjectStore
from customer_etl.config import Config
from customer_etl.config.privacy import CLASS_OF_COLUMN
from customer_etl.core.classification import ClassificationReport
from customer_etl.core.manifest import STAGES, RunManifest
from customer_etl.reporting.compliance_report import (
    BreachIndicators,
    ComplianceReport,
    Consent,
    FieldBasis,
    QuarantineAge,
    StoreRetention,
    UnexpectedColumn,
    render_compliance_html,
)
from customer_etl.run.pipeline import CLASSIFICATION_DOCUMENT
from customer_etl.runtime.local_runner import MANIFEST_FILE

DAY_SECONDS = 86_400
DECRYPTION_ERROR = "DecryptionError"
CHECKPOINT_FOLDERS = (*STAGES, "scores")


def add_compliance_arguments(
    compliance: argparse.ArgumentParser,
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    commands = compliance.add_subparsers(dest="compliance_command", required=True)
    report = with_config(
        commands.add_parser("report", help="lawful basis, consent, retention, breach indicators")
    )
    report.add_argument("--runs", type=Path, metavar="DIR", help="runs folder to look at")
    report.add_argument(
        "--out",
        dest="compliance_file",
        type=Path,
        help="file to write (default: reports/compliance-<date>.html beside the runs folder)",
    )


def field_bases(config: Config) -> list[FieldBasis]:
    """Each personal field of the record: its class, handling and retention class, and that
    class's lawful basis, purpose and period."""
    policies = config.privacy.classification.policies
    classes = config.retention.effective_classes()
    bases = []
    for column, data_class in CLASS_OF_COLUMN.items():
        policy = policies[data_class]
        retention = classes.get(policy.retention_class)
        bases.append(
            FieldBasis(
                column=column,
                data_class=data_class.value,
                handling=policy.handling,
                retention_class=policy.retention_class,
                lawful_basis=retention.lawful_basis if retention else None,
                purpose=retention.purpose if retention else None,
                period_days=retention.period_days if retention else None,
            )
        )
    return bases


def _ages(files: Iterable[Path], now: float) -> Iterator[float]:
    for file in files:
        try:
            yield (now - file.stat().st_mtime) / DAY_SECONDS
        except OSError:  # removed meanwhile (a retention job)
            continue


def _split(ages: Iterable[float], period_days: int) -> tuple[int, int]:
    listed = list(ages)
    past = sum(age > period_days for age in listed)
    return len(listed) - past, past


def _run_folders(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def store_files(config: Config, store: str) -> list[Path] | None:
    """The files of a file store, whose age is their modification time (the run, or the
    report, that wrote them); None for a store not measured here (the enrichment cache:
    each answer carries its own expiry)."""
    runs = config.pipeline.output_dir
    if store == "checkpoints":
        return [
            f
            for run in _run_folders(runs)
            for folder in CHECKPOINT_FOLDERS
            for f in (run / folder).glob("*.parquet")
        ]
    if store == "quarantine":
        return [f for run in _run_folders(runs) for f in (run / "quarantine").rglob("*.parquet")]
    if store == "logs":
        return sorted(config.observability.log_dir.glob("*.jsonl"))
    if store == "reports":
        folder = runs.parent / "reports"
        return sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    return None


def retention_by_store(
    config: Config, warehouse: SqlWarehouse, now: datetime
) -> list[StoreRetention]:
    rows = []
    for name, retention in config.retention.effective_classes().items():
        for store in retention.stores:
            if store == "warehouse_customers":
                within, past = customers_past(
                    warehouse, retention.runs_from, retention.period_days, now
                )
                counts: tuple[int | None, int | None] = (within, past)
            else:
                files = store_files(config, store)
                counts = (
                    _split(_ages(files, now.timestamp()), retention.period_days)
                    if files is not None
                    else (None, None)
                )
            rows.append(
                StoreRetention(
                    name, store, retention.period_days, retention.runs_from, counts[0], counts[1]
                )
            )
    return rows


Document = TypeVar("Document", bound=BaseModel)


def _kept(runs: Path, name: str, model: type[Document]) -> Iterator[tuple[Path, Document]]:
    """Each kept run's document `name`, read as `model`; a run without it, or with one that
    does not read (an older format, a half-deleted folder), is passed over."""
    for folder in _run_folders(runs):
        path = folder / name
        try:
            if path.is_file():
                yield folder, model.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError):
            continue


def quarantine_ages(runs: Path, now: datetime) -> list[QuarantineAge]:
    """Per kept run: its records still quarantined (not recovered by a replay) and its age."""
    ages = []
    for _, manifest in _kept(runs, MANIFEST_FILE, RunManifest):
        still = manifest.rows_quarantined - len(manifest.recovered_source_rows)
        if still > 0:
            ended = manifest.finished_at or manifest.started_at
            ages.append(
                QuarantineAge(manifest.run_id, still, (now - ended).total_seconds() / DAY_SECONDS)
            )
    return ages


def unexpected_columns(runs: Path) -> list[UnexpectedColumn]:
    """Extra (non-canonical) columns of the kept runs' files that hold personal data with
    confidence and that no configuration said to drop: the files that failed their run for
    it (UnexpectedPersonalDataError), and any other surprise."""
    found = []
    for folder, report in _kept(runs, CLASSIFICATION_DOCUMENT, ClassificationReport):
        for finding in report.personal_columns:
            if finding.role == "extra" and finding.handling != "drop":
                assert finding.data_class is not None  # personal_columns have one
                found.append(
                    UnexpectedColumn(
                        folder.name, finding.column, finding.data_class.value, finding.handling
                    )
                )
    return found


def decryption_failures(log_dir: Path) -> int | None:
    """Log lines of a DecryptionError in the kept log files (a token or a run's file that
    would not open: altered, moved, or under a lost key); None when there is no log."""
    files = sorted(log_dir.glob("*.jsonl")) if log_dir.is_dir() else []
    if not files:
        return None
    count = 0
    for file in files:
        try:
            with file.open(encoding="utf-8") as lines:
                for line in lines:
                    if DECRYPTION_ERROR in line and _error_class(line) == DECRYPTION_ERROR:
                        count += 1
        except OSError:
            continue
    return count


def _error_class(line: str) -> str | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry.get("error_class") if isinstance(entry, dict) else None


def subject_request_ages(warehouse: SqlWarehouse, now: datetime) -> list[float] | None:
    """The ages in days of the open requests of the subject request register
    (`subject_requests`, docs/governance/subject-requests.md)."""
    return [
        (now - request.requested_at).total_seconds() / DAY_SECONDS
        for request in SubjectStore(warehouse).requests(open_only=True)
    ]


def build_compliance_report(config: Config, now: datetime | None = None) -> ComplianceReport:
    now = now or datetime.now(UTC)
    runs = config.pipeline.output_dir
    warehouse = build_warehouse(config)
    try:
        total, consented = consent_counts(warehouse)
        retention = retention_by_store(config, warehouse, now)
        requests = subject_request_ages(warehouse, now)
    finally:
        warehouse.dispose()
    quarantine_class = config.retention.class_of_store("quarantine")
    return ComplianceReport(
        generated_at=now,
        fields=field_bases(config),
        consent=Consent(total, consented),
        retention=retention,
        subject_request_ages=requests,
        quarantine=quarantine_ages(runs, now),
        quarantine_period_days=quarantine_class[1].period_days if quarantine_class else None,
        breaches=BreachIndicators(
            unexpected_columns(runs), decryption_failures(config.observability.log_dir)
        ),
    )


def write_compliance_report(args: argparse.Namespace, config: Config) -> str:
    report = build_compliance_report(config)
    target: Path = args.compliance_file or (
        config.pipeline.output_dir.parent
        / "reports"
        / f"compliance-{report.generated_at.date().isoformat()}.html"
    )
    write_private_text(target, render_compliance_html(report))
    score = f"{report.score:g}" if report.score is not None else "not available"
    return (
        f"compliance report: score {score}; {report.breaches.count} breach indicator(s); "
        f"wrote {target}"
    )
