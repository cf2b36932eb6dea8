"""Alarms, the duration anomaly detector, the dashboard, the health and report functions with
their schedules, the field-encryption key and TLS-only access, in every environment.

The alarms are checked against `customer_etl.observability.metric_names`, the module the
runtime emits its metrics with, so an alarm cannot wait on a name or dimension set that
nothing emits. Every test but one reuses the session's synth of each environment.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk.assertions import Template

from customer_etl.config.alarms import AlarmSettings
from customer_etl.config.model import QualitySettings
from customer_etl.health.keys import PROBE_CONTEXT
from customer_etl.observability import metric_names
from customer_etl.privacy.envelope import data_key_context
from customer_etl.runtime import lambda_handlers
from infra.constructs.compliance_widgets import BREACH_INDICATORS
from infra.constructs.functions import FUNCTION_NAMES, SUBJECT_REQUEST
from infra.constructs.monitoring import (
    api_slug,
    quality_score_threshold,
    quarantine_percent_threshold,
)
from infra.constructs.schedules import HEALTH_CHECK_MINUTES
from tests.cloudformation import flatten

if TYPE_CHECKING:
    # tests/infra is not a package, so its conftest is the top-level module `conftest`.
    from conftest import AppFactory, Synth

REPO = Path(__file__).resolve().parents[2]

SECTIONS = (
    "Pipeline health",
    "Data quality",
    "API health",
    "Warehouse",
    "Functions and queues",
    "Compliance",
)

# Metrics each dashboard section must show (name, or name with its namespace for AWS's own).
SECTION_METRICS = {
    "Pipeline health": {
        "AWS/States:ExecutionsFailed",
        "AWS/States:ExecutionsTimedOut",
        "AWS/States:ExecutionsAborted",
        metric_names.RUN_DURATION,
        metric_names.RUNS_FAILED,
        "StageFailures",
    },
    "Data quality": {
        metric_names.RUN_QUALITY_SCORE,
        metric_names.RUN_QUARANTINE_PERCENT,
        "RowsQuarantined",
    },
    "API health": {
        "ApiCalls",
        "ApiLatencyP95",
        "ApiFallbackRows",
        metric_names.BREAKER_OPENED,
        metric_names.HEALTH_UNHEALTHY,
    },
    "Warehouse": {"DbStatements", "DbRollbacks", "DbStatementTime", "DbPoolWait"},
    "Functions and queues": {
        "AWS/Lambda:Errors",
        "AWS/Lambda:Throttles",
        "AWS/SQS:ApproximateNumberOfMessagesVisible",
        "AWS/SQS:ApproximateAgeOfOldestMessage",
    },
    "Compliance": set(),  # Logs Insights widgets, checked by their own test below
}


# Helpers: find resources by what they are (names, aliases), never by hashed logical ids.


def _ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _topic_id(synth: Synth) -> str:
    topics: list[str] = list(synth.of_type("AWS::SNS::Topic"))
    assert len(topics) == 1
    return topics[0]


def _alarm(synth: Synth, name: str) -> dict[str, Any]:
    full_name = f"customer-etl-{synth.env}-{name}"
    found: list[dict[str, Any]] = [
        alarm["Properties"]
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["AlarmName"] == full_name
    ]
    assert len(found) == 1, full_name
    return found[0]


def _dimensions(mapping: dict[str, str]) -> list[dict[str, str]]:
    """A dimension map as CloudFormation lists it (sorted by name, as CDK renders it)."""
    return [{"Name": name, "Value": value} for name, value in sorted(mapping.items())]


def _function_ids(synth: Synth) -> dict[str, str]:
    prefix = f"customer-etl-{synth.env}-"
    return {
        function["Properties"]["FunctionName"].removeprefix(prefix): logical_id
        for logical_id, function in synth.of_type("AWS::Lambda::Function").items()
    }


def _key_ids(synth: Synth) -> dict[str, str]:
    """Alias name -> logical id of the key."""
    return {
        alias["Properties"]["AliasName"]: alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for alias in synth.of_type("AWS::KMS::Alias").values()
    }


def _role_statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if _ref(role_id) in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _function_statements(synth: Synth, name: str) -> list[dict[str, Any]]:
    function = synth.resources[_function_ids(synth)[name]]
    return _role_statements(synth, function["Properties"]["Role"]["Fn::GetAtt"][0])


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions_on(statements: list[dict[str, Any]], resource: Any) -> set[str]:
    """Every action the statements allow on exactly `resource`."""
    return {
        action
        for statement in statements
        if statement["Effect"] == "Allow" and resource in _listed(statement["Resource"])
        for action in _listed(statement["Action"])
    }


def _dashboard(synth: Synth) -> dict[str, Any]:
    [dashboard] = synth.of_type("AWS::CloudWatch::Dashboard").values()
    properties = dashboard["Properties"]
    assert properties["DashboardName"] == f"customer-etl-{synth.env}"
    body = json.loads(flatten(properties["DashboardBody"]))
    assert isinstance(body, dict)
    return body


def _sections(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Heading -> the widgets under it, in the dashboard's reading order."""
    widgets = sorted(body["widgets"], key=lambda widget: (widget["y"], widget["x"]))
    sections: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] | None = None
    for widget in widgets:
        if widget["type"] == "text":
            heading = widget["properties"]["markdown"].removeprefix("## ")
            current = sections.setdefault(heading, [])
        else:
            assert current is not None, "a widget above the first heading"
            current.append(widget)
    return sections


