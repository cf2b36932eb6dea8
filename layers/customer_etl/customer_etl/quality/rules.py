"""The data quality rules, read from YAML: what each rule checks, and how a file of them is
validated before any record is.

A rule file is a list of rules applied in order; a rule sees values as the rules before it
normalised them (so `country` is upper-cased before the country-aware postcode rule reads
it). See docs/data-quality.md for the format and the shipped defaults.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from customer_etl.config.loader import ConfigError
from customer_etl.core.quality_totals import Dimension
from customer_etl.core.schema import BUSINESS_KEY, CANONICAL_COLUMNS, field

DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.yaml")

_NAME = r"^[a-z][a-z0-9_]*$"
_CANONICAL = set(CANONICAL_COLUMNS)


class RulesError(ConfigError):
    """A rules file cannot be read or does not describe valid rules (bad configuration)."""


class Severity(StrEnum):
    QUARANTINE = "quarantine"
    """A failing record is quarantined."""
    WARN = "warn"
    """A failing record lowers its score and is counted, but is loaded."""


class Condition(BaseModel):
    """The rule applies only to records whose `field` (as normalised so far) is `in` the list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    in_: list[str] = Field(alias="in", min_length=1)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str
    name: str = Field(pattern=_NAME)
    """Unique in the file; defaults to `<field>_<check>`."""
    code: str = Field(pattern=_NAME)
    """The reason code a failing record gets; defaults by kind (`missing_<field>`, ...)."""
    dimension: Dimension
    """The quality dimension the rule scores; defaults by kind."""
    severity: Severity = Severity.QUARANTINE
    when: Condition | None = None

    # Defaults that depend on the kind of rule; a subclass overrides them.
    default_code: ClassVar[str] = "invalid_{field}"
    default_dimension: ClassVar[Dimension] = Dimension.VALIDITY

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("field"), str):
            return data
        defaults = {
            "name": f"{data['field']}_{data.get('check')}",
            "code": cls.default_code.format(field=data["field"]),
            "dimension": cls.default_dimension,
        }
        return defaults | data

    @model_validator(mode="after")
    def _fields_exist(self) -> _Rule:
        if self.field not in _CANONICAL:
            raise ValueError(f"field {self.field!r} is not a canonical field")
        if self.when is not None and self.when.field not in _CANONICAL:
            raise ValueError(f"when.field {self.when.field!r} is not a canonical field")
        return self


class RequiredRule(_Rule):
    """The field has a value (not empty once surrounding spaces are removed)."""

    check: Literal["required"]
    default_code: ClassVar[str] = "missing_{field}"
    default_dimension: ClassVar[Dimension] = Dimension.COMPLETENESS


class MaxLengthRule(_Rule):
    """The text is at most `max` characters; without `max`, the schema's length."""

    check: Literal["max_length"]
    max: int | None = Field(None, ge=1)
    default_code: ClassVar[str] = "too_long_{field}"

    def limit(self) -> int | None:
        return self.max if self.max is not None else field(self.field).max_length


class Format(StrEnum):
    EMAIL = "email"
    UK_POSTCODE = "uk_postcode"
    POSTCODE = "postcode"
    """By the record's country (`country_from`): reference/postcodes.py."""
    PHONE = "phone"
    DATE = "date"
    COUNTRY_CODE = "country_code"
    REGEX = "regex"


class FormatRule(_Rule):
    """The value has a known format, and is normalised to its canonical form."""

    check: Literal["format"]
    format: Format
    pattern: str | None = None
    """For `regex`: the pattern the whole value must match."""
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d"], min_length=1)
    """For `date`: strptime formats tried in order; `%d/%m/%Y` is the UK day-first form."""
    default_region: str = Field("GB", pattern=r"^[A-Z]{2}$")
    """For `phone`: the region of numbers written without an international prefix."""
    region_from: str | None = None
    """For `phone`: a field holding each record's country, used instead of
    `default_region` where it holds a two-letter code."""
    country_from: str = "country"
    """For `postcode`: the field holding each record's country (alpha-2)."""
    strictness: Literal["possible", "valid"] = "possible"
    """For `phone`: `possible` checks the length for the country; `valid` also checks the
    number is in a range allocated to an operator (rejects reserved ranges)."""

    @model_validator(mode="after")
    def _pattern_for_regex(self) -> FormatRule:
        if self.format is Format.REGEX:
            if not self.pattern:
                raise ValueError("a regex format needs a pattern")
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern does not compile: {error}") from None
        if self.region_from is not None and self.region_from not in _CANONICAL:
            raise ValueError(f"region_from {self.region_from!r} is not a canonical field")
        if self.country_from not in _CANONICAL:
            raise ValueError(f"country_from {self.country_from!r} is not a canonical field")
        return self


