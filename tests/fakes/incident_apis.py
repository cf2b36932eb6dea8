"""A fake of the three incident tools on loopback: ServiceNow's Table API, Jira Service
Management's REST API and PagerDuty's Events API v2.

Each endpoint checks the request as the vendor's API reference describes it and answers as
the vendor does; a request that breaks the shape gets the vendor's 400 and is recorded in
`refused`, so a test sees a malformed request fail rather than pass quietly:
- ServiceNow (`/api/now/table/incident`, Table API): Basic auth, JSON; a new incident needs
  `short_description`, and `impact` and `urgency` are "1" to "3"; it answers 201 with
  `result.sys_id` and `result.number`. Resolving (`PATCH .../incident/{sys_id}`, state "6")
  needs `close_code` and `close_notes`, as the instance's data policy does.
- Jira Service Management (`/rest/servicedeskapi/request`): Basic auth (e-mail and API
  token); `serviceDeskId`, `requestTypeId` and `requestFieldValues.summary` required; 201
  with `issueId` and `issueKey`. `POST .../request/{key}/transition` with the transition
  `id` answers 204.
- PagerDuty Events v2 (`/v2/enqueue`): a 32-character `routing_key`, `event_action`
  trigger, acknowledge or resolve; a trigger needs `payload.summary`, `payload.source` and
  `payload.severity` (critical, error, warning, info); 202 with `dedup_key`.

`fail_next` answers that many requests with 503 first; `down` answers every one with 503.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import on_loopback

_SERVICENOW = re.compile(r"^/api/now/table/incident(?:/([0-9a-f]{32}))?$")
_JIRA_REQUEST = "/rest/servicedeskapi/request"
_JIRA_TRANSITION = re.compile(r"^/rest/servicedeskapi/request/([A-Z][A-Z0-9]+-\d+)/transition$")
_PAGERDUTY = "/v2/enqueue"
_PAGERDUTY_SEVERITIES = {"critical", "error", "warning", "info"}


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class FakeIncidentTools:
    """`user:password` of ServiceNow and `email:token` of Jira are the only credentials
    accepted (401 otherwise)."""

    servicenow_login: tuple[str, str] = ("etl-integration", "sn-password")
    jira_login: tuple[str, str] = ("ops@example.com", "jira-token")
    fail_next: int = 0
    down: bool = False
    requests: list[Request] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Why each malformed request was refused."""
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    """ServiceNow incidents by sys_id."""
    jira_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Jira requests by key, with the transitions they went through."""
    pagerduty: dict[str, str] = field(default_factory=dict)
    """PagerDuty alerts by dedup key: `triggered` or `resolved`."""
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer(
        self, method: str, path: str, body: Any, authorization: str | None
    ) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(Request(method, path, body, authorization))
            if self.down:
                return 503, {"error": "unavailable"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": "unavailable"}
            if match := _SERVICENOW.match(path):
                return self._servicenow(method, match.group(1), body, authorization)
            if path == _JIRA_REQUEST or _JIRA_TRANSITION.match(path):
                return self._jira(method, path, body, authorization)
            if path == _PAGERDUTY and method == "POST":
                return self._pagerduty(body)
            return 404, {"error": "not found"}

    def _refuse(self, why: str) -> tuple[int, Any]:
        self.refused.append(why)
        return 400, {"error": {"message": why}}

    def _servicenow(
        self, method: str, sys_id: str | None, body: Any, authorization: str | None
    ) -> tuple[int, Any]:
        if authorization != _basic(*self.servicenow_login):
            return 401, {"error": {"message": "User Not Authenticated"}}
        if not isinstance(body, dict):
            return self._refuse("servicenow: the body is not a JSON object")
        if method == "POST" and sys_id is None:
            if not body.get("short_description"):
                return self._refuse("servicenow: short_description is required")
            for level in ("impact", "urgency"):
                if body.get(level) not in {"1", "2", "3"}:
                    return self._refuse(f"servicenow: {level} must be 1, 2 or 3")
            sys_id = f"{len(self.incidents) + 1:032x}"
            number = f"INC{10000 + len(self.incidents) + 1:07d}"
            self.incidents[sys_id] = {**body, "sys_id": sys_id, "number": number, "state": "1"}
            return 201, {"result": self.incidents[sys_id]}
        if method == "PATCH" and sys_id is not None:
            if sys_id not in self.incidents:
                return 404, {"error": {"message": "No Record found"}}
            if body.get("state") == "6" and not (
                body.get("close_code") and body.get("close_notes")
            ):
                return self._refuse("servicenow: resolving needs close_code and close_notes")
            self.incidents[sys_id].update(body)
            return 200, {"result": self.incidents[sys_id]}
        return 405, {"error": {"message": "Method not Supported"}}

    def _jira(
        self, method: str, path: str, body: Any, authorization: str | None
    ) -> tuple[int, Any]:
        if authorization != _basic(*self.jira_login):
            return 401, {"errorMessage": "Unauthorized"}
        if method != "POST" or not isinstance(body, dict):
            return self._refuse("jira: POST a JSON object")
        if match := _JIRA_TRANSITION.match(path):
            key = match.group(1)
            if key not in self.jira_requests:
                return 404, {"errorMessage": "Request does not exist"}
            if not body.get("id"):
                return self._refuse("jira: a transition needs its id")
            self.jira_requests[key]["transitions"].append(body["id"])
            return 204, None
        values = body.get("requestFieldValues")
        if not (body.get("serviceDeskId") and body.get("requestTypeId")):
            return self._refuse("jira: serviceDeskId and requestTypeId are required")
        if not isinstance(values, dict) or not values.get("summary"):
            return self._refuse("jira: requestFieldValues.summary is required")
        key = f"OPS-{len(self.jira_requests) + 1}"
        self.jira_requests[key] = {**body, "transitions": []}
        return 201, {"issueId": str(10000 + len(self.jira_requests)), "issueKey": key}

    def _pagerduty(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or len(str(body.get("routing_key", ""))) != 32:
            return self._refuse("pagerduty: routing_key must be the 32-character key")
        action = body.get("event_action")
        if action not in {"trigger", "acknowledge", "resolve"}:
            return self._refuse("pagerduty: event_action is trigger, acknowledge or resolve")
        dedup_key = body.get("dedup_key")
        if action == "trigger":
            payload = body.get("payload") or {}
            if not (payload.get("summary") and payload.get("source")):
                return self._refuse("pagerduty: payload.summary and payload.source are required")
            if payload.get("severity") not in _PAGERDUTY_SEVERITIES:
                return self._refuse(
                    "pagerduty: payload.severity is critical, error, warning or info"
                )
            dedup_key = dedup_key or f"generated-{len(self.pagerduty) + 1}"
            self.pagerduty[dedup_key] = "triggered"
        elif not dedup_key:
            return self._refuse("pagerduty: acknowledge and resolve need the dedup_key")
        else:
            self.pagerduty[dedup_key] = "resolved" if action == "resolve" else "acknowledged"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _Handler(BaseHTTPRequestHandler):
    tools: FakeIncidentTools

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        status, answer = self.tools.answer(
            self.command, self.path, body, self.headers.get("Authorization")
        )
        payload = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_incident_tools(tools: FakeIncidentTools | None = None) -> Iterator[FakeIncidentTools]:
    tools = tools or FakeIncidentTools()
    handler = type("Handler", (_Handler,), {"tools": tools})
    with on_loopback(handler) as url:
        tools.base_url = url
        yield tools
