"""Is each enabled enrichment API reachable, and what state is its circuit breaker in.

The APIs are optional (a run falls back without them), so the runner reports them as
degraded at worst. The probe is one request with a short timeout and no retries, sent
outside the run's API client so that a health check never moves a breaker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pybreaker
import requests
from botocore.exceptions import BotoCoreError, ClientError

from customer_etl.adapters.secrets import resolve_secret
from customer_etl.config.model import CompaniesHouseSettings, PostcodesSettings
from customer_etl.core.errors import CustomerEtlError
from customer_etl.health.report import Finding, Status
from customer_etl.stages.enrich import COMPANIES_API, POSTCODES_API

BreakerReader = Callable[[str], Finding]
"""The breaker's state of an API (by its name), as a finding."""

PROBE_POSTCODE = "SW1A 1AA"
"""A fixed, public postcode (not a customer's): the bulk endpoint the runs use, asked once."""
PROBE_COMPANY = "00000006"
"""A fixed, public company number: the profile endpoint the runs use, asked once."""


def component_name(api: str) -> str:
    return f"api:{api}"


def check_postcodes(settings: PostcodesSettings, timeout: float, breaker: BreakerReader) -> Finding:
    reach = _probe(
        "POST",
        settings.base_url.rstrip("/") + "/postcodes",
        min(timeout, settings.timeout_seconds),
        json={"postcodes": [PROBE_POSTCODE]},
    )
    return _worst(reach, breaker(POSTCODES_API))


def check_companies_house(
    settings: CompaniesHouseSettings, timeout: float, breaker: BreakerReader
) -> Finding:
    """Skipped without a key, as runs then skip company enrichment too."""
    reference = settings.api_key_ref
    try:
        key = resolve_secret(reference)
    except CustomerEtlError as error:
        if reference is not None and reference.startswith("env:"):
            key = None  # an unset variable means "no key", as in the runs
        else:
            return Finding(Status.UNHEALTHY, str(error))  # names the reference, not the key
    if not key:
        return Finding(
            Status.SKIPPED,
            "no API key configured (enrichment.companies_house.api_key_ref), so runs skip "
            "company enrichment",
        )
    reach = _probe(
        "GET",
        f"{settings.base_url.rstrip('/')}/company/{PROBE_COMPANY}",
        min(timeout, settings.timeout_seconds),
        auth=(key, ""),
    )
    return _worst(reach, breaker(COMPANIES_API))


def _probe(method: str, url: str, timeout: float, **kwargs: Any) -> Finding:
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as error:
        # The error's text quotes the URL; the class says enough (ConnectionError, ...).
        return Finding(Status.UNHEALTHY, f"unreachable ({type(error).__name__})")
    status = response.status_code
    if status >= 500:
        return Finding(Status.UNHEALTHY, f"answered HTTP {status}")
    if status in (401, 403):
        return Finding(Status.UNHEALTHY, f"refused the API key (HTTP {status})")
    if status == 429:
        return Finding(Status.DEGRADED, "reachable but rate-limiting (HTTP 429)")
    return Finding(Status.HEALTHY, f"reachable (HTTP {status})")


def in_process_breaker(api: str) -> Finding:
    """Local runs keep each breaker in the process: a new run starts with it closed."""
    return Finding(Status.HEALTHY, "circuit closed (local runs start with a fresh breaker)")


def dynamodb_breaker(client: Any, table: str) -> BreakerReader:
    """The shared breaker state the Lambda functions keep in DynamoDB (one item per API,
    partition key `name`, as `adapters.dynamodb_state.DynamoDbBreakerStorage` writes it).
    Read here directly, since that storage hides an unreadable table behind its last
    known state, which is what a run wants and not what a health check wants."""

    def read(api: str) -> Finding:
        try:
            response = client.get_item(
                TableName=table, Key={"name": {"S": api}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            return Finding(
                Status.UNHEALTHY,
                f"circuit state table {table} unreadable ({type(error).__name__})",
            )
        item = response.get("Item", {})
        state = item.get("state", {}).get("S", pybreaker.STATE_CLOSED)
        if state == pybreaker.STATE_CLOSED:
            return Finding(Status.HEALTHY, "circuit closed")
        since = ""
        if "opened_at" in item:
            moment = datetime.fromtimestamp(float(item["opened_at"]["N"]), UTC)
            since = f" since {moment:%Y-%m-%d %H:%M} UTC"
        return Finding(
            Status.DEGRADED,
            f"circuit {state}{since}: runs use the fallback until a trial request succeeds",
        )

    return read


def _worst(reach: Finding, breaker: Finding) -> Finding:
    status = max(reach.status, breaker.status, key=lambda s: s.rank)
    return Finding(status, f"{reach.message}; {breaker.message}")
