"""Run the checks side by side, each timed and bounded by a timeout, and aggregate them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from time import perf_counter

from customer_etl.health.report import ComponentHealth, Finding, HealthReport, Status
from customer_etl.observability.telemetry import logger


@dataclass(frozen=True)
class Check:
    """One component's check. A failed `required` component makes the whole unhealthy; an
    optional one (an enrichment API: runs fall back without it) at worst degraded."""

    name: str
    probe: Callable[[], Finding]
    required: bool = True


def run_checks(checks: Sequence[Check], timeout_seconds: float) -> HealthReport:
    """Every check in its own thread, all started at once, so the whole answers within
    about `timeout_seconds`. A check still running then is reported as failed; its thread
    is left to finish on its own (Python cannot stop a thread), which is why each probe
    also sets its own I/O timeouts."""
    if not checks:
        return HealthReport.of([])
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    try:
        futures = [pool.submit(_timed, check) for check in checks]
        started = perf_counter()
        components = []
        for check, future in zip(checks, futures, strict=True):
            remaining = max(0.0, timeout_seconds - (perf_counter() - started))
            try:
                finding, latency_ms = future.result(timeout=remaining)
            except FutureTimeoutError:
                finding = Finding(
                    Status.UNHEALTHY, f"no answer within {timeout_seconds:g} s (timed out)"
                )
                latency_ms = timeout_seconds * 1000
            components.append(_component(check, finding, latency_ms))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    report = HealthReport.of(components)
    logger.info(
        "health checked",
        extra={
            "health_status": report.status.value,
            "components": {c.name: c.status.value for c in report.components},
        },
    )
    return report


def _timed(check: Check) -> tuple[Finding, float]:
    started = perf_counter()
    try:
        finding = check.probe()
    except Exception as error:
        # A probe should turn its own failures into findings; this is the safety net. The
        # error's text may quote a URL or a value, so only its class is shown.
        finding = Finding(Status.UNHEALTHY, f"check failed ({type(error).__name__})")
    return finding, round((perf_counter() - started) * 1000, 1)


def _component(check: Check, finding: Finding, latency_ms: float) -> ComponentHealth:
    status, message = finding.status, finding.message
    if not check.required and status is Status.UNHEALTHY:
        status, message = Status.DEGRADED, f"{message} (optional: runs fall back without it)"
    return ComponentHealth(check.name, status, latency_ms, message)
