"""What the synthesised dashboard and alarms hold, in the words the operator documents use.

`scripts/dashboard_figures.py` writes this summary to docs/figures/dashboard.json (with a
screenshot of each section); tests/infra/test_dashboard_figures.py keeps the file equal to a
fresh synth, and tests/unit/test_docs_drift.py checks the documents against the file. So a
document cannot name an alarm or a dashboard metric the stack no longer has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

ENV_PLACEHOLDER = "<env>"


def flatten(value: Any) -> str:
    """A CloudFormation value as one string, references written as <LogicalId> or
    <LogicalId.Attr> (the same reading as the infrastructure tests')."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(flatten(part) for part in parts)
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Ref" in value:
        return f"<{value['Ref']}>"
    raise ValueError(f"unexpected CloudFormation value {value!r}")


def alarm_names(resources: Mapping[str, Any], env: str) -> dict[str, str]:
    """Logical id -> alarm name, the environment's name written `<env>`."""
    return {
        logical_id: flatten(resource["Properties"]["AlarmName"]).replace(
            f"customer-etl-{env}-", f"customer-etl-{ENV_PLACEHOLDER}-"
        )
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and "AlarmName" in resource["Properties"]
    }


def dashboard_body(resources: Mapping[str, Any]) -> dict[str, Any]:
    [dashboard] = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    body = json.loads(flatten(dashboard["Properties"]["DashboardBody"]))
    assert isinstance(body, dict)
    return body


def sections(body: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(heading, widgets under it) in reading order."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    for widget in sorted(body["widgets"], key=lambda widget: (widget["y"], widget["x"])):
        if widget["type"] == "text" and widget["properties"]["markdown"].startswith("## "):
            found.append((widget["properties"]["markdown"].removeprefix("## "), []))
        elif found:
            found[-1][1].append(widget)
    return found


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def metric_names_of(widget: Mapping[str, Any]) -> list[str]:
    """The metric names a widget plots (namespaced metrics; math expressions have none)."""
    names = []
    for metric in widget.get("properties", {}).get("metrics", []):
        strings = [part for part in metric if isinstance(part, str)]
        if len(strings) >= 2 and strings[1] not in names:
            names.append(strings[1])
    return names


def widget_alarms(widget: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """The alarm names an alarm-status widget shows (its ARNs are references)."""
    shown = []
    for arn in widget.get("properties", {}).get("alarms", []):
        match = re.fullmatch(r"<([^.>]+)\.Arn>", arn)
        shown.append(names[match[1]] if match and match[1] in names else arn)
    return shown


def summarise(template: Mapping[str, Any], env: str) -> dict[str, Any]:
    """The summary docs/figures/dashboard.json holds."""
    resources = template["Resources"]
    names = alarm_names(resources, env)
    summary_sections = []
    for title, widgets in sections(dashboard_body(resources)):
        summary_sections.append(
            {
                "title": title,
                "png": f"dashboard-{slug(title)}.png",
                "widgets": [
                    {
                        "type": widget["type"],
                        "title": widget.get("properties", {}).get("title", ""),
                        "metrics": metric_names_of(widget),
                        "alarms": widget_alarms(widget, names),
                    }
                    for widget in widgets
                ],
            }
        )
    return {
        "environment": env,
        "dashboard": f"customer-etl-{ENV_PLACEHOLDER}",
        "alarms": sorted(names.values()),
        "sections": summary_sections,
    }
