"""What the stages take from the configuration: the rule set and how to read the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from customer_etl.quality.rules import RuleSet, load_rules


@cache
def default_rules() -> RuleSet:
    """The shipped rules, read once per process."""
    return load_rules()


@dataclass(frozen=True)
class StageSettings:
    rules: RuleSet = field(default_factory=default_rules)
    encoding: str | None = None
    """Source text encoding; None detects it."""
    delimiter: str | None = None
    """Source field delimiter; None detects it."""