def _metric_names(widgets: list[dict[str, Any]]) -> set[str]:
    """The metrics graphed by `widgets`: `Name`, or `AWS/...:Name` for AWS's namespaces."""
    names = set()
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], str):  # [namespace, name, dim, value, ..., {options}]
                namespace, name = line[0], line[1]
                names.add(f"{namespace}:{name}" if namespace.startswith("AWS/") else name)
    return names


# Alarms on the runtime's metrics


def test_alarm_thresholds_default_to_the_quality_warning_thresholds() -> None:
    quality = QualitySettings(warn_below_quality_score=81.5, warn_bad_ratio=0.07)
    alarms = AlarmSettings()
    assert (alarms.min_quality_score, alarms.max_quarantine_percent) == (None, None)
    assert quality_score_threshold(alarms, quality) == 81.5
    assert quarantine_percent_threshold(alarms, quality) == 7


def test_alarm_thresholds_set_for_the_alarms_win_over_the_warning_thresholds() -> None:
    alarms = AlarmSettings(min_quality_score=60, max_quarantine_percent=4.5)
    quality = QualitySettings()
    assert quality_score_threshold(alarms, quality) == 60
    assert quarantine_percent_threshold(alarms, quality) == 4.5


def test_no_threshold_when_the_warning_is_off_and_the_alarm_unset() -> None:
    quality = QualitySettings(warn_below_quality_score=None, warn_bad_ratio=None)
    assert quality_score_threshold(AlarmSettings(), quality) is None
    assert quarantine_percent_threshold(AlarmSettings(), quality) is None


@pytest.mark.parametrize(
    ("name", "metric", "statistic", "comparison", "missing"),
    [
        (
            "quality-score-low",
            metric_names.RUN_QUALITY_SCORE,
            "Minimum",
            "LessThanThreshold",
            "notBreaching",
        ),
        (
            "quarantine-percent-high",
            metric_names.RUN_QUARANTINE_PERCENT,
            "Maximum",
            "GreaterThanThreshold",
            "notBreaching",
        ),
        (
            "unhealthy",
            metric_names.HEALTH_UNHEALTHY,
            "Maximum",
            "GreaterThanOrEqualToThreshold",
            "breaching",
        ),
    ],
)
def test_run_level_alarm_watches_the_emitted_metric_and_tells_the_topic(
    synth: Synth, name: str, metric: str, statistic: str, comparison: str, missing: str
) -> None:
    alarms, quality = synth.config.aws.alarms, synth.config.quality
    thresholds = {
        "quality-score-low": quality_score_threshold(alarms, quality),
        "quarantine-percent-high": quarantine_percent_threshold(alarms, quality),
        "unhealthy": 1,
    }
    alarm = _alarm(synth, name)
    assert alarm["Namespace"] == metric_names.NAMESPACE
    assert alarm["MetricName"] == metric
    assert alarm["Dimensions"] == _dimensions(metric_names.RUN_DIMENSIONS)
    assert alarm["Statistic"] == statistic
    assert alarm["ComparisonOperator"] == comparison
    assert alarm["Threshold"] == thresholds[name]
    assert alarm["TreatMissingData"] == missing
    assert alarm["AlarmActions"] == [_ref(_topic_id(synth))]


