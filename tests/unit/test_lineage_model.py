"""The lineage of a run as `privacy.lineage` derives it: which source column became which
field, and how, through a mapping file, masking and encryption."""

from __future__ import annotations

from datetime import UTC, datetime

from customer_etl.core.manifest import STAGES, FileReport, RunManifest, StageReport
from customer_etl.core.mapping import SourceMapping
from customer_etl.privacy.lineage import (
    TABLES,
    Edge,
    Locations,
    Protection,
    every_job,
    run_lineage,
    stage_lineage,
)

HEADER = ["Ref", "Given", "Surname", "E-mail", "Phone 1", "Phone 2", "Postal", "Notes"]
MAPPING = SourceMapping(
    columns={
        "Given": "first_name",
        "Surname": "last_name",
        "E-mail": "email",
        "Postal": "postcode",
    },
    combine={"phone": ["Phone 1", "Phone 2"]},
    customer_id_from=["email"],
    drop=["Ref"],
)
WHERE = Locations(
    of_uri=lambda uri: ("file", f"/runs/{uri}"),
    of_source=lambda uri: ("file", uri),
    tables={name: ("postgres://db:5432", f"crm.public.{name}") for name in TABLES},
)


def manifest(stages: tuple[str, ...] = STAGES) -> RunManifest:
    started = datetime(2026, 12, 1, tzinfo=UTC)
    report = StageReport(
        rows_in=10, rows_out=10, rows_quarantined=0, duration_seconds=1.0, checkpoint_uri=""
    )
    return RunManifest.start("r1", "/in/export.csv", started).model_copy(
        update={
            "mapping": MAPPING,
            "file": FileReport(
                size_bytes=100,
                encoding="utf-8",
                columns_found=HEADER,
                columns_ignored=["Notes"],
                columns_dropped=["Ref"],
            ),
            "stages": {
                stage: report.model_copy(update={"checkpoint_uri": f"r1/{stage}/"})
                for stage in stages
            },
        }
    )


def into(edges: tuple[Edge, ...], field: str) -> list[tuple[str, str]]:
    return sorted((edge.source_field, edge.kind) for edge in edges if edge.target_field == field)


def test_extract_says_which_source_column_became_which_field_and_how() -> None:
    extract = stage_lineage("extract", manifest(), WHERE, Protection())

    assert into(extract.edges, "first_name") == [("Given", "mapped")]
    assert into(extract.edges, "phone") == [("Phone 1", "combined"), ("Phone 2", "combined")]
    assert into(extract.edges, "customer_id") == [("E-mail", "derived")]
    assert not [edge for edge in extract.edges if edge.source_field in ("Ref", "Notes")]
    [source] = extract.inputs
    assert (source.namespace, source.name) == ("file", "/in/export.csv")
    assert [(d.namespace, d.name) for d in extract.outputs] == [("file", "/runs/r1/extract/")]


def test_the_run_traces_each_table_column_to_the_source_named_by_its_strongest_step() -> None:
    encrypted = Protection(encrypted=("email", "phone"))
    masked = Protection(masked={"email": "email"})

    with_encryption = run_lineage(manifest(), WHERE, encrypted)
    with_masking = run_lineage(manifest(), WHERE, masked)

    assert into(with_encryption.edges, "email") == [("E-mail", "encrypted")]
    assert into(with_encryption.edges, "email_bidx") == [("E-mail", "indexed")]
    assert into(with_encryption.edges, "post_town") == [("Postal", "enriched")]
    assert into(with_masking.edges, "email") == [("E-mail", "masked")]
    assert into(with_masking.edges, "email_bidx") == [], "no blind index without encryption"
    assert all(edge.masking for edge in with_encryption.edges if edge.target_field == "email")
    assert [d.name for d in with_encryption.outputs] == [
        "crm.public.customers",
        "crm.public.customer_changes",
        "crm.public.etl_runs",
    ]


def test_a_stage_not_run_yet_has_its_input_and_no_outputs() -> None:
    jobs = every_job(manifest(stages=("extract",)), WHERE, Protection())

    transform, enrich = jobs[1], jobs[2]
    assert [d.name for d in transform.inputs] == ["/runs/r1/extract/"]
    assert (transform.outputs, transform.edges) == ((), ())
    assert enrich.inputs == ()
    assert jobs[-1].outputs == (), "the run's tables only once it is done"
