"""OpenLineage run events of a run and its stages, through the `openlineage-python`
client's transports (file, HTTP, console): the `LineageEmitter` port's adapter.

What an event says comes from `privacy.lineage` (datasets, column edges, classes); this
module only spells it in OpenLineage's facets:

- run facets: `parent` (a stage's run is a child of the pipeline's run), `processing_engine`,
  `errorMessage` on FAIL and ABORT (the error's class only: a message may quote a value);
- job facets: `jobType` (BATCH, a JOB for the run and a TASK per stage), `documentation`;
- dataset facets: `schema` (each column with its type and, for personal data, its class in
  its description), `tags` (per column `personal_data_class` and `handling`: what catalogs
  show as classification), `dataSource`, `columnLineage` on outputs (each output column's
  input columns, with OpenLineage's transformation type, subtype and `masking`);
- the quality scores: `dataQualityMetrics` on the scores checkpoint (dataset facet) and on
  the run's source (input facet): per dimension, the records scored (`count`) and the sum
  of their scores (`sum`; the mean is `sum / count`); `outputStatistics` with row counts.

The events go to the transport as they are, not through `OpenLineageClient`: the client
also reads `openlineage.yml` from the working folder and `OPENLINEAGE_*` variables, which
would let a stray file redirect or filter a run's lineage behind the configuration's back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    column_lineage_dataset,
    data_quality_metrics_dataset,
    data_quality_metrics_input_dataset,
    datasource_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    tags_dataset,
)
from openlineage.client.transport import Transport
from openlineage.client.uuid import generate_static_uuid

from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import RUN_JOB, LineageEvent
from customer_etl.core.quality_totals import DIMENSIONS, QUALITY_SCORE, QualityTotals
from customer_etl.observability.telemetry import logger
from customer_etl.privacy.lineage import (
    Column,
    Dataset,
    Edge,
    JobLineage,
    Locations,
    Protection,
    run_lineage,
    stage_lineage,
)

PIPELINE_JOB = "pipeline"
"""The run's job name; a stage's is `pipeline.<stage>`."""
INTEGRATION = "CUSTOMER_ETL"
TAG_SOURCE = "CUSTOMER_ETL"
CLASS_TAG = "personal_data_class"
HANDLING_TAG = "handling"
_DESCRIPTIONS = {
    RUN_JOB: "A customer file checked, validated, protected, enriched and loaded.",
    "extract": "Check the file, classify its columns, read it into canonical records.",
    "transform": "Validate and score every record; quarantine the failing; mask if on.",
    "enrich": "Add postcode and company details from public APIs or the reference table.",
    "load": "Encrypt personal fields and upsert the records into the warehouse.",
}
_SUBTYPES = {
    "identity": ("DIRECT", "IDENTITY"),
    "hashed": ("DIRECT", "AGGREGATION"),
}


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # a source tree never installed
        return "unknown"


@cache
def producer() -> str:
    """Who produced the events (OpenLineage's `producer`, a URI)."""
    return f"urn:customer-etl:{package_version('customer-etl')}"


def job_name(job: str) -> str:
    return PIPELINE_JOB if job == RUN_JOB else f"{PIPELINE_JOB}.{job}"


def run_uuid(manifest: RunManifest, job: str) -> str:
    """The OpenLineage run id of a job of a run: the same in every process that tells of it
    (a Lambda function starts a stage, another one finishes it), from the run's start time
    and id, so a resume or a redrive continues the same run."""
    return str(generate_static_uuid(manifest.started_at, f"{manifest.run_id}/{job}".encode()))


class OpenLineageEmitter:
    """Sends a run's lineage events through an OpenLineage transport.

    Best-effort: a transport that fails (a consumer down, a file that cannot be written)
    costs one warning with the error's class, never the run.

    Example:
        >>> from openlineage.client.transport.noop import NoopConfig, NoopTransport
        >>> emitter = OpenLineageEmitter(lambda run_id: NoopTransport(NoopConfig()),
        ...     "customer-etl", locations, Protection())  # doctest: +SKIP
    """

    def __init__(
        self,
        transport_for: Callable[[str], Transport | None],
        namespace: str,
        locations: Locations,
        protection: Protection,
    ) -> None:
        """`transport_for(run_id)` gives the run's transport (a file transport writes into
        the run's folder), None when the run's events go nowhere."""
        self._transport_for = transport_for
        self._namespace = namespace
        self._locations = locations
        self._protection = protection

    def emit(self, event: LineageEvent) -> None:
        try:
            transport = self._transport_for(event.manifest.run_id)
            if transport is not None:
                transport.emit(self.run_event(event))
        except Exception as error:
            # Never the run: lineage is a report of the run, not a part of it.
            logger.warning(
                "lineage event not sent",
                extra={
                    "error_class": type(error).__name__,
                    "lineage_event": event.kind,
                    "job": event.job,
                },
            )

    def run_event(self, event: LineageEvent) -> RunEvent:
        """The OpenLineage event of `event`."""
        manifest = event.manifest
        if event.job == RUN_JOB:
            lineage = run_lineage(manifest, self._locations, self._protection)
        else:
            lineage = stage_lineage(event.job, manifest, self._locations, self._protection)
        complete = event.kind == "COMPLETE"
        at = event.at or datetime.now(UTC)
        return RunEvent(
            eventType=RunState[event.kind],
            eventTime=at.isoformat(),
            run=Run(runId=run_uuid(manifest, event.job), facets=self._run_facets(event)),
            job=Job(namespace=self._namespace, name=job_name(event.job), facets=_job_facets(event)),
            inputs=[
                self._input(dataset, lineage, manifest, complete) for dataset in lineage.inputs
            ],
            outputs=[self._output(dataset, lineage, manifest) for dataset in lineage.outputs]
            if complete
            else [],
            producer=producer(),
        )

    def _run_facets(self, event: LineageEvent) -> dict[str, Any]:
        facets: dict[str, Any] = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=package_version("customer-etl"),
                name="customer-etl",
                openlineageAdapterVersion=package_version("openlineage-python"),
                producer=producer(),
            )
        }
        if event.job != RUN_JOB:
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=run_uuid(event.manifest, RUN_JOB)),
                job=parent_run.Job(namespace=self._namespace, name=PIPELINE_JOB),
                producer=producer(),
            )
        if event.kind in ("FAIL", "ABORT"):
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"{event.error_class or 'unknown error'}: see the run's summary",
                programmingLanguage="python",
                producer=producer(),
            )
        return facets

    def _input(
        self, dataset: Dataset, lineage: JobLineage, manifest: RunManifest, complete: bool
    ) -> InputDataset:
        input_facets: dict[str, Any] = {}
        quality = _quality(manifest)
        if complete and lineage.job == RUN_JOB and dataset.role == "source" and quality:
            facts = manifest.file
            input_facets["dataQualityMetrics"] = (
                data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                    columnMetrics={
                        name: data_quality_metrics_input_dataset.ColumnMetrics(
                            count=count, sum=total
                        )
                        for name, (count, total) in _score_metrics(quality).items()
                    },
                    rowCount=manifest.rows_in,
                    bytes=facts.size_bytes if facts else None,
                    producer=producer(),
                )
            )
        return InputDataset(
            namespace=dataset.namespace,
            name=dataset.name,
            facets=_dataset_facets(dataset, lineage.schemas.get(dataset, ())),
            inputFacets=input_facets,
        )

    def _output(
        self, dataset: Dataset, lineage: JobLineage, manifest: RunManifest
    ) -> OutputDataset:
        facets = _dataset_facets(dataset, lineage.schemas.get(dataset, ()))
        if edges := lineage.edges_into(dataset):
            facets["columnLineage"] = _column_lineage(edges)
        quality = _quality(manifest)
        if dataset.role == "scores" and quality:
            facets["dataQualityMetrics"] = (
                data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
                    columnMetrics={
                        name: data_quality_metrics_dataset.ColumnMetrics(count=count, sum=total)
                        for name, (count, total) in _score_metrics(quality).items()
                    },
                    rowCount=quality.records,
                    producer=producer(),
                )
            )
        output_facets: dict[str, Any] = {}
        if (rows := _rows_written(dataset, lineage.job, manifest)) is not None:
            output_facets["outputStatistics"] = (
                output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=rows, producer=producer()
                )
            )
        return OutputDataset(
            namespace=dataset.namespace,
            name=dataset.name,
            facets=facets,
            outputFacets=output_facets,
        )


