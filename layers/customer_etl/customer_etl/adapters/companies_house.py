"""Companies House company profiles: `GET /company/{number}` with HTTP Basic auth (the API
key as user name, empty password), kept under the API's rate limit by a client-side limiter
and, past it, by honouring the 429's reset time."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from urllib.parse import quote

import requests

from customer_etl.adapters.api_client import ApiClient
from customer_etl.config.model import CompaniesHouseSettings
from customer_etl.core.api_stats import ApiStats
from customer_etl.core.errors import EnrichmentUnavailableError
from customer_etl.core.ports import CompanyDetails
from customer_etl.observability.telemetry import logger, timed

API = "companies_house"


class CompaniesHouseLookup:
    """Details of companies from the Companies House register.

    A number the register does not know (404) maps to None; a number the API could not be
    asked about, or that is past the run's request budget (`max_requests_per_run`), is
    absent from the answer, and the latter is listed in `stats.deferred_keys`.

    Example:
        >>> lookup = CompaniesHouseLookup(settings, ApiClient(...))  # doctest: +SKIP
        >>> lookup.lookup(["00000006"], ApiStats())["00000006"].status  # doctest: +SKIP
        'active'
    """

    def __init__(self, settings: CompaniesHouseSettings, client: ApiClient) -> None:
        self._settings = settings
        self._client = client

    @timed
    def lookup(self, numbers: list[str], stats: ApiStats) -> dict[str, CompanyDetails | None]:
        self._client.watch(stats)
        budget = self._settings.max_requests_per_run
        if budget is not None:
            allowed = max(0, budget - stats.calls)
            if allowed < len(numbers):
                deferred = numbers[allowed:]
                stats.defer(deferred)
                logger.info(
                    "company lookups deferred to a later run: request budget spent",
                    extra={"api": API, "deferred": len(deferred), "budget": budget},
                )
                numbers = numbers[:allowed]
        answers: dict[str, CompanyDetails | None] = {}
        with ThreadPoolExecutor(max_workers=self._settings.concurrency) as pool:
            for number, (answered, details) in zip(
                numbers, pool.map(lambda n: self._ask(n, stats), numbers), strict=True
            ):
                if answered:
                    answers[number] = details
        return answers

    def _ask(self, number: str, stats: ApiStats) -> tuple[bool, CompanyDetails | None]:
        """(whether the API answered, its answer)."""
        try:
            path = f"/company/{quote(number, safe='')}"
            return True, self._client.call("GET", path, stats, keys=1, parse=_parse)
        except EnrichmentUnavailableError:
            return False, None


def _parse(response: requests.Response) -> CompanyDetails | None:
    if response.status_code == 404:
        return None
    return decode(response.json())


def encode(details: CompanyDetails) -> dict[str, object]:
    """The cache's form of an answer, in the API's own field names."""
    return {
        "company_status": details.status,
        "type": details.company_type,
        "sic_codes": list(details.sic_codes),
        "date_of_creation": details.incorporated_on.isoformat()
        if details.incorporated_on
        else None,
    }


def decode(data: Mapping[str, Any]) -> CompanyDetails:
    created = data.get("date_of_creation")
    return CompanyDetails(
        status=data.get("company_status"),
        company_type=data.get("type"),
        sic_codes=tuple(str(code) for code in data.get("sic_codes") or ()),
        incorporated_on=date.fromisoformat(created) if created else None,
    )
