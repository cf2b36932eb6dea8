"""The encrypted load against real databases: tokens at rest, blind-index lookups, the
decrypt path, reruns that change nothing, and tokens that refuse to move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, text, update

from customer_etl.adapters.keys_local import KeyFileError, LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.customer_records import CustomerRecords
from customer_etl.adapters.warehouse.tables import customers as customers_table
from customer_etl.adapters.warehouse.tables import data_keys
from customer_etl.core.ports import LoadResult
from customer_etl.core.schema import PERSONAL_COLUMNS
from customer_etl.privacy.blind_index import derive_index_key
from customer_etl.privacy.envelope import DecryptionError, FieldProtection, is_token
from customer_etl.stages.load import CONTENT_HASH, load, prepare_load
from tests.decrypted import plaintext_warehouse
from tests.warehouse_rows import customers


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[SqlWarehouse]:
    store = SqlWarehouse(warehouse_url, auto_upgrade=True)
    yield store
    store.dispose()


@pytest.fixture
def keys(tmp_path: Path) -> LocalKeyFile:
    return LocalKeyFile(tmp_path / "keys.json")


@pytest.fixture
def protection(keys: LocalKeyFile) -> FieldProtection:
    return FieldProtection(keys, derive_index_key(keys.index_secret()), PERSONAL_COLUMNS)


def people() -> pd.DataFrame:
    frame = customers("C1", "C2", "C3")
    frame["email"] = ["ada@example.com", "bob@example.com", "cy@example.com"]
    frame["phone"] = ["+447700900001", None, "+447700900003"]
    frame["first_name"] = ["Ada", "Bob", "Zoë"]
    return frame


def encrypted_load(
    warehouse: SqlWarehouse, protection: FieldProtection, frame: pd.DataFrame, run_id: str
) -> LoadResult:
    """What the pipeline's load does: one data key for the run, then every chunk."""
    with warehouse.loading(run_id) as unit:
        sealer = protection.start_run(unit.store_data_key)
        outcome = load(frame, unit, sealer)
        assert len(outcome.quarantined) == 0
    assert unit.result is not None
    return unit.result


def stored(warehouse: SqlWarehouse) -> list[dict[str, Any]]:
    with warehouse.connect() as connection:
        query = select(customers_table).order_by(customers_table.c.customer_id)
        return [dict(row) for row in connection.execute(query).mappings()]


def test_personal_columns_hold_tokens_and_the_rest_plaintext(
    warehouse: SqlWarehouse, protection: FieldProtection
) -> None:
    encrypted_load(warehouse, protection, people(), "run-1")
    rows = stored(warehouse)
    for row in rows:
        for column in ("first_name", "last_name", "email", "postcode", "date_of_birth"):
            assert is_token(row[column]), column
        assert row["country"] == "GB" and len(row["email_bidx"]) == 64
    assert rows[1]["phone"] is None and rows[1]["phone_bidx"] is None
    dump = repr(rows)
    assert "ada@example.com" not in dump and "Zoë" not in dump and "SW1A" not in dump
    with warehouse.connect() as connection:
        [key] = connection.execute(select(data_keys)).mappings().all()
    assert key["run_id"] == "run-1" and key["kek_version"] == "1"
    assert {r["email"].split(":")[1] for r in rows} == {key["data_key_id"]}


def test_a_rerun_of_the_same_records_leaves_every_row_unchanged(
    warehouse: SqlWarehouse, protection: FieldProtection
) -> None:
    encrypted_load(warehouse, protection, people(), "run-1")
    before = stored(warehouse)
    again = encrypted_load(warehouse, protection, people(), "run-2")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    after = stored(warehouse)
    # Not rewritten: the tokens of the first run stay, though the rerun sealed new ones.
    assert [r["email"] for r in after] == [r["email"] for r in before]


def test_a_record_is_found_by_its_email_and_decrypts(
    warehouse: SqlWarehouse, protection: FieldProtection, keys: LocalKeyFile
) -> None:
    encrypted_load(warehouse, protection, people(), "run-1")
    records = CustomerRecords(warehouse, keys, protection.index_key)
    [found] = records.find_by_email("  Bob@Example.COM ")
    assert (found["customer_id"], found["email"], found["first_name"]) == (
        "C2",
        "bob@example.com",
        "Bob",
    )
    assert found["date_of_birth"] == date(1980, 1, 2) and found["postcode"] == "SW1A 1AA"
    [by_phone] = records.find_by_phone("+44 7700 900003")
    assert by_phone["first_name"] == "Zoë"
    assert records.find_by_email("nobody@example.com") == []
    assert records.record("C1") is not None and records.record("C9") is None


def test_a_token_swapped_between_records_or_columns_does_not_decrypt(
    warehouse: SqlWarehouse, protection: FieldProtection, keys: LocalKeyFile
) -> None:
    encrypted_load(warehouse, protection, people(), "run-1")
    rows = {row["customer_id"]: row for row in stored(warehouse)}
    records = CustomerRecords(warehouse, keys, protection.index_key)
    with warehouse.connect() as connection, connection.begin():
        # Another record's email, then this record's last name in its first name.
        connection.execute(
            update(customers_table)
            .where(customers_table.c.customer_id == "C1")
            .values(email=rows["C2"]["email"])
        )
        connection.execute(
            update(customers_table)
            .where(customers_table.c.customer_id == "C3")
            .values(first_name=rows["C3"]["last_name"])
        )
    for customer_id in ("C1", "C3"):
        with pytest.raises(DecryptionError) as raised:
            records.record(customer_id)
        assert "example.com" not in str(raised.value)
    assert records.record("C2") is not None


