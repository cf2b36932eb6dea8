"""The stage settings of a configuration: its rule set and how it reads source files."""

from __future__ import annotations

from customer_etl.config.model import Config
from customer_etl.quality.rules import load_rules
from customer_etl.stages.settings import StageSettings, default_rules


def stage_settings(config: Config) -> StageSettings:
    """Raises RulesError when the configured rules file is missing or invalid."""
    rules_file = config.quality.rules_file
    source = config.source
    return StageSettings(
        rules=load_rules(rules_file) if rules_file else default_rules(),
        encoding=None if source.encoding == "auto" else source.encoding,
        delimiter=None if source.delimiter == "auto" else source.delimiter,
    )
