"""Screenshots of each section of the operators' dashboard, drawn from the synthesised
dashboard body, and the summary the documents are checked against (`make doc-figures`).

    .venv/bin/python scripts/dashboard_figures.py

Synthesises the prod stack (bundling skipped, as the infrastructure tests do), reads its
`AWS::CloudWatch::Dashboard` body, lays each section's widgets out on CloudWatch's 24-column
grid as HTML, and has headless Chromium screenshot each one to
docs/figures/dashboard-<section>.png. The widgets show their titles, metrics, statistics,
thresholds and alarms: the layout an operator will find, not data (there is no account to
read metrics from). docs/figures/dashboard.json gets the summary (infra/dashboard_summary.py).
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from customer_etl.reporting.pdf import find_chromium, headless_command

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from infra.app import build  # noqa: E402
from infra.dashboard_summary import (  # noqa: E402
    alarm_names,
    dashboard_body,
    sections,
    slug,
    summarise,
)

FIGURES = REPO / "docs" / "figures"
ENV = "prod"
COLUMN_PX = 50  # 24 columns: 1,200 px
ROW_PX = 42
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")

STYLE = """
body { margin: 0; font: 13px/1.35 system-ui, sans-serif; background: #f2f3f3; }
h1 { font-size: 18px; margin: 0; padding: 10px 12px; background: #232f3e; color: #fff; }
.grid { position: relative; margin: 8px; }
.widget { position: absolute; box-sizing: border-box; background: #fff; border: 1px solid #d5dbdb;
          padding: 6px 8px; overflow: hidden; }
.title { font-weight: 600; margin-bottom: 4px; }
.plot { border-left: 1px solid #aab7b8; border-bottom: 1px solid #aab7b8; position: relative; }
.line { position: absolute; left: 0; right: 0; border-top: 2px dashed #d13212; font-size: 11px;
        color: #d13212; }
.legend span { display: inline-block; margin-right: 10px; font-size: 11px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 3px; }
.alarm { display: inline-block; margin: 2px; padding: 2px 6px; background: #eaeded;
         border-radius: 3px; font-size: 11px; }
.note { color: #687078; font-size: 11px; }
pre { white-space: pre-wrap; font-size: 11px; margin: 0; }
"""


def template_of_prod() -> dict[str, Any]:
    context = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
    app = cdk.App(
        context={**context, "env": ENV, "aws:cdk:bundling-stacks": []},
        builtin_cloud_formation_validation=False,
    )
    template = Template.from_stack(build(app, environ={})).to_json()
    assert isinstance(template, dict)
    return template


def metric_label(metric: list[Any]) -> str:
    options = next((part for part in metric if isinstance(part, dict)), {})
    if "expression" in options:
        return str(options.get("label") or options["expression"])
    strings = [part for part in metric if isinstance(part, str)]
    name = strings[1] if len(strings) > 1 else "?"
    label = options.get("label") or name
    stat = options.get("stat", "")
    return f"{label} ({stat})" if stat else str(label)


def widget_html(widget: Mapping[str, Any], top: int, names: Mapping[str, str]) -> str:
    properties = widget.get("properties", {})
    style = (
        f"left:{widget['x'] * COLUMN_PX}px; top:{(widget['y'] - top) * ROW_PX}px; "
        f"width:{widget['width'] * COLUMN_PX - 4}px; height:{widget['height'] * ROW_PX - 4}px"
    )
    title = html.escape(str(properties.get("title", "")))
    inner = f'<div class="title">{title}</div>'
    if widget["type"] == "alarm":
        shown = [names.get(arn.split(".")[0].strip("<"), arn) for arn in properties["alarms"]]
        inner += "".join(f'<span class="alarm">{html.escape(name)}</span>' for name in shown)
    elif widget["type"] == "log":
        inner += f"<pre>{html.escape(str(properties.get('query', '')))}</pre>"
    elif widget["type"] == "text":
        inner += f"<pre>{html.escape(str(properties.get('markdown', '')))}</pre>"
    else:
        metrics = [
            metric
            for metric in properties.get("metrics", [])
            if not any(isinstance(part, dict) and part.get("visible") is False for part in metric)
        ]
        height = max(widget["height"] * ROW_PX - 90, 20)
        lines = "".join(
            f'<div class="line" style="top:{height // 3}px">'
            f"{html.escape(str(line.get('label', '')))} {line.get('value')}</div>"
            for line in properties.get("annotations", {}).get("horizontal", [])
        )
        view = properties.get("view", "timeSeries")
        inner += f'<div class="plot" style="height:{height}px">{lines}</div>'
        inner += '<div class="legend">' + "".join(
            f'<span><i style="background:{COLOURS[index % len(COLOURS)]}"></i>'
            f"{html.escape(metric_label(metric))}</span>"
            for index, metric in enumerate(metrics)
        )
        inner += f'</div><div class="note">{html.escape(view)}, no data (layout only)</div>'
    return f'<div class="widget" style="{style}">{inner}</div>'


def section_page(title: str, widgets: list[dict[str, Any]], names: Mapping[str, str]) -> str:
    top = min(widget["y"] for widget in widgets)
    bottom = max(widget["y"] + widget["height"] for widget in widgets)
    body = "".join(widget_html(widget, top, names) for widget in widgets)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
        f"<h1>customer-etl-&lt;env&gt; &middot; {html.escape(title)}</h1>"
        f'<div class="grid" style="height:{(bottom - top) * ROW_PX}px">{body}</div></body></html>'
    )


def screenshot(chromium: str, page: Path, target: Path, height: int) -> None:
    command = headless_command(
        chromium,
        page.parent / "profile",
        "--hide-scrollbars",
        f"--window-size={24 * COLUMN_PX + 16},{height}",
        f"--screenshot={target}",
        page.as_uri(),
    )
    subprocess.run(command, capture_output=True, timeout=120, check=True)


def main() -> int:
    template = template_of_prod()
    summary = summarise(template, ENV)
    names = alarm_names(template["Resources"], ENV)
    chromium = find_chromium()
    FIGURES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dashboard-") as scratch:
        for title, widgets in sections(dashboard_body(template["Resources"])):
            page = Path(scratch) / f"{slug(title)}.html"
            page.write_text(section_page(title, widgets, names), encoding="utf-8")
            rows = max(w["y"] + w["height"] for w in widgets) - min(w["y"] for w in widgets)
            target = FIGURES / f"dashboard-{slug(title)}.png"
            screenshot(chromium, page, target, rows * ROW_PX + 70)
            print(f"wrote {target.relative_to(REPO)}")
    (FIGURES / "dashboard.json").write_text(
        json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote docs/figures/dashboard.json: {len(summary['alarms'])} alarms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
