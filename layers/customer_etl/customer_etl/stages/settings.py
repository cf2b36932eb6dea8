"""What the stages take from the configuration: the rule set, how to read the source, and
how to classify and mask personal data."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from customer_etl.config.privacy import ClassificationSettings
from customer_etl.privacy.masking import MaskingPlan
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
    max_columns: int = 300
    """Columns a source header may have; a wider file is refused."""
    max_field_bytes: int = 65_536
    """Longest field a source row may hold; a row with a longer one is quarantined."""
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    """How extract classifies the source's columns and handles personal data in them."""
    masking: MaskingPlan | None = None
    """Masking transform applies after validation (with its key); None masks nothing."""
