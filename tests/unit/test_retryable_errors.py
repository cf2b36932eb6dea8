"""Which failures a task retries: every transient error class of the pipeline by its name
(Step Functions matches an error's name exactly, never its base classes), and what a failed
AWS call becomes (adapters/aws_errors.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

# Imported for their TransientError subclasses.
import customer_etl.adapters.answer_cache
import customer_etl.adapters.warehouse
from customer_etl.adapters.aws_errors import aws_failure
from customer_etl.core.errors import (
    AwsRequestRefusedError,
    AwsServiceUnavailableError,
    TransientError,
)

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "pipeline.asl.json"
assert customer_etl.adapters.answer_cache and customer_etl.adapters.warehouse


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def _tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    tasks = [s for s in states.values() if s["Type"] == "Task"]
    for state in states.values():
        if "ItemProcessor" in state:
            tasks += _tasks(state["ItemProcessor"]["States"])
    return tasks


def test_every_task_retries_every_transient_error_class_by_its_own_name() -> None:
    names = {cls.__name__ for cls in _subclasses(TransientError) | {TransientError}}
    assert {"AwsServiceUnavailableError", "WarehouseUnavailableError"} <= names
    tasks = _tasks(json.loads(ASL.read_text())["States"])
    assert len(tasks) == 7
    for task in tasks:
        [retry] = task["Retry"]
        assert names <= set(retry["ErrorEquals"]), names - set(retry["ErrorEquals"])


def _client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_client_error("SlowDown", 503), "throttled"),
        (_client_error("ThrottlingException", 400, "Decrypt"), "throttled"),
        (_client_error("RequestLimitExceeded", 400, "SendMessage"), "throttled"),
        (_client_error("503", 503, "HeadObject"), "unavailable"),
        (_client_error("InternalError", 500, "PutObject"), "unavailable"),
        (_client_error("KMSInternalException", 400, "GenerateDataKey"), "unavailable"),
        (EndpointConnectionError(endpoint_url="https://s3.eu-west-2.amazonaws.com"), "unavailable"),
    ],
)
def test_throttling_and_service_failures_are_retried(error: Exception, kind: str) -> None:
    failure = aws_failure(error)
    assert isinstance(failure, AwsServiceUnavailableError)
    assert isinstance(failure, TransientError)
    assert failure.kind == kind
    assert "redrive" in str(failure)


def test_a_refused_call_is_not_retried_and_says_where_to_look() -> None:
    failure = aws_failure(_client_error("AccessDenied", 403, "PutObject"))
    assert isinstance(failure, AwsRequestRefusedError)
    assert not isinstance(failure, TransientError)
    assert failure.kind == "AccessDenied"
    assert "PutObject was refused (AccessDenied)" in str(failure)
    assert "role" in str(failure)


def test_an_object_key_in_the_error_never_reaches_the_message() -> None:
    error = ClientError(
        {
            "Error": {
                "Code": "AccessDenied",
                "Message": "denied: incoming/jane.doe@example.com.csv",
            },
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "GetObject",
    )
    assert "jane.doe" not in str(aws_failure(error))


def test_what_is_not_an_aws_failure_is_left_alone() -> None:
    assert aws_failure(KeyError("email")) is None
    # A client-side defect (bad parameters) is the pipeline's own bug: unexpected.
    assert aws_failure(ParamValidationError(report="missing Bucket")) is None
