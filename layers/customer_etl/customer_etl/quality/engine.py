"""The rules engine: apply a rule set to a chunk of records, each rule over whole columns.

`evaluate` runs the rules in their order. Each rule yields two masks over the chunk: where
it applied (its condition held and, but for `required`, the value was present) and where
it failed. Format and allowed-values rules also replace the values they read by their
canonical form, so later rules and the transform's output see normalised values.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import singledispatch

import numpy as np
import numpy.typing as npt
import pandas as pd

from customer_etl.core import formats
from customer_etl.core.context import REASON_SEPARATOR, RunContext
from customer_etl.quality.rules import (
    AgeRule,
    AllowedValuesRule,
    CompareRule,
    Format,
    FormatRule,
    MaxLengthRule,
    RangeRule,
    RequiredRule,
    Rule,
    RuleSet,
    Severity,
    UniqueRule,
)
from customer_etl.reference.countries import alpha_2_codes
from customer_etl.reference.postcodes import postcodes

Mask = npt.NDArray[np.bool_]

_OPERATORS: dict[str, Callable[[pd.Series, pd.Series], pd.Series]] = {
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
    "==": op.eq,
    "!=": op.ne,
}


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    applied: Mask
    failed: Mask


@dataclass(frozen=True)
class Evaluation:
    """What the rules made of a chunk: normalised values and every rule's masks."""

    values: pd.DataFrame
    outcomes: tuple[RuleOutcome, ...]

    def quarantined(self) -> Mask:
        """Records failing at least one rule of severity `quarantine`."""
        result = np.zeros(len(self.values), dtype=bool)
        for outcome in self.outcomes:
            if outcome.rule.severity is Severity.QUARANTINE:
                result |= outcome.failed
        return result

    def failures(self, severity: Severity) -> dict[str, int]:
        """Reason code -> records failing with it, for rules of `severity`."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            failed = int(outcome.failed.sum())
            if outcome.rule.severity is severity and failed:
                counts[outcome.rule.code] = counts.get(outcome.rule.code, 0) + failed
        return counts

    def joined(self, rows: Mask, attribute: str) -> pd.Series:
        """For the records of `rows`, the `code` or `name` of every quarantining rule they
        failed, joined with the reason separator."""
        joined = pd.Series("", index=range(int(rows.sum())), dtype=object)
        for outcome in self.outcomes:
            if outcome.rule.severity is not Severity.QUARANTINE:
                continue
            failed = outcome.failed[rows]
            if failed.any():
                joined[failed] = (
                    joined[failed] + REASON_SEPARATOR + getattr(outcome.rule, attribute)
                )
        return joined.str.lstrip(REASON_SEPARATOR)


@dataclass
class _Work:
    """The values as the rules so far normalised them, and which columns now hold parsed
    values rather than text (dates, booleans)."""

    frame: pd.DataFrame
    dates: set[str]
    not_text: set[str]


def evaluate(values: pd.DataFrame, rules: RuleSet, context: RunContext) -> Evaluation:
    """Apply `rules` to `values` (object columns, None for an empty value).

    `values` is not changed; the evaluation holds a normalised copy.
    """
    # Text columns stay in pandas' Arrow-backed string type, whose string methods run in C.
    work = _Work(values.astype("str"), set(), set())
    outcomes = []
    for rule in rules.rules:
        applied = _condition(rule, work.frame)
        if not isinstance(rule, RequiredRule):
            applied &= work.frame[rule.field].notna().to_numpy(dtype=bool)
        failed = _check(rule, work, applied, context) & applied
        outcomes.append(RuleOutcome(rule, applied, failed))
    return Evaluation(work.frame, tuple(outcomes))


def _condition(rule: Rule, frame: pd.DataFrame) -> Mask:
    if rule.when is None:
        return np.ones(len(frame), dtype=bool)
    return frame[rule.when.field].isin(rule.when.in_).to_numpy(dtype=bool, copy=True)


@singledispatch
def _check(rule: object, work: _Work, applied: Mask, context: RunContext) -> Mask:
    """Where `rule` fails among the `applied` records (other entries are ignored)."""
    raise NotImplementedError(type(rule).__name__)


@_check.register
def _required(rule: RequiredRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    return work.frame[rule.field].isna().to_numpy(dtype=bool)


@_check.register
def _max_length(rule: MaxLengthRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    limit = rule.limit()
    failed = np.zeros(len(work.frame), dtype=bool)
    if limit is None or rule.field in work.not_text or not applied.any():
        return failed
    text = work.frame.loc[applied, rule.field].astype(str)
    failed[applied] = (text.str.len() > limit).to_numpy(dtype=bool)
    return failed


@_check.register
def _format(rule: FormatRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    failed = np.zeros(len(work.frame), dtype=bool)
    if not applied.any():
        return failed
    values = work.frame.loc[applied, rule.field].astype(str)
    if rule.format is Format.EMAIL:
        normalised, invalid = formats.email(values)
    elif rule.format is Format.UK_POSTCODE:
        normalised, invalid = formats.uk_postcode(values)
    elif rule.format is Format.POSTCODE:
        normalised, invalid = postcodes(values, work.frame.loc[applied, rule.country_from])
    elif rule.format is Format.COUNTRY_CODE:
        normalised, invalid = alpha_2_codes(values)
    elif rule.format is Format.DATE:
        # Every present date is parsed (a condition only limits where failures count), and
        # the column becomes one of dates for the rules after this one.
        present = work.frame[rule.field].notna().to_numpy(dtype=bool)
        parsed, invalid_all = formats.dates(work.frame.loc[present, rule.field], rule.date_formats)
        column = pd.Series(pd.NaT, index=work.frame.index, dtype="datetime64[s]")
        column[present] = parsed.where(~invalid_all, pd.NaT).astype("datetime64[s]")
        work.frame[rule.field] = column
        work.dates.add(rule.field)
        work.not_text.add(rule.field)
        failed[present] = invalid_all.to_numpy(dtype=bool)
        return failed
    elif rule.format is Format.PHONE:
        regions = _regions(rule, work.frame, applied)
        normalised, invalid = formats.phones(values, regions, rule.strictness)
    else:
        assert rule.pattern is not None  # the rule's validator insists on one
        normalised, invalid = formats.regex(values, rule.pattern)
    work.frame.loc[applied, rule.field] = normalised
    failed[applied] = invalid.to_numpy(dtype=bool)
    return failed


def _regions(rule: FormatRule, frame: pd.DataFrame, applied: Mask) -> pd.Series:
    """Each record's telephone region: its `region_from` field where that is a region the
    library knows, else the rule's default."""
    default = pd.Series(rule.default_region, index=frame.index[applied], dtype=object)
    if rule.region_from is None:
        return default
    own = frame.loc[applied, rule.region_from].astype(str).str.upper()
    return own.where(own.isin(formats.PHONE_REGIONS), default)


