"""KMS as the key-encryption key, under moto: one GenerateDataKey per run whatever the row
count, unwraps through Decrypt, and a rotation to a new key through ReEncrypt."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto import mock_aws
from sqlalchemy import select

from customer_etl.adapters.keys_kms import KmsKeyError, KmsKeyProvider
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.customer_records import CustomerRecords
from customer_etl.adapters.warehouse.key_rotation import rotate_data_keys
from customer_etl.adapters.warehouse.tables import data_keys
from customer_etl.config.model import Config
from customer_etl.core.schema import PERSONAL_COLUMNS
from customer_etl.privacy.blind_index import derive_index_key
from customer_etl.privacy.envelope import FieldProtection
from customer_etl.runtime.keys import summary
from customer_etl.runtime.protection import EncryptionConfigError, field_protection
from customer_etl.stages.load import load
from tests.warehouse_rows import customers

REGION = "eu-west-2"
INDEX_KEY = derive_index_key(b"i" * 32)


@pytest.fixture
def kms_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """KMS operations called through the default session, by name."""
    calls: Counter[str] = Counter()
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        session.events.register("before-call.kms", count)
        yield calls


def new_key() -> str:
    return str(boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"])


def frame(rows: int, prefix: str) -> pd.DataFrame:
    records = customers(*(f"{prefix}{n}" for n in range(rows)))
    records["email"] = [f"{prefix.lower()}{n}@example.com" for n in range(rows)]
    return records


def run(warehouse: SqlWarehouse, protection: FieldProtection, run_id: str, chunks: int) -> None:
    with warehouse.loading(run_id) as unit:
        sealer = protection.start_run(unit.store_data_key)
        for chunk in range(chunks):
            load(frame(50 * (chunk + 1), f"{run_id}-{chunk}-"), unit, sealer)


def test_one_generate_data_key_per_run_whatever_the_rows(
    kms_calls: Counter[str], tmp_path: Path
) -> None:
    protection = FieldProtection(KmsKeyProvider(new_key(), REGION), INDEX_KEY, PERSONAL_COLUMNS)
    warehouse = SqlWarehouse(f"sqlite:///{tmp_path / 'w.db'}", auto_upgrade=True)
    run(warehouse, protection, "small", chunks=1)  # 50 rows
    assert kms_calls["GenerateDataKey"] == 1
    run(warehouse, protection, "large", chunks=4)  # 500 rows, four chunks
    assert kms_calls["GenerateDataKey"] == 2
    assert kms_calls["Decrypt"] == 0 and warehouse.count_customers() == 550
    warehouse.dispose()


def test_records_decrypt_through_kms_with_one_decrypt_per_data_key(
    kms_calls: Counter[str], tmp_path: Path
) -> None:
    keys = KmsKeyProvider(new_key(), REGION)
    warehouse = SqlWarehouse(f"sqlite:///{tmp_path / 'w.db'}", auto_upgrade=True)
    run(warehouse, FieldProtection(keys, INDEX_KEY, PERSONAL_COLUMNS), "r1", chunks=2)
    records = CustomerRecords(warehouse, keys, INDEX_KEY)
    [found] = records.find_by_email("r1-1-7@example.com")
    assert found["customer_id"] == "r1-1-7" and found["first_name"] == "Ann"
    assert kms_calls["Decrypt"] == 1
    warehouse.dispose()


def test_a_rotation_to_a_new_key_reencrypts_every_wrap_and_every_row_still_decrypts(
    kms_calls: Counter[str], tmp_path: Path
) -> None:
    old_key, new = new_key(), new_key()
    warehouse = SqlWarehouse(f"sqlite:///{tmp_path / 'w.db'}", auto_upgrade=True)
    before = FieldProtection(KmsKeyProvider(old_key, REGION), INDEX_KEY, PERSONAL_COLUMNS)
    for run_id in ("r1", "r2", "r3"):
        run(warehouse, before, run_id, 1)
    result = rotate_data_keys(warehouse, KmsKeyProvider(new, REGION))
    assert (result.rewrapped, result.kek_id, result.new_version) == (3, new, False)
    assert kms_calls["ReEncrypt"] == 3
    with warehouse.connect() as connection:
        wraps = connection.execute(select(data_keys.c.kek_id, data_keys.c.kek_version)).all()
    assert set(wraps) == {(new, new)}
    protection = FieldProtection(KmsKeyProvider(new, REGION), INDEX_KEY, PERSONAL_COLUMNS)
    run(warehouse, protection, "r4", 1)
    records = CustomerRecords(warehouse, KmsKeyProvider(new, REGION), INDEX_KEY)
    assert records.find_by_email("r4-0-3@example.com")[0]["first_name"] == "Ann"
    for run_id in ("r1", "r2", "r3"):  # sealed under data keys wrapped by the old key
        record = records.record(f"{run_id}-0-5")
        assert record is not None and record["email"] == f"{run_id}-0-5@example.com"
    # Nothing left under the old key: a second rotation to the same key has nothing to do,
    # and says so rather than announce a new key version.
    again = rotate_data_keys(warehouse, KmsKeyProvider(new, REGION))
    assert (again.rewrapped, again.new_version) == (0, False)
    assert "(nothing to rewrap" in summary(again) and "new key version" not in summary(again)
    warehouse.dispose()


def test_an_unknown_key_fails_with_a_message_naming_the_call_and_the_key(
    kms_calls: Counter[str],
) -> None:
    missing = "alias/customer-etl-missing"
    with pytest.raises(KmsKeyError, match=f"generate_data_key with key {missing}"):
        KmsKeyProvider(missing, REGION).generate_data_key({"data_key_id": "x"})


def test_a_cloud_run_without_a_kms_key_refuses_to_use_a_local_key_file() -> None:
    config = Config(environment="dev")
    with pytest.raises(EncryptionConfigError, match="CUSTOMER_ETL__ENCRYPTION__KMS_KEY_ID"):
        field_protection(config, cloud=True)
