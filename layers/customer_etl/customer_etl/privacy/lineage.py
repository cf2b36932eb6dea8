"""A run's lineage: the datasets each stage read and wrote, which column of which dataset
every field came from and how (mapped, derived, validated, masked, enriched, encrypted), and
each column's personal-data class.

Pure: built from the run manifest (the source mapping, the file's header, the
classification, the stages' checkpoints and counts) and from what the configuration masks
and encrypts. `adapters/lineage.py` turns it into OpenLineage events and
`reporting/lineage_graph.py` draws it; both therefore show the same lineage. Names, classes
and counts only: never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from customer_etl.config.privacy import CLASS_OF_COLUMN, ClassificationSettings
from customer_etl.core.classification import ClassificationReport
from customer_etl.core.manifest import STAGES, RunManifest
from customer_etl.core.mapping import SourceMapping, normalise_header
from customer_etl.core.quality_totals import DIMENSIONS, QUALITY_SCORE
from customer_etl.core.schema import BUSINESS_KEY, CANONICAL_FIELDS, ENRICHMENT_FIELDS
from customer_etl.privacy.blind_index import BLIND_INDEXES

Kind = Literal[
    "identity",
    "mapped",
    "combined",
    "derived",
    "validated",
    "masked",
    "enriched",
    "encrypted",
    "indexed",
    "hashed",
]
"""How a field was made from its input: `identity` copies it; `mapped` renames it or maps
its values (a mapping file); `combined` takes the first valid of several columns; `derived`
computes it (a derived `customer_id`); `validated` is the rules' normalised value; `masked`,
`encrypted`, `indexed` (a blind index) and `hashed` (the content hash) hide the value."""
HIDING: frozenset[Kind] = frozenset({"masked", "encrypted", "indexed", "hashed"})
"""Kinds whose output does not show the input's value (OpenLineage's `masking`)."""
_STRENGTH: tuple[Kind, ...] = (
    "identity",
    "validated",
    "mapped",
    "combined",
    "enriched",
    "derived",
    "hashed",
    "indexed",
    "masked",
    "encrypted",
)
"""Which kind names a chain of steps (source column to warehouse column): the strongest."""
Role = Literal["source", "checkpoint", "scores", "quarantine", "table"]
TABLES: tuple[str, ...] = ("customers", "customer_changes", "etl_runs")
RUN_JOB = "run"

_COMPANY_DERIVED = (
    "company_status",
    "company_type",
    "sic_codes",
    "incorporation_date",
    "company_enrichment_source",
)
_BOOKKEEPING_COLUMNS = ("first_seen_at", "last_updated_at", "last_seen_at", "last_run_id")
"""The customers table's own columns (when a record was seen), which no input feeds."""
_CHANGES_COLUMNS = ("run_id", BUSINESS_KEY, "action", "before_hash", "after_hash", "recorded_at")
_RUNS_COLUMNS = (
    "run_id",
    "kind",
    "source_file",
    "status",
    "rows_in",
    "rows_loaded",
    "rows_quarantined",
    "rows_deleted",
    "started_at",
    "finished_at",
    "error",
    "attempts",
)


@dataclass(frozen=True)
class Dataset:
    """A dataset as OpenLineage names it: a namespace and a name within it."""

    namespace: str
    name: str
    role: Role
    label: str
    """A short name for people: the file's name, `transform checkpoint`, the table's name."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    data_class: str | None = None
    """The personal-data class (`email`, `person_name`...), None for none."""
    handling: str | None = None
    """What the pipeline does with it: `encrypt`, `mask`, `keep`, `drop`."""


@dataclass(frozen=True)
class Edge:
    """One input column of one output column."""

    source: Dataset
    source_field: str
    target: Dataset
    target_field: str
    kind: Kind
    description: str

    @property
    def masking(self) -> bool:
        return self.kind in HIDING


@dataclass(frozen=True)
class JobLineage:
    """What one job (the run, or one stage) read and wrote, column by column."""

    job: str
    inputs: tuple[Dataset, ...]
    outputs: tuple[Dataset, ...]
    edges: tuple[Edge, ...]
    schemas: Mapping[Dataset, tuple[Column, ...]] = field(default_factory=dict)

    def edges_into(self, dataset: Dataset) -> list[Edge]:
        return [edge for edge in self.edges if edge.target == dataset]


@dataclass(frozen=True)
class Locations:
    """Where a run's data lives, as datasets' (namespace, name): `of_uri` turns a checkpoint
    or quarantine URI into one, `of_source` the source's URI; `tables` gives each warehouse
    table's."""

    of_uri: Callable[[str], tuple[str, str]]
    of_source: Callable[[str], tuple[str, str]]
    tables: Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Protection:
    """What the configuration hides: the fields transform masks (field -> method), the
    columns load encrypts, and the class policies."""

    masked: Mapping[str, str] = field(default_factory=dict)
    encrypted: tuple[str, ...] = ()
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)

    def handling(self, data_class: str | None) -> str | None:
        if data_class is None:
            return None
        for name, policy in self.classification.policies.items():
            if name.value == data_class:
                return policy.handling
        return None


