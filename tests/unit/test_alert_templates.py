"""Alert texts from the templates: what they name, what they link to, and that they never
carry a record's values."""

from __future__ import annotations

import json
import re
from typing import get_args

import boto3
import pytest
from moto import mock_aws

from customer_etl.adapters.aws import SNS_SUBJECT_LIMIT, SnsNotifier, sns_subject
from customer_etl.alerting import messages
from customer_etl.alerting.templates import TemplateName, load_template, render
from customer_etl.config.error_classes import ErrorClassRule
from customer_etl.config.model import AlertsSettings
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.core.ports import Alert
from customer_etl.reference.sample import Sample, generate_customers
from tests.incident_guide import guide_anchors

PERSONAL_COLUMNS = ("first_name", "last_name", "email", "phone", "postcode", "date_of_birth")
BASE_URL = "https://docs.example.org/customer-etl/docs"
REGION = "eu-west-2"


@pytest.fixture(scope="module")
def sample() -> Sample:
    return generate_customers(300, seed=7, defect_rate=0.1)


def _report(rows_in: int, quarantined: int, reasons: dict[str, int]) -> StageReport:
    return StageReport(
        rows_in=rows_in,
        rows_out=rows_in - quarantined,
        rows_quarantined=quarantined,
        duration_seconds=0.1,
        checkpoint_uri="file:///runs/checkpoint.parquet",
        reasons=reasons,
    )


def _manifest(sample: Sample, error: str | None = None) -> RunManifest:
    """A manifest with the counts a run of `sample` reports: its defects quarantined by
    transform, per defect kind."""
    rows = len(sample.frame)
    reasons = {str(kind): int(count) for kind, count in sample.defects.value_counts().items()}
    quarantined = sum(reasons.values())
    return RunManifest.start("run-2026-alerts", "/data/in/customers.csv").model_copy(
        update={
            "stages": {
                "extract": _report(rows, 0, {}),
                "transform": _report(rows, quarantined, reasons),
            },
            "status": "failed" if error else "running",
            "error": error,
        }
    )


def _every_alert(manifest: RunManifest, settings: AlertsSettings) -> list[Alert]:
    return [
        messages.run_failed(manifest, "load", "WarehouseUnavailableError", settings),
        messages.run_failed(manifest, "transform", "QualityThresholdError", settings),
        messages.run_failed(manifest, None, "KeyError", settings),
        messages.quality_warning(manifest, "transform", "30 of 300 rows (10.0%)", settings),
        messages.rows_quarantined(manifest, settings),
    ]


def _personal_values(sample: Sample) -> set[str]:
    values = set()
    for column in PERSONAL_COLUMNS:
        values |= {v.strip() for v in sample.frame[column] if len(v.strip()) >= 3}
    return values


def test_no_alert_carries_a_value_of_the_records(sample: Sample) -> None:
    manifest = _manifest(sample, error="warehouse sqlite:///w.db cannot be reached")
    text = "\n".join(
        f"{alert.subject}\n{alert.body}" for alert in _every_alert(manifest, AlertsSettings())
    )
    leaked = {
        value
        for value in _personal_values(sample)
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text)
    }
    assert leaked == set()


def test_a_failed_run_s_alert_names_severity_run_stage_class_counts_and_section(
    sample: Sample,
) -> None:
    manifest = _manifest(sample, error="warehouse sqlite:///w.db cannot be reached")
    settings = AlertsSettings(runbook_base_url=BASE_URL + "/")
    alert = messages.run_failed(manifest, "load", "WarehouseUnavailableError", settings)

    expected = "[P2] customer-etl run run-2026-alerts failed: WarehouseUnavailableError"
    assert alert.subject == expected
    assert alert.severity == "P2"
    assert "in stage load" in alert.body
    assert "Rows in: 300; loaded: 0; quarantined: 30" in alert.body
    for kind, count in sample.defects.value_counts().items():
        assert f"{kind} {count}" in alert.body
    assert f"{BASE_URL}/incident-response.md#warehouseunavailableerror" in alert.body
    assert "cannot be reached" in alert.body


