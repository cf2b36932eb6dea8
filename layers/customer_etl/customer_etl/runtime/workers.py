"""The local runner's worker processes: the chunks of a stage run side by side, one process
per core, each with its own ports built from the configuration.

A process pool from the standard library is enough: the work is CPU-bound pandas, one chunk
per task, and each worker keeps its ports (warehouse engine, API clients, cache) between its
tasks. Processes are forked, so a worker starts without importing the package again.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

from customer_etl.config.model import Config
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.run.pipeline import Ports, run_chunk
from customer_etl.run.settings import stage_settings

PortsFactory = Callable[[Config], Ports]

_PR_SET_PDEATHSIG = 1
_worker_ports: Ports | None = None
_worker_config: Config | None = None


def worker_count(config: Config) -> int:
    return config.pipeline.workers or os.cpu_count() or 1


def _start_worker(config: Config, build: PortsFactory) -> None:
    global _worker_ports, _worker_config
    # The runner coordinates: Ctrl-C in a terminal reaches the whole process group, and the
    # runner, not each worker, ends the run cleanly. A worker dies with its runner (Linux),
    # so a killed runner leaves no orphan behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _worker_config = config
    _worker_ports = build(config)


def _die_with_parent() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGKILL): the kernel kills this worker when its parent dies.
    Through ctypes because the standard library has no binding for it; elsewhere than Linux
    it does nothing."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _run_chunk(stage: str, manifest_json: str, chunk: int) -> tuple[int, str]:
    assert _worker_ports is not None and _worker_config is not None
    manifest = RunManifest.model_validate_json(manifest_json)
    settings = stage_settings(_worker_config, masking=stage == "transform")
    report = run_chunk(stage, manifest, chunk, _worker_ports, settings)
    return chunk, report.model_dump_json()


class ChunkPool:
    """Runs a stage's chunks on worker processes; closes with the run."""

    def __init__(self, config: Config, build: PortsFactory, workers: int) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(config, build),
        )

    def run(
        self,
        stage: str,
        manifest: RunManifest,
        chunks: Iterable[int],
        on_rows: Callable[[int], None] | None = None,
    ) -> None:
        """Run `stage` on `chunks`; the first chunk's error is raised once every running
        chunk has ended (their reports are kept: a resume does not run them again)."""
        text = manifest.model_dump_json()
        futures: list[Future[tuple[int, str]]] = [
            self._executor.submit(_run_chunk, stage, text, chunk) for chunk in chunks
        ]
        failure: BaseException | None = None
        for future in as_completed(futures):
            error = future.exception()
            if error is not None:
                failure = failure or error
                continue
            _, report = future.result()
            if on_rows is not None:
                on_rows(StageReport.model_validate_json(report).rows_in)
        if failure is not None:
            raise failure

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
