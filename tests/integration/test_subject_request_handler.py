"""The subject-request function under moto: KMS unwraps the data keys for an export, the
blind-index secret finds a person by email, an erasure puts them on the suppression list,
and the function's log holds no email, phone number or name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from customer_etl.adapters.keys_kms import KmsKeyProvider
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.schema import PERSONAL_COLUMNS
from customer_etl.privacy.blind_index import derive_index_key
from customer_etl.privacy.envelope import FieldProtection
from customer_etl.runtime.subject_lambda import handler
from customer_etl.runtime.subject_requests import SubjectRequestError
from customer_etl.stages.load import load
from tests.fakes.lambda_invoke import REGION, FakeLambdaContext
from tests.warehouse_rows import customers

REPO = Path(__file__).resolve().parents[2]
SECRET = "s" * 40
EMAIL = "ada.lovelace@example.org"
CONTEXT = FakeLambdaContext("customer-etl-dev-subject_request")


@dataclass
class Cloud:
    warehouse: SqlWarehouse

    def invoke(self, **event: Any) -> dict[str, Any]:
        return handler({"requested_by": "dpo@example.com", **event}, CONTEXT)  # type: ignore[arg-type]


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mock_aws():
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
        warehouse = SqlWarehouse(url, auto_upgrade=True)
        protection = FieldProtection(
            KmsKeyProvider(key, REGION), derive_index_key(SECRET.encode()), PERSONAL_COLUMNS
        )
        records = customers("C1", "C2")
        records.loc[0, "email"] = EMAIL
        with warehouse.loading("run-1") as unit:
            load(records, unit, protection.start_run(unit.store_data_key))
        for name, value in {
            "CUSTOMER_ETL_ENV": "dev",
            "CUSTOMER_ETL_CONFIG_DIR": str(REPO / "config"),
            "CUSTOMER_ETL__WAREHOUSE__URL": url,
            "CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": "null",
            "CUSTOMER_ETL__ENCRYPTION__KMS_KEY_ID": key,
            "CUSTOMER_ETL__ENCRYPTION__BLIND_INDEX_KEY_REF": "env:TEST_BLIND_INDEX_SECRET",
            "TEST_BLIND_INDEX_SECRET": SECRET,
        }.items():
            monkeypatch.setenv(name, value)
        yield Cloud(warehouse)
        warehouse.dispose()


def test_find_export_and_erase_through_the_function(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    found = cloud.invoke(operation="find", email=f" {EMAIL.upper()}")
    assert found["customer_ids"] == ["C1"]
    assert found["subject_ref"]["kind"] == "email_bidx"

    exported = cloud.invoke(operation="export", customer_id="C1")
    assert exported["fields"]["email"]["value"] == EMAIL
    assert exported["fields"]["first_name"]["value"] == "Ann"

    erased = cloud.invoke(operation="erase", customer_id="C1")
    assert erased["erased"] and erased["warehouse_rows"] == 1
    assert erased["artefact_files"] == 0, "the cloud's run objects are not edited here"
    assert cloud.warehouse.count_customers() == 1

    register = cloud.invoke(operation="requests")["requests"]
    assert [(r["kind"], r["requested_by"]) for r in register] == [
        ("access", "iam:dpo@example.com"),
        ("access", "iam:dpo@example.com"),
        ("erasure", "iam:dpo@example.com"),
    ]
    logged = capsys.readouterr()
    assert "subject request closed" in logged.err, "the function logs its requests"
    assert EMAIL not in logged.out + logged.err and "Ann" not in logged.err


def test_a_bad_event_is_refused_without_quoting_it(cloud: Cloud) -> None:
    with pytest.raises(SubjectRequestError, match="operation must be one of"):
        cloud.invoke(operation="delete everything")
    with pytest.raises(SubjectRequestError, match="'requested_by'"):
        handler({"operation": "requests"}, CONTEXT)  # type: ignore[arg-type]
    with pytest.raises(SubjectRequestError, match="'customer_id'") as refused:
        cloud.invoke(operation="erase", email=EMAIL)
    assert EMAIL not in str(refused.value)
