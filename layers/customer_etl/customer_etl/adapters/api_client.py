"""The requests of one HTTP API (an enrichment API, an incident tool): retries with backoff
and jitter (tenacity), a circuit breaker (pybreaker), an optional rate limiter, statistics
and logs.

What is logged is the API, the attempt, the status code, the error kind and the wait:
never a URL path or body, since they hold postcodes and company numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from functools import partial
from time import perf_counter
from typing import Any, TypeVar

import pybreaker
import requests
import tenacity
from requests.adapters import HTTPAdapter

from customer_etl.adapters.circuit import circuit_breaker
from customer_etl.adapters.rate_limit import SlidingWindowLimiter
from customer_etl.config.model import ApiClientSettings
from customer_etl.core.api_stats import ApiStats
from customer_etl.core.errors import CustomerEtlError, EnrichmentUnavailableError
from customer_etl.observability.telemetry import logger

T = TypeVar("T")


class _AttemptFailedError(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, kind: str, status: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status


class _RateLimitedError(_AttemptFailedError):
    """A 429: the API is alive but wants us to wait `wait_seconds`."""

    def __init__(self, wait_seconds: float | None) -> None:
        super().__init__("http_429", 429)
        self.wait_seconds = wait_seconds


class _RefusedError(Exception):
    """A 4xx other than 404 and 429 (a bad key, say): retrying cannot help."""

    def __init__(self, status: int) -> None:
        super().__init__(f"http_{status}")
        self.kind = f"http_{status}"
        self.status = status


class ApiClient:
    """Sends requests to one API and gives back parsed answers, or raises
    `unavailable` (EnrichmentUnavailableError unless told otherwise) when the API could not
    answer.

    Example:
        >>> client = ApiClient("postcodes.io", BASE_URL, settings)  # doctest: +SKIP
        >>> client.call(  # doctest: +SKIP
        ...     "POST", "/postcodes", ApiStats(), keys=1, parse=lambda r: r.json(),
        ...     json={"postcodes": ["SW1A 1AA"]})
    """

    def __init__(
        self,
        api: str,
        base_url: str,
        settings: ApiClientSettings,
        *,
        breaker_storage: pybreaker.CircuitBreakerStorage | None = None,
        limiter: SlidingWindowLimiter | None = None,
        max_rate_limit_wait_seconds: float = 300.0,
        auth: tuple[str, str] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        unavailable: type[CustomerEtlError] = EnrichmentUnavailableError,
    ) -> None:
        self.api = api
        self._unavailable = unavailable
        self._base_url = base_url.rstrip("/")
        self._settings = settings
        self._limiter = limiter
        self._max_rate_limit_wait = max_rate_limit_wait_seconds
        self._auth = auth
        self._session = session or _session(settings.concurrency)
        self._sleep = sleep
        self._wall_clock = wall_clock
        # A 429 means the API is up: it must not open the circuit.
        self._breaker, self._recorder = circuit_breaker(
            api,
            failure_threshold=settings.failure_threshold,
            reset_timeout_seconds=settings.reset_timeout_seconds,
            excluded=(_RateLimitedError,),
            storage=breaker_storage,
        )
        self._backoff = tenacity.wait_exponential(
            multiplier=settings.backoff_initial_seconds, max=settings.backoff_max_seconds
        ) + tenacity.wait_random(0, settings.backoff_initial_seconds)

    @property
    def breaker_state(self) -> str:
        return str(self._breaker.current_state)

    def watch(self, stats: ApiStats) -> None:
        """Count the breaker's state changes in `stats` from now on."""
        self._recorder.stats = stats

    def call(
        self,
        method: str,
        path: str,
        stats: ApiStats,
        *,
        keys: int,
        parse: Callable[[requests.Response], T],
        json: Any = None,
    ) -> T:
        """`parse` of the API's response (2xx or 404) to one request, retried as configured.

        Raises `unavailable` when retries are spent, the circuit is open, or
        the API refused the request.
        """
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._settings.max_retries + 1),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_AttemptFailedError),
            sleep=self._sleep,
            before_sleep=lambda state: self._before_retry(state, stats),
            reraise=True,
        )
        try:
            send = partial(self._send, method, path, stats, keys, parse, json)
            result: T = retrying(self._attempt, send)
        except pybreaker.CircuitBreakerError:
            stats.record_error("circuit_open")
            raise self._unavailable(f"{self.api}: circuit open") from None
        except (_AttemptFailedError, _RefusedError) as error:
            logger.warning(
                "API request gave up",
                extra={"api": self.api, "error_kind": error.kind, "status_code": error.status},
            )
            raise self._unavailable(f"{self.api}: {error.kind}") from None
        stats.record_success()
        return result

    def _attempt(self, send: Callable[[], T]) -> T:
        if self._limiter is not None:
            self._limiter.acquire()
        answer: T = self._breaker.call(send)
        return answer

    def _send(
        self,
        method: str,
        path: str,
        stats: ApiStats,
        keys: int,
        parse: Callable[[requests.Response], T],
        json: Any,
    ) -> T:
        started = perf_counter()
        try:
            response = self._session.request(
                method,
                self._base_url + path,
                json=json,
                auth=self._auth,
                timeout=self._settings.timeout_seconds,
                # A redirect could lead to plain http: postcodes would travel in clear, so
                # none is followed (the base URL is https by configuration).
                allow_redirects=False,
            )
        except requests.Timeout:
            raise self._failed(stats, keys, started, _AttemptFailedError("timeout")) from None
        except requests.ConnectionError:
            raise self._failed(stats, keys, started, _AttemptFailedError("connection")) from None
        status = response.status_code
        if status == 429:
            raise self._failed(stats, keys, started, _RateLimitedError(self._reset_in(response)))
        if status >= 500:
            raise self._failed(stats, keys, started, _AttemptFailedError(f"http_{status}", status))
        if (status >= 400 and status != 404) or 300 <= status < 400:
            raise self._failed(stats, keys, started, _RefusedError(status))
        try:
            parsed = parse(response)
        except (ValueError, KeyError, TypeError):
            raise self._failed(
                stats, keys, started, _AttemptFailedError("bad_response", status)
            ) from None
        stats.record_call(keys, perf_counter() - started)
        logger.debug(
            "API request answered",
            extra={"api": self.api, "status_code": status, "keys": keys},
        )
        return parsed

    def _failed(
        self, stats: ApiStats, keys: int, started: float, error: _AttemptFailedError | _RefusedError
    ) -> _AttemptFailedError | _RefusedError:
        stats.record_call(keys, perf_counter() - started)
        stats.record_error(error.kind)
        if isinstance(error, _RateLimitedError) and (
            error.wait_seconds is None or error.wait_seconds > self._max_rate_limit_wait
        ):
            # Waiting longer than allowed would stall the run: give up on this request.
            return _RefusedError(429)
        return error

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RateLimitedError) and error.wait_seconds is not None:
            if self._limiter is not None:
                self._limiter.hold_for(error.wait_seconds)
            return error.wait_seconds
        return float(self._backoff(state))

    def _before_retry(self, state: tenacity.RetryCallState, stats: ApiStats) -> None:
        stats.record_retry()
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "API request failed; retrying",
            extra={
                "api": self.api,
                "attempt": state.attempt_number,
                "error_kind": getattr(error, "kind", type(error).__name__),
                "status_code": getattr(error, "status", None),
                "wait_seconds": round(state.upcoming_sleep, 3),
            },
        )

    def _reset_in(self, response: requests.Response) -> float | None:
        """Seconds until the API accepts requests again, from `Retry-After` or Companies
        House's `X-Ratelimit-Reset` (epoch seconds); None when neither says."""
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                try:
                    moment = parsedate_to_datetime(retry_after).timestamp()
                except (TypeError, ValueError):
                    moment = None
                if moment is not None:
                    return max(0.0, moment - self._wall_clock())
        reset = response.headers.get("X-Ratelimit-Reset")
        if reset:
            try:
                return max(0.0, float(reset) - self._wall_clock())
            except ValueError:
                return None
        return None


def _session(concurrency: int) -> requests.Session:
    """A session whose connection pool holds one connection per concurrent request."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