def _job_facets(event: LineageEvent) -> dict[str, Any]:
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH",
            integration=INTEGRATION,
            jobType="JOB" if event.job == RUN_JOB else "TASK",
            producer=producer(),
        ),
        "documentation": documentation_job.DocumentationJobFacet(
            description=_DESCRIPTIONS.get(event.job, event.job), producer=producer()
        ),
    }


def _dataset_facets(dataset: Dataset, columns: tuple[Column, ...]) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=dataset.namespace, uri=dataset.namespace, producer=producer()
        )
    }
    if columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=column.name,
                    type=column.type,
                    description=_described(column),
                    ordinal_position=position,
                )
                for position, column in enumerate(columns, start=1)
            ],
            producer=producer(),
        )
        tags = [
            tags_dataset.TagsDatasetFacetFields(
                key=key, value=value, source=TAG_SOURCE, field=column.name
            )
            for column in columns
            for key, value in ((CLASS_TAG, column.data_class), (HANDLING_TAG, column.handling))
            if value is not None
        ]
        if tags:
            facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags, producer=producer())
    return facets


def _described(column: Column) -> str:
    if column.data_class is None:
        return column.description
    handling = f", {column.handling}" if column.handling else ""
    return f"{column.description} Personal data: {column.data_class}{handling}."