def stage_lineage(
    stage: str, manifest: RunManifest, where: Locations, protection: Protection
) -> JobLineage:
    """The lineage of one stage as far as the manifest knows it: its input once the stage
    before it has run, its outputs and column edges once it has run itself."""
    return _Builder(manifest, where, protection).stage(stage)


def run_lineage(manifest: RunManifest, where: Locations, protection: Protection) -> JobLineage:
    """The run as one job: the source file in, the warehouse tables out, and each table
    column traced back through every stage to the source columns it came from."""
    return _Builder(manifest, where, protection).run()


def every_job(manifest: RunManifest, where: Locations, protection: Protection) -> list[JobLineage]:
    """Each stage's lineage, in order, then the run's."""
    builder = _Builder(manifest, where, protection)
    return [*(builder.stage(stage) for stage in STAGES), builder.run()]


class _Builder:
    def __init__(self, manifest: RunManifest, where: Locations, protection: Protection) -> None:
        self._manifest = manifest
        self._where = where
        self._protection = protection

    # Datasets --------------------------------------------------------------------------

    def _dataset(self, uri: str, role: Role, label: str) -> Dataset:
        namespace, name = self._where.of_uri(uri)
        return Dataset(namespace, name, role, label)

    def source(self) -> Dataset:
        namespace, name = self._where.of_source(self._manifest.source_uri)
        return Dataset(namespace, name, "source", self._manifest.source_file)

    def checkpoint(self, stage: str) -> Dataset | None:
        report = self._manifest.stages.get(stage)
        if report is None:
            return None
        return self._dataset(report.checkpoint_uri, "checkpoint", f"{stage} checkpoint")

    def scores(self) -> Dataset | None:
        report = self._manifest.stages.get("transform")
        if report is None:
            return None
        folder = report.checkpoint_uri.rstrip("/").rpartition("/")[0]
        uri = f"{folder}/scores/" if folder else "scores/"
        return self._dataset(uri, "scores", "quality scores")

    def quarantine(self, stage: str) -> Dataset | None:
        report = self._manifest.stages.get(stage)
        if report is None or report.quarantine_uri is None:
            return None
        return self._dataset(report.quarantine_uri, "quarantine", f"{stage} quarantine")

    def table(self, name: str) -> Dataset:
        namespace, dataset_name = self._where.tables[name]
        return Dataset(namespace, dataset_name, "table", name)

    def input_of(self, stage: str) -> Dataset | None:
        position = STAGES.index(stage)
        return self.source() if position == 0 else self.checkpoint(STAGES[position - 1])

    # Jobs ------------------------------------------------------------------------------

    def stage(self, stage: str) -> JobLineage:
        source = self.input_of(stage)
        inputs = (source,) if source else ()
        output = self.checkpoint(stage)
        if source is None or output is None:
            schemas = {source: self._schema_of(source)} if source else {}
            return JobLineage(stage, inputs, (), (), schemas)
        outputs: list[Dataset] = [output]
        edges = list(self._stage_edges(stage, source, output))
        if stage == "transform" and (scores := self.scores()) is not None:
            outputs.append(scores)
            edges.append(
                Edge(source, BUSINESS_KEY, scores, BUSINESS_KEY, "identity", "the record's key")
            )
        if stage == "load":
            outputs += [self.table("customers"), self.table("customer_changes")]
            edges += self._table_edges(source)
        if (quarantined := self.quarantine(stage)) is not None:
            outputs.append(quarantined)
        every = (*inputs, *outputs)
        return JobLineage(
            stage,
            inputs,
            tuple(outputs),
            tuple(edges),
            {dataset: self._schema_of(dataset) for dataset in every},
        )

    def run(self) -> JobLineage:
        source = self.source()
        inputs = (source,)
        if self._manifest.next_stage() is not None:
            return JobLineage(RUN_JOB, inputs, (), (), {source: self._schema_of(source)})
        stages = [self.stage(stage) for stage in STAGES]
        edges = [
            *self._traced(self.table("customers"), stages),
            *self._traced(self.table("customer_changes"), stages),
        ]
        outputs = tuple(self.table(name) for name in TABLES)
        return JobLineage(
            RUN_JOB,
            inputs,
            outputs,
            tuple(edges),
            {dataset: self._schema_of(dataset) for dataset in (*inputs, *outputs)},
        )

    # Column edges ----------------------------------------------------------------------

    def _stage_edges(self, stage: str, source: Dataset, output: Dataset) -> list[Edge]:
        if stage == "extract":
            return self._extract_edges(source, output)
        edges: list[Edge] = []
        for spec in CANONICAL_FIELDS:
            kind: Kind = "identity"
            description = "carried on"
            if stage == "transform" and spec.name in self._protection.masked:
                kind = "masked"
                description = f"validated, then masked ({self._protection.masked[spec.name]})"
            elif stage == "transform" and spec.name != BUSINESS_KEY:
                kind = "validated"
                description = "validated and normalised by the quality rules"
            edges.append(Edge(source, spec.name, output, spec.name, kind, description))
        if stage == "transform":
            return edges
        enriched = [spec.name for spec in ENRICHMENT_FIELDS]
        if stage == "enrich":
            for name in enriched:
                company = name in _COMPANY_DERIVED
                keys = ("company_number",) if company else ("postcode", "country")
                how = (
                    "looked up in Companies House"
                    if company
                    else "looked up in postcodes.io, or the reference table of postcode areas"
                )
                edges += [Edge(source, key, output, name, "enriched", how) for key in keys]
            return edges
        # load: the checkpoint keeps the plaintext record and adds its content hash.
        edges += [Edge(source, name, output, name, "identity", "carried on") for name in enriched]
        edges += self._hash_edges(source, output, "content_hash")
        return edges

    def _extract_edges(self, source: Dataset, output: Dataset) -> list[Edge]:
        facts = self._manifest.file
        if facts is None:
            return []
        mapping = self._manifest.mapping or SourceMapping()
        derived_from = set(mapping.customer_id_from)
        edges: list[Edge] = []
        for header in facts.columns_found:
            if header in facts.columns_ignored or header in facts.columns_dropped:
                continue
            feeds = mapping.combined(header)
            target = feeds[0] if feeds else mapping.target(header)
            if target is None or target not in _CANONICAL_NAMES:
                continue
            if derived_from and target == BUSINESS_KEY:
                continue  # the file's own id column is not read when the id is derived
            if target in derived_from:
                edges.append(
                    Edge(
                        source,
                        header,
                        output,
                        BUSINESS_KEY,
                        "derived",
                        "SHA-256 of the normalised " + ", ".join(mapping.customer_id_from),
                    )
                )
            edges.append(Edge(source, header, output, target, *_how_read(header, target, mapping)))
        return edges

    def _table_edges(self, checkpoint: Dataset) -> list[Edge]:
        customers = self.table("customers")
        encrypted = set(self._protection.encrypted)
        edges: list[Edge] = []
        for spec in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS):
            if spec.name in encrypted:
                edge = Edge(
                    checkpoint,
                    spec.name,
                    customers,
                    spec.name,
                    "encrypted",
                    "encrypted (AES-256-GCM under the run's data key)",
                )
            else:
                edge = Edge(checkpoint, spec.name, customers, spec.name, "identity", "loaded")
            edges.append(edge)
        if encrypted:
            for index, column in BLIND_INDEXES.items():
                edges.append(
                    Edge(
                        checkpoint,
                        column,
                        customers,
                        index,
                        "indexed",
                        "blind index: keyed HMAC-SHA-256 of the normalised value",
                    )
                )
        edges += self._hash_edges(checkpoint, customers, "content_hash")
        changes = self.table("customer_changes")
        edges.append(Edge(checkpoint, BUSINESS_KEY, changes, BUSINESS_KEY, "identity", "loaded"))
        edges += self._hash_edges(checkpoint, changes, "after_hash")
        return edges

    @staticmethod
    def _hash_edges(source: Dataset, target: Dataset, column: str) -> list[Edge]:
        return [
            Edge(source, name, target, column, "hashed", "content hash of the record")
            for name in _HASHED
        ]

    def _traced(self, table: Dataset, stages: list[JobLineage]) -> list[Edge]:
        """The table's columns traced back, stage by stage, to the source's columns; each
        chain named by its strongest step and described by its steps."""
        source = self.source()
        found: list[Edge] = []
        for final in stages[-1].edges_into(table):
            chains = [[final]]
            for job in reversed(stages):
                longer = []
                for chain in chains:
                    head = chain[0]
                    if head.source == source:
                        longer.append(chain)
                        continue
                    feeding = [
                        edge
                        for edge in job.edges
                        if edge.target == head.source and edge.target_field == head.source_field
                    ]
                    longer += [[edge, *chain] for edge in feeding] if feeding else [chain]
                chains = longer
            for chain in chains:
                if chain[0].source != source:
                    continue
                kind = max((edge.kind for edge in chain), key=_STRENGTH.index)
                steps = [edge.description for edge in chain if edge.kind != "identity"]
                found.append(
                    Edge(
                        source,
                        chain[0].source_field,
                        table,
                        final.target_field,
                        kind,
                        "; ".join(dict.fromkeys(steps)) or "loaded as read",
                    )
                )
        return list(dict.fromkeys(found))

    # Schemas ---------------------------------------------------------------------------

    def _schema_of(self, dataset: Dataset) -> tuple[Column, ...]:
        if dataset.role == "source":
            return self._source_schema()
        if dataset.role == "quarantine":
            return ()
        if dataset.role == "scores":
            return (
                self._record_column(BUSINESS_KEY, "string"),
                *(
                    Column(name, "float", f"{name} score, 0 to 100")
                    for name in (*DIMENSIONS, QUALITY_SCORE)
                ),
            )
        if dataset.role == "table":
            return self._table_schema(dataset.label)
        stage = dataset.label.split()[0]
        fields = list(CANONICAL_FIELDS)
        if stage in ("enrich", "load"):
            fields += ENRICHMENT_FIELDS
        columns = [
            self._record_column(spec.name, "string" if stage == "extract" else spec.type.value)
            for spec in fields
        ]
        if stage == "load":
            columns.append(Column("content_hash", "string", "content hash of the record"))
        return tuple(columns)

    def _record_column(self, name: str, type_name: str) -> Column:
        spec = next(s for s in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS) if s.name == name)
        data_class = CLASS_OF_COLUMN.get(name)
        class_name = data_class.value if data_class else None
        return Column(
            name, type_name, spec.meaning, class_name, self._protection.handling(class_name)
        )

    def _source_schema(self) -> tuple[Column, ...]:
        facts = self._manifest.file
        if facts is None:
            return ()
        findings = _findings(self._manifest.classification)
        columns = []
        for header in facts.columns_found:
            data_class, handling = findings.get(header, (None, None))
            role = (
                "not read (dropped by the mapping)"
                if header in facts.columns_dropped
                else "not read (not a record field)"
                if header in facts.columns_ignored
                else "read into the record"
            )
            columns.append(Column(header, "string", f"source column, {role}", data_class, handling))
        return tuple(columns)

    def _table_schema(self, table: str) -> tuple[Column, ...]:
        if table == "customers":
            encrypted = set(self._protection.encrypted)
            columns = [
                self._record_column(spec.name, "string" if spec.name in encrypted else t)
                for spec, t in (
                    (spec, spec.type.value) for spec in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS)
                )
            ]
            columns += [
                Column(index, "string", f"blind index of {column}")
                for index, column in BLIND_INDEXES.items()
            ]
            columns.append(Column("content_hash", "string", "content hash of the record"))
            columns += [Column(name, "timestamp", "bookkeeping") for name in _BOOKKEEPING_COLUMNS]
            return tuple(columns)
        names = _CHANGES_COLUMNS if table == "customer_changes" else _RUNS_COLUMNS
        return tuple(Column(name, "string", f"{table} column") for name in names)


