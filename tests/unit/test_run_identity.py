"""Who started a run reaches `etl_runs.triggered_by`: the local account locally, the S3
requester of the upload (or an operator's named identity) in the cloud."""

from __future__ import annotations

import getpass

import pytest

from customer_etl.adapters.warehouse.tables import TRIGGER_LENGTH
from customer_etl.core.manifest import RunManifest
from customer_etl.run.summary import run_record
from customer_etl.runtime.identity import cloud_identity, local_identity
from customer_etl.runtime.lambda_handlers import manifest_from_event

S3_EVENT = {
    "detail": {
        "bucket": {"name": "landing"},
        "object": {"key": "in/customers+2026.csv", "version-id": "v1"},
        "requester": "123456789012",
    }
}


def test_a_local_run_names_the_account_that_ran_it() -> None:
    assert local_identity() == f"local:{getpass.getuser()}"


def test_an_account_without_a_name_is_named_by_its_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_name() -> str:
        raise OSError("no user name")

    monkeypatch.setattr(getpass, "getuser", no_name)
    assert local_identity().startswith("local:uid-")


def test_the_extract_of_an_s3_event_records_its_requester() -> None:
    manifest = manifest_from_event("extract", {"run_id": "run-1", "source": S3_EVENT})
    assert manifest.triggered_by == "s3:123456789012"
    assert run_record(manifest).triggered_by == "s3:123456789012"


def test_the_start_functions_input_carries_the_requester_and_an_operator_may_name_themselves() -> (
    None
):
    source = {
        "bucket": "landing",
        "key": "a.csv",
        "version_id": "v1",
        "requester": "s3.amazonaws.com",
    }
    assert manifest_from_event("extract", {"run_id": "r", "source": source}).triggered_by == (
        "s3:s3.amazonaws.com"
    )
    named = {**source, "triggered_by": "arn:aws:iam::123456789012:role/operator"}
    assert cloud_identity(named) == "arn:aws:iam::123456789012:role/operator"
    assert cloud_identity({"bucket": "b", "key": "k"}) is None
    assert len(cloud_identity({"triggered_by": "x" * 500}) or "") == TRIGGER_LENGTH


def test_a_manifest_from_before_loads_without_an_identity() -> None:
    old = RunManifest.start("run-1", "customers.csv").model_dump(mode="json")
    del old["triggered_by"]
    assert RunManifest.model_validate(old).triggered_by is None
