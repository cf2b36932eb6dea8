"""The warehouse side of subject requests on every dialect: the register and its deadlines,
the flags a load honours, erasure and anonymisation in one transaction."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.subjects import SubjectStore
from customer_etl.adapters.warehouse.tables import customer_changes, customers, subject_requests
from customer_etl.config.model import Config
from customer_etl.privacy.subject_requests import SubjectRef
from customer_etl.runtime.subject_requests import SubjectService
from tests.warehouse_rows import customers as records


def _service(warehouse: SqlWarehouse, now: datetime | None = None) -> SubjectService:
    """Without encryption (the tests' records are plaintext): the key file is never used."""
    config = Config.model_validate({"environment": "local", "encryption": {"enabled": False}})
    key_file = Path(os.environ["CUSTOMER_ETL__ENCRYPTION__KEY_FILE"])
    service = SubjectService(config, warehouse, lambda: LocalKeyFile(key_file), "local:dpo")
    if now is not None:
        service.now = lambda: now
    return service


def test_the_register_shows_age_and_flags_open_requests_past_one_month(
    warehouse: SqlWarehouse,
) -> None:
    store = SubjectStore(warehouse)
    old = store.open_request("erasure", SubjectRef("customer_id", "C1"), "local:dpo")
    recent = store.open_request("access", SubjectRef("customer_id", "C2"), "local:dpo")
    done = store.open_request("access", SubjectRef("customer_id", "C3"), "local:dpo")
    store.close_request(done, '{"exported": 1}')
    requested = datetime(2026, 1, 10, 9, tzinfo=UTC)
    with warehouse.connect() as connection, connection.begin():
        for request_id, moment in ((old, requested), (recent, requested + timedelta(days=20))):
            connection.execute(
                update(subject_requests)
                .where(subject_requests.c.request_id == request_id)
                .values(requested_at=moment)
            )
    now = datetime(2026, 2, 12, tzinfo=UTC)
    register = {row["request_id"]: row for row in _service(warehouse, now).register()}
    assert register[old]["overdue"] and register[old]["age_days"] == 32
    assert register[old]["due_by"].startswith("2026-02-10")
    assert not register[recent]["overdue"]
    assert register[done]["status"] == "closed" and not register[done]["overdue"]
    assert register[done]["outcome"] == {"exported": 1}
    open_ids = {row["request_id"] for row in _service(warehouse, now).register(open_only=True)}
    assert open_ids == {old, recent}


def test_an_erased_customer_is_refused_by_the_next_load_on_every_dialect(
    warehouse: SqlWarehouse,
) -> None:
    warehouse.load_customers([records("C1", "C2")], "run-1")
    document = _service(warehouse).erase("C1")
    assert (document["warehouse_rows"], document["audit_rows"]) == (1, 1)

    result = warehouse.load_customers([records("C1", "C2")], "run-2")
    assert (result.rejected, result.unchanged, result.inserted) == (1, 1, 0)
    with warehouse.connect() as connection:
        ids = connection.execute(select(customers.c.customer_id)).scalars().all()
        trail = connection.execute(select(customer_changes.c.customer_id)).scalars().all()
    assert ids == ["C2"] and sorted(trail) == ["C2", "C2"]
    [row] = _service(warehouse).register()
    assert (row["kind"], row["status"], row["outcome"]["erased"]) == ("erasure", "closed", True)


def test_anonymise_keeps_the_facts_and_drops_the_person(warehouse: SqlWarehouse) -> None:
    warehouse.load_customers([records("C1")], "run-1")
    erased = SubjectStore(warehouse).erase("C1", "anonymise")
    assert (erased.customers, erased.audit_rows) == (1, 1)
    with warehouse.connect() as connection:
        [row] = connection.execute(select(customers)).mappings().all()
    assert row["customer_id"].startswith("anon-")
    assert row["first_name"] is None and row["email"] is None and row["date_of_birth"] is None
    assert row["country"] == "GB" and row["signup_date"] is not None
