"""Run our Lambda handlers in-process when moto's Step Functions interpreter invokes them.

moto runs Lambda code only with Docker; a botocore `before-call.lambda.Invoke` hook on the
default session answers the call instead, with the handler's result or its error in the
shape the Lambda service uses (so the state machine's Retry and Catch match error names).
"""

from __future__ import annotations

import importlib.util
import io
import json
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "eu-west-2"


def function_arn(stage: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:customer-etl-{stage}"


def load_handler(stage: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    path = REPO / "functions" / stage / "handler.py"
    spec = importlib.util.spec_from_file_location(f"handler_{stage}", path)
    assert spec and spec.loader
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 2048
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return function_arn(self.function_name.removeprefix("customer-etl-"))


@dataclass
class Invocation:
    stage: str
    payload: dict[str, Any]
    error_type: str | None


@contextmanager
def handlers_in_process(stages: list[str]) -> Iterator[list[Invocation]]:
    """While active, invoking `customer-etl-<stage>` runs functions/<stage>/handler.py here."""
    handlers = {function_arn(stage): (stage, load_handler(stage)) for stage in stages}
    calls: list[Invocation] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        arn = unquote(params["url_path"].split("/functions/")[1].split("/")[0])
        stage, handler = handlers[arn]
        event = json.loads(params["body"] or b"{}")
        parsed: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            result: Any = handler(event, FakeLambdaContext(f"customer-etl-{stage}"))
            calls.append(Invocation(stage, event, None))
        except Exception as error:  # the Lambda service reports any exception this way
            result = {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            parsed["FunctionError"] = "Unhandled"
            calls.append(Invocation(stage, event, type(error).__name__))
        body = json.dumps(result).encode()
        parsed["Payload"] = StreamingBody(io.BytesIO(body), len(body))
        response = AWSResponse(params["url"], 200, {}, None)
        return response, parsed

    session = boto3._get_default_session()
    session.events.register("before-call.lambda.Invoke", answer)
    try:
        yield calls
    finally:
        session.events.unregister("before-call.lambda.Invoke", answer)
