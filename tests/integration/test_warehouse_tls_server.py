"""TLS to a real PostgreSQL server. Outside `local` the warehouse connects with
`sslmode=verify-full` against the configured CA bundle; a certificate the bundle does not
sign is refused, and so is a plain connection to a server that accepts only TLS.

The server is scripts/with-postgres.sh's: its certificate comes from a throwaway CA
(ETL_TEST_POSTGRES_CA), and its role `tls_only` may connect over TLS alone
(ETL_TEST_POSTGRES_TLS_URL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from customer_etl.adapters.warehouse.configured import build_warehouse, secured_url
from customer_etl.config.model import Config
from customer_etl.core.errors import WarehouseUnavailableError
from tests.certificates import self_signed
from tests.databases import fresh_postgres_database, open_warehouse

TLS_URL = "ETL_TEST_POSTGRES_TLS_URL"
CA = "ETL_TEST_POSTGRES_CA"


@pytest.fixture
def tls_database() -> Iterator[str]:
    """A fresh database on the test server, reached as the TLS-only role."""
    for plain in fresh_postgres_database():
        tls = os.environ.get(TLS_URL)
        if not tls:
            message = f"{TLS_URL} unset: scripts/with-postgres.sh starts the server with TLS"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        name = make_url(plain).database
        yield make_url(tls).set(database=name).render_as_string(hide_password=False)


def staging(url: str, ca_bundle: Path | str | None) -> Config:
    tls = {"ca_bundle": str(ca_bundle)} if ca_bundle else {}
    return Config.model_validate(
        {"environment": "staging", "warehouse": {"url": url, "tls": tls, "connect_attempts": 1}}
    )


def another_ca(folder: Path) -> Path:
    """A CA certificate that signed nothing the server holds."""
    return self_signed(folder, "other-ca", "not the server's CA")[0]


def test_outside_local_the_warehouse_verifies_the_servers_certificate_and_uses_tls(
    tls_database: str,
) -> None:
    config = staging(tls_database, os.environ[CA])
    assert dict(make_url(secured_url(config)).query) == {
        "sslmode": "verify-full",
        "sslrootcert": os.environ[CA],
    }
    warehouse = build_warehouse(config)
    try:
        warehouse.upgrade()
        with warehouse.connect() as connection:
            encrypted = connection.execute(
                text("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
            ).scalar()
        assert encrypted is True
        assert warehouse.count_customers() == 0
    finally:
        warehouse.dispose()


def test_a_certificate_the_ca_bundle_does_not_sign_is_refused(
    tls_database: str, tmp_path: Path
) -> None:
    warehouse = build_warehouse(staging(tls_database, another_ca(tmp_path)))
    try:
        with pytest.raises(WarehouseUnavailableError), warehouse.connect():
            pass
    finally:
        warehouse.dispose()


def test_a_plain_connection_to_a_tls_only_server_is_refused(tls_database: str) -> None:
    plain = open_warehouse(
        make_url(tls_database).update_query_dict({"sslmode": "disable"}).render_as_string()
    )
    try:
        with pytest.raises(WarehouseUnavailableError), plain.connect():
            pass
    finally:
        plain.dispose()
    # The same database, the same role, over TLS: the refusal was the missing encryption.
    verified = open_warehouse(
        make_url(tls_database)
        .update_query_dict({"sslmode": "verify-full", "sslrootcert": os.environ[CA]})
        .render_as_string()
    )
    try:
        with verified.connect() as connection:
            assert connection.execute(text("select 1")).scalar() == 1
    finally:
        verified.dispose()
