"""Load the configuration of one environment: YAML file, then environment overrides.

Written here rather than with pydantic-settings because an operator needs the error to
name where a bad value came from (the file and key, or the environment variable), which
pydantic-settings' merged sources cannot tell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError

ENV_PREFIX = "CUSTOMER_ETL__"
CONFIG_DIR_VARIABLE = "CUSTOMER_ETL_CONFIG_DIR"
DEFAULT_CONFIG_DIR = Path("config")


class ConfigError(CustomerEtlError):
    """The configuration file or an override is invalid."""


def config_path(env: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where the file of environment `env` lives (`$CUSTOMER_ETL_CONFIG_DIR/<env>.yaml`)."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR)) / f"{env}.yaml"


def load_config(
    env: str = "local",
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """The validated configuration of `env`.

    Example:
        >>> load_config("local").environment  # doctest: +SKIP
        'local'
    """
    environ = os.environ if environ is None else environ
    path = config_file or config_path(env, environ)
    data = _read_yaml(path)
    data.setdefault("environment", env)
    overrides = _environment_overrides(environ)
    for keys, value in overrides.items():
        _set_nested(data, keys, value)
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, path, overrides)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {path} not found: pass --config FILE or set "
            f"{CONFIG_DIR_VARIABLE} to the folder holding <env>.yaml"
        ) from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return loaded


def _environment_overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], Any]:
    """`CUSTOMER_ETL__WAREHOUSE__URL=x` becomes {("warehouse", "url"): "x"}; values are read
    as YAML scalars so that `true`, `5` and `[a, b]` keep their types."""
    overrides: dict[tuple[str, ...], Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part)
        if not keys:
            continue
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        # YAML would turn `2026-01-01` into a date; only plain scalars, lists and null
        # (`null` clears a setting) keep their YAML reading, anything else stays text.
        plain = value is None or isinstance(value, str | int | float | bool | list)
        overrides[keys] = value if plain else raw
    return overrides


def _set_nested(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def _describe(error: ValidationError, path: Path, overrides: Mapping[tuple[str, ...], Any]) -> str:
    first = error.errors()[0]
    keys = tuple(str(part) for part in first["loc"])
    dotted = ".".join(keys)
    if keys in overrides:
        source = f"environment variable {ENV_PREFIX}{'__'.join(k.upper() for k in keys)}"
    else:
        source = f"{path}: key {dotted}"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key (see docs/configuration.md for the valid keys)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    # The message never echoes the input value: it may be a secret pasted by mistake.
    return f"{source}: {first['msg']}{more}"
