"""Certificate validation of the warehouse connection is on unless configured off."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from customer_etl.adapters.warehouse.configured import secured_url
from customer_etl.config.model import Config
from customer_etl.core.errors import StageError
from customer_etl.health.report import Status
from customer_etl.health.warehouse_tls import check_transport

MSSQL = "mssql+pyodbc://etl@db.example.com:1433/customers?driver=ODBC+Driver+18+for+SQL+Server"
POSTGRES = "postgresql+psycopg://etl@db.example.com:5432/customers"


def _config(url: str, environment: str = "staging", **tls: object) -> Config:
    return Config.model_validate(
        {"environment": environment, "warehouse": {"url": url, "tls": tls}}
    )


def _query(config: Config) -> dict[str, object]:
    return dict(make_url(secured_url(config)).query)


def test_sql_server_validates_the_certificate_by_default() -> None:
    query = _query(_config(MSSQL))
    assert query["TrustServerCertificate"] == "no"
    assert query["driver"] == "ODBC Driver 18 for SQL Server"


def test_sql_server_trusts_a_certificate_only_when_configured() -> None:
    with pytest.raises(StageError, match="trust_server_certificate"):
        secured_url(_config(MSSQL + "&TrustServerCertificate=yes"))
    query = _query(_config(MSSQL, trust_server_certificate=True))
    assert query["TrustServerCertificate"] == "yes"


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_postgresql_verifies_the_full_certificate_outside_local(environment: str) -> None:
    query = _query(_config(POSTGRES, environment))
    assert query == {"sslmode": "verify-full", "sslrootcert": "system"}


def test_postgresql_takes_the_configured_ca_bundle() -> None:
    query = _query(_config(POSTGRES, ca_bundle="/opt/config/certs/rds.pem"))
    assert query == {"sslmode": "verify-full", "sslrootcert": "/opt/config/certs/rds.pem"}


def test_local_postgresql_and_an_explicit_mode_are_left_as_configured() -> None:
    assert secured_url(_config(POSTGRES, "local")) == POSTGRES
    assert _query(_config(POSTGRES + "?sslmode=require")) == {"sslmode": "require"}


def test_health_warns_while_certificates_are_trusted_unchecked() -> None:
    finding = check_transport(_config(MSSQL, trust_server_certificate=True), lambda: [])
    assert finding.status is Status.UNHEALTHY  # no driver either
    finding = check_transport(
        _config(MSSQL, trust_server_certificate=True),
        lambda: ["ODBC Driver 18 for SQL Server"],
    )
    assert finding.status is Status.DEGRADED
    assert "TrustServerCertificate" in finding.message


def test_health_reports_the_odbc_driver() -> None:
    present = check_transport(_config(MSSQL), lambda: ["ODBC Driver 18 for SQL Server"])
    assert present.status is Status.HEALTHY
    assert "ODBC Driver 18 for SQL Server" in present.message
    missing = check_transport(_config(MSSQL), lambda: ["ODBC Driver 17 for SQL Server"])
    assert missing.status is Status.UNHEALTHY
    assert "accept_microsoft_odbc_licence" in missing.message


def test_health_warns_of_a_postgresql_connection_that_does_not_verify() -> None:
    weak = check_transport(_config(POSTGRES + "?sslmode=require"), lambda: [])
    assert weak.status is Status.DEGRADED
    assert check_transport(_config(POSTGRES), lambda: []).status is Status.HEALTHY
