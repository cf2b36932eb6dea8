"""Render the configuration reference (`docs/configuration.md`) from the model itself."""

from __future__ import annotations

import json
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from customer_etl.config.loader import ENV_PREFIX
from customer_etl.config.model import Config

_HEADER = """# Configuration reference

Generated from the configuration model (`customer_etl/config/model.py`) by
`customer-etl config docs`; a test fails when this page is stale. Do not edit by hand.

Each environment has one file, `config/<env>.yaml` (`local`, `dev`, `staging`, `prod`).
Every key can be overridden by an environment variable named after its path:
`CUSTOMER_ETL__<SECTION>__<KEY>`, for example `CUSTOMER_ETL__WAREHOUSE__URL`. Values of
overrides are read as YAML scalars (`true`, `5`, `[a, b]`). An unknown key or a bad value
stops the program with one line naming the file and the key, or the variable.

Secrets never appear in these files: settings ending in `_ref` hold a reference,
`env:NAME`, `secretsmanager:NAME-OR-ARN` or `ssm:/parameter/name`, resolved when used.
`customer-etl config show --env ENV` prints the effective settings.

"""


def render_reference() -> str:
    lines = [_HEADER]
    _section(Config, (), lines)
    return "\n".join(lines).rstrip() + "\n"


def _section(model: type[BaseModel], path: tuple[str, ...], lines: list[str]) -> None:
    rows: list[str] = []
    nested: list[tuple[type[BaseModel], tuple[str, ...], str]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if not info.description:
            raise ValueError(f"configuration field {'.'.join((*path, key))} has no description")
        submodel = _model_of(info.annotation)
        if submodel is not None:
            nested.append((submodel, (*path, key), info.description))
            continue
        dotted = ".".join((*path, key))
        variable = ENV_PREFIX + "__".join(part.upper() for part in (*path, key))
        rows.append(
            f"| `{dotted}` | {_type_name(info.annotation)} | {_default(info)} | "
            f"{info.description} | `{variable}` |"
        )
    if rows:
        title = ".".join(path) if path else "top level"
        lines.append(f"## `{title}`\n" if path else f"## {title}\n")
        lines.append("| key | type | default | meaning | override |")
        lines.append("| --- | --- | --- | --- | --- |")
        lines.extend(rows)
        lines.append("")
    for submodel, subpath, description in nested:
        if not any(_model_of(i.annotation) is None for i in submodel.model_fields.values()):
            lines.append(f"## `{'.'.join(subpath)}`\n\n{description}\n")
        _section(submodel, subpath, lines)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in get_args(annotation))
    if origin is Literal:
        return " / ".join(f"`{value}`" for value in get_args(annotation))
    if origin is list:
        return f"list of {_type_name(get_args(annotation)[0])}"
    metadata = getattr(annotation, "__metadata__", None)
    if metadata:
        return f"{_type_name(get_args(annotation)[0])} (secret reference)"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation)).replace("PosixPath", "path")


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    return f"`{json.dumps(value, default=str)}`"
