"""The dashboard's compliance section for the cloud: the breach indicators the functions'
logs hold, as Logs Insights widgets over every function's log group.

- decryption failures: log lines whose `error_class` is `DecryptionError` (a warehouse token
  or a data key that would not open: altered, moved, or under a key that is gone);
- files refused for an unexpected personal-data column: `UnexpectedPersonalDataError`.

They read only the `error_class` field the pipeline logs on purpose, never a message. The
rest of the compliance page (lawful basis per field, consent coverage, retention by class,
quarantine ageing, the score) reads the warehouse and the configuration:
`customer-etl compliance report --env ENV` (docs/governance/compliance-score.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs

BREACH_INDICATORS: dict[str, str] = {
    "Decryption failures per day": "DecryptionError",
    "Files refused for an unexpected personal-data column, per day": (
        "UnexpectedPersonalDataError"
    ),
}
"""Widget title: the error class it counts."""
WIDTH = 12
HEIGHT = 6


def breach_query(error_class: str) -> str:
    return (
        f'filter error_class = "{error_class}"\n'
        "| stats count(*) as events, count_distinct(run_id) as runs by bin(1d)"
    )


def compliance_rows(log_groups: Sequence[logs.ILogGroup]) -> list[list[cloudwatch.IWidget]]:
    """One row of Logs Insights widgets, one per breach indicator."""
    names = [group.log_group_name for group in log_groups]
    return [
        [
            cloudwatch.LogQueryWidget(
                title=title,
                log_group_names=names,
                query_string=breach_query(error_class),
                view=cloudwatch.LogQueryVisualizationType.BAR,
                width=WIDTH,
                height=HEIGHT,
            )
            for title, error_class in BREACH_INDICATORS.items()
        ]
    ]
