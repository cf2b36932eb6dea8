"""Enrich: add postcode details, from the API where it answers and from the built-in
reference table where it does not. A record is never dropped because an API failed."""

from __future__ import annotations

import pandas as pd

from customer_etl.errors import EnrichmentUnavailableError
from customer_etl.ports import PostcodeDetails, PostcodeLookup
from customer_etl.reference.postcode_areas import POSTCODE_AREAS, area_of
from customer_etl.stages.context import ChunkOutcome, RunContext

SOURCE_API = "postcodes.io"
SOURCE_REFERENCE = "reference"
SOURCE_NONE = "none"

_API_COLUMNS = ("region", "admin_district", "postcode_country", "latitude", "longitude")


def enrich(chunk: pd.DataFrame, context: RunContext, lookup: PostcodeLookup | None) -> ChunkOutcome:
    """Add `post_town`, `region`, `admin_district`, `postcode_country`, `latitude`,
    `longitude` and `enrichment_source` to every record of the chunk.

    Each distinct postcode is asked of `lookup` once per run (answers are kept in the
    run context); `lookup=None` means the API is switched off.
    """
    postcodes = chunk["postcode"]
    if lookup is not None:
        _ask_unknown(postcodes, context, lookup)

    answers = postcodes.map(lambda code: context.postcode_cache.get(code))
    found = answers.notna()
    enriched = chunk.copy()
    enriched["region"] = answers.map(lambda d: d.region if d else None)
    enriched["admin_district"] = answers.map(lambda d: d.admin_district if d else None)
    enriched["latitude"] = answers.map(lambda d: d.latitude if d else None).astype("float64")
    enriched["longitude"] = answers.map(lambda d: d.longitude if d else None).astype("float64")

    areas = postcodes.map(area_of)
    reference = areas.map(POSTCODE_AREAS.get)
    in_reference = reference.notna()
    enriched["post_town"] = reference.map(lambda a: a.post_town if a else None)
    api_country = answers.map(lambda d: d.country if d else None)
    reference_country = reference.map(lambda a: a.country if a else None)
    enriched["postcode_country"] = api_country.where(found, reference_country)

    source = pd.Series(SOURCE_NONE, index=chunk.index, dtype=object)
    source[in_reference] = SOURCE_REFERENCE
    source[found] = SOURCE_API
    enriched["enrichment_source"] = source
    for name, count in source.value_counts().items():
        context.counters[f"enrichment_source:{name}"] += int(count)
    return ChunkOutcome(passed=enriched, quarantined=chunk.iloc[0:0])


def _ask_unknown(postcodes: pd.Series, context: RunContext, lookup: PostcodeLookup) -> None:
    unknown = [code for code in postcodes.dropna().unique() if code not in context.postcode_cache]
    if not unknown:
        return
    try:
        answers = lookup.lookup(unknown)
    except EnrichmentUnavailableError:
        answers = {}
    context.counters["postcodes_asked"] += len(unknown)
    context.counters["postcodes_unavailable"] += len(set(unknown) - answers.keys())
    context.counters["postcodes_unknown_to_api"] += sum(1 for v in answers.values() if v is None)
    # Postcodes the source could not be asked about (absent from the answer) stay out of the
    # cache, so that a later chunk may try them again if the source comes back.
    context.postcode_cache.update(answers)


__all__ = ["SOURCE_API", "SOURCE_NONE", "SOURCE_REFERENCE", "PostcodeDetails", "enrich"]
