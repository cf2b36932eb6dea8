"""The stage settings of a configuration: its rule set and how it reads source files."""

from __future__ import annotations

from customer_etl.adapters.secrets import SecretError, resolve_secret
from customer_etl.config.model import Config
from customer_etl.core.errors import MaskingKeyError
from customer_etl.privacy.masking import MaskingPlan, plan_from_secret
from customer_etl.quality.rules import load_rules
from customer_etl.stages.settings import StageSettings, default_rules


def stage_settings(config: Config, masking: bool = True) -> StageSettings:
    """Raises RulesError when the configured rules file is missing or invalid, and
    MaskingKeyError when masking is on without a usable key. `masking=False` leaves the
    masking key unread, for a process that runs no transform (a Lambda of another stage)."""
    rules_file = config.quality.rules_file
    source = config.source
    return StageSettings(
        rules=load_rules(rules_file) if rules_file else default_rules(),
        encoding=None if source.encoding == "auto" else source.encoding,
        delimiter=None if source.delimiter == "auto" else source.delimiter,
        max_columns=source.max_columns,
        max_field_bytes=source.max_field_bytes,
        classification=config.privacy.classification,
        masking=masking_plan(config) if masking else None,
    )


def masking_plan(config: Config) -> MaskingPlan | None:
    """The masking plan with its key resolved; None when masking is off. Raises
    MaskingKeyError when masking is on and the key cannot be read: never a default key."""
    masking = config.privacy.masking
    if not masking.enabled:
        return None
    try:
        secret = resolve_secret(masking.key_ref)
    except SecretError as error:
        raise MaskingKeyError(f"masking is enabled but its key cannot be read: {error}") from None
    return plan_from_secret(secret, masking.fields)
