"""How the connection to the warehouse is secured: certificate validation on by default
(docs/warehouse.md, "TLS")."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class WarehouseTlsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_bundle: Path | None = Field(
        None,
        description="CA certificates (PEM) that sign the warehouse's certificate, e.g. the "
        "RDS bundle shipped under config/ (`/opt/config/...` in Lambda). PostgreSQL: "
        "`sslrootcert`; unset uses the system's store outside `local`.",
    )
    trust_server_certificate: bool = Field(
        False,
        description="SQL Server only: accept the server's certificate without validating "
        "it (`TrustServerCertificate=yes`). The traffic stays encrypted but a man in the "
        "middle goes unnoticed; `health` reports it as degraded while it is on. A URL that "
        "sets TrustServerCertificate=yes without this is refused.",
    )
