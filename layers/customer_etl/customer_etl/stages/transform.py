"""Transform: validate every record against the rule set, normalise what is valid, score
every record, and quarantine the records that fail a quarantining rule.

The rules run vectorised over the chunk (`customer_etl.quality.engine`). A failing record
is quarantined with every reason code and rule that applies, its values kept as they
arrived.
"""

from __future__ import annotations

import pandas as pd

from customer_etl.core.context import SOURCE_ROW, ChunkOutcome, RunContext
from customer_etl.core.schema import BUSINESS_KEY, CANONICAL_COLUMNS, CANONICAL_FIELDS, FieldType
from customer_etl.observability.telemetry import timed
from customer_etl.privacy.masking import MaskingPlan, mask_frame
from customer_etl.quality.drift import count_columns
from customer_etl.quality.engine import as_dates, evaluate
from customer_etl.quality.rules import RuleSet, Severity
from customer_etl.quality.scores import record_scores
from customer_etl.stages.duplicates import repeated_in_earlier_chunks

QUARANTINED = "quarantined"
_BOOLEANS = {True: True, False: False, "true": True, "false": False}


@timed
def transform(
    chunk: pd.DataFrame,
    context: RunContext,
    rules: RuleSet,
    masking: MaskingPlan | None = None,
) -> ChunkOutcome:
    """Validate, normalise and score one chunk of string records (as extract made them).

    With a masking plan, the records passed on are masked: after validation, so that quality
    is judged on the real values, and before enrichment, which the kept outward codes serve.
    Quarantined records keep their values as they arrived."""
    context.repeated_in_earlier_chunks = repeated_in_earlier_chunks(chunk)
    values = _values(chunk)
    context.profile = count_columns(values)
    evaluation = evaluate(values, rules, context)
    failing = evaluation.quarantined()
    for severity, prefix in ((Severity.QUARANTINE, "reason"), (Severity.WARN, "warning")):
        for code, count in evaluation.failures(severity).items():
            context.counters[f"{prefix}:{code}"] += count

    scores = record_scores(evaluation, rules.dimension_weights)
    context.quality.add(scores)
    scores.insert(0, BUSINESS_KEY, chunk[BUSINESS_KEY])
    scores.insert(0, SOURCE_ROW, chunk[SOURCE_ROW])
    scores[QUARANTINED] = failing

    clean = _typed(evaluation.values)
    clean.insert(0, SOURCE_ROW, chunk[SOURCE_ROW])
    quarantined = chunk.loc[failing].copy()
    quarantined["reason_codes"] = evaluation.joined(failing, "code").to_numpy()
    quarantined["rules"] = evaluation.joined(failing, "name").to_numpy()
    passed = clean.loc[~failing].reset_index(drop=True)
    if masking is not None:
        passed = mask_frame(passed, masking, context.today)
    return ChunkOutcome(
        passed=passed,
        quarantined=quarantined.reset_index(drop=True),
        scores=scores.reset_index(drop=True),
    )


def _values(chunk: pd.DataFrame) -> pd.DataFrame:
    """The canonical columns as text, trimmed, missing where empty."""
    values = chunk.loc[:, list(CANONICAL_COLUMNS)].astype("str")
    stripped = values.apply(lambda column: column.str.strip())
    empty: pd.DataFrame = stripped == ""
    masked: pd.DataFrame = stripped.mask(empty, None)
    return masked


def _typed(values: pd.DataFrame) -> pd.DataFrame:
    """Normalised values in the types of the schema (the transform checkpoint's)."""
    typed = pd.DataFrame(index=values.index)
    for spec in CANONICAL_FIELDS:
        column = values[spec.name]
        if spec.type is FieldType.DATE:
            dates = as_dates(column)
            typed[spec.name] = dates.dt.date.astype(object).where(dates.notna(), None)
        elif spec.type is FieldType.BOOLEAN:
            typed[spec.name] = column.map(_BOOLEANS).astype("boolean")
        else:
            typed[spec.name] = column.where(column.notna(), None)
    return typed
