"""`lineage.html`: a run's lineage as a page that opens offline: the source file, the
stages, their checkpoints and the warehouse tables as a graph (inline SVG, no script), and
the column-level edges from the source's columns to the `customers` table's, with each
column's personal-data class.

Drawn from `privacy.lineage`, the same derivation the OpenLineage events carry, so the
page and a catalog show the same lineage. Names, classes and counts only: never a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from customer_etl.core.manifest import STAGES, RunManifest
from customer_etl.privacy.lineage import (
    RUN_JOB,
    Column,
    Dataset,
    Edge,
    JobLineage,
    Locations,
    Protection,
    every_job,
)
from customer_etl.reporting.render import render

NODE_WIDTH = 150
NODE_HEIGHT = 46
COLUMN_GAP = 40
ROW_GAP = 16
MARGIN = 10
FIELD_ROW = 18
FIELD_COLUMN_WIDTH = 180
FIELD_GAP = 260


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    detail: str
    """The dataset's full name (or the job's), shown under the label and as its title."""
    kind: str
    """`job`, or the dataset's role: source, checkpoint, scores, quarantine, table."""
    x: int
    y: int


@dataclass(frozen=True)
class Link:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class FieldRow:
    name: str
    data_class: str | None
    y: int


@dataclass(frozen=True)
class FieldLink:
    source: str
    target: str
    kind: str
    description: str
    y1: int
    y2: int


@dataclass(frozen=True)
class LineagePage:
    manifest: RunManifest
    nodes: list[Node]
    links: list[Link]
    width: int
    height: int
    sources: list[FieldRow]
    targets: list[FieldRow]
    field_links: list[FieldLink]
    fields_height: int
    table: str
    """The customers table's dataset name."""

    @property
    def field_x2(self) -> int:
        return MARGIN + FIELD_COLUMN_WIDTH + FIELD_GAP


def lineage_page(manifest: RunManifest, where: Locations, protection: Protection) -> LineagePage:
    jobs = every_job(manifest, where, protection)
    nodes, links, width, height = _graph(jobs)
    run = jobs[-1]
    customers = next((d for d in run.outputs if d.label == "customers"), None)
    sources = _rows(run.schemas.get(run.inputs[0], ()))
    targets = _rows(run.schemas.get(customers, ())) if customers else []
    edges = run.edges_into(customers) if customers else []
    return LineagePage(
        manifest=manifest,
        nodes=nodes,
        links=links,
        width=width,
        height=height,
        sources=sources,
        targets=targets,
        field_links=_field_links(edges, sources, targets),
        fields_height=MARGIN * 2 + FIELD_ROW * max(len(sources), len(targets), 1),
        table=customers.name if customers else "",
    )


def render_lineage_page(page: LineagePage) -> str:
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    return render("lineage.html.j2", page=page, generated_at=generated)


def _graph(jobs: list[JobLineage]) -> tuple[list[Node], list[Link], int, int]:
    """Nodes in columns, left to right: the source, then each stage and the datasets it
    wrote; the run's own job (which writes `etl_runs`) under the load."""
    columns: list[list[tuple[str, str, str, str]]] = [[] for _ in range(2 * len(STAGES) + 1)]
    placed: dict[Dataset, str] = {}
    flows: list[tuple[str, str]] = []

    def dataset(column: int, item: Dataset) -> str:
        if item not in placed:
            placed[item] = _node_id(item)
            columns[column].append((placed[item], item.label, item.name, item.role))
        return placed[item]

    for position, job in enumerate(jobs):
        if job.job == RUN_JOB:
            tables = [d for d in job.outputs if d not in placed]
            if not tables:
                continue
            run_id = "node-run"
            columns[2 * len(STAGES) - 1].append((run_id, "run", "pipeline", "job"))
            flows += [(run_id, dataset(2 * len(STAGES), table)) for table in tables]
            continue
        job_id = f"node-{job.job}"
        if job.inputs or job.outputs:
            columns[2 * position + 1].append((job_id, job.job, f"pipeline.{job.job}", "job"))
        for item in job.inputs:
            flows.append((dataset(2 * position, item), job_id))
        for item in job.outputs:
            flows.append((job_id, dataset(2 * position + 2, item)))
    nodes: list[Node] = []
    for index, column in enumerate(columns):
        for row, (node_id, label, detail, kind) in enumerate(column):
            x = MARGIN + index * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + row * (NODE_HEIGHT + ROW_GAP)
            nodes.append(Node(node_id, label, detail, kind, x, y))
    where = {node.id: node for node in nodes}
    links = [
        Link(
            where[a].x + NODE_WIDTH,
            where[a].y + NODE_HEIGHT // 2,
            where[b].x,
            where[b].y + NODE_HEIGHT // 2,
        )
        for a, b in flows
    ]
    used = [index for index, column in enumerate(columns) if column]
    width = MARGIN * 2 + (max(used, default=0) + 1) * (NODE_WIDTH + COLUMN_GAP)
    rows = max((len(column) for column in columns), default=1)
    return nodes, links, width, MARGIN * 2 + rows * (NODE_HEIGHT + ROW_GAP)


def _node_id(item: Dataset) -> str:
    """`node-table-customers`, `node-checkpoint-transform`, `node-source`: stable ids."""
    if item.role == "source":
        return "node-source"
    if item.role == "table":
        return f"node-table-{item.label}"
    return f"node-{item.role}-{item.label.split()[0]}"


def _rows(columns: tuple[Column, ...]) -> list[FieldRow]:
    return [
        FieldRow(column.name, column.data_class, MARGIN + FIELD_ROW * index + FIELD_ROW // 2)
        for index, column in enumerate(columns)
    ]


def _field_links(
    edges: list[Edge], sources: list[FieldRow], targets: list[FieldRow]
) -> list[FieldLink]:
    source_y = {row.name: row.y for row in sources}
    target_y = {row.name: row.y for row in targets}
    return [
        FieldLink(
            edge.source_field,
            edge.target_field,
            edge.kind,
            edge.description,
            source_y[edge.source_field],
            target_y[edge.target_field],
        )
        for edge in edges
        if edge.source_field in source_y and edge.target_field in target_y
    ]