@_check.register
def _allowed(rule: AllowedValuesRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    failed = np.zeros(len(work.frame), dtype=bool)
    if not applied.any():
        return failed
    canonical: dict[str, str | bool] = (
        dict(rule.values) if isinstance(rule.values, dict) else {v: v for v in rule.values}
    )
    values = work.frame.loc[applied, rule.field].astype(str)
    if not rule.case_sensitive:
        canonical = {key.casefold(): value for key, value in canonical.items()}
        values = values.str.casefold()
    mapped = values.map(canonical)
    invalid = mapped.isna()
    if any(isinstance(value, bool) for value in canonical.values()):
        work.frame[rule.field] = work.frame[rule.field].astype(object)
    work.frame.loc[applied, rule.field] = mapped.where(
        ~invalid, work.frame.loc[applied, rule.field]
    )
    if any(isinstance(value, bool) for value in canonical.values()):
        work.not_text.add(rule.field)
    failed[applied] = invalid.to_numpy(dtype=bool)
    return failed


@_check.register
def _range(rule: RangeRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    dates = as_dates(work.frame[rule.field])
    failed = np.zeros(len(work.frame), dtype=bool)
    if rule.min is not None:
        failed |= (dates < _bound(rule.min, context)).to_numpy(dtype=bool)
    if rule.max is not None:
        failed |= (dates > _bound(rule.max, context)).to_numpy(dtype=bool)
    return failed


def _bound(bound: date | str, context: RunContext) -> pd.Timestamp:
    return pd.Timestamp(context.today if bound == "today" else bound)


@_check.register
def _age(rule: AgeRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    born = as_dates(work.frame[rule.field])
    today = context.today
    # Whole years: one less when this year's birthday is still to come.
    birthday_to_come = (born.dt.month > today.month) | (
        (born.dt.month == today.month) & (born.dt.day > today.day)
    )
    age = today.year - born.dt.year - birthday_to_come.astype(int)
    outside = (age < rule.min_years) | (age > rule.max_years)
    return np.asarray(outside.fillna(False), dtype=bool)


@_check.register
def _unique(rule: UniqueRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    """Later records with a value an earlier record of the run had, in this chunk or an
    earlier one (as this context saw them, or as extract marked them for a chunk run on its
    own); the first occurrence is kept, whatever became of it."""
    # Object keys: pandas' membership tests of Arrow strings against many values are slow.
    keys = work.frame.loc[applied, rule.field].astype(object)
    earlier = context.seen_keys.setdefault(rule.name, [])
    repeated_here = keys.duplicated(keep="first").to_numpy(dtype=bool, copy=True)
    lookup = pd.Index(keys)
    for seen in earlier:
        repeated_here |= seen.get_indexer(lookup) >= 0
    from_earlier_chunks = context.repeated_in_earlier_chunks.get(rule.field)
    if from_earlier_chunks is not None:
        repeated_here |= from_earlier_chunks[applied]
    earlier.append(pd.Index(keys.drop_duplicates()))
    repeated = np.zeros(len(work.frame), dtype=bool)
    repeated[applied] = repeated_here
    return repeated


@_check.register
def _compare(rule: CompareRule, work: _Work, applied: Mask, context: RunContext) -> Mask:
    left, right = work.frame[rule.field], work.frame[rule.other]
    if {rule.field, rule.other} & work.dates:
        left, right = as_dates(left), as_dates(right)
    both = (left.notna() & right.notna()).to_numpy(dtype=bool)
    holds = np.asarray(_OPERATORS[rule.operator](left, right).fillna(False), dtype=bool)
    failing: Mask = both & ~holds
    return failing


def as_dates(column: pd.Series) -> pd.Series:
    """A column as dates: timestamps a date rule parsed stay, ISO text is read, anything
    else is missing."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    return pd.to_datetime(column, errors="coerce", format="ISO8601")
