"""The run-level metrics the alarms watch, as the EMF JSON Powertools prints: names, units
and dimension sets exactly as observability/metric_names.py (and so the CDK alarms) say."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from customer_etl.config import Config
from customer_etl.core.api_stats import ApiReport
from customer_etl.core.errors import UnexpectedStageError
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.core.quality_totals import QualityTotals
from customer_etl.observability import metric_names
from customer_etl.run.metrics import emit_run_failed, emit_run_finished, emit_stage_outcome
from customer_etl.run.summary import finished
from customer_etl.runtime import lambda_handlers
from customer_etl.runtime.lambda_handlers import stage_handler
from customer_etl.stages.enrich import EnrichmentDegradedError

START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def stage(rows_in: int, quarantined: int, **figures: Any) -> StageReport:
    return StageReport(
        rows_in=rows_in,
        rows_out=rows_in - quarantined,
        rows_quarantined=quarantined,
        duration_seconds=1.0,
        checkpoint_uri="s3://bucket/x.parquet",
        **figures,
    )


def run(*stages: str) -> RunManifest:
    reports = {
        "extract": stage(200, 0),
        "transform": stage(200, 20, quality=QualityTotals(records=180, score_sum=180 * 90.0)),
        "enrich": stage(
            180,
            0,
            apis={
                "postcodes.io": ApiReport(
                    calls=4, breaker_state_changes={"closed->open": 2, "open->half-open": 1}
                ),
                "companies_house": ApiReport(calls=3, breaker_state_changes={"half-open->open": 1}),
            },
        ),
        "load": stage(180, 0),
    }
    manifest = RunManifest.start("run-1", "s3://landing/customers.csv", now=START)
    return manifest.model_copy(update={"stages": {name: reports[name] for name in stages}})


def emitted(out: str) -> list[dict[str, Any]]:
    """Each metric printed as EMF: its name, unit, value and dimension set."""
    found = []
    for line in out.splitlines():
        blob = json.loads(line)
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        [dimensions] = directive["Dimensions"]
        for metric in directive["Metrics"]:
            found.append(
                {
                    "namespace": directive["Namespace"],
                    "name": metric["Name"],
                    "unit": metric["Unit"],
                    "value": _single(blob[metric["Name"]]),
                    "dimensions": {name: blob[name] for name in dimensions},
                }
            )
    return found


def _single(value: Any) -> Any:
    """Powertools may print one value as a one-item list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@pytest.fixture(params=[None, "some-other-service"])
