"""The incident desk of a configuration: its severity routes and the configured tools,
each built (and its secret read) only when a run first needs it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from customer_etl.adapters.incident_tools import (
    JIRA,
    SERVICENOW,
    WEBHOOK,
    JiraServiceManagementTracker,
    ServiceNowTracker,
    WebhookTracker,
)
from customer_etl.adapters.secrets import resolve_secret
from customer_etl.config.model import IncidentSettings
from customer_etl.core.errors import IncidentToolError
from customer_etl.core.ports import IncidentTracker
from customer_etl.run.incidents import IncidentDesk


def incident_desk(settings: IncidentSettings) -> IncidentDesk:
    trackers: dict[str, Callable[[], IncidentTracker]] = {}
    if (servicenow := settings.servicenow) is not None:
        trackers[SERVICENOW] = cache(
            lambda: ServiceNowTracker(servicenow, _secret(servicenow.password_ref))
        )
    if (jira := settings.jira) is not None:
        trackers[JIRA] = cache(
            lambda: JiraServiceManagementTracker(jira, _secret(jira.api_token_ref))
        )
    if (webhook := settings.webhook) is not None:
        trackers[WEBHOOK] = cache(lambda: WebhookTracker(webhook, _secret(webhook.routing_key_ref)))
    return IncidentDesk(routes=dict(settings.open_for), trackers=trackers)


def _secret(reference: str) -> str:
    value = resolve_secret(reference)
    if not value:
        raise IncidentToolError(f"the incident tool's secret {reference} is empty or unset")
    return value
