"""The retention job against the warehouse, on SQLite and PostgreSQL: classes applied by
their event, held customers kept and counted, a dry run that changes nothing, and an audit
that holds counts and never a customer's id or values."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.config.retention import RetentionSettings
from customer_etl.core.errors import MaskingKeyError
from customer_etl.core.legal_holds import HoldScope, NewLegalHold
from customer_etl.run.retention import LocalStores, apply_retention
from tests.retention_settings import customer_days, with_event
from tests.warehouse_rows import customers

NOW = datetime.now(UTC)


def rows(warehouse: SqlWarehouse, sql: str) -> list[tuple[object, ...]]:
    with warehouse.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def age(warehouse: SqlWarehouse, days: int, *ids: str) -> None:
    with warehouse.engine.begin() as connection:
        for customer_id in ids:
            connection.execute(
                text("update customers set last_seen_at = :t where customer_id = :id"),
                {"t": NOW - timedelta(days=days), "id": customer_id},
            )


@pytest.fixture
def loaded(warehouse: SqlWarehouse) -> SqlWarehouse:
    warehouse.load_customers(
        [customers("OLD-1", "OLD-2", "OLD-3", "NEW-1", email="secret.person@example.org")],
        "run-1",
    )
    age(warehouse, 400, "OLD-1", "OLD-2", "OLD-3")
    return warehouse


def test_a_held_customer_survives_retention_and_is_counted(loaded: SqlWarehouse) -> None:
    loaded.add_legal_hold(NewLegalHold(HoldScope.CUSTOMER, "OLD-2", "matter 42", "dpo"))
    result = apply_retention(loaded, customer_days(365))

    assert result.rows_deleted == 2
    assert rows(loaded, "select customer_id from customers order by customer_id") == [
        ("NEW-1",),
        ("OLD-2",),
    ]
    [(job, _, outcome)] = [
        a for a in loaded.retention_actions() if a[2].store == "warehouse_customers"
    ]
    assert job == result.run_id
    assert (outcome.retention_class, outcome.action, outcome.records, outcome.held) == (
        "customer",
        "delete",
        2,
        1,
    )
    assert outcome.rule.startswith("last_seen_at before ") and outcome.rule.endswith("(365 days)")
    assert rows(loaded, "select kind, status, rows_deleted from etl_runs") == [
        ("retention", "succeeded", 2)
    ]
    audit = repr(rows(loaded, "select * from retention_actions"))
    for value in ("OLD-", "NEW-", "secret.person", "example.org"):
        assert value not in audit


def test_holds_on_a_run_or_a_covered_data_class_keep_every_customer_they_cover(
    loaded: SqlWarehouse,
) -> None:
    run_hold = loaded.add_legal_hold(NewLegalHold(HoldScope.RUN, "run-1", "audit", "dpo"))
    assert apply_retention(loaded, customer_days(365)).rows_deleted == 0
    loaded.release_legal_hold(run_hold.hold_id, "dpo")
    loaded.add_legal_hold(NewLegalHold(HoldScope.DATA_CLASS, "email", "matter", "dpo"))
    result = apply_retention(loaded, customer_days(365), covered={"customer": frozenset({"email"})})
    assert result.rows_deleted == 0
    [outcome] = [o for o in result.outcomes if o.store == "warehouse_customers"]
    assert (outcome.action, outcome.records, outcome.held) == ("skip", 0, 3)
    assert len(rows(loaded, "select customer_id from customers")) == 4


def test_a_dry_run_counts_what_would_go_and_changes_nothing(loaded: SqlWarehouse) -> None:
    loaded.add_legal_hold(NewLegalHold(HoldScope.CUSTOMER, "OLD-1", "matter", "dpo"))
    result = apply_retention(loaded, customer_days(365), dry_run=True)
    [outcome] = [o for o in result.outcomes if o.store == "warehouse_customers"]
    assert (result.dry_run, outcome.records, outcome.held, result.rows_deleted) == (True, 2, 1, 2)
    assert len(rows(loaded, "select customer_id from customers")) == 4
    assert rows(loaded, "select count(*) from retention_actions") == [(0,)]
    assert rows(loaded, "select count(*) from etl_runs") == [(0,)]


def test_a_class_running_from_signup_reads_the_signup_date(warehouse: SqlWarehouse) -> None:
    warehouse.load_customers([customers("A", signup_date=(NOW - timedelta(days=40)).date())], "r")
    warehouse.load_customers([customers("B", signup_date=(NOW - timedelta(days=10)).date())], "r")
    warehouse.load_customers([customers("C", signup_date=None)], "r")
    assert apply_retention(warehouse, with_event("customer", "signup", 30)).rows_deleted == 1
    assert rows(warehouse, "select customer_id from customers order by customer_id") == [
        ("B",),
        ("C",),
    ]


def _anonymising(key_ref: str) -> RetentionSettings:
    settings = customer_days(365)
    anonymise = settings.classes["customer"].model_copy(update={"action": "anonymise"})
    return RetentionSettings(
        classes={**settings.classes, "customer": anonymise}, anonymise_key_ref=key_ref
    )


def test_anonymise_replaces_personal_columns_by_keyed_pseudonyms_and_keeps_the_rows(
    loaded: SqlWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETENTION_TEST_KEY", "k" * 32)
    loaded.add_legal_hold(NewLegalHold(HoldScope.CUSTOMER, "OLD-3", "matter", "dpo"))
    before = {row[0]: row[1] for row in rows(loaded, "select customer_id, email from customers")}
    result = apply_retention(loaded, _anonymising("env:RETENTION_TEST_KEY"))

    assert result.rows_deleted == 2
    after = {
        row[0]: row[1:]
        for row in rows(
            loaded, "select customer_id, email, last_name, date_of_birth, email_bidx from customers"
        )
    }
    assert set(after) == {"OLD-1", "OLD-2", "OLD-3", "NEW-1"}, "anonymised rows stay"
    for customer_id in ("OLD-1", "OLD-2"):
        email, last_name, birth, index = after[customer_id]
        assert str(email).startswith("p_") and str(last_name).startswith("p_")
        assert email != last_name, "one pseudonym per column"
        assert (birth, index) == (None, None)
    assert after["OLD-3"][0] == before["OLD-3"], "a held customer is left as it was"
    assert after["NEW-1"][0] == before["NEW-1"]
    [outcome] = [o for o in result.outcomes if o.store == "warehouse_customers"]
    assert (outcome.action, outcome.records, outcome.held) == ("anonymise", 2, 1)
    # An anonymised customer is done: the next job finds only the held one still due.
    [again] = [
        o
        for o in apply_retention(loaded, _anonymising("env:RETENTION_TEST_KEY")).outcomes
        if o.store == "warehouse_customers"
    ]
    assert (again.action, again.records, again.held) == ("skip", 0, 1)


def test_anonymise_without_its_key_fails_the_job_on_record_and_changes_nothing(
    loaded: SqlWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RETENTION_TEST_KEY", raising=False)
    with pytest.raises(MaskingKeyError, match="cannot anonymise"):
        apply_retention(loaded, _anonymising("env:RETENTION_TEST_KEY"))
    assert rows(loaded, "select kind, status from etl_runs") == [("retention", "failed")]
    assert rows(loaded, "select count(*) from customers where email like 'p_%'") == [(0,)]


def test_a_hold_on_a_personal_data_class_keeps_the_files_of_whole_records_too(
    warehouse: SqlWarehouse, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    for part in ("quarantine/transform", "extract"):
        (runs / "old" / part).mkdir(parents=True)
        (runs / "old" / part / "chunk-00000.parquet").write_bytes(b"rows")
    (runs / "old" / "manifest.json").write_text("{}")
    (tmp_path / "logs").mkdir()
    old_log = tmp_path / "logs" / "old-20200101T000000000000Z.jsonl"
    old_log.write_text("{}\n")
    long_ago = time.time() - 400 * 86_400
    for path in [*runs.rglob("*"), old_log]:
        os.utime(path, (long_ago, long_ago))
    local = LocalStores(runs, tmp_path / "reports", tmp_path / "logs", tmp_path / "archive")
    warehouse.add_legal_hold(NewLegalHold(HoldScope.DATA_CLASS, "phone", "matter", "dpo"))

    result = apply_retention(
        warehouse,
        RetentionSettings(),
        local=local,
        covered={"customer": frozenset({"phone", "email"}), "special": frozenset({"payment_card"})},
    )
    by_store = {o.store: (o.action, o.records, o.held) for o in result.outcomes}
    assert by_store["quarantine"] == ("skip", 0, 1)
    assert by_store["checkpoints"] == ("skip", 0, 1)
    assert by_store["logs"] == ("delete", 1, 0), (
        "logs hold no records: a data class hold spares none"
    )
    assert (runs / "old" / "quarantine").exists() and (runs / "old" / "extract").exists()
    assert not old_log.exists()
