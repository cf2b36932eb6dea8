"""Local adapters: files on disk for inputs, checkpoints and quarantine; the log or SMTP
for alerts. The runs folder is owner-only (folders 0700, files 0600) and its Parquet files
are encrypted under a key of their run (adapters/parquet_crypto.py)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from customer_etl.adapters.files import write_text_atomically
from customer_etl.adapters.parquet_crypto import LocalRunArtefacts
from customer_etl.adapters.parquet_files import ParquetFileWriter, read_parquet_chunks
from customer_etl.adapters.private_files import private_folder
from customer_etl.config.model import AlertsSettings
from customer_etl.core.errors import InputFileError
from customer_etl.core.ports import Alert, QuarantineBatch
from customer_etl.observability.telemetry import logger

_FILE_SCHEME = "file://"


def _local_path(uri: str) -> Path:
    return Path(uri[len(_FILE_SCHEME) :] if uri.startswith(_FILE_SCHEME) else uri)


class LocalInputStore:
    def fetch(self, uri: str, version: str | None = None) -> Path:
        """The file itself: the run records its identity (size, time, inode, content hash)
        and refuses it when it changed, so no version is kept here."""
        path = _local_path(uri)
        if path.is_dir():
            raise InputFileError(
                f"input {path.name} is a directory, not a file: give the path of the CSV file "
                "inside it"
            )
        if not path.is_file():
            raise InputFileError(f"input file {path.name} not found: check the path")
        return path


def _artefact_writer(
    artefacts: LocalRunArtefacts, run_id: str, path: Path, schema: object
) -> ParquetFileWriter:
    """An encrypted, owner-only Parquet writer at `path` in run `run_id`'s folder; the URI it
    publishes is relative to the runs folder."""
    assert isinstance(schema, pa.Schema)
    root = artefacts.root
    private_folder(path.parent, base=root)
    return ParquetFileWriter(
        path,
        schema,
        publish=lambda done: done.relative_to(root).as_posix(),
        encryption=lambda: artefacts.encryption(run_id),
    )


class LocalCheckpointStore:
    """Checkpoints at `<root>/<run_id>/<stage>/chunk-00000.parquet` (`stage` names the
    chunk), documents beside them. Without `artefacts` (tests of the store alone) files are
    plaintext."""

    def __init__(self, root: Path, artefacts: LocalRunArtefacts | None = None) -> None:
        self._root = root
        self.artefacts = artefacts or LocalRunArtefacts(root, lambda: None)

    def _path(self, run_id: str, stage: str) -> Path:
        return self._root / run_id / f"{stage}.parquet"

    def writer(self, run_id: str, stage: str, schema: object) -> ParquetFileWriter:
        return _artefact_writer(self.artefacts, run_id, self._path(run_id, stage), schema)

    def read_chunks(self, uri: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
        path = self.resolve(uri)
        return read_parquet_chunks(path, chunk_rows, self._parquet_file(path))

    def _parquet_file(self, path: Path) -> pq.ParquetFile | None:
        """The file opened with its run's key; a checkpoint outside the runs folder (an
        absolute URI of an older run that was moved) is read as plaintext, as it was written."""
        return self.artefacts.parquet_file(path) if path.is_relative_to(self._root) else None

    def resolve(self, uri: str) -> Path:
        """A checkpoint's path: URIs are relative to the runs folder (so a runs folder can be
        moved or copied and still resumed); absolute ones, of runs made before, stay."""
        path = _local_path(uri)
        return path if path.is_absolute() else self._root / path

    def _relative(self, path: Path) -> str:
        return path.relative_to(self._root).as_posix()

    def put_document(self, run_id: str, name: str, text: str) -> str:
        path = self._root / run_id / name
        private_folder(path.parent, base=self._root)
        write_text_atomically(path, text)
        return str(path)

    def get_document(self, run_id: str, name: str) -> str | None:
        path = self._root / run_id / name
        return path.read_text(encoding="utf-8") if path.is_file() else None


class LocalQuarantineSink:
    """Quarantined rows at `<root>/<run_id>/quarantine/<stage>/chunk-00000.parquet`
    (encrypted as the checkpoints are); notices to the log."""

    def __init__(self, root: Path, artefacts: LocalRunArtefacts | None = None) -> None:
        self._root = root
        self._artefacts = artefacts or LocalRunArtefacts(root, lambda: None)

    def writer(self, run_id: str, stage: str, schema: object) -> ParquetFileWriter:
        path = self._root / run_id / "quarantine" / f"{stage}.parquet"
        return _artefact_writer(self._artefacts, run_id, path, schema)

    def announce(self, run_id: str, stage: str, batch: QuarantineBatch) -> None:
        logger.warning(
            "rows quarantined",
            extra={
                "run_id": run_id,
                "stage": stage,
                "rows": batch.rows,
                "reasons": dict(batch.reasons),
                "rules": dict(batch.rules),
            },
        )

    def announce_failed_run(
        self,
        run_id: str,
        stage: str | None,
        error_class: str,
        error: str | None,
        execution: str,
        status: str,
    ) -> None:
        logger.warning(
            "run failed",
            extra={"run_id": run_id, "stage": stage, "status": status, "error_class": error_class},
        )


class LogNotifier:
    """Alerts as warning lines in the log, for machines without an SMTP relay."""

    def send(self, alert: Alert) -> None:
        logger.warning(
            "alert",
            extra={"severity": alert.severity, "subject": alert.subject, "body": alert.body},
        )


class SmtpNotifier:
    """Alerts by email through an SMTP relay: STARTTLS (certificate checked) unless
    `alerts.smtp.starttls` is false, then a login when a user name is set.

    An alert that cannot be sent is written to the log instead and the run goes on: the
    run's outcome matters more than its alert, and the same failure must not be reported
    as a second one. The log line holds the alert (ids, counts, error classes) and the
    SMTP error's class, never its message, which can quote recipients' addresses.

    Example:
        >>> SmtpNotifier(config.alerts, password=None).send(alert)  # doctest: +SKIP
    """

    def __init__(self, settings: AlertsSettings, password: str | None) -> None:
        if not settings.smtp.host:
            raise ValueError("SmtpNotifier needs alerts.smtp.host")
        self._settings = settings
        self._password = password

    def send(self, alert: Alert) -> None:
        try:
            self._send(alert)
        except (smtplib.SMTPException, OSError) as error:
            logger.error(
                "alert not sent by SMTP; it is logged here instead",
                extra={
                    "error_class": type(error).__name__,
                    "smtp_host": self._settings.smtp.host,
                    "severity": alert.severity,
                    "subject": alert.subject,
                    "body": alert.body,
                },
            )

    def _send(self, alert: Alert) -> None:
        smtp = self._settings.smtp
        assert smtp.host is not None  # checked in __init__
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = self._settings.email.from_address
        message["To"] = ", ".join(self._settings.email.to)
        if alert.severity:
            message["X-Customer-ETL-Severity"] = alert.severity
        message.set_content(alert.body)
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
            if smtp.starttls:
                # Raises SMTPNotSupportedError when the server does not offer STARTTLS:
                # credentials and alerts are never sent in clear by surprise.
                client.starttls(context=ssl.create_default_context(cafile=smtp.ca_file))
            if smtp.username:
                client.login(smtp.username, self._password or "")
            client.send_message(message)
