"""Incident tools behind one port (`IncidentTracker`): ServiceNow's Table API, Jira Service
Management's REST API and a webhook taking PagerDuty's Events API v2 payload.

Each speaks its vendor's published request shapes and goes through `ApiClient`, so it has
the enrichment clients' retries with backoff and jitter, circuit breaker and logs (which
name the tool, the attempt and the status, never a body). What is sent is the alert's
subject and body, the severity, the run id and the error class: written to carry no
personal data (run/summary.py).
"""

from __future__ import annotations

from typing import Any

import requests

from customer_etl.adapters.api_client import ApiClient
from customer_etl.config.model import (
    ApiClientSettings,
    JiraSettings,
    ServiceNowSettings,
    WebhookSettings,
)
from customer_etl.core.api_stats import ApiStats
from customer_etl.core.errors import IncidentToolError
from customer_etl.core.ports import Incident, IncidentRef

SERVICENOW, JIRA, WEBHOOK = "servicenow", "jira", "webhook"
_SUMMARY_LIMIT = 255
"""Jira's summary field and ServiceNow's short_description both stop at 160 to 255."""
# ServiceNow's impact and urgency: 1 high, 2 medium, 3 low; the priority follows from both.
_SERVICENOW_LEVEL = {"P1": "1", "P2": "2", "P3": "3"}
_SERVICENOW_RESOLVED = "6"
_PAGERDUTY_SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning"}


def _client(
    tool: str, base_url: str, settings: ApiClientSettings, auth: tuple[str, str] | None
) -> ApiClient:
    session = requests.Session()
    session.headers["Accept"] = "application/json"
    return ApiClient(
        tool, base_url, settings, auth=auth, session=session, unavailable=IncidentToolError
    )


def _json(response: requests.Response) -> dict[str, Any]:
    answer = response.json()
    if response.status_code == 404 or not isinstance(answer, dict):
        raise ValueError("not an answer")  # the client counts it as a bad response
    return answer


def _summary(incident: Incident) -> str:
    return incident.summary[:_SUMMARY_LIMIT]


class ServiceNowTracker:
    """`POST /api/now/table/incident` opens; `PATCH .../incident/{sys_id}` with state 6
    (Resolved), a close code and notes resolves."""

    def __init__(self, settings: ServiceNowSettings, password: str) -> None:
        self._settings = settings
        self._client = _client(
            SERVICENOW, settings.base_url, settings, (settings.username, password)
        )

    def open(self, incident: Incident) -> IncidentRef:
        level = _SERVICENOW_LEVEL.get(incident.severity, "3")
        body: dict[str, Any] = {
            "short_description": _summary(incident),
            "description": incident.details,
            "impact": level,
            "urgency": level,
            "category": self._settings.category,
            "correlation_id": incident.run_id,
            "correlation_display": "customer-etl",
        }
        if self._settings.assignment_group:
            body["assignment_group"] = self._settings.assignment_group
        answer = self._client.call(
            "POST", "/api/now/table/incident", ApiStats(), keys=1, parse=_json, json=body
        )
        result = answer["result"]
        return IncidentRef(SERVICENOW, str(result["number"]), str(result["sys_id"]))

    def resolve(self, incident: IncidentRef, note: str) -> None:
        body = {
            "state": _SERVICENOW_RESOLVED,
            "close_code": self._settings.close_code,
            "close_notes": note,
        }
        self._client.call(
            "PATCH",
            f"/api/now/table/incident/{incident.key}",
            ApiStats(),
            keys=1,
            parse=_json,
            json=body,
        )


class JiraServiceManagementTracker:
    """`POST /rest/servicedeskapi/request` raises a request of the incident type;
    `POST /rest/servicedeskapi/request/{key}/transition` with the resolving transition and a
    comment resolves it."""

    def __init__(self, settings: JiraSettings, api_token: str) -> None:
        self._settings = settings
        self._client = _client(JIRA, settings.base_url, settings, (settings.email, api_token))

    def open(self, incident: Incident) -> IncidentRef:
        body = {
            "serviceDeskId": self._settings.service_desk_id,
            "requestTypeId": self._settings.request_type_id,
            "requestFieldValues": {
                "summary": _summary(incident),
                "description": incident.details,
            },
        }
        answer = self._client.call(
            "POST", "/rest/servicedeskapi/request", ApiStats(), keys=1, parse=_json, json=body
        )
        key = str(answer["issueKey"])
        return IncidentRef(JIRA, key, key)

    def resolve(self, incident: IncidentRef, note: str) -> None:
        body = {"id": self._settings.resolve_transition_id, "additionalComment": {"body": note}}
        self._client.call(
            "POST",
            f"/rest/servicedeskapi/request/{incident.key}/transition",
            ApiStats(),
            keys=1,
            parse=lambda _: None,  # 204 No Content
            json=body,
        )


class WebhookTracker:
    """PagerDuty's Events API v2: a `trigger` event keyed by the run (`dedup_key`), then a
    `resolve` event with the same key."""

    def __init__(self, settings: WebhookSettings, routing_key: str) -> None:
        self._routing_key = routing_key
        self._client = _client(WEBHOOK, settings.url, settings, None)

    def open(self, incident: Incident) -> IncidentRef:
        dedup_key = f"customer-etl/{incident.run_id}"
        body = {
            "routing_key": self._routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": incident.summary[:1024],
                "source": "customer-etl",
                "severity": _PAGERDUTY_SEVERITY.get(incident.severity, "warning"),
                "class": incident.error_class,
                "custom_details": {"run_id": incident.run_id, "details": incident.details},
            },
        }
        answer = self._client.call("POST", "", ApiStats(), keys=1, parse=_json, json=body)
        key = str(answer.get("dedup_key") or dedup_key)
        return IncidentRef(WEBHOOK, key, key)

    def resolve(self, incident: IncidentRef, note: str) -> None:
        body = {
            "routing_key": self._routing_key,
            "event_action": "resolve",
            "dedup_key": incident.key,
        }
        self._client.call("POST", "", ApiStats(), keys=1, parse=_json, json=body)
