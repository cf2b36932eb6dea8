"""Saved CloudWatch Logs Insights queries over the functions' JSON logs: a run's whole
story, failures by class, the slowest stages, API errors. They read only the fields the
pipeline logs on purpose (ids, stages, classes, counts, durations), never a message's
values: the logs hold no personal data, and the queries do not go looking for any.

Run one from the console (Logs Insights, "Queries" pane, folder `customer-etl-<env>`);
the run's story asks for the run id: replace `RUN_ID` in it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_logs as logs
from constructs import Construct

RUN_ID_PLACEHOLDER = "RUN_ID"

QUERIES: dict[str, logs.QueryString] = {
    "run-story": logs.QueryString(
        fields=["@timestamp", "function_name", "level", "message", "stage", "error_class"],
        filter_statements=[f'run_id = "{RUN_ID_PLACEHOLDER}"'],
        sort="@timestamp asc",
        limit=1000,
    ),
    "failures-by-class": logs.QueryString(
        filter_statements=['message in ["stage failed", "run failed"]'],
        stats_statements=[
            "count(*) as failures, count_distinct(run_id) as runs by error_class, stage"
        ],
        sort="failures desc",
    ),
    "slowest-stages": logs.QueryString(
        filter_statements=['message = "stage finished"'],
        stats_statements=[
            "max(duration_seconds) as slowest, avg(duration_seconds) as mean, "
            "count(*) as runs by stage"
        ],
        sort="slowest desc",
    ),
    "api-errors": logs.QueryString(
        filter_statements=[
            'message in ["API request failed; retrying", "API request gave up", '
            '"circuit state changed"]'
        ],
        stats_statements=["count(*) as events by api, error_kind, status_code, bin(1h)"],
        sort="events desc",
    ),
}
"""The saved queries by name (`customer-etl-<env>/<name>`)."""


class LogQueries(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        log_groups: Sequence[logs.ILogGroup],
    ) -> None:
        super().__init__(scope, construct_id)
        self.definitions = {
            name: logs.QueryDefinition(
                self,
                "".join(part.capitalize() for part in name.split("-")),
                query_definition_name=f"customer-etl-{env_name}/{name}",
                query_string=query,
                log_groups=list(log_groups),
            )
            for name, query in QUERIES.items()
        }
