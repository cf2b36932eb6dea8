"""Local adapters: files on disk for inputs, checkpoints and quarantine; the log or SMTP
for alerts."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pyarrow as pa

from customer_etl.adapters.parquet_files import ParquetFileWriter, read_parquet_chunks
from customer_etl.config.model import AlertsSettings
from customer_etl.errors import InputFileError
from customer_etl.observability import logger
from customer_etl.ports import Alert, QuarantineBatch

_FILE_SCHEME = "file://"


def _local_path(uri: str) -> Path:
    return Path(uri[len(_FILE_SCHEME) :] if uri.startswith(_FILE_SCHEME) else uri)


class LocalInputStore:
    def fetch(self, uri: str) -> Path:
        path = _local_path(uri)
        if not path.is_file():
            raise InputFileError(f"input file {path.name} not found: check the path")
        return path


class LocalCheckpointStore:
    """Checkpoints at `<root>/<run_id>/<stage>.parquet`."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, run_id: str, stage: str) -> Path:
        return self._root / run_id / f"{stage}.parquet"

    def writer(self, run_id: str, stage: str, schema: object) -> ParquetFileWriter:
        assert isinstance(schema, pa.Schema)
        return ParquetFileWriter(self._path(run_id, stage), schema, publish=str)

    def read_chunks(self, uri: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
        return read_parquet_chunks(_local_path(uri), chunk_rows)


class LocalQuarantineSink:
    """Quarantined rows at `<root>/<run_id>/quarantine/<stage>.parquet`; notices to the log."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def writer(self, run_id: str, stage: str, schema: object) -> ParquetFileWriter:
        assert isinstance(schema, pa.Schema)
        path = self._root / run_id / "quarantine" / f"{stage}.parquet"
        return ParquetFileWriter(path, schema, publish=str)

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


class LogNotifier:
    """Alerts as warning lines in the log, for machines without an SMTP relay."""

    def send(self, alert: Alert) -> None:
        logger.warning("alert", extra={"subject": alert.subject, "body": alert.body})


class SmtpNotifier:
    """Alerts by email through an SMTP relay."""

    def __init__(self, settings: AlertsSettings, password: str | None) -> None:
        if not settings.smtp.host:
            raise ValueError("SmtpNotifier needs alerts.smtp.host")
        self._settings = settings
        self._password = password

    def send(self, alert: Alert) -> None:
        smtp = self._settings.smtp
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = self._settings.email.from_address
        message["To"] = ", ".join(self._settings.email.to)
        message.set_content(alert.body)
        assert smtp.host is not None
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username and self._password is not None:
                client.login(smtp.username, self._password)
            client.send_message(message)
