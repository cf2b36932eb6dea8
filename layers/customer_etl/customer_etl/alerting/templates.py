"""Alert texts from template files (`templates/<name>.txt`, in `string.Template` syntax).

A template's first line is `Subject: ...`, then a blank line, then the body. The standard
library's `string.Template` is enough here: the texts hold placeholders only, no logic, and
`substitute` refuses a missing value instead of sending a half-filled alert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template
from typing import Literal

TemplateName = Literal[
    "run_failed",
    "threshold_breach",
    "quality_warning",
    "quarantine_notice",
    "run_recovered",
    "retention_overdue",
    "likely_to_breach",
]

_SUBJECT = "Subject: "
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class TemplateFileError(ValueError):
    """A template file does not start with its `Subject:` line and a blank line."""


@dataclass(frozen=True)
class AlertTemplate:
    subject: Template
    body: Template


@dataclass(frozen=True)
class RenderedAlert:
    subject: str
    body: str


@cache
def load_template(name: TemplateName) -> AlertTemplate:
    """The template `name`, read once from the package's data."""
    text = files("customer_etl.alerting").joinpath(f"templates/{name}.txt").read_text("utf-8")
    subject, blank, body = text.partition("\n\n")
    if not blank or not subject.startswith(_SUBJECT) or "\n" in subject:
        raise TemplateFileError(f"alert template {name}: expected 'Subject: ...' then a blank line")
    return AlertTemplate(Template(subject.removeprefix(_SUBJECT)), Template(body))


def render(name: TemplateName, values: Mapping[str, object]) -> RenderedAlert:
    """Fill template `name` with `values` (all of its placeholders are required). The subject
    is kept to one line, whatever a value holds: a line break would end the email header."""
    template = load_template(name)
    subject = template.subject.substitute(values)
    return RenderedAlert(
        subject=_LINE_BREAKS.sub(" ", subject).strip(),
        body=template.body.substitute(values),
    )