class AllowedValuesRule(_Rule):
    """The value is one of a list (normalised to its spelling there), or one of the keys of a
    mapping (normalised to the key's value: `{"yes": true}`)."""

    check: Literal["allowed_values"]
    values: list[str] | dict[str, str | bool] = Field(min_length=1)
    case_sensitive: bool = False


class RangeRule(_Rule):
    """A date between `min` and `max` (inclusive); each an ISO date or `today`, the run's
    reference date."""

    check: Literal["range"]
    min: date | Literal["today"] | None = None
    max: date | Literal["today"] | None = None
    default_code: ClassVar[str] = "{field}_out_of_range"


class AgeRule(_Rule):
    """Whole years from a date to the run's reference date lie within [min_years, max_years]."""

    check: Literal["age"]
    min_years: int = Field(0, ge=0)
    max_years: int = Field(130, ge=0)
    default_code: ClassVar[str] = "implausible_age"


class UniqueRule(_Rule):
    """No earlier record of the file has the same value; the first one keeps it."""

    check: Literal["unique"]
    default_code: ClassVar[str] = "duplicate_{field}"
    default_dimension: ClassVar[Dimension] = Dimension.UNIQUENESS


class CompareRule(_Rule):
    """`field operator other`, where both are present (dates or text)."""

    check: Literal["compare"]
    operator: Literal["<", "<=", ">", ">=", "==", "!="]
    other: str
    default_code: ClassVar[str] = "inconsistent_{field}"
    default_dimension: ClassVar[Dimension] = Dimension.CONSISTENCY

    @model_validator(mode="after")
    def _other_is_canonical(self) -> CompareRule:
        if self.other not in _CANONICAL:
            raise ValueError(f"other {self.other!r} is not a canonical field")
        return self


Rule = Annotated[
    RequiredRule
    | MaxLengthRule
    | FormatRule
    | AllowedValuesRule
    | RangeRule
    | AgeRule
    | UniqueRule
    | CompareRule,
    Field(discriminator="check"),
]


class RuleSet(BaseModel):
    """A validated rules file.

    Example:
        >>> rules = load_rules()
        >>> rules.rules[0].code
        'missing_customer_id'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    dimension_weights: dict[Dimension, float] = Field(
        default_factory=lambda: dict.fromkeys(Dimension, 1.0)
    )
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> RuleSet:
        names = [rule.name for rule in self.rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(repeated)}")
        if any(weight < 0 for weight in self.dimension_weights.values()):
            raise ValueError("dimension weights must not be negative")
        return self


def required_fields(rules: RuleSet) -> tuple[str, ...]:
    """The fields a file must give (or its mapping supply): the business key, and each field
    a quarantining `required` rule asks of every record. A field required only under a
    condition (a postcode where the country needs one) may be absent from a file: the
    records it concerns are quarantined, the others load."""
    needed = [BUSINESS_KEY]
    for rule in rules.rules:
        if (
            isinstance(rule, RequiredRule)
            and rule.severity is Severity.QUARANTINE
            and rule.when is None
            and rule.field not in needed
        ):
            needed.append(rule.field)
    return tuple(needed)


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules of `path`, or the shipped defaults; RulesError says what is wrong and where."""
    path = path or DEFAULT_RULES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"rules file {path} not found: check quality.rules_file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"rules file {path}{where} is not valid YAML") from None
    try:
        return RuleSet.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RulesError(
            f"rules file {path}: {where}: {first['msg']} (see docs/data-quality.md)"
        ) from None
