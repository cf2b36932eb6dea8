"""The Jinja2 environment of the reports: templates from the package, every value escaped."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from customer_etl.reporting.charts import number


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("customer_etl.reporting", "templates"),
        # Always on, whatever the file name: reason codes, file names and error messages
        # are text, and a report must never run what a file's header smuggled in.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["number"] = number
    return environment


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)