def test_health_alarm_waits_for_consecutive_failed_checks(synth: Synth) -> None:
    alarm = _alarm(synth, "unhealthy")
    assert alarm["Period"] == HEALTH_CHECK_MINUTES * 60
    assert alarm["EvaluationPeriods"] == synth.config.aws.alarms.health_failed_checks


def test_each_api_has_a_breaker_open_alarm(synth: Synth) -> None:
    breaker_alarms = [
        alarm["Properties"]
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
        if "-breaker-open-" in alarm["Properties"]["AlarmName"]
    ]
    assert len(breaker_alarms) == len(metric_names.API_NAMES)
    for api in metric_names.API_NAMES:
        alarm = _alarm(synth, f"breaker-open-{api_slug(api)}")
        [query] = alarm["Metrics"]
        stat = query["MetricStat"]
        assert stat["Metric"] == {
            "Namespace": metric_names.NAMESPACE,
            "MetricName": metric_names.BREAKER_OPENED,
            "Dimensions": _dimensions({**metric_names.RUN_DIMENSIONS, "api": api}),
        }
        assert stat["Stat"] == "Sum"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [_ref(_topic_id(synth))]


def test_failed_executions_alarm_tells_the_topic(synth: Synth) -> None:
    [machine] = synth.of_type("AWS::StepFunctions::StateMachine")
    alarm = _alarm(synth, "executions-failed")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": _ref(machine)}]
    assert alarm["AlarmActions"] == [_ref(_topic_id(synth))]


def test_a_failed_report_raises_an_alarm_that_tells_the_topic(synth: Synth) -> None:
    alarm = _alarm(synth, "report-failed")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", "Errors")
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": _ref(_function_ids(synth)["report"])}
    ]
    assert alarm["Statistic"] == "Sum"
    # One period per day, as the report's schedule runs it once a day (twice on Mondays).
    assert alarm["Period"] == 24 * 60 * 60
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [_ref(_topic_id(synth))]