def _column_lineage(edges: list[Edge]) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    fields: dict[str, list[column_lineage_dataset.InputField]] = {}
    for edge in edges:
        kind, subtype = _SUBTYPES.get(edge.kind, ("DIRECT", "TRANSFORMATION"))
        fields.setdefault(edge.target_field, []).append(
            column_lineage_dataset.InputField(
                namespace=edge.source.namespace,
                name=edge.source.name,
                field=edge.source_field,
                transformations=[
                    column_lineage_dataset.Transformation(
                        type=kind,
                        subtype=subtype,
                        description=f"{edge.kind}: {edge.description}",
                        masking=edge.masking,
                    )
                ],
            )
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            name: column_lineage_dataset.Fields(inputFields=inputs)
            for name, inputs in fields.items()
        },
        producer=producer(),
    )


def _quality(manifest: RunManifest) -> QualityTotals | None:
    transform = manifest.stages.get("transform")
    return transform.quality if transform and transform.quality else None


def _score_metrics(quality: QualityTotals) -> Mapping[str, tuple[float, float]]:
    """Per dimension and overall: (records scored, sum of their scores)."""
    metrics = {
        name: (float(quality.dimension_records.get(name, 0)), quality.dimension_sums.get(name, 0.0))
        for name in DIMENSIONS
    }
    metrics[QUALITY_SCORE] = (float(quality.records), quality.score_sum)
    return metrics


def _rows_written(dataset: Dataset, job: str, manifest: RunManifest) -> int | None:
    if dataset.role == "checkpoint":
        stage = dataset.label.split()[0]
        report = manifest.stages.get(stage)
        return report.rows_out if report else None
    if dataset.role == "quarantine":
        stage = dataset.label.split()[0]
        report = manifest.stages.get(stage)
        return report.rows_quarantined if report else None
    if dataset.role == "scores":
        quality = _quality(manifest)
        return quality.records if quality else None
    if dataset.label == "customers":
        return manifest.rows_loaded
    return None