def test_rows_loaded_before_encryption_read_as_legacy_plaintext(
    warehouse: SqlWarehouse, protection: FieldProtection, keys: LocalKeyFile
) -> None:
    warehouse.load_customers([customers("OLD", email="old@example.com")], "run-0")
    encrypted_load(warehouse, protection, people(), "run-1")
    records = CustomerRecords(warehouse, keys, protection.index_key)
    [old] = records.find_by_email("old@example.com")
    assert (old["customer_id"], old["first_name"]) == ("OLD", "Ann")
    assert old["date_of_birth"] == date(1980, 1, 2)
    with warehouse.connect() as connection:
        plain = connection.execute(text("select email from customers where customer_id = 'OLD'"))
        assert plain.scalar_one() == "old@example.com"


def test_a_rolled_back_load_leaves_no_data_key(
    warehouse: SqlWarehouse, protection: FieldProtection
) -> None:
    with pytest.raises(RuntimeError), warehouse.loading("run-1") as unit:
        sealer = protection.start_run(unit.store_data_key)
        load(people(), unit, sealer)
        raise RuntimeError("interrupted")
    with warehouse.connect() as connection:
        assert connection.execute(select(data_keys)).all() == []
        assert connection.execute(select(customers_table)).all() == []


def actions(warehouse: SqlWarehouse, run_id: str) -> list[str]:
    with warehouse.connect() as connection:
        query = text("select action from customer_changes where run_id = :run order by 1")
        return [str(row[0]) for row in connection.execute(query, {"run": run_id})]


def test_rows_loaded_before_encryption_are_encrypted_by_the_next_load(
    warehouse_url: str, protection: FieldProtection, keys: LocalKeyFile
) -> None:
    # A 0001 warehouse with the same records in plaintext, under the unkeyed hash.
    plaintext_warehouse(warehouse_url, prepare_load(people().drop(columns=CONTENT_HASH)))
    warehouse = SqlWarehouse(warehouse_url, auto_upgrade=True)
    try:
        first = encrypted_load(warehouse, protection, people(), "run-1")
        assert (first.inserted, first.updated, first.unchanged) == (0, 3, 0)
        assert actions(warehouse, "run-1") == ["updated"] * 3
        rows = stored(warehouse)
        for row in rows:
            assert is_token(row["email"]) and is_token(row["date_of_birth"])
            assert len(row["email_bidx"]) == 64
        # The stored hash is keyed: the plaintext's SHA-256 is not in the table.
        plain = prepare_load(people().drop(columns=CONTENT_HASH))[CONTENT_HASH].tolist()
        assert not {row["content_hash"] for row in rows} & set(plain)
        again = encrypted_load(warehouse, protection, people(), "run-2")
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
        records = CustomerRecords(warehouse, keys, protection.index_key)
        [ada] = records.find_by_email("ada@example.com")
        assert (ada["customer_id"], ada["date_of_birth"]) == ("C1", date(1980, 1, 2))
    finally:
        warehouse.dispose()


def test_a_lookup_is_normalised_as_the_validation_normalises(
    warehouse: SqlWarehouse, protection: FieldProtection, keys: LocalKeyFile
) -> None:
    encrypted_load(warehouse, protection, people(), "run-1")
    warehouse.load_customers([customers("OLD", phone="+447700900009")], "run-0")  # plaintext
    records = CustomerRecords(warehouse, keys, protection.index_key)
    assert [r["customer_id"] for r in records.find_by_phone("07700 900001")] == ["C1"]
    assert [r["customer_id"] for r in records.find_by_phone("07700900009")] == ["OLD"]
    assert [r["customer_id"] for r in records.find_by_email(" ADA@Example.com ")] == ["C1"]


def test_a_lost_key_file_is_refused_not_replaced_once_data_keys_are_stored(
    warehouse: SqlWarehouse, tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    first = LocalKeyFile(path, warehouse.kek_ids)  # the first run creates the file
    encrypted_load(
        warehouse,
        FieldProtection(first, derive_index_key(first.index_secret()), PERSONAL_COLUMNS),
        people(),
        "run-1",
    )
    path.rename(tmp_path / "elsewhere.json")
    with pytest.raises(KeyFileError, match="restore it from its backup"):
        LocalKeyFile(path, warehouse.kek_ids).index_secret()
    assert not path.exists()
    # A key file of another warehouse is refused before a value is sealed under it.
    other = LocalKeyFile(tmp_path / "other.json")
    other.current_version()
    guarded = LocalKeyFile(tmp_path / "other.json", warehouse.kek_ids)
    with pytest.raises(KeyFileError, match="is not the one that wrapped"):
        encrypted_load(
            warehouse,
            FieldProtection(guarded, derive_index_key(other.index_secret()), PERSONAL_COLUMNS),
            people(),
            "run-2",
        )
    with warehouse.connect() as connection:
        assert len(connection.execute(select(data_keys)).all()) == 1


def test_a_value_longer_than_its_plaintext_width_is_quarantined_though_its_token_fits(
    warehouse: SqlWarehouse, protection: FieldProtection
) -> None:
    frame = people()
    frame.loc[1, "email"] = "b" * 288 + "@example.com"  # 300 characters; the width is 254
    frame.loc[2, "first_name"] = "Z" * 101
    with warehouse.loading("run-1") as unit:
        outcome = load(frame, unit, protection.start_run(unit.store_data_key))
    assert outcome.quarantined["reason_codes"].tolist() == [
        "too_long_email",
        "too_long_first_name",
    ]
    assert outcome.quarantined["customer_id"].tolist() == ["C2", "C3"]
    assert outcome.passed["customer_id"].tolist() == ["C1"]
    assert [row["customer_id"] for row in stored(warehouse)] == ["C1"]
