"""Configuration: one validated model, one YAML file per environment, env-var overrides.

May import: `core`.
"""

from customer_etl.config.loader import ConfigError, load_config
from customer_etl.config.model import Config

__all__ = ["Config", "ConfigError", "load_config"]
