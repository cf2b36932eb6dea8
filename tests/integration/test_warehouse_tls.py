"""Outside `local`, a PostgreSQL warehouse is used only when its certificate verifies: the CI
server's certificate comes from a throwaway CA that no machine's store trusts, so a dev
configuration pointed at it without that CA bundle must not connect, while a local one
(libpq's `prefer`) does. test_warehouse_tls_server.py checks the success path."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError


def _config(url: str, environment: str) -> Config:
    return Config.model_validate(
        {
            "environment": environment,
            "warehouse": {"url": url, "connect_attempts": 1, "connect_timeout_seconds": 5},
        }
    )


def test_a_server_the_machines_ca_store_does_not_vouch_for_is_refused_outside_local(
    postgres_url: str,
) -> None:
    warehouse = build_warehouse(_config(postgres_url, "dev"))
    with pytest.raises(CustomerEtlError) as refused:
        warehouse.connect()
    # Said as a class of failure, never with the server's raw text.
    assert "password" not in str(refused.value).lower()


def test_the_same_server_is_used_by_a_local_run(postgres_url: str) -> None:
    warehouse = build_warehouse(_config(postgres_url, "local"))
    with warehouse.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
