"""The incident tools against local fakes that check the vendors' request shapes: open and
resolve in each, retries, an unreachable tool, routing by severity, and what an incident may
carry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from customer_etl.adapters.incident_tools import (
    JiraServiceManagementTracker,
    ServiceNowTracker,
    WebhookTracker,
)
from customer_etl.adapters.local import LocalCheckpointStore
from customer_etl.config.model import (
    IncidentSettings,
    JiraSettings,
    ServiceNowSettings,
    WebhookSettings,
)
from customer_etl.core.errors import IncidentToolError
from customer_etl.core.ports import Alert, Incident
from customer_etl.reference.sample import generate_customers
from customer_etl.run.incidents import (
    INCIDENT_DOCUMENT,
    IncidentDesk,
    open_incident,
    resolve_incident,
)
from customer_etl.runtime.incidents import incident_desk
from tests.fakes.incident_apis import FakeIncidentTools, serve_incident_tools
from tests.state_machine_harness import (
    CHECKPOINTS,
    alerts,
    execute_input,
    landed,
    personal_values,
    run_status,
    status_event,
)

ROUTING_KEY = "r" * 32
INCIDENT = Incident(
    run_id="run-7",
    severity="P1",
    error_class="WarehouseSchemaError",
    summary="[P1] customer-etl run run-7 failed: WarehouseSchemaError",
    details="Run run-7 failed in stage load with WarehouseSchemaError.",
)
FAST = {"max_retries": 2, "backoff_initial_seconds": 0.0, "backoff_max_seconds": 0.0}


@pytest.fixture
def tools() -> Iterator[FakeIncidentTools]:
    with serve_incident_tools() as served:
        yield served


def servicenow(tools: FakeIncidentTools) -> ServiceNowSettings:
    return ServiceNowSettings(
        base_url=tools.base_url,
        username="etl-integration",
        password_ref="env:SN_PASSWORD",
        assignment_group="Data Platform",
        **FAST,
    )


def jira(tools: FakeIncidentTools) -> JiraSettings:
    return JiraSettings(
        base_url=tools.base_url,
        email="ops@example.com",
        api_token_ref="env:JIRA_TOKEN",
        service_desk_id="4",
        request_type_id="17",
        resolve_transition_id="761",
        **FAST,
    )


def webhook(tools: FakeIncidentTools) -> WebhookSettings:
    return WebhookSettings(url=f"{tools.base_url}/v2/enqueue", routing_key_ref="env:PD_KEY", **FAST)


def test_servicenow_opens_an_incident_with_the_severity_as_impact_and_resolves_it(
    tools: FakeIncidentTools,
) -> None:
    tracker = ServiceNowTracker(servicenow(tools), "sn-password")

    opened = tracker.open(INCIDENT)
    tracker.resolve(opened, "recovered after 2 attempts")

    assert tools.refused == []
    assert opened.tool == "servicenow" and opened.number == "INC0010001"
    stored = tools.incidents[opened.key]
    assert (stored["impact"], stored["urgency"]) == ("1", "1")
    assert stored["correlation_id"] == "run-7"
    assert stored["assignment_group"] == "Data Platform"
    assert stored["short_description"] == INCIDENT.summary
    assert (stored["state"], stored["close_notes"]) == ("6", "recovered after 2 attempts")
    assert [r.method for r in tools.requests] == ["POST", "PATCH"]


def test_jira_service_management_raises_a_request_and_transitions_it_to_resolved(
    tools: FakeIncidentTools,
) -> None:
    tracker = JiraServiceManagementTracker(jira(tools), "jira-token")

    opened = tracker.open(INCIDENT)
    tracker.resolve(opened, "recovered")

    assert tools.refused == []
    assert opened.number == "OPS-1"
    request = tools.jira_requests["OPS-1"]
    assert (request["serviceDeskId"], request["requestTypeId"]) == ("4", "17")
    assert request["requestFieldValues"]["summary"] == INCIDENT.summary
    assert request["transitions"] == ["761"]


def test_the_webhook_sends_a_pagerduty_trigger_then_a_resolve_with_the_same_dedup_key(
    tools: FakeIncidentTools,
) -> None:
    tracker = WebhookTracker(webhook(tools), ROUTING_KEY)

    opened = tracker.open(INCIDENT)
    assert tools.pagerduty == {opened.key: "triggered"}
    tracker.resolve(opened, "recovered")

    assert tools.refused == []
    assert tools.pagerduty == {opened.key: "resolved"}
    trigger = tools.requests[0].body
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["class"] == "WarehouseSchemaError"
    assert opened.key == "customer-etl/run-7"


def test_a_tool_answering_503_is_retried_and_then_opens_the_incident(
    tools: FakeIncidentTools,
) -> None:
    tools.fail_next = 2
    opened = ServiceNowTracker(servicenow(tools), "sn-password").open(INCIDENT)
    assert opened.number == "INC0010001"
    assert len(tools.requests) == 3


def test_a_tool_that_stays_down_is_an_incident_tool_error_without_credentials(
    tools: FakeIncidentTools, caplog: pytest.LogCaptureFixture
) -> None:
    tools.down = True
    with pytest.raises(IncidentToolError) as raised:
        ServiceNowTracker(servicenow(tools), "sn-password").open(INCIDENT)
    assert len(tools.requests) == 3  # the first and two retries
    assert "sn-password" not in str(raised.value) + caplog.text


def test_wrong_credentials_are_refused_without_retrying(tools: FakeIncidentTools) -> None:
    with pytest.raises(IncidentToolError, match="http_401"):
        JiraServiceManagementTracker(jira(tools), "wrong").open(INCIDENT)
    assert len(tools.requests) == 1


def alert(severity: str) -> Alert:
    return Alert(subject=f"[{severity}] run-7 failed", body="Run run-7 failed.", severity=severity)


def test_the_desk_opens_an_incident_only_for_a_routed_severity_and_keeps_it_with_the_run(
    tools: FakeIncidentTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PD_KEY", ROUTING_KEY)
    desk = incident_desk(IncidentSettings(open_for={"p1": "webhook"}, webhook=webhook(tools)))
    documents = LocalCheckpointStore(tmp_path)

    assert open_incident(desk, alert("P2"), "run-7", "LoadAbortedError", documents) is None
    assert tools.requests == []
    opened = open_incident(desk, alert("P1"), "run-7", "WarehouseSchemaError", documents)

    assert opened is not None and tools.pagerduty == {opened.key: "triggered"}
    kept = json.loads(documents.get_document("run-7", INCIDENT_DOCUMENT) or "{}")
    assert kept == {"tool": "webhook", "number": opened.number, "key": opened.key, "status": "open"}

    assert resolve_incident(desk, "run-7", 2, documents) == opened
    assert tools.pagerduty == {opened.key: "resolved"}
    assert json.loads(documents.get_document("run-7", INCIDENT_DOCUMENT) or "{}")["status"] == (
        "resolved"
    )
    assert resolve_incident(desk, "run-7", 3, documents) is None, "resolved once"


def test_an_unreachable_tool_or_a_missing_secret_never_stops_the_failure_report(
    tools: FakeIncidentTools, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    documents = LocalCheckpointStore(tmp_path)
    # PD_KEY is not set: the secret cannot be read.
    no_secret = incident_desk(IncidentSettings(open_for={"P1": "webhook"}, webhook=webhook(tools)))
    assert open_incident(no_secret, alert("P1"), "run-7", "X", documents) is None
    tools.down = True
    down = IncidentDesk(
        routes={"P1": "servicenow"},
        trackers={"servicenow": lambda: ServiceNowTracker(servicenow(tools), "sn-password")},
    )
    assert open_incident(down, alert("P1"), "run-7", "X", documents) is None
    assert documents.get_document("run-7", INCIDENT_DOCUMENT) is None
    assert "incident not opened" in caplog.text


def test_a_severity_routed_to_an_unconfigured_tool_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match=r"configure alerts\.incidents\.jira"):
        IncidentSettings(open_for={"P1": "jira"})
    with pytest.raises(ValueError, match="severities are P1, P2 and P3"):
        IncidentSettings(open_for={"P4": "jira"})


def test_the_run_status_function_opens_the_incident_of_a_failed_execution_and_resolves_it(
    aws: dict[str, Any], tools: FakeIncidentTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    # InputFileError is P3: routed to Jira Service Management here.
    for name, value in {
        "OPEN_FOR__P3": "jira",
        "JIRA__BASE_URL": tools.base_url,
        "JIRA__EMAIL": "ops@example.com",
        "JIRA__API_TOKEN_REF": "env:JIRA_TOKEN",
        "JIRA__SERVICE_DESK_ID": "4",
        "JIRA__REQUEST_TYPE_ID": "17",
        "JIRA__RESOLVE_TRANSITION_ID": "761",
    }.items():
        monkeypatch.setenv(f"CUSTOMER_ETL__ALERTS__INCIDENTS__{name}", value)
    monkeypatch.setenv("JIRA_TOKEN", "jira-token")
    sample = generate_customers(rows=20, seed=3, defect_rate=0.0)
    body = sample.frame.drop(columns=["email"]).to_csv(index=False).encode()
    failed = execute_input(aws, landed(aws, "incoming/no-email.csv", body), name="run-jira")
    assert failed["status"] == "FAILED"

    assert run_status(status_event(failed))["action"] == "recorded_failure"

    assert tools.refused == []
    [(key, request)] = tools.jira_requests.items()
    assert request["requestFieldValues"]["summary"].startswith("[P3] customer-etl run run-jira")
    kept = aws["s3"].get_object(Bucket=CHECKPOINTS, Key=f"runs/run-jira/{INCIDENT_DOCUMENT}")
    assert json.loads(kept["Body"].read())["number"] == key
    sent = json.dumps([r.body for r in tools.requests])
    assert not [v for v in personal_values(sample.frame) if v in sent]

    # The redriven execution's success (the sender fixed the file) resolves it.
    succeeded = failed | {"status": "SUCCEEDED"}
    assert run_status(status_event(succeeded, redrive_count=1))["action"] == "recovered"
    assert request["transitions"] == ["761"]
    [notice] = [a for a in alerts(aws) if "recovered" in a["Subject"]]
    assert key in notice["Message"]
