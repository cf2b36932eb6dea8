"""Enrich: add postcode details to UK records (from postcodes.io where it answers, from the
built-in reference table where it does not; `not_applicable` for records of other
countries) and company details (from Companies House).

A record is never dropped or quarantined because an API failed: it falls back, and says so
in `enrichment_source` and `company_enrichment_source`. What falls back is counted per API;
`check_fallback_ceiling` fails the run when too much did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import pandas as pd

from customer_etl.core.api_stats import ApiReport, ApiStats
from customer_etl.core.context import ChunkOutcome, RunContext
from customer_etl.core.errors import StageError
from customer_etl.core.ports import CompanyDetails, CompanyLookup, PostcodeDetails, PostcodeLookup
from customer_etl.observability.telemetry import timed
from customer_etl.quality.accuracy import accuracy_scores, company_known, postcode_known
from customer_etl.reference.postcode_areas import POSTCODE_AREAS, area_of
from customer_etl.reference.postcodes import is_uk

POSTCODES_API = "postcodes.io"
COMPANIES_API = "companies_house"

SOURCE_API = POSTCODES_API
SOURCE_REFERENCE = "reference"
SOURCE_NONE = "none"
SOURCE_NOT_APPLICABLE = "not_applicable"
"""A record outside the UK and the Crown Dependencies: no UK postcode source applies."""
COMPANY_SOURCE_API = COMPANIES_API
SIC_SEPARATOR = ";"

T = TypeVar("T")


class EnrichmentDegradedError(StageError):
    """Too many rows fell back because an enrichment API failed: the data would be too
    degraded to be useful.

    It carries each API's figures, so that the runtime can still report them (and the
    circuit openings the alarms watch) although the stage did not finish."""

    def __init__(self, message: str, apis: Mapping[str, ApiReport]) -> None:
        super().__init__(message)
        self.apis = dict(apis)


@dataclass(frozen=True)
class EnrichmentSources:
    """What the enrich stage asks, and the share of rows per API that may fall back.

    A lookup of None means that API is switched off (or has no key): its columns take
    the fallback without counting as failures.
    """

    postcodes: PostcodeLookup | None = None
    companies: CompanyLookup | None = None
    max_fallback_share: Mapping[str, float] = field(default_factory=dict)


@timed
def enrich(chunk: pd.DataFrame, context: RunContext, sources: EnrichmentSources) -> ChunkOutcome:
    """Add the postcode columns (`post_town`, `region`, `admin_district`,
    `postcode_country`, `latitude`, `longitude`, `enrichment_source`) and the company
    columns (`company_status`, `company_type`, `sic_codes`, `incorporation_date`,
    `company_enrichment_source`) to every record of the chunk.

    Each distinct postcode and company number is asked once per run (answers are kept in
    the run context).
    """
    enriched = chunk.copy()
    _add_postcode_columns(enriched, context, sources.postcodes)
    _add_company_columns(enriched, context, sources.companies)
    context.quality.add_accuracy(_accuracy(enriched, context, asked=sources.companies is not None))
    return ChunkOutcome(passed=enriched, quarantined=chunk.iloc[0:0])


def _accuracy(enriched: pd.DataFrame, context: RunContext, asked: bool) -> pd.Series:
    """Each record's accuracy score from the answers the chunk got (quality/accuracy.py)."""
    uk = enriched["enrichment_source"] != SOURCE_NOT_APPLICABLE
    postcode = postcode_known(
        enriched["postcode"].where(uk), enriched["enrichment_source"] == SOURCE_API
    )
    numbers = enriched["company_number"]
    company = company_known(
        numbers,
        enriched["company_enrichment_source"] == COMPANY_SOURCE_API,
        asked,
        answered=numbers.isin(list(context.company_cache)),
    )
    return accuracy_scores(postcode, company)


def check_fallback_ceiling(context: RunContext, sources: EnrichmentSources) -> None:
    """Raise EnrichmentDegradedError when, for an API, the share of the rows that needed it
    and fell back because it failed is above that API's ceiling."""
    for api, ceiling in sources.max_fallback_share.items():
        stats = context.api_stats.get(api)
        if stats is None or stats.rows == 0:
            continue
        share = stats.fallback_rows / stats.rows
        if share > ceiling:
            errors = ", ".join(f"{kind} x{count}" for kind, count in sorted(stats.errors.items()))
            raise EnrichmentDegradedError(
                f"{api} failed for {stats.fallback_rows} of {stats.rows} rows "
                f"({share:.0%}, above the ceiling of {ceiling:.0%}; errors: {errors or 'none'}). "
                f"Check the API's status and enrichment.{_section(api)}.base_url, then "
                "resume the run (redrive its execution in the cloud); or raise enrichment."
                f"{_section(api)}.max_fallback_share to accept fallback data",
                {name: api_stats.report() for name, api_stats in context.api_stats.items()},
            )


