"""The saved Logs Insights queries: one per question the runbook asks of the logs, over
every function's log group, reading only fields the pipeline logs on purpose."""

from __future__ import annotations

import re

from tests.infra.conftest import Synth

NAMES = {"run-story", "failures-by-class", "slowest-stages", "api-errors"}
# What the pipeline logs by design (ids, stages, classes, counts, durations): never values.
LOGGED_FIELDS = {
    "run_id",
    "function_name",
    "level",
    "message",
    "stage",
    "error_class",
    "error_kind",
    "status_code",
    "api",
    "duration_seconds",
}


def test_each_saved_query_reads_every_function_log_group(synth: Synth) -> None:
    definitions = synth.of_type("AWS::Logs::QueryDefinition")
    by_name = {d["Properties"]["Name"]: d["Properties"] for d in definitions.values()}
    assert set(by_name) == {f"customer-etl-{synth.env}/{name}" for name in NAMES}
    groups = {
        logical_id
        for logical_id, function in synth.of_type("AWS::Lambda::Function").items()
        if "LoggingConfig" in function["Properties"]
    }
    log_group_ids = {
        function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for logical_id, function in synth.of_type("AWS::Lambda::Function").items()
        if logical_id in groups
    }
    for properties in by_name.values():
        assert {ref["Ref"] for ref in properties["LogGroupNames"]} == log_group_ids


# The query language's own words and the names the queries give their results.
QUERY_WORDS = {
    "fields", "filter", "in", "stats", "count", "count_distinct", "as", "by", "max", "avg",
    "bin", "sort", "asc", "desc", "limit", "failures", "runs", "slowest", "mean", "events",
}  # fmt: skip


def test_the_queries_read_only_fields_the_pipeline_logs_on_purpose(synth: Synth) -> None:
    for definition in synth.of_type("AWS::Logs::QueryDefinition").values():
        query = definition["Properties"]["QueryString"]
        unquoted = re.sub(r'"[^"]*"', "", query)
        words = set(re.findall(r"(?<![@\w])[a-z_]+(?!\w)", unquoted)) - {"h"}
        assert words <= LOGGED_FIELDS | QUERY_WORDS, words - LOGGED_FIELDS - QUERY_WORDS
    story = [
        d["Properties"]["QueryString"]
        for d in synth.of_type("AWS::Logs::QueryDefinition").values()
        if d["Properties"]["Name"].endswith("/run-story")
    ]
    assert story and 'run_id = "RUN_ID"' in story[0]