def test_every_alert_links_to_a_section_that_exists(sample: Sample) -> None:
    anchors = guide_anchors()
    for alert in _every_alert(_manifest(sample), AlertsSettings()):
        [link] = re.findall(r"docs/incident-response\.md#([\w-]+)", alert.body)
        assert link in anchors, alert.subject


def test_a_threshold_breach_has_its_own_text_and_the_data_steward(sample: Sample) -> None:
    alert = messages.run_failed(
        _manifest(sample, error="30 of 300 rows (10.0%) were quarantined"),
        "transform",
        "QualityThresholdError",
        AlertsSettings(),
    )
    assert alert.subject == "[P2] customer-etl run run-2026-alerts failed: QualityThresholdError"
    assert "too many rows were quarantined" in alert.body
    assert "data steward" in alert.body and "#qualitythresholderror" in alert.body


def test_an_unexpected_error_pages_and_says_no_stage_had_started(sample: Sample) -> None:
    alert = messages.run_failed(_manifest(sample), None, "KeyError", AlertsSettings())
    assert alert.subject.startswith("[P1] ") and alert.subject.endswith("failed: KeyError")
    assert "before the first stage" in alert.body and "#unexpectederror" in alert.body


def test_a_quality_warning_and_a_quarantine_notice_are_p3(sample: Sample) -> None:
    manifest = _manifest(sample)
    warning = messages.quality_warning(manifest, "transform", "a warning", AlertsSettings())
    notice = messages.rows_quarantined(manifest, AlertsSettings())
    assert warning.subject == "[P3] customer-etl run run-2026-alerts: data quality warning"
    assert notice.subject == "[P3] customer-etl run run-2026-alerts: 30 rows quarantined"


def test_the_configuration_s_override_sets_the_severity_of_the_alert(sample: Sample) -> None:
    settings = AlertsSettings(
        errors={
            "WarehouseUnavailableError": ErrorClassRule(
                category="warehouse", severity="P1", escalation="database administrators"
            )
        }
    )
    alert = messages.run_failed(_manifest(sample), "load", "WarehouseUnavailableError", settings)
    assert alert.subject.startswith("[P1] ")
    assert "database administrators" in alert.body


def test_a_subject_is_one_line_whatever_a_value_holds() -> None:
    rendered = render(
        "run_failed",
        {
            "severity": "P1",
            "run_id": "a\r\nBcc: someone",
            "error_class": "X",
            "stage": "",
            "category": "",
            "escalation": "",
            "message": "",
            "rows_in": 0,
            "rows_loaded": 0,
            "rows_quarantined": 0,
            "reasons": "",
            "runbook_url": "",
        },
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_a_template_value_left_out_is_refused_rather_than_sent_half_filled() -> None:
    with pytest.raises(KeyError):
        render("run_failed", {"severity": "P1"})


def test_an_sns_subject_is_cut_to_100_characters_keeping_its_start() -> None:
    long = "[P1] customer-etl run " + "r" * 120 + " failed: WarehouseUnavailableError"
    cut = sns_subject(long)
    assert len(cut) == SNS_SUBJECT_LIMIT and cut.endswith("...")
    assert cut.startswith("[P1] customer-etl run rrr")
    assert sns_subject("[P2] ok\nnext") == "[P2] ok next"


def test_sns_publishes_the_same_alert_with_its_severity_as_an_attribute(sample: Sample) -> None:
    alert = messages.run_failed(_manifest(sample), "load", "LoadAbortedError", AlertsSettings())
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        SnsNotifier(topic, sns=sns).send(alert)
        [received] = sqs.receive_message(QueueUrl=queue)["Messages"]
    notification = json.loads(received["Body"])
    assert notification["Subject"] == alert.subject
    assert notification["Message"] == alert.body
    assert notification["MessageAttributes"]["severity"]["Value"] == "P2"


def test_every_template_name_has_a_file_with_a_subject_line() -> None:
    # get_args lists TemplateName's values: a name without its file fails here, not in a run.
    for name in get_args(TemplateName):
        template = load_template(name)
        assert "$run_id" in template.subject.template, name
        assert "$runbook_url" in template.body.template, name