def service_variable(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """With and without the service name Powertools reads from its environment variable: the
    alarms' `service` dimension must not depend on how a function is configured."""
    if request.param is None:
        monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", request.param)


@pytest.mark.usefixtures("service_variable")
def test_transform_emits_the_quality_score_with_the_service_dimension_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emit_stage_outcome("transform", run("extract", "transform"))
    assert emitted(capsys.readouterr().out) == [
        {
            "namespace": metric_names.NAMESPACE,
            "name": metric_names.RUN_QUALITY_SCORE,
            "unit": "None",
            "value": 90.0,
            "dimensions": metric_names.RUN_DIMENSIONS,
        }
    ]


@pytest.mark.usefixtures("service_variable")
def test_enrich_emits_how_often_each_api_circuit_opened(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emit_stage_outcome("enrich", run("extract", "transform", "enrich"))
    metrics = emitted(capsys.readouterr().out)
    assert {m["name"] for m in metrics} == {metric_names.BREAKER_OPENED}
    assert {m["dimensions"]["api"]: m["value"] for m in metrics} == {
        "postcodes.io": 2.0,
        "companies_house": 1.0,
    }
    assert {api for m in metrics for api in [m["dimensions"]["api"]]} <= set(metric_names.API_NAMES)
    for metric in metrics:
        assert metric["dimensions"] == {
            **metric_names.RUN_DIMENSIONS,
            "api": metric["dimensions"]["api"],
        }
        assert metric["unit"] == "Count"


def test_an_api_whose_circuit_never_opened_emits_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = run("extract")
    manifest.stages["enrich"] = stage(
        200, 0, apis={"postcodes.io": ApiReport(breaker_state_changes={"open->closed": 1})}
    )
    emit_stage_outcome("enrich", manifest)
    assert capsys.readouterr().out == ""


@pytest.mark.usefixtures("service_variable")
def test_a_finished_run_emits_its_quarantine_share_and_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ended = finished(run("extract", "transform", "enrich", "load")).model_copy(
        update={"finished_at": START + timedelta(seconds=75)}
    )
    emit_run_finished(ended)
    assert emitted(capsys.readouterr().out) == [
        {
            "namespace": metric_names.NAMESPACE,
            "name": metric_names.RUN_QUARANTINE_PERCENT,
            "unit": "Percent",
            "value": 10.0,
            "dimensions": metric_names.RUN_DIMENSIONS,
        },
        {
            "namespace": metric_names.NAMESPACE,
            "name": metric_names.RUN_DURATION,
            "unit": "Seconds",
            "value": 75.0,
            "dimensions": metric_names.RUN_DIMENSIONS,
        },
    ]


@pytest.mark.usefixtures("service_variable")
def test_a_failed_run_counts_one(capsys: pytest.CaptureFixture[str]) -> None:
    emit_run_failed()
    [metric] = emitted(capsys.readouterr().out)
    assert (metric["name"], metric["unit"], metric["value"]) == (
        metric_names.RUNS_FAILED,
        "Count",
        1.0,
    )
    assert metric["dimensions"] == metric_names.RUN_DIMENSIONS


@dataclass
class FakeLambdaContext:
    function_name: str = "customer-etl-transform"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:transform"
    aws_request_id: str = "request-1"


def test_a_failing_stage_attempt_counts_a_stage_failure_but_not_a_failed_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Step Functions may retry the attempt and succeed: the run's one RunsFailed comes from
    the run-failed function at the end of the Catch path (tests/unit/test_run_failure.py)."""
    handler = stage_handler("transform")
    with pytest.raises(Exception):  # noqa: B017 - any failure counts; which one is not the point
        handler({"not": "a manifest"}, FakeLambdaContext())  # type: ignore[arg-type]
    names = {m["name"] for m in emitted(capsys.readouterr().out)}
    assert "StageFailures" in names
    assert metric_names.RUNS_FAILED not in names


def test_an_enrich_stage_failing_on_its_fallback_ceiling_still_reports_its_circuit_openings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case the breaker alarm is for: the API went down and the run failed because of it."""
    apis = run("extract", "transform", "enrich").stages["enrich"].apis

    def degraded(*_: Any, **__: Any) -> Any:
        raise EnrichmentDegradedError("postcodes.io failed for 180 of 180 rows", apis)

    monkeypatch.setattr("customer_etl.runtime.lambda_handlers.run_stage_in_lambda", degraded)
    with pytest.raises(EnrichmentDegradedError):
        stage_handler("enrich")({}, FakeLambdaContext())  # type: ignore[arg-type]
    metrics = emitted(capsys.readouterr().out)
    opened = {
        m["dimensions"]["api"]: m["value"] for m in metrics if m["name"] == "ApiBreakerOpened"
    }
    assert opened == {"postcodes.io": 2.0, "companies_house": 1.0}
    assert "ApiCalls" in {m["name"] for m in metrics}


def test_an_unexpected_error_leaves_the_stage_function_as_a_stand_in_without_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*_: Any, **__: Any) -> Any:
        raise ValueError("could not parse jo@example.com")

    monkeypatch.setattr("customer_etl.runtime.lambda_handlers.run_stage_in_lambda", boom)
    with pytest.raises(UnexpectedStageError) as raised:
        stage_handler("transform")({}, FakeLambdaContext())  # type: ignore[arg-type]
    assert "unexpected ValueError in stage transform" in str(raised.value)
    assert "jo@example.com" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def kept_documents() -> SimpleNamespace:
    """Ports whose checkpoint store keeps the manifest the completion writes, and nothing
    else (these tests stop at the handler)."""
    kept: dict[str, str] = {}
    store = SimpleNamespace(put_document=lambda run_id, name, text: kept.setdefault(name, text))
    return SimpleNamespace(notifier=None, checkpoints=store)


# Powertools warns when a handler publishes no metric: that is the point here.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize(("done", "expected"), [(True, set()), (False, {"RowsIn", "RowsOut"})])
def test_a_stage_a_resume_finds_done_does_not_emit_its_figures_again(
    done: bool,
    expected: set[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A redriven completion passes through a stage already summed (docs/runbook.md)."""
    before = run("extract", "transform", "enrich") if done else run("extract", "transform")
    after = run("extract", "transform", "enrich")
    monkeypatch.setattr(lambda_handlers, "_config", lambda: Config(environment="dev"))
    monkeypatch.setattr(lambda_handlers, "cloud_ports", lambda config: kept_documents())
    monkeypatch.setattr(lambda_handlers, "complete_stage_with_lineage", lambda *_, **__: after)
    stage_handler("enrich")(before.model_dump(mode="json"), FakeLambdaContext())  # type: ignore[arg-type]
    names = {m["name"] for m in emitted(capsys.readouterr().out)}
    assert expected <= names
    if not expected:
        assert names == set()


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize("done", [True, False])
def test_a_resume_passing_through_transform_does_not_judge_the_quality_again(
    done: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quality gate judges once transform's chunks are summed, not on every redrive."""
    before = run("extract", "transform") if done else run("extract")
    judged: list[RunManifest] = []
    monkeypatch.setattr(lambda_handlers, "_config", lambda: Config(environment="dev"))
    monkeypatch.setattr(lambda_handlers, "cloud_ports", lambda config: kept_documents())
    monkeypatch.setattr(
        lambda_handlers, "complete_stage_with_lineage", lambda *_, **__: run("extract", "transform")
    )
    monkeypatch.setattr(lambda_handlers, "enforce", lambda manifest, *_: judged.append(manifest))
    stage_handler("transform")(before.model_dump(mode="json"), FakeLambdaContext())  # type: ignore[arg-type]
    assert len(judged) == (0 if done else 1)
