"""Accuracy: values that agree with a reference, a sixth dimension beside the five the rules
score (docs/data-quality.md, Scores). A value can be well-formed and still not exist: a
postcode of the right shape in an area that has no such district, a company number of eight
digits that Companies House does not know.

Checks, per record (each True, False, or None where it does not apply):

- **postcode**: a UK postcode exists when the postcodes API answered for it, or (asked or
  not) its area is one of the built-in postcode areas (`reference/postcode_areas.py`);
  not applicable to a record without a postcode or outside the UK;
- **company number**: it exists when Companies House answered for it; not applicable
  without a company number, or when Companies House was not asked (no key, disabled, the
  request budget spent), since silence is not a "no".

A record's accuracy is `100 x passed / applied`, None when no check applied (not counted as
perfect, as the other dimensions do); a run's is the mean over the records scored.

Example:
    >>> import pandas as pd
    >>> known = postcode_known(pd.Series(["SW1A 1AA", "QQ1 1QQ"]), pd.Series([True, False]))
    >>> known.tolist()
    [True, False]
"""

from __future__ import annotations

import pandas as pd

from customer_etl.reference.postcode_areas import POSTCODE_AREAS, area_of


def postcode_known(postcodes: pd.Series, api_found: pd.Series) -> pd.Series:
    """Per UK record: whether its postcode exists (the API's answer, else its area in the
    reference); None without a postcode. `postcodes` and `api_found` share an index."""
    present = postcodes.fillna("").astype(str).str.strip() != ""
    in_reference = postcodes.map(lambda value: area_of(value) in POSTCODE_AREAS)
    known = api_found.fillna(False).astype(bool) | in_reference.astype(bool)
    return known.astype(object).where(present, None)


def company_known(
    numbers: pd.Series,
    api_found: pd.Series,
    asked: bool,
    answered: pd.Series | None = None,
) -> pd.Series:
    """Per record: whether Companies House knows its company number; None without one, when
    the API was not asked, or (with `answered`) when it was asked but gave no answer for this
    number (it failed, or the request budget deferred it): silence is not a "no"."""
    present = numbers.fillna("").astype(str).str.strip() != ""
    if not asked:
        return pd.Series([None] * len(numbers), index=numbers.index, dtype=object)
    if answered is not None:
        present &= answered.fillna(False).astype(bool)
    return api_found.fillna(False).astype(bool).astype(object).where(present, None)


def accuracy_scores(*checks: pd.Series) -> pd.Series:
    """Each record's accuracy (0 to 100), None where no check applied."""
    frame = pd.concat(checks, axis=1)
    applied = frame.notna().sum(axis=1)
    passed = (frame == True).sum(axis=1)  # noqa: E712 (elementwise; None and False fail)
    scores: pd.Series = (100 * passed / applied.where(applied > 0)).astype(object)
    return scores.where(applied > 0, None)


def run_accuracy(scores: pd.Series) -> float | None:
    """The run's accuracy: the mean of its scored records, rounded as the other scores are."""
    scored = scores.dropna()
    return round(float(scored.astype(float).mean()), 2) if len(scored) else None
