"""The local runner: every stage of a run in one process, checkpoints on disk, resumable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from customer_etl.adapters.files import write_text_atomically
from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError, WarehouseUnavailableError
from customer_etl.core.manifest import RunManifest
from customer_etl.core.mapping import SourceMapping
from customer_etl.observability.telemetry import logger, raised_at
from customer_etl.reporting.run_report import save_run_report
from customer_etl.run.failure import record_failed_run
from customer_etl.run.pipeline import Ports, run_stage
from customer_etl.run.quality_gate import VALIDATING_STAGES, enforce
from customer_etl.run.retention import new_run_id
from customer_etl.run.settings import stage_settings
from customer_etl.run.summary import failure_alert, finished, run_record, summary
from customer_etl.runtime.console import Console
from customer_etl.runtime.log_file import run_log_file

MANIFEST_FILE = "manifest.json"
SUMMARY_FILE = "summary.json"


class RunFailedError(CustomerEtlError):
    """A run ended in failure; its summary and `etl_runs` row say why."""

    def __init__(self, manifest: RunManifest, message: str) -> None:
        super().__init__(message)
        self.manifest = manifest


class LocalRunner:
    """Runs the pipeline in this process.

    Example:
        >>> runner = LocalRunner(config, local_ports(config))  # doctest: +SKIP
        >>> runner.run(Path("data/sample/customers.csv")).status  # doctest: +SKIP
        'succeeded'
    """

    def __init__(self, config: Config, ports: Ports) -> None:
        self._config = config
        self._ports = ports
        self._root = config.pipeline.output_dir
        self._settings = stage_settings(config)
        self._console = Console(progress=config.observability.console_progress)
        logger.setLevel(config.observability.log_level)

    def run(
        self,
        source: Path,
        run_id: str | None = None,
        mapping: SourceMapping | None = None,
        replay_of: str | None = None,
    ) -> RunManifest:
        """Run every stage on `source`; `mapping` maps its headers, `replay_of` names the run
        whose corrected quarantined records it holds."""
        self._refuse_unusable_schema()
        manifest = RunManifest.start(run_id or new_run_id(), str(source)).model_copy(
            update={"mapping": mapping, "replay_of": replay_of}
        )
        return self._continue(manifest)

    def manifest(self, run_id: str) -> RunManifest:
        path = self._root / run_id / MANIFEST_FILE
        if not path.is_file():
            raise CustomerEtlError(f"no run {run_id} under {self._root}: check the run id")
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, manifest: RunManifest) -> None:
        """Write a run's manifest and summary (a replay updates its original run's)."""
        self._save(manifest)

    def resume(self, run_id: str) -> RunManifest:
        """Continue a failed run from the first stage it did not finish."""
        manifest = self.manifest(run_id)
        if manifest.status == "succeeded":
            return manifest
        self._refuse_unusable_schema()
        return self._continue(manifest.model_copy(update={"status": "running", "error": None}))

    def summary_path(self, run_id: str) -> Path:
        return self._root / run_id / SUMMARY_FILE

    def _refuse_unusable_schema(self) -> None:
        """Stop before the first stage when the warehouse schema is not the one this version
        needs (WarehouseSchemaError says to run `customer-etl db upgrade`). A warehouse that
        cannot be reached yet does not stop the run: the load retries, and a resume finishes."""
        try:
            self._ports.warehouse().check_schema()
        except WarehouseUnavailableError:
            logger.warning("warehouse unreachable before the run; the load will try again")

    def _continue(self, manifest: RunManifest) -> RunManifest:
        with run_log_file(self._config.observability.log_dir, manifest.run_id):
            return self._run_stages(manifest)

    def _run_stages(self, manifest: RunManifest) -> RunManifest:
        logger.append_keys(run_id=manifest.run_id)
        stage = manifest.next_stage()
        try:
            if stage not in (*VALIDATING_STAGES, None):
                # A resume of a run its thresholds stopped: judged again, with today's settings.
                enforce(manifest, self._config.quality, self._ports.notifier, self._config.alerts)
            while stage is not None:
                with self._console.stage(stage, manifest.rows_in or None) as advance:
                    manifest = run_stage(
                        stage,
                        manifest,
                        self._ports,
                        self._config.pipeline.chunk_rows,
                        self._settings,
                        on_rows=advance,
                    )
                self._console.stage_finished(stage, manifest.stages[stage])
                self._save(manifest)
                if stage == VALIDATING_STAGES[-1]:
                    enforce(
                        manifest, self._config.quality, self._ports.notifier, self._config.alerts
                    )
                stage = manifest.next_stage()
        except CustomerEtlError as error:
            self._fail(manifest, stage, type(error).__name__, str(error))
        except Exception as error:
            # An unexpected error's message may quote a value; operators get its class only.
            logger.error(
                "unexpected error",
                extra={
                    "stage": stage,
                    "error_class": type(error).__name__,
                    "raised_at": raised_at(error),
                },
            )
            self._fail(
                manifest,
                stage,
                type(error).__name__,
                f"unexpected {type(error).__name__} in stage {stage}: see the log, then resume",
            )
        manifest = finished(manifest)
        self._ports.warehouse().record_run(run_record(manifest))
        self._save(manifest)
        return manifest

    def _fail(
        self, manifest: RunManifest, stage: str | None, error_class: str, message: str
    ) -> None:
        failed = finished(manifest, error=message)
        self._save(failed)
        record_failed_run(self._ports.warehouse, failed)
        self._ports.notifier.send(failure_alert(failed, stage, error_class, self._config.alerts))
        logger.error("run failed", extra={"stage": stage, "error_class": error_class})
        raise RunFailedError(failed, message)

    def _save(self, manifest: RunManifest) -> None:
        folder = self._root / manifest.run_id
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(folder / MANIFEST_FILE, manifest.model_dump(mode="json"))
        _write_json(folder / SUMMARY_FILE, summary(manifest, self._warehouse_url()))
        if manifest.status != "running":  # an ended run, succeeded or failed; never raises
            save_run_report(manifest, folder)

    def _warehouse_url(self) -> str:
        try:
            return self._ports.warehouse().display_url
        except CustomerEtlError:
            return "unavailable"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, default=str) + "\n")
