"""postcodes.io bulk lookup, behind a circuit breaker so that a dead API costs a run a
couple of short timeouts, not one per batch."""

from __future__ import annotations

from typing import Any

import pybreaker
import requests

from customer_etl.config.model import PostcodesSettings
from customer_etl.observability import logger
from customer_etl.ports import PostcodeDetails


class PostcodesIoLookup:
    """`POST /postcodes` with up to `batch_size` postcodes a request.

    Postcodes the API could not be asked about are absent from the answer; a postcode it
    does not know maps to None.
    """

    def __init__(self, settings: PostcodesSettings, session: requests.Session | None = None):
        self._settings = settings
        self._session = session or requests.Session()
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=settings.failure_threshold, reset_timeout=60, name="postcodes.io"
        )

    def lookup(self, postcodes: list[str]) -> dict[str, PostcodeDetails | None]:
        answers: dict[str, PostcodeDetails | None] = {}
        size = self._settings.batch_size
        for start in range(0, len(postcodes), size):
            batch = postcodes[start : start + size]
            try:
                answers.update(self._breaker.call(self._ask, batch))
            except pybreaker.CircuitBreakerError:
                logger.warning(
                    "postcode API circuit open; using reference data",
                    extra={"api": "postcodes.io", "postcodes_skipped": len(postcodes) - start},
                )
                break
            except (requests.RequestException, ValueError) as error:
                logger.warning(
                    "postcode API request failed",
                    extra={
                        "api": "postcodes.io",
                        "error_class": type(error).__name__,
                        "status_code": _status(error),
                    },
                )
        return answers

    def _ask(self, batch: list[str]) -> dict[str, PostcodeDetails | None]:
        response = self._session.post(
            f"{self._settings.base_url.rstrip('/')}/postcodes",
            json={"postcodes": batch},
            timeout=self._settings.timeout_seconds,
        )
        response.raise_for_status()
        return {item["query"]: _details(item.get("result")) for item in response.json()["result"]}


def _details(result: dict[str, Any] | None) -> PostcodeDetails | None:
    if result is None:
        return None
    return PostcodeDetails(
        region=result.get("region"),
        admin_district=result.get("admin_district"),
        country=result.get("country"),
        latitude=result.get("latitude"),
        longitude=result.get("longitude"),
    )


def _status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)
