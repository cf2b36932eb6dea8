"""`customer-etl lineage show`: the run's lineage page as headless Chromium renders it, its
graph's nodes (the source, each stage, each checkpoint, the warehouse tables) and its
column edges, the same as the run's OpenLineage events say."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from customer_etl.config.lineage import LINEAGE_FILE
from customer_etl.reporting.pdf import headless_command
from tests.e2e.local_workspace import REPO, Workspace
from tests.lineage_events import output, read_events

SAMPLE = REPO / "data" / "sample" / "customers.csv"
NODES = {
    "node-source": "customers.csv",
    "node-extract": "extract",
    "node-checkpoint-extract": "extract checkpoint",
    "node-transform": "transform",
    "node-checkpoint-transform": "transform checkpoint",
    "node-scores-quality": "quality scores",
    "node-quarantine-transform": "transform quarantine",
    "node-enrich": "enrich",
    "node-checkpoint-enrich": "enrich checkpoint",
    "node-load": "load",
    "node-checkpoint-load": "load checkpoint",
    "node-table-customers": "customers",
    "node-table-customer_changes": "customer_changes",
    "node-run": "run",
    "node-table-etl_runs": "etl_runs",
}


class Dom(HTMLParser):
    """The rendered DOM: each graph node's label, the column links and the table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[str, str] = {}
        self.links: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.flows = 0
        self._node: str | None = None
        self._in_label = False
        self._in_row = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        css = (a.get("class") or "").split()
        if tag == "g" and "node" in css:
            self._node = a.get("id")
        elif tag == "text" and "label" in css and self._node:
            self._in_label = True
        elif tag == "line" and "flow" in css:
            self.flows += 1
        elif tag == "line" and "field-link" in css:
            self.links.append((css[1], ""))
        elif tag == "tr" and "column-edge" in css:
            self._in_row = True
            self.rows.append([])
        elif tag == "td" and self._in_row:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "g":
            self._node = None
        elif tag == "text":
            self._in_label = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._in_row = False

    def handle_data(self, data: str) -> None:
        if self._in_label and self._node:
            self.labels[self._node] = self.labels.get(self._node, "") + data
        if self._cell is not None:
            self._cell.append(data)


def test_lineage_show_draws_the_run_s_datasets_stages_and_column_edges(
    chromium: str, workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.pipeline(SAMPLE, "--run-id", "drawn") == 0
    page = tmp_path / "drawn.html"

    shown = workspace.run(
        "lineage", "show", "drawn", "--runs", str(workspace.runs), "--out", str(page)
    )

    assert shown == 0
    assert f"wrote {page}" in capsys.readouterr().out
    command = headless_command(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    dom = Dom()
    dom.feed(done.stdout)
    assert dom.labels == NODES
    # source->extract->checkpoint, and so on; load->both tables; run->etl_runs.
    assert dom.flows == 13
    # The column edges are those of the run's OpenLineage COMPLETE event, one for one.
    events = read_events(workspace.runs / "drawn" / LINEAGE_FILE)
    fields = output(events[-1], ".customers")["facets"]["columnLineage"]["fields"]
    told = sorted(
        (target, source["field"])
        for target, edge in fields.items()
        for source in edge["inputFields"]
    )
    assert sorted((row[0], row[1]) for row in dom.rows) == told
    assert len(dom.links) == len(told)
    kinds = dict(((row[0], row[1]), row[2]) for row in dom.rows)
    assert kinds[("email", "email")] == "encrypted"
    assert kinds[("post_town", "postcode")] == "enriched"


def test_lineage_show_of_an_unknown_run_says_so(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.run("lineage", "show", "nope", "--runs", str(workspace.runs)) == 1
    assert "no run nope" in capsys.readouterr().err
