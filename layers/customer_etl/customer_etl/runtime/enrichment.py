"""Build the enrichment APIs of a run from the configuration: clients, breakers, cache, and
the per-API fallback ceilings. Local runs keep the cache in SQLite and the breakers in the
process; the cloud keeps both in DynamoDB."""

from __future__ import annotations

from collections.abc import Callable

import pybreaker

from customer_etl.adapters import companies_house, postcodes_io
from customer_etl.adapters.answer_cache import CachedLookup, SqliteAnswerCache
from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.companies_house import CompaniesHouseLookup
from customer_etl.adapters.dynamodb_state import DynamoDbAnswerCache, DynamoDbBreakerStorage
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.adapters.rate_limit import SlidingWindowLimiter
from customer_etl.adapters.secrets import SecretError, resolve_secret
from customer_etl.config.model import CompaniesHouseSettings, Config
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import AnswerCache, CompanyLookup, PostcodeLookup
from customer_etl.observability.telemetry import logger
from customer_etl.stages.enrich import COMPANIES_API, POSTCODES_API, EnrichmentSources

BreakerStorage = Callable[[str], pybreaker.CircuitBreakerStorage | None]
_DAY_SECONDS = 86_400


def local_enrichment(config: Config) -> EnrichmentSources:
    return enrichment_sources(
        config, SqliteAnswerCache(config.enrichment.cache_path), breaker_storage=lambda _: None
    )


def cloud_enrichment(config: Config) -> EnrichmentSources:
    aws = config.aws
    for name, value in (
        ("enrichment_cache_table", aws.enrichment_cache_table),
        ("circuit_breaker_table", aws.circuit_breaker_table),
    ):
        if not value:
            raise CustomerEtlError(
                f"aws.{name} is not set: the stack sets CUSTOMER_ETL__AWS__{name.upper()} on "
                "every function; redeploy it, or set the variable"
            )
    return enrichment_sources(
        config,
        DynamoDbAnswerCache(aws.enrichment_cache_table),
        breaker_storage=lambda api: DynamoDbBreakerStorage(aws.circuit_breaker_table, api),
    )


def enrichment_sources(
    config: Config, cache: AnswerCache, breaker_storage: BreakerStorage
) -> EnrichmentSources:
    settings = config.enrichment
    ceilings: dict[str, float] = {}
    postcodes: PostcodeLookup | None = None
    if settings.postcodes.enabled:
        client = ApiClient(
            POSTCODES_API,
            settings.postcodes.base_url,
            settings.postcodes,
            breaker_storage=breaker_storage(POSTCODES_API),
        )
        postcodes = PostcodesIoLookup(settings.postcodes, client)
        if settings.postcodes.cache_ttl_days:
            postcodes = CachedLookup(
                POSTCODES_API,
                postcodes,
                cache,
                settings.postcodes.cache_ttl_days * _DAY_SECONDS,
                postcodes_io.encode,
                postcodes_io.decode,
            )
        ceilings[POSTCODES_API] = settings.postcodes.max_fallback_share
    companies = _companies(settings.companies_house, cache, breaker_storage)
    if companies is not None:
        ceilings[COMPANIES_API] = settings.companies_house.max_fallback_share
    return EnrichmentSources(postcodes=postcodes, companies=companies, max_fallback_share=ceilings)


def _companies(
    settings: CompaniesHouseSettings, cache: AnswerCache, breaker_storage: BreakerStorage
) -> CompanyLookup | None:
    if not settings.enabled:
        return None
    key = _api_key(settings)
    if key is None:
        return None
    client = ApiClient(
        COMPANIES_API,
        settings.base_url,
        settings,
        breaker_storage=breaker_storage(COMPANIES_API),
        limiter=SlidingWindowLimiter(settings.requests_per_window, settings.window_seconds),
        max_rate_limit_wait_seconds=settings.max_rate_limit_wait_seconds,
        auth=(key, ""),
    )
    lookup: CompanyLookup = CompaniesHouseLookup(settings, client)
    if settings.cache_ttl_days:
        lookup = CachedLookup(
            COMPANIES_API,
            lookup,
            cache,
            settings.cache_ttl_days * _DAY_SECONDS,
            companies_house.encode,
            companies_house.decode,
        )
    return lookup


def _api_key(settings: CompaniesHouseSettings) -> str | None:
    """The API key, or None (with one notice) when none is configured. A key that is
    configured but cannot be read fails the run: that is a deployment error."""
    reference = settings.api_key_ref
    if reference is not None and not reference.startswith("env:"):
        return resolve_secret(reference)
    try:
        key = resolve_secret(reference)
    except SecretError:
        key = None
    if not key:
        logger.warning(
            "company enrichment skipped: no Companies House API key",
            extra={"setting": "enrichment.companies_house.api_key_ref", "reference": reference},
        )
    return key or None
