"""postcodes.io bulk lookup: `POST /postcodes` with up to 100 postcodes a request, several
requests in flight, each retried and guarded by the API's circuit breaker."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from customer_etl.adapters.api_client import ApiClient
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.api_stats import ApiStats
from customer_etl.core.errors import EnrichmentUnavailableError
from customer_etl.core.ports import PostcodeDetails
from customer_etl.observability.telemetry import timed

API = "postcodes.io"


class PostcodesIoLookup:
    """Details of postcodes from postcodes.io.

    Postcodes of a batch the API could not answer are absent from the answer; a postcode
    it does not know maps to None.

    Example:
        >>> lookup = PostcodesIoLookup(PostcodesSettings(), ApiClient(...))  # doctest: +SKIP
        >>> lookup.lookup(["SW1A 1AA"], ApiStats())["SW1A 1AA"].region  # doctest: +SKIP
        'London'
    """

    def __init__(self, settings: PostcodesSettings, client: ApiClient) -> None:
        self._settings = settings
        self._client = client

    @timed
    def lookup(self, postcodes: list[str], stats: ApiStats) -> dict[str, PostcodeDetails | None]:
        self._client.watch(stats)
        size = self._settings.batch_size
        batches = [postcodes[start : start + size] for start in range(0, len(postcodes), size)]
        answers: dict[str, PostcodeDetails | None] = {}
        with ThreadPoolExecutor(max_workers=self._settings.concurrency) as pool:
            for answer in pool.map(lambda batch: self._ask(batch, stats), batches):
                answers.update(answer)
        return answers

    def _ask(self, batch: list[str], stats: ApiStats) -> Mapping[str, PostcodeDetails | None]:
        try:
            return self._client.call(
                "POST",
                "/postcodes",
                stats,
                keys=len(batch),
                parse=_parse,
                json={"postcodes": batch},
            )
        except EnrichmentUnavailableError:
            return {}


def _parse(response: requests.Response) -> dict[str, PostcodeDetails | None]:
    return {
        item["query"]: None if item.get("result") is None else decode(item["result"])
        for item in response.json()["result"]
    }


def encode(details: PostcodeDetails) -> dict[str, object]:
    """The cache's form of an answer."""
    return {
        "region": details.region,
        "admin_district": details.admin_district,
        "country": details.country,
        "latitude": details.latitude,
        "longitude": details.longitude,
    }


def decode(data: Mapping[str, Any]) -> PostcodeDetails:
    return PostcodeDetails(
        region=data.get("region"),
        admin_district=data.get("admin_district"),
        country=data.get("country"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
    )
