"""The Lambda handlers as the functions' modules import them, each loading its machinery on
its first call.

`runtime.lambda_handlers` imports everything a handler may use (pandas, SQLAlchemy, the
AWS adapters, Powertools' tracer), about 2 seconds before a function could answer. Through
this module a function's `handler.py` imports in milliseconds, and the first invocation
imports `lambda_handlers` once; the handler it then calls is the very one `lambda_handlers`
builds, with its logging, tracing and metrics decorators.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

_HANDLERS = "customer_etl.runtime.lambda_handlers"


def _deferred(build: Callable[[], Handler]) -> Handler:
    """A handler that builds the real one on its first call and then calls it."""
    built: list[Handler] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not built:
            built.append(build())
        return built[0](event, context)

    return handler


def _named(name: str, module: str = _HANDLERS) -> Handler:
    def build() -> Handler:
        real: Handler = getattr(importlib.import_module(module), name)
        return real

    return _deferred(build)


def stage_handler(stage: str) -> Handler:
    """`lambda_handlers.stage_handler(stage)`, built on the first call."""

    def build() -> Handler:
        real: Handler = importlib.import_module(_HANDLERS).stage_handler(stage)
        return real

    return _deferred(build)


retention_handler = _named("retention_handler")
start_handler = _named("start_handler")
run_status_handler = _named("run_status_handler")
health_handler = _named("health_handler")
report_handler = _named("report_handler")
subject_request_handler = _named("handler", "customer_etl.runtime.subject_lambda")
