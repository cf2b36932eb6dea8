"""The local runner: every stage of a run in one process, checkpoints on disk, resumable."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer_etl.adapters.files import write_text_atomically
from customer_etl.adapters.private_files import private_folder
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.config.model import Config
from customer_etl.core.errors import (
    CustomerEtlError,
    RunIdInUseError,
    RunInterruptedError,
    WarehouseUnavailableError,
)
from customer_etl.core.manifest import RunManifest
from customer_etl.core.mapping import SourceMapping
from customer_etl.core.ports import RUN_JOB, LineageEvent
from customer_etl.observability.telemetry import logger, raised_at
from customer_etl.reporting.run_report import save_run_report
from customer_etl.run.failure import record_failed_run
from customer_etl.run.incidents import open_incident, resolve_incident
from customer_etl.run.pipeline import Ports, complete_stage, run_stage, with_lineage
from customer_etl.run.quality_gate import VALIDATING_STAGES, enforce
from customer_etl.run.retention import new_run_id
from customer_etl.run.settings import stage_settings
from customer_etl.run.summary import failure_alert, finished, run_record, summary
from customer_etl.runtime.breach_notice import notify_likely_breaches
from customer_etl.runtime.console import Console
from customer_etl.runtime.drift_notice import check_drift
from customer_etl.runtime.identity import local_identity
from customer_etl.runtime.incidents import incident_desk
from customer_etl.runtime.log_file import run_log_file
from customer_etl.runtime.preflight import check_before_stages, check_runs_folder
from customer_etl.runtime.workers import ChunkPool, PortsFactory, worker_count

MANIFEST_FILE = "manifest.json"
SUMMARY_FILE = "summary.json"


class RunFailedError(CustomerEtlError):
    """A run ended in failure; its summary and `etl_runs` row say why."""

    def __init__(self, manifest: RunManifest, message: str, error_class: str = "") -> None:
        super().__init__(message)
        self.manifest = manifest
        self.error_class = error_class
        """The class name of the error that failed the run (the CLI's exit code reads it)."""


class LocalRunner:
    """Runs the pipeline in this process.

    Example:
        >>> runner = LocalRunner(config, local_ports(config))  # doctest: +SKIP
        >>> runner.run(Path("data/sample/customers.csv")).status  # doctest: +SKIP
        'succeeded'
    """

    def __init__(
        self, config: Config, ports: Ports, ports_factory: PortsFactory | None = None
    ) -> None:
        """`ports_factory` builds each worker process's own ports: without one (a caller
        with ports of its own making), every chunk runs in this process."""
        self._config = config
        self._ports = ports
        self._ports_factory = ports_factory
        self._latest: RunManifest | None = None
        """The run's manifest as of its last finished stage (what an interruption saves)."""
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
        run_id = run_id or new_run_id()
        if (self._root / run_id / MANIFEST_FILE).exists():
            # Reusing it would overwrite the run's files and its audit trail's meaning.
            raise RunIdInUseError(
                f"run {run_id} exists under {self._root}: finish it with `customer-etl resume "
                f"{run_id}`, or leave --run-id out to start a new run"
            )
        check_runs_folder(self._root)
        self._refuse_unusable_schema()
        manifest = RunManifest.start(run_id, str(source)).model_copy(
            update={"mapping": mapping, "replay_of": replay_of, "triggered_by": local_identity()}
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
            logger.info("run already succeeded; nothing to resume", extra={"run_id": run_id})
            return manifest
        self._refuse_unusable_schema()
        resumed = manifest.model_copy(
            update={"status": "running", "error": None, "attempts": manifest.attempts + 1}
        )
        return self._continue(resumed)

    def summary_path(self, run_id: str) -> Path:
        return self._root / run_id / SUMMARY_FILE

    def _refuse_unusable_schema(self) -> None:
        """Refuse to start a run (none is created) when the warehouse schema is not the one
        this version needs: WarehouseSchemaError says to run `customer-etl db upgrade`. A
        warehouse that cannot be reached is left to the checks before the first stage
        (`preflight`), which fail the run itself, so that a resume can finish it."""
        with suppress(WarehouseUnavailableError):
            self._ports.warehouse().check_schema()

    def _continue(self, manifest: RunManifest) -> RunManifest:
        with run_log_file(self._config.observability.log_dir, manifest.run_id):
            return self._run_stages(manifest)

    def _run_stages(self, manifest: RunManifest) -> RunManifest:
        logger.append_keys(run_id=manifest.run_id)
        self._record_start(manifest)
        pool = self._pool()
        try:
            with stop_on_sigterm():
                return self._stages(manifest, pool)
        except KeyboardInterrupt as interruption:
            signal_name = "SIGTERM" if isinstance(interruption, Terminated) else "Ctrl-C"
            raise self._interrupted(self._latest or manifest, signal_name) from None
        finally:
            if pool is not None:
                pool.close()

    def _record_start(self, manifest: RunManifest) -> None:
        """The run's `etl_runs` row from its start (status `running`), so a run that dies
        (SIGKILL, a power cut) leaves a trace; a warehouse not reachable yet is no reason to
        stop (the load retries it)."""
        try:
            self._ports.warehouse().record_run(run_record(manifest))
        except CustomerEtlError as error:
            logger.warning(
                "could not record the run's start", extra={"error_class": type(error).__name__}
            )

    def _pool(self) -> ChunkPool | None:
        workers = worker_count(self._config)
        if self._ports_factory is None or workers < 2:
            return None
        return ChunkPool(self._config, self._ports_factory, workers)

    def _stages(self, manifest: RunManifest, pool: ChunkPool | None) -> RunManifest:
        self._latest = manifest
        stage = manifest.next_stage()
        try:
            # On disk from the start, so a run killed before its first stage ends resumes;
            # this first save also finds a runs folder that cannot be written.
            self._save(manifest)
            self._ports.lineage.emit(LineageEvent("START", RUN_JOB, manifest))
            check_before_stages(manifest, self._ports)
            if stage not in (*VALIDATING_STAGES, None):
                # A resume of a run its thresholds stopped: judged again, with today's settings.
                enforce(manifest, self._config.quality, self._ports.notifier, self._config.alerts)
            while stage is not None:
                with self._console.stage(stage, manifest.rows_in or None) as advance:
                    manifest = self._run_stage(stage, manifest, pool, advance)
                self._console.stage_finished(stage, manifest.stages[stage])
                self._save(manifest)
                self._latest = manifest
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
        self._ports.lineage.emit(LineageEvent("COMPLETE", RUN_JOB, manifest))
        if manifest.attempts > 1:  # a resume finished it: the failure's incident is over
            desk = incident_desk(self._config.alerts.incidents)
            if resolved := resolve_incident(
                desk, manifest.run_id, manifest.attempts, self._ports.checkpoints
            ):
                manifest = manifest.model_copy(update={"incident": resolved.number})
        # Its own row is in etl_runs now: the trend it sees includes this run.
        notify_likely_breaches(self._ports.warehouse, self._ports.notifier, manifest, self._config)
        manifest = check_drift(
            self._ports.warehouse, self._ports.notifier, manifest, self._config.alerts
        )
        self._save(manifest)
        return manifest

    def _run_stage(
        self,
        stage: str,
        manifest: RunManifest,
        pool: ChunkPool | None,
        on_rows: Callable[[int], None],
    ) -> RunManifest:
        """A stage over its chunks: on the workers, when there are several chunks and the
        stage may run side by side (SQLite takes one writer: its loads stay here)."""
        chunk_rows = self._config.pipeline.chunk_rows
        if stage == "load":
            warehouse = self._ports.warehouse()
            if isinstance(warehouse, SqlWarehouse) and warehouse.dialect == "sqlite":
                with warehouse.writer_turn():
                    return run_stage(
                        stage, manifest, self._ports, chunk_rows, self._settings, on_rows
                    )
        several = (manifest.chunks or 1) > 1
        if pool is None or stage == "extract" or not several or stage in manifest.stages:
            return run_stage(stage, manifest, self._ports, chunk_rows, self._settings, on_rows)

        def on_workers() -> RunManifest:
            logger.info("stage started", extra={"stage": stage, "run_id": manifest.run_id})
            pool.run(stage, manifest, manifest.chunk_range(), on_rows)
            return complete_stage(stage, manifest, self._ports)

        return with_lineage(stage, manifest, self._ports.lineage, on_workers)

    def _fail(
        self, manifest: RunManifest, stage: str | None, error_class: str, message: str
    ) -> None:
        failed = finished(manifest, error=message)
        # The alert and the run's row come first and whatever else fails: the run's own
        # files may be what cannot be written (a full disk).
        record_failed_run(self._ports.warehouse, failed)
        self._ports.lineage.emit(LineageEvent("FAIL", RUN_JOB, failed, error_class))
        alert = failure_alert(failed, stage, error_class, self._config.alerts)
        self._ports.notifier.send(alert)
        logger.error("run failed", extra={"stage": stage, "error_class": error_class})
        desk = incident_desk(self._config.alerts.incidents)
        if opened := open_incident(
            desk, alert, failed.run_id, error_class, self._ports.checkpoints
        ):
            failed = failed.model_copy(update={"incident": opened.number})
            # The row went first, before the tool was asked: it now names the incident.
            record_failed_run(self._ports.warehouse, failed)
        self._save_if_possible(failed)
        raise RunFailedError(failed, message, error_class)

    def _interrupted(self, manifest: RunManifest, signal_name: str) -> RunInterruptedError:
        """End a run stopped by a signal cleanly: its manifest and row say `interrupted`."""
        stopped = manifest.model_copy(
            update={
                "status": "interrupted",
                "error": f"interrupted by {signal_name}; `customer-etl resume` finishes it",
                "finished_at": datetime.now(UTC),
            }
        )
        record_failed_run(self._ports.warehouse, stopped)
        self._ports.lineage.emit(LineageEvent("ABORT", RUN_JOB, stopped, signal_name))
        self._save_if_possible(stopped)
        logger.warning("run interrupted", extra={"signal": signal_name})
        return RunInterruptedError(
            f"run {manifest.run_id} was interrupted by {signal_name}: resume it with "
            f"`customer-etl resume {manifest.run_id}`"
        )

    def _save_if_possible(self, manifest: RunManifest) -> None:
        try:
            self._save(manifest)
        except (CustomerEtlError, OSError) as error:
            logger.error(
                "could not write the run's manifest and summary",
                extra={"error_class": type(error).__name__},
            )

    def _save(self, manifest: RunManifest) -> None:
        folder = private_folder(self._root / manifest.run_id, base=self._root)
        _write_json(folder / MANIFEST_FILE, manifest.model_dump(mode="json"))
        _write_json(folder / SUMMARY_FILE, summary(manifest, self._warehouse_url()))
        if manifest.status != "running":  # an ended run, succeeded or failed; never raises
            save_run_report(manifest, folder)

    def _warehouse_url(self) -> str:
        try:
            return self._ports.warehouse().display_url
        except CustomerEtlError:
            return "unavailable"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is, as Ctrl-C raises KeyboardInterrupt."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While active (in the main thread), SIGTERM stops the run as Ctrl-C does: between two
    statements, so the run can record that it was interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, default=str) + "\n")