def _section(api: str) -> str:
    return "postcodes" if api == POSTCODES_API else api


def _add_postcode_columns(
    enriched: pd.DataFrame, context: RunContext, lookup: PostcodeLookup | None
) -> None:
    # Only Royal Mail postcodes are asked about: postcodes.io and the area table know no
    # other country's, and would read a Canadian `M5V 3L9` as Manchester.
    uk = is_uk(enriched["postcode"], enriched["country"])
    postcodes = enriched["postcode"].where(uk)
    if lookup is not None:
        stats = context.api_stats.setdefault(POSTCODES_API, ApiStats())
        _ask_new(postcodes, context.postcode_cache, lambda keys: lookup.lookup(keys, stats))
        _count_rows(postcodes, context.postcode_cache, stats)

    answers = postcodes.map(lambda code: context.postcode_cache.get(code))
    found = answers.notna()
    enriched["region"] = answers.map(lambda d: d.region if d else None)
    enriched["admin_district"] = answers.map(lambda d: d.admin_district if d else None)
    enriched["latitude"] = answers.map(lambda d: d.latitude if d else None).astype("float64")
    enriched["longitude"] = answers.map(lambda d: d.longitude if d else None).astype("float64")

    reference = postcodes.map(area_of).map(POSTCODE_AREAS.get)
    in_reference = reference.notna()
    enriched["post_town"] = reference.map(lambda a: a.post_town if a else None)
    api_country = answers.map(lambda d: d.country if d else None)
    reference_country = reference.map(lambda a: a.country if a else None)
    enriched["postcode_country"] = api_country.where(found, reference_country)

    source = pd.Series(SOURCE_NONE, index=enriched.index, dtype=object)
    source[in_reference] = SOURCE_REFERENCE
    source[found] = SOURCE_API
    source[~uk] = SOURCE_NOT_APPLICABLE
    enriched["enrichment_source"] = source
    for name, count in source.value_counts().items():
        context.counters[f"enrichment_source:{name}"] += int(count)


def _add_company_columns(
    enriched: pd.DataFrame, context: RunContext, lookup: CompanyLookup | None
) -> None:
    numbers = enriched["company_number"].where(enriched["company_number"].fillna("").ne(""))
    if lookup is None:
        context.counters[f"{COMPANIES_API}:skipped_rows"] += int(numbers.notna().sum())
    else:
        stats = context.api_stats.setdefault(COMPANIES_API, ApiStats())
        _ask_new(
            numbers,
            context.company_cache,
            lambda keys: lookup.lookup(keys, stats),
            skip=stats.deferred_keys,
        )
        _count_rows(numbers, context.company_cache, stats)

    answers = numbers.map(lambda number: context.company_cache.get(number))
    found = answers.notna()
    enriched["company_status"] = answers.map(lambda d: d.status if d else None)
    enriched["company_type"] = answers.map(lambda d: d.company_type if d else None)
    enriched["sic_codes"] = answers.map(
        lambda d: SIC_SEPARATOR.join(d.sic_codes) if d and d.sic_codes else None
    )
    enriched["incorporation_date"] = answers.map(lambda d: d.incorporated_on if d else None)
    source = pd.Series(SOURCE_NONE, index=enriched.index, dtype=object)
    source[found] = COMPANY_SOURCE_API
    enriched["company_enrichment_source"] = source
    for name, count in source.value_counts().items():
        context.counters[f"company_enrichment_source:{name}"] += int(count)


def _ask_new(
    keys: pd.Series,
    known: dict[str, T | None],
    ask: Callable[[list[str]], Mapping[str, T | None]],
    skip: set[str] | frozenset[str] = frozenset(),
) -> None:
    new = [key for key in keys.dropna().unique() if key not in known and key not in skip]
    if new:
        # Keys the source could not be asked about are absent from its answer and stay out
        # of `known`, so that a later chunk may try them again if the source comes back.
        known.update(ask(new))


def _count_rows(keys: pd.Series, known: Mapping[str, object], stats: ApiStats) -> None:
    """Count the chunk's rows that needed the API: answered unknown, deferred, or fallen
    back because the API could not answer."""
    present = keys.dropna()
    answered = present.isin(list(known))
    deferred = present.isin(list(stats.deferred_keys)) & ~answered
    unknown = answered & present.map(lambda key: known.get(key) is None).astype(bool)
    stats.rows += len(present)
    stats.unknown_rows += int(unknown.sum())
    stats.deferred_rows += int(deferred.sum())
    stats.fallback_rows += int((~answered & ~deferred).sum())


__all__ = [
    "COMPANIES_API",
    "POSTCODES_API",
    "SOURCE_API",
    "SOURCE_NONE",
    "SOURCE_NOT_APPLICABLE",
    "SOURCE_REFERENCE",
    "CompanyDetails",
    "EnrichmentDegradedError",
    "EnrichmentSources",
    "PostcodeDetails",
    "check_fallback_ceiling",
    "enrich",
]
