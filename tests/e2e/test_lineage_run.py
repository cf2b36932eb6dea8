"""A local run's lineage: the OpenLineage events its file transport writes beside it, each
valid against the spec's JSON schemas, with the datasets, column lineage, classification
and quality figures a catalog reads, never a value of the input; a transport that fails
costs a warning, never the run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.adapters.warehouse.tables import customers
from customer_etl.config.lineage import LINEAGE_FILE
from tests.e2e.local_workspace import REPO, Workspace
from tests.e2e.run_logs import run_log_records
from tests.fakes.lineage_api import FakeLineageApi, serve_lineage_api
from tests.lineage_events import by_job, facets, output, read_events, validate

SAMPLE = REPO / "data" / "sample" / "customers.csv"
STAGE_EVENTS = [
    (f"pipeline.{stage}", kind)
    for stage in ("extract", "transform", "enrich", "load")
    for kind in ("START", "COMPLETE")
]


def test_every_event_of_a_run_is_valid_openlineage_and_tells_its_lineage(
    workspace: Workspace,
) -> None:
    assert workspace.pipeline(SAMPLE, "--run-id", "traced") == 0

    events = read_events(workspace.runs / "traced" / LINEAGE_FILE)

    assert by_job(events) == [
        ("pipeline", "START"),
        *STAGE_EVENTS,
        ("pipeline", "COMPLETE"),
    ]
    for event in events:
        validate(event)
    # docs/lineage.md's table of facets is what the events carry (errorMessage: on FAIL).
    documented = _documented_facets()
    seen = {where.rsplit(".", 1)[-1] for event in events for where, _ in facets(event)}
    assert documented == seen | {"errorMessage"}
    run_ids = {event["job"]["name"]: event["run"]["runId"] for event in events}
    parents = {
        event["run"]["facets"]["parent"]["run"]["runId"]
        for event in events
        if event["job"]["name"] != "pipeline"
    }
    assert parents == {run_ids["pipeline"]}, "every stage is a child of the run"
    assert len(set(run_ids.values())) == 5

    [load] = [e for e in events if by_job([e]) == [("pipeline.load", "COMPLETE")]]
    table = output(load, ".customers")
    assert table["namespace"] == f"sqlite://{(workspace.root / 'warehouse.db').resolve()}"
    assert table["name"] == "main.customers"
    # The schema facet names exactly the table's columns.
    schema = [field["name"] for field in table["facets"]["schema"]["fields"]]
    assert schema == [column.name for column in customers.columns]
    columns = table["facets"]["columnLineage"]["fields"]
    [email] = columns["email"]["inputFields"]
    assert email["name"].endswith("/traced/enrich")
    assert email["transformations"][0]["masking"] is True
    assert email["transformations"][0]["description"].startswith("encrypted")
    assert {f["field"] for f in columns["email_bidx"]["inputFields"]} == {"email"}
    assert {f["field"] for f in columns["post_town"]["inputFields"]} == {"post_town"}
    assert (
        table["outputFacets"]["outputStatistics"]["rowCount"]
        == workspace.query("select count(*) from customers")[0][0]
    )

    run_complete = events[-1]
    [source] = run_complete["inputs"]
    assert (source["namespace"], source["name"]) == ("file", str(SAMPLE))
    tags = {(t["field"], t["key"]): t["value"] for t in source["facets"]["tags"]["tags"]}
    assert tags[("email", "personal_data_class")] == "email"
    assert tags[("email", "handling")] == "encrypt"
    assert ("customer_id", "personal_data_class") not in tags
    # The run's column lineage goes from the source's columns to the warehouse's.
    traced = output(run_complete, ".customers")["facets"]["columnLineage"]["fields"]
    assert [(f["name"], f["field"]) for f in traced["phone"]["inputFields"]] == [
        (str(SAMPLE), "phone")
    ]
    assert {f["field"] for f in traced["post_town"]["inputFields"]} == {"postcode", "country"}
    assert traced["post_town"]["inputFields"][0]["transformations"][0]["masking"] is False
    quality = source["inputFacets"]["dataQualityMetrics"]
    summary = json.loads((workspace.runs / "traced" / "summary.json").read_text())
    assert quality["rowCount"] == summary["rows_in"] == 1000
    scored = quality["columnMetrics"]["quality_score"]
    assert round(scored["sum"] / scored["count"], 1) == round(summary["quality_score"], 1)
    assert {output(run_complete, f".{t}")["name"] for t in ("customers", "etl_runs")} == {
        "main.customers",
        "main.etl_runs",
    }


def _documented_facets() -> set[str]:
    text = (REPO / "docs" / "lineage.md").read_text(encoding="utf-8")
    table = text.split("### Facets", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"^\| `([A-Za-z_]+)`", table, flags=re.MULTILINE))


def test_no_event_holds_a_value_of_the_input(workspace: Workspace) -> None:
    assert workspace.pipeline(SAMPLE, "--run-id", "private") == 0

    text = (workspace.runs / "private" / LINEAGE_FILE).read_text()

    customers_in = pd.read_csv(SAMPLE, dtype=str).fillna("")
    values = {
        value
        for column in customers_in.columns
        if column not in ("customer_id", "country", "marketing_consent", "signup_date")
        for value in customers_in[column]
        if len(value) > 4
    }
    assert values, "the sample has personal values to look for"
    assert [value for value in values if value in text] == []


def test_a_failed_run_ends_its_lineage_with_fail_and_the_error_class_only(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bundled sample's defects are above this ceiling: the run stops after transform.
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.001")

    assert workspace.pipeline(SAMPLE, "--run-id", "stopped") == 1

    events = read_events(workspace.runs / "stopped" / LINEAGE_FILE)
    assert by_job(events) == [("pipeline", "START"), *STAGE_EVENTS[:4], ("pipeline", "FAIL")]
    for event in events:
        validate(event)
    message = events[-1]["run"]["facets"]["errorMessage"]["message"]
    assert message == "QualityThresholdError: see the run's summary"


def test_a_transport_that_fails_costs_a_warning_and_never_the_run(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log_dir: Path
) -> None:
    # A folder where the events' file should be: every write fails.
    unwritable = tmp_path / "not-a-file"
    unwritable.mkdir()
    monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__FILE_PATH", str(unwritable))

    assert workspace.pipeline(SAMPLE, "--run-id", "unsent") == 0

    warnings = [
        record
        for record in run_log_records(log_dir, "unsent")
        if record["message"] == "lineage event not sent"
    ]
    assert len(warnings) == 10
    assert {record["error_class"] for record in warnings} == {"RuntimeError"}
    assert str(unwritable) not in json.dumps(warnings), "the class, not the error's text"
    assert workspace.query("select status from etl_runs") == [("succeeded",)]


def test_lineage_can_be_switched_off(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__TRANSPORT", "none")

    assert workspace.pipeline(SAMPLE, "--run-id", "quiet") == 0

    assert not (workspace.runs / "quiet" / LINEAGE_FILE).exists()


def test_the_http_transport_posts_every_event_with_its_bearer_token(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_lineage_api(FakeLineageApi(token="catalog-token")) as api:
        monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__TRANSPORT", "http")
        monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__HTTP_URL", api.base_url)
        monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__API_KEY_REF", "env:LINEAGE_TOKEN")
        monkeypatch.setenv("LINEAGE_TOKEN", "catalog-token")

        assert workspace.pipeline(SAMPLE, "--run-id", "posted") == 0

    assert api.refused == []
    assert by_job(api.events) == [("pipeline", "START"), *STAGE_EVENTS, ("pipeline", "COMPLETE")]
    for event in api.events:
        validate(event)
    assert not (workspace.runs / "posted" / LINEAGE_FILE).exists()


def test_a_consumer_that_is_down_leaves_the_run_to_succeed(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, log_dir: Path
) -> None:
    with serve_lineage_api(FakeLineageApi(down=True)) as api:
        monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__TRANSPORT", "http")
        monkeypatch.setenv("CUSTOMER_ETL__LINEAGE__HTTP_URL", api.base_url)

        assert workspace.pipeline(SAMPLE, "--run-id", "unheard") == 0

    warnings = [
        r for r in run_log_records(log_dir, "unheard") if r["message"] == "lineage event not sent"
    ]
    assert len(warnings) == 10
    assert workspace.query("select status from etl_runs") == [("succeeded",)]