_CANONICAL_NAMES = frozenset(spec.name for spec in CANONICAL_FIELDS)
_HASHED: tuple[str, ...] = tuple(spec.name for spec in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS))


def _how_read(header: str, target: str, mapping: SourceMapping) -> tuple[Kind, str]:
    """How extract reads a source column into its field."""
    if target in mapping.combine:
        return "combined", "the first valid of " + ", ".join(mapping.combine[target])
    steps = []
    if normalise_header(header) != target:
        steps.append(f"mapped from {header}")
    if target in mapping.values:
        value_map = mapping.values[target]
        steps.append(f"values mapped ({value_map if isinstance(value_map, str) else 'a map'})")
    if target in mapping.date_formats:
        steps.append("dates read as " + " or ".join(mapping.date_formats[target]))
    if target in mapping.defaults:
        steps.append("a default where empty")
    if steps:
        return "mapped", "; ".join(steps)
    return "identity", "read as text"


def _findings(report: ClassificationReport | None) -> dict[str, tuple[str | None, str | None]]:
    if report is None:
        return {}
    personal = {finding.column for finding in report.personal_columns}
    return {
        finding.column: (
            finding.data_class.value if finding.data_class and finding.column in personal else None,
            finding.handling if finding.column in personal else None,
        )
        for finding in report.columns
    }
