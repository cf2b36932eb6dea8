"""Incidents for failed runs: opened in the tool configured for the alert's severity, kept
beside the run (`incident.json`, with the run's checkpoints), resolved when a resume or a
redrive recovers the run.

An incident tool is a convenience on top of the alert, never a condition of it: the alert
and the run's record go first, and a tool that cannot be reached (or a secret that cannot
be read) is logged by class and left; the run's failure is reported as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

from customer_etl.core.ports import Alert, CheckpointStore, Incident, IncidentRef, IncidentTracker
from customer_etl.observability.telemetry import logger

INCIDENT_DOCUMENT = "incident.json"
"""The run's incident (tool, number, key, status) beside its checkpoints."""


@dataclass(frozen=True)
class IncidentDesk:
    """Which tool gets an incident of each severity (`routes`), and the tools, built when
    first used (a run that needs none reads no credentials)."""

    routes: Mapping[str, str] = field(default_factory=dict)
    trackers: Mapping[str, Callable[[], IncidentTracker]] = field(default_factory=dict)


def open_incident(
    desk: IncidentDesk, alert: Alert, run_id: str, error_class: str, documents: CheckpointStore
) -> IncidentRef | None:
    """The incident opened for the failed run's `alert`, or None when its severity needs
    none or the tool could not take it."""
    tool = desk.routes.get(alert.severity or "")
    if tool is None:
        return None
    incident = Incident(run_id, alert.severity or "", error_class, alert.subject, alert.body)
    try:
        opened = desk.trackers[tool]().open(incident)
    except Exception as error:  # the alert has gone out: this must not hide the failure
        logger.error(
            "incident not opened", extra={"tool": tool, "error_class": type(error).__name__}
        )
        return None
    _keep(documents, run_id, opened, "open")
    logger.info("incident opened", extra={"tool": tool, "incident": opened.number})
    return opened


def resolve_incident(
    desk: IncidentDesk, run_id: str, attempts: int, documents: CheckpointStore
) -> IncidentRef | None:
    """Resolve the run's open incident, if it has one; the incident, or None."""
    stored = _stored(documents, run_id)
    if stored is None or stored[1] != "open":
        return None
    incident = stored[0]
    tracker = desk.trackers.get(incident.tool)
    if tracker is None:
        logger.warning("incident tool no longer configured", extra={"tool": incident.tool})
        return None
    note = f"customer-etl run {run_id} recovered: it succeeded after {attempts} attempts."
    try:
        tracker().resolve(incident, note)
    except Exception as error:
        logger.error(
            "incident not resolved",
            extra={"tool": incident.tool, "error_class": type(error).__name__},
        )
        return None
    _keep(documents, run_id, incident, "resolved")
    logger.info("incident resolved", extra={"tool": incident.tool, "incident": incident.number})
    return incident


def _keep(documents: CheckpointStore, run_id: str, incident: IncidentRef, status: str) -> None:
    try:
        documents.put_document(
            run_id, INCIDENT_DOCUMENT, json.dumps(asdict(incident) | {"status": status})
        )
    except Exception as error:  # a full disk: the incident exists, the tool has it
        logger.error(
            "could not keep the run's incident", extra={"error_class": type(error).__name__}
        )


def _stored(documents: CheckpointStore, run_id: str) -> tuple[IncidentRef, str] | None:
    text = documents.get_document(run_id, INCIDENT_DOCUMENT)
    if text is None:
        return None
    data = json.loads(text)
    return IncidentRef(data["tool"], data["number"], data["key"]), str(data["status"])
