"""A cloud run's lineage (the state machine under moto, tests/state_machine_harness.py):
the Lambda functions' events, one START and one end per job though its chunks ran in many
invocations, each valid OpenLineage, with S3 checkpoints as datasets; a failed execution's
run ends with FAIL from the run-status function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from customer_etl.reference.sample import generate_customers
from tests.lineage_events import by_job, output, read_events, validate
from tests.state_machine_harness import (
    CHECKPOINTS,
    execute_input,
    landed,
    personal_values,
    run_status,
    status_event,
)


@pytest.fixture
def lineage_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lineage.ndjson"
    monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__TRANSPORT", "file")
    monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__FILE_PATH", str(path))
    return path


def test_a_cloud_run_tells_each_job_once_however_many_chunks_it_had(
    aws: dict[str, Any], lineage_file: Path
) -> None:
    sample = generate_customers(rows=60, seed=5, defect_rate=0.1)
    source = landed(aws, "incoming/traced.csv", sample.frame.to_csv(index=False).encode())

    result = execute_input(aws, source, name="run-traced")

    assert result["status"] == "SUCCEEDED", result
    events = read_events(lineage_file)
    assert by_job(events) == [
        ("pipeline", "START"),
        *[
            (f"pipeline.{stage}", kind)
            for stage in ("extract", "transform", "enrich", "load")
            for kind in ("START", "COMPLETE")
        ],
        ("pipeline", "COMPLETE"),
    ]
    for event in events:
        validate(event)
    [transform_start] = [e for e in events if by_job([e]) == [("pipeline.transform", "START")]]
    [transform_end] = [e for e in events if by_job([e]) == [("pipeline.transform", "COMPLETE")]]
    # Told once the chunks were done, at the time the first one started.
    assert transform_start["eventTime"] < transform_end["eventTime"]
    assert transform_start["run"]["runId"] == transform_end["run"]["runId"]
    names = {(d["namespace"], d["name"]) for d in transform_end["outputs"]}
    assert (f"s3://{CHECKPOINTS}", "runs/run-traced/transform/") in names
    assert (f"s3://{CHECKPOINTS}", "runs/run-traced/scores/") in names
    assert output(events[-1], ".customers")["name"] == "main.customers"
    text = lineage_file.read_text()
    assert not [value for value in personal_values(sample.frame) if value in text]


def test_a_failed_execution_ends_the_run_s_lineage_with_fail(
    aws: dict[str, Any], lineage_file: Path
) -> None:
    sample = generate_customers(rows=20, seed=3, defect_rate=0.0)
    without_email = sample.frame.drop(columns=["email"]).to_csv(index=False).encode()
    result = execute_input(aws, landed(aws, "incoming/bad.csv", without_email), name="run-bad")
    assert result["status"] == "FAILED"

    assert run_status(status_event(result))["action"] == "recorded_failure"

    events = read_events(lineage_file)
    assert by_job(events) == [
        ("pipeline", "START"),
        ("pipeline.extract", "START"),
        ("pipeline.extract", "FAIL"),
        ("pipeline", "FAIL"),
    ]
    for event in events:
        validate(event)
    assert events[-1]["run"]["facets"]["errorMessage"]["message"].startswith("InputFileError")
