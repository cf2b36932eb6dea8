"""Settings of the run's lineage: OpenLineage run events for the run and every stage, and
where they go (docs/lineage.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LineageTransport = Literal["none", "file", "http", "console", "datazone"]
LINEAGE_FILE = "lineage.ndjson"
"""The file transport's default file, in the run's folder: one event per line."""


class LineageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    transport: LineageTransport = Field(
        "file",
        description="Where OpenLineage run events go: `file` (one JSON event per line; "
        f"locally `<runs folder>/<run_id>/{LINEAGE_FILE}` unless `file_path` is set), "
        "`http` (an OpenLineage endpoint: Marquez, DataHub, any consumer; `http_url`), "
        "`console` (the client's console transport, for debugging), `datazone` (Amazon "
        "DataZone's PostLineageEvent API, signed with the function's or the machine's AWS "
        "credentials; `datazone_domain_id`), or `none`. "
        "Emission is best-effort: a transport that fails is logged by error class and never "
        "fails a run.",
    )
    namespace: str = Field(
        "customer-etl",
        min_length=1,
        max_length=200,
        description="The OpenLineage job namespace of the run and its stages (jobs "
        "`pipeline`, `pipeline.extract`, ...). Give each deployment its own "
        "(`customer-etl-prod`).",
    )
    file_path: Path | None = Field(
        None,
        description="`file` transport: one file every run appends to, instead of each run's "
        f"own `{LINEAGE_FILE}`. Needed in the cloud, where a run has no local folder "
        "(without it the cloud emits nothing on `file`).",
    )
    http_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="`http` transport: the consumer's base URL (Marquez: "
        "`http://marquez:5000`; DataHub: `https://datahub-gms:8080/openapi/openlineage`).",
    )
    http_endpoint: str = Field(
        "api/v1/lineage",
        description="`http` transport: the path events are posted to, under `http_url` "
        "(`api/v1/lineage` for Marquez, DataHub and most consumers).",
    )
    # The pattern of `model.SecretRef`, written out: model.py imports this module.
    api_key_ref: str | None = Field(
        None,
        pattern=r"^(env|secretsmanager|ssm):[^\s]+$",
        description="`http` transport: reference to the API key sent as a bearer token, if "
        "the consumer needs one.",
    )
    datazone_domain_id: str | None = Field(
        None,
        pattern=r"^dzd[-_][a-zA-Z0-9_-]{1,36}$",
        description="`datazone` transport: the Amazon DataZone (or SageMaker Unified Studio) "
        "domain the events are posted to, in `aws.region`; the stack lets the functions "
        "that send events call `datazone:PostLineageEvent` on it.",
    )
    timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="`http` transport: timeout of one request."
    )

    @model_validator(mode="after")
    def _http_needs_a_url(self) -> LineageSettings:
        if self.transport == "http" and not self.http_url:
            raise ValueError("lineage.transport http needs lineage.http_url")
        if self.transport == "datazone" and not self.datazone_domain_id:
            raise ValueError("lineage.transport datazone needs lineage.datazone_domain_id")
        return self
