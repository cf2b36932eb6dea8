"""The metrics that the CloudWatch alarms and the dashboard watch.

One module names them so that the code that emits them (the Lambda runtime) and the CDK
stack that alarms on them cannot drift apart; a test checks both sides use these names.
"""

from __future__ import annotations

NAMESPACE = "CustomerEtl"
SERVICE = "customer-etl"

RUN_DIMENSIONS: dict[str, str] = {"service": SERVICE}
"""The exact dimension set of the run-level metrics below (CloudWatch matches it exactly)."""

RUN_QUALITY_SCORE = "RunQualityScore"
"""The run's data quality score, 0 to 100, once per run when transform finishes."""
RUN_QUARANTINE_PERCENT = "RunQuarantinePercent"
"""Rows quarantined by the run as a percentage of its rows in, once per run when it ends."""
RUN_DURATION = "RunDurationSeconds"
"""Seconds from a run's start to its end, once per finished run."""
RUNS_FAILED = "RunsFailed"
"""1 per failed run."""

BREAKER_OPENED = "ApiBreakerOpened"
"""1 each time an enrichment API's circuit opens; dimensions `service` and `api`."""
API_NAMES: tuple[str, ...] = ("postcodes.io", "companies_house")
"""The `api` dimension values, as the enrich stage names the APIs."""

HEALTH_UNHEALTHY = "HealthUnhealthyComponents"
"""Components the scheduled health check found unhealthy (0 when all is well);
dimensions `service` only."""