def test_run_duration_has_an_anomaly_model_and_an_alarm_outside_its_band(synth: Synth) -> None:
    [detector] = synth.of_type("AWS::CloudWatch::AnomalyDetector").values()
    model = detector["Properties"]["SingleMetricAnomalyDetector"]
    assert model == {
        "Namespace": metric_names.NAMESPACE,
        "MetricName": metric_names.RUN_DURATION,
        "Dimensions": _dimensions(metric_names.RUN_DIMENSIONS),
        "Stat": "Maximum",
    }

    alarm = _alarm(synth, "run-duration-anomaly")
    assert alarm["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [_ref(_topic_id(synth))]
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    band = queries[alarm["ThresholdMetricId"]]
    match = re.fullmatch(r"ANOMALY_DETECTION_BAND\((\w+), ([\d.]+)\)", band["Expression"])
    assert match, band["Expression"]
    watched, width = match.groups()
    assert float(width) == synth.config.aws.alarms.duration_band_standard_deviations
    # The band is of the very metric and statistic the detector models.
    stat = queries[watched]["MetricStat"]
    assert stat["Metric"] == {key: model[key] for key in ("Namespace", "MetricName", "Dimensions")}
    assert stat["Stat"] == model["Stat"]


def test_alarm_thresholds_come_from_the_configuration(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    # The one extra synth of this module: overrides that no default equals, so a threshold
    # written into the construct instead of read from config fails here. The quality-score
    # alarm is set for itself (it wins over the warning threshold); the quarantine alarm is
    # unset and follows the changed warning threshold.
    _app, stack = app_factory(
        "dev",
        outdir=tmp_path,
        environ={
            "CUSTOMER_ETL__AWS__ALARMS__MIN_QUALITY_SCORE": "72.5",
            "CUSTOMER_ETL__QUALITY__WARN_BELOW_QUALITY_SCORE": "80",
            "CUSTOMER_ETL__QUALITY__WARN_BAD_RATIO": "0.07",
            "CUSTOMER_ETL__AWS__ALARMS__DURATION_BAND_STANDARD_DEVIATIONS": "3.5",
            "CUSTOMER_ETL__AWS__ALARMS__HEALTH_FAILED_CHECKS": "4",
        },
    )
    alarms = {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert alarms["customer-etl-dev-quality-score-low"]["Threshold"] == 72.5
    assert alarms["customer-etl-dev-quarantine-percent-high"]["Threshold"] == 7
    assert alarms["customer-etl-dev-unhealthy"]["EvaluationPeriods"] == 4
    expressions = [
        query.get("Expression")
        for query in alarms["customer-etl-dev-run-duration-anomaly"]["Metrics"]
    ]
    assert any(e and e.endswith(", 3.5)") for e in expressions), expressions


# Dashboard


def test_dashboard_has_its_sections_in_order(synth: Synth) -> None:
    sections = _sections(_dashboard(synth))
    assert tuple(sections) == SECTIONS


@pytest.mark.parametrize("section", SECTIONS)
def test_dashboard_section_shows_its_metrics(synth: Synth, section: str) -> None:
    widgets = _sections(_dashboard(synth))[section]
    assert widgets, section
    shown = _metric_names(widgets)
    assert SECTION_METRICS[section] <= shown, SECTION_METRICS[section] - shown


def test_dashboard_compliance_counts_breach_indicators_over_every_functions_logs(
    synth: Synth,
) -> None:
    widgets = _sections(_dashboard(synth))["Compliance"]
    assert {widget["type"] for widget in widgets} == {"log"}
    queries = [flatten(widget["properties"]["query"]) for widget in widgets]
    for error_class in BREACH_INDICATORS.values():
        [query] = [q for q in queries if f'error_class = "{error_class}"' in q]
        assert "stats count(*)" in query
    functions = synth.of_type("AWS::Lambda::Function").values()
    groups = {f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions}
    assert len(groups) >= 9
    for query in queries:
        for logical_id in groups:
            assert logical_id in query, "every function's log group is searched"


def test_dashboard_shows_the_state_of_every_alarm(synth: Synth) -> None:
    pipeline = _sections(_dashboard(synth))["Pipeline health"]
    [status] = [widget for widget in pipeline if widget["type"] == "alarm"]
    alarm_ids = synth.of_type("AWS::CloudWatch::Alarm")
    assert sorted(status["properties"]["alarms"]) == sorted(f"<{a}.Arn>" for a in alarm_ids)


def test_dashboard_metrics_carry_the_dimensions_the_code_emits(synth: Synth) -> None:
    body = _dashboard(synth)
    lines = [
        line
        for widget in body["widgets"]
        for line in widget["properties"].get("metrics", [])
        if isinstance(line[0], str) and line[0] == metric_names.NAMESPACE
    ]
    assert lines
    for line in lines:
        dimensions = dict(zip(line[2:-1:2], line[3:-1:2], strict=True))
        assert dimensions["service"] == metric_names.SERVICE, line
        if line[1].startswith("Api") and line[1] != metric_names.BREAKER_OPENED:
            assert set(dimensions) == {"service", "stage", "api"}, line
            assert dimensions["api"] in metric_names.API_NAMES
        elif line[1] == metric_names.BREAKER_OPENED:
            assert set(dimensions) == {"service", "api"}, line
        elif line[1].startswith("Run") or line[1] == metric_names.HEALTH_UNHEALTHY:
            assert dimensions == metric_names.RUN_DIMENSIONS, line
        else:
            assert set(dimensions) == {"service", "stage"}, line


# Health and report functions and their schedules


@pytest.mark.parametrize(
    ("name", "handler"),
    [
        ("health", "health_handler"),
        ("report", "report_handler"),
        ("run_status", "run_status_handler"),
        ("start", "start_handler"),
    ],
)
def test_function_runs_the_handler_of_lambda_handlers(
    synth: Synth, name: str, handler: str
) -> None:
    source = REPO / "functions" / name / "handler.py"
    [statement] = [
        node for node in ast.parse(source.read_text()).body if isinstance(node, ast.ImportFrom)
    ]
    # Through lambda_entry, which defers lambda_handlers' imports to the first call.
    assert statement.module == "customer_etl.runtime.lambda_entry"
    assert [(alias.name, alias.asname) for alias in statement.names] == [(handler, "handler")]
    assert callable(getattr(lambda_handlers, handler))
    # The function deploys that very folder.
    asset = synth.stack.functions.by_name[name].node.find_child("Code")
    assert isinstance(asset, s3_assets.Asset)
    stage = cdk.Stage.of(synth.stack)
    assert stage is not None
    staged = Path(stage.outdir) / asset.asset_path
    assert (staged / "handler.py").read_text() == source.read_text()
    assert synth.resources[_function_ids(synth)[name]]["Properties"]["Handler"] == (
        "handler.handler"
    )


def _schedules(synth: Synth) -> dict[str, dict[str, Any]]:
    prefix = f"customer-etl-{synth.env}-"
    return {
        schedule["Properties"]["Name"].removeprefix(prefix): schedule["Properties"]
        for schedule in synth.of_type("AWS::Scheduler::Schedule").values()
    }


def test_health_runs_every_five_minutes(synth: Synth) -> None:
    health = _schedules(synth)["health"]
    assert health["ScheduleExpression"] == f"rate({HEALTH_CHECK_MINUTES} minutes)"
    assert health["Target"]["Arn"] == synth.live_ref(_function_ids(synth)["health"])
    assert "Input" not in health["Target"]


@pytest.mark.parametrize(
    ("period", "expression"),
    [("daily", "cron(30 6 * * ? *)"), ("weekly", "cron(30 6 ? * MON *)")],
)
def test_report_runs_with_its_period(synth: Synth, period: str, expression: str) -> None:
    schedule = _schedules(synth)[f"{period}-report"]
    assert schedule["ScheduleExpression"] == expression
    assert schedule["ScheduleExpressionTimezone"] == "Europe/London"
    assert schedule["Target"]["Arn"] == synth.live_ref(_function_ids(synth)["report"])
    assert json.loads(schedule["Target"]["Input"]) == {"period": period}


def test_schedules_may_invoke_health_retention_and_report_only(synth: Synth) -> None:
    schedules = _schedules(synth)
    assert set(schedules) == {"health", "retention", "daily-report", "weekly-report"}
    roles = {schedule["Target"]["RoleArn"]["Fn::GetAtt"][0] for schedule in schedules.values()}
    [role] = roles
    invoked = {
        json.dumps(resource)
        for statement in _role_statements(synth, role)
        if "lambda:InvokeFunction" in _listed(statement["Action"])
        for resource in _listed(statement["Resource"])
    }
    ids = _function_ids(synth)
    # Their `live` aliases, nothing else (docs/deployment.md, Rolling back).
    allowed = {json.dumps(synth.live_ref(ids[name])) for name in ("health", "retention", "report")}
    assert invoked == allowed
    assert synth.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ] == {"Service": "scheduler.amazonaws.com"}


def test_report_writes_under_the_reports_prefix_only(synth: Synth) -> None:
    buckets = {
        bucket["Properties"]["LoggingConfiguration"]["LogFilePrefix"]: logical_id
        for logical_id, bucket in synth.of_type("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    }
    reports = buckets["reports/"]
    prefix = synth.config.aws.reports_prefix
    under_prefix = {"Fn::Join": ["", [_arn(reports), f"/{prefix}*"]]}
    for name in FUNCTION_NAMES:
        statements = _function_statements(synth, name)
        writes = "s3:PutObject" in _actions_on(statements, under_prefix)
        assert writes == (name == "report"), name
        # Nobody may read the reports back or write elsewhere in the bucket.
        anywhere = {"Fn::Join": ["", [_arn(reports), "/*"]]}
        assert not _actions_on(statements, anywhere), name
        assert not _actions_on(statements, _arn(reports)), name
    report_statements = _function_statements(synth, "report")
    assert not any(
        action.startswith("s3:Get") for action in _actions_on(report_statements, under_prefix)
    )


# Field-level encryption key


def test_field_key_is_its_own_rotating_key(synth: Synth) -> None:
    keys = _key_ids(synth)
    field_key = keys[f"alias/customer-etl-{synth.env}-fields"]
    assert field_key != keys[f"alias/customer-etl-{synth.env}"]
    properties = synth.resources[field_key]["Properties"]
    assert properties["EnableKeyRotation"] is True
    # No AWS service may use it: only the account's IAM grants below.
    principals = [statement["Principal"] for statement in properties["KeyPolicy"]["Statement"]]
    assert all("Service" not in principal for principal in principals), principals


def test_field_key_is_used_by_load_unwrapped_by_subject_requests_and_probed_by_health_only(
    synth: Synth,
) -> None:
    field_key = _arn(_key_ids(synth)[f"alias/customer-etl-{synth.env}-fields"])
    data_key_actions = {"kms:GenerateDataKey", "kms:Decrypt"}
    expected = {
        "load": data_key_actions,
        "health": data_key_actions,
        SUBJECT_REQUEST: {"kms:Decrypt"},
    }
    for name in FUNCTION_NAMES:
        statements = [
            statement
            for statement in _function_statements(synth, name)
            if field_key in _listed(statement["Resource"])
        ]
        actions = {action for statement in statements for action in _listed(statement["Action"])}
        assert actions == expected.get(name, set()), name
        if name == "health":
            # Only for the probe's own throwaway keys, never a run's data key.
            [statement] = statements
            assert statement["Condition"] == {
                "StringEquals": {
                    f"kms:EncryptionContext:{key}": value for key, value in PROBE_CONTEXT.items()
                }
            }
        if name in {"load", SUBJECT_REQUEST}:
            # Only under the run's data-key context (privacy/envelope.py): nothing else
            # sealed with the field key can be opened with load's grant.
            [statement] = statements
            assert statement["Condition"] == {
                "StringEquals": {"kms:EncryptionContext:application": "customer-etl"},
                "ForAllValues:StringEquals": {
                    "kms:EncryptionContextKeys": sorted(data_key_context("any"))
                },
            }
    # Nothing else in the stack (state machine, schedules) may use it either.
    users = {
        json.dumps(role)
        for policy in synth.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if field_key in _listed(statement["Resource"])
        for role in policy["Properties"]["Roles"]
    }
    assert len(users) == 3


def test_health_probes_the_checkpoint_bucket_under_its_prefix_only(synth: Synth) -> None:
    [checkpoints] = [
        logical_id
        for logical_id, bucket in synth.of_type("AWS::S3::Bucket").items()
        if bucket["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix")
        == "checkpoints/"
    ]
    statements = _function_statements(synth, "health")
    probe = {"Fn::Join": ["", [_arn(checkpoints), "/health/*"]]}
    assert {"s3:PutObject", "s3:DeleteObject"} <= _actions_on(statements, probe)
    assert not _actions_on(statements, {"Fn::Join": ["", [_arn(checkpoints), "/*"]]})
    assert not _actions_on(statements, _arn(checkpoints))


def test_every_function_is_given_the_field_key(synth: Synth) -> None:
    field_key = _arn(_key_ids(synth)[f"alias/customer-etl-{synth.env}-fields"])
    for function in synth.of_type("AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["CUSTOMER_ETL__ENCRYPTION__KMS_KEY_ID"] == field_key


def test_transform_alone_reads_the_masking_key_where_masking_is_on(synth: Synth) -> None:
    masking = synth.config.privacy.masking
    assert masking.enabled == (synth.env != "prod")
    if not masking.enabled:
        return
    _assert_alone_reads(synth, synth.secret_ref(masking.key_ref), "transform")


def test_load_and_subject_requests_alone_read_the_blind_index_secret(synth: Synth) -> None:
    secret = synth.secret_ref(synth.config.encryption.blind_index_key_ref)
    _assert_alone_reads(synth, secret, "load", SUBJECT_REQUEST)


def _assert_alone_reads(synth: Synth, secret: dict[str, str], *readers: str) -> None:
    for name in FUNCTION_NAMES:
        actions = _actions_on(_function_statements(synth, name), secret)
        assert ("secretsmanager:GetSecretValue" in actions) == (name in readers), name


# TLS only


def test_every_bucket_refuses_plain_http_and_old_tls(synth: Synth) -> None:
    policies = {
        policy["Properties"]["Bucket"]["Ref"]: policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in synth.of_type("AWS::S3::BucketPolicy").values()
    }
    assert set(policies) == set(synth.of_type("AWS::S3::Bucket"))
    for statements in policies.values():
        denies = [statement for statement in statements if statement["Effect"] == "Deny"]
        assert any(
            statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and statement["Action"] == "s3:*"
            for statement in denies
        )
        assert any(
            statement["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}}
            for statement in denies
        )


def test_alert_topic_refuses_plain_http(synth: Synth) -> None:
    [policy] = synth.of_type("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in statements
    )


# Alarms on what can go wrong outside a run


def test_every_function_alarms_on_throttles_and_all_but_report_on_errors(synth: Synth) -> None:
    functions = _function_ids(synth)
    for name, function_id in functions.items():
        slug = name.replace("_", "-")
        throttles = _alarm(synth, f"{slug}-throttles")
        assert (throttles["Namespace"], throttles["MetricName"]) == ("AWS/Lambda", "Throttles")
        assert throttles["Dimensions"] == [{"Name": "FunctionName", "Value": _ref(function_id)}]
        assert throttles["AlarmActions"] == [_ref(_topic_id(synth))]
        if name == "report":
            # Its errors alarm over a day (report-failed), the period of its schedule.
            names = [
                alarm["Properties"]["AlarmName"]
                for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
            ]
            assert f"customer-etl-{synth.env}-report-errors" not in names
            continue
        errors = _alarm(synth, f"{slug}-errors")
        assert (errors["MetricName"], errors["Threshold"], errors["Period"]) == ("Errors", 1, 300)
        assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": _ref(function_id)}]


def test_queues_alarm_on_depth_and_age(synth: Synth) -> None:
    settings = synth.config.aws.alarms
    expected = {
        "quarantine-depth": (
            "ApproximateNumberOfMessagesVisible",
            settings.quarantine_max_messages,
        ),
        "quarantine-age": (
            "ApproximateAgeOfOldestMessage",
            settings.quarantine_max_age_hours * 3600,
        ),
        "quarantine-dead-lettered": ("ApproximateNumberOfMessagesVisible", 1),
        "quarantine-dlq-age": (
            "ApproximateAgeOfOldestMessage",
            settings.dead_letter_max_age_hours * 3600,
        ),
        "events-dlq-age": (
            "ApproximateAgeOfOldestMessage",
            settings.dead_letter_max_age_hours * 3600,
        ),
    }
    queues = {
        queue["Properties"]["QueueName"]: logical_id
        for logical_id, queue in synth.of_type("AWS::SQS::Queue").items()
    }
    watched = {
        "quarantine-depth": "quarantine",
        "quarantine-age": "quarantine",
        "quarantine-dead-lettered": "quarantine-dlq",
        "quarantine-dlq-age": "quarantine-dlq",
        "events-dlq-age": "events-dlq",
    }
    for name, (metric, threshold) in expected.items():
        properties = _alarm(synth, name)
        assert (properties["Namespace"], properties["MetricName"]) == ("AWS/SQS", metric), name
        assert properties["Threshold"] == threshold, name
        queue = queues[f"customer-etl-{synth.env}-{watched[name]}"]
        assert properties["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}
        ], name
        assert properties["AlarmActions"] == [_ref(_topic_id(synth))], name


def test_every_alarm_is_on_the_dashboard(synth: Synth) -> None:
    body = json.dumps(_dashboard(synth))
    for logical_id in synth.of_type("AWS::CloudWatch::Alarm"):
        assert logical_id in body, logical_id
