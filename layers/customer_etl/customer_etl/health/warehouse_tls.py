"""Is the warehouse connection secured as configured: for SQL Server, is the ODBC driver the
URL names installed (in Lambda, the ODBC layer), and is the server's certificate validated;
for PostgreSQL, does the connection verify the server."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.engine import make_url

from customer_etl.adapters.warehouse.configured import VERIFYING_SSLMODES, secured_url
from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError
from customer_etl.health.report import Finding, Status

COMPONENT = "warehouse_transport"
DEFAULT_DRIVER = "ODBC Driver 18 for SQL Server"


def odbc_drivers() -> list[str]:
    """The ODBC drivers unixODBC knows (odbcinst.ini); none without pyodbc."""
    try:
        import pyodbc  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return []
    return list(pyodbc.drivers())


def check_transport(config: Config, drivers: Callable[[], Sequence[str]] = odbc_drivers) -> Finding:
    try:
        url = make_url(secured_url(config))
    except CustomerEtlError as error:
        return Finding(Status.UNHEALTHY, str(error))
    backend = url.get_backend_name()
    if backend == "mssql":
        wanted = str(url.query.get("driver", DEFAULT_DRIVER))
        if wanted not in drivers():
            return Finding(
                Status.UNHEALTHY,
                f"the ODBC driver {wanted!r} is not installed: in the cloud, set "
                "aws.accept_microsoft_odbc_licence to build the ODBC layer "
                "(docs/deployment.md); locally, install Microsoft's msodbcsql18",
            )
        if str(url.query.get("TrustServerCertificate")) == "yes":
            return Finding(
                Status.DEGRADED,
                f"{wanted} installed; TrustServerCertificate=yes: the server's certificate "
                "is not validated (warehouse.tls.trust_server_certificate)",
            )
        return Finding(Status.HEALTHY, f"{wanted} installed; certificate validated")
    if backend == "postgresql":
        mode = str(url.query.get("sslmode", "prefer"))
        if mode not in VERIFYING_SSLMODES and config.environment != "local":
            return Finding(
                Status.DEGRADED,
                f"sslmode={mode}: the server's certificate is not verified; remove sslmode "
                "from the URL for verify-full",
            )
        return Finding(Status.HEALTHY, f"sslmode={mode}")
    return Finding(Status.HEALTHY, f"{backend}: no network connection")
