"""What a failed AWS call means for a run: worth retrying (throttled, the service failing,
the connection lost) or not (refused), in the pipeline's own error classes, so Step
Functions' Retry sees a class it can name and the operator a message that says what to do.

Whether an error is throttling or transient is botocore's own judgement (the checkers its
`standard` retry mode uses), not a list of ours: it knows every service's codes.
"""

from __future__ import annotations

from types import SimpleNamespace

from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import (
    RetryContext,
    ThrottledRetryableChecker,
    TransientRetryableChecker,
)

from customer_etl.core.errors import (
    AwsRequestRefusedError,
    AwsServiceUnavailableError,
    CustomerEtlError,
)

_THROTTLED = ThrottledRetryableChecker()
_TRANSIENT = TransientRetryableChecker()
# Codes of service-side failures that botocore models per service rather than in its
# shared lists (KMS answers these with a 5xx it may also send as a 400).
_SERVICE_FAILURES = frozenset(
    {"KMSInternalException", "DependencyTimeoutException", "InternalError", "ServiceUnavailable"}
)


def _context(error: ClientError | BotoCoreError) -> RetryContext:
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # The checkers read only `status_code` of the HTTP response.
        response = SimpleNamespace(status_code=status) if status is not None else None
        return RetryContext(
            attempt_number=1, parsed_response=error.response, http_response=response
        )
    return RetryContext(attempt_number=1, caught_exception=error)


def aws_failure(error: BaseException) -> CustomerEtlError | None:
    """The pipeline's error for a failed AWS call, or None when `error` is not one.

    The message names the operation and the service's error code, never a bucket key, a
    queue message or a parameter (an object key can carry a file's name).

    Example:
        >>> throttled = ClientError({"Error": {"Code": "SlowDown"}}, "GetObject")
        >>> failure = aws_failure(throttled)
        >>> type(failure).__name__, failure.kind
        ('AwsServiceUnavailableError', 'throttled')
    """
    if not isinstance(error, ClientError | BotoCoreError):
        return None
    context = _context(error)
    if isinstance(error, ClientError):
        operation = error.operation_name
        code = str(error.response.get("Error", {}).get("Code") or "unknown")
    else:
        operation, code = "request", type(error).__name__
    if _THROTTLED.is_retryable(context):
        return AwsServiceUnavailableError(
            f"AWS {operation} was throttled ({code}) beyond the SDK's retries: the task retries "
            "with backoff; if the execution fails, redrive it once the rate is back to normal",
            "throttled",
        )
    if _TRANSIENT.is_retryable(context) or code in _SERVICE_FAILURES:
        return AwsServiceUnavailableError(
            f"AWS {operation} failed on the service's side ({code}) beyond the SDK's retries: "
            "the task retries with backoff; if the execution fails, check the AWS Health "
            "Dashboard and redrive it once the service is back",
            "unavailable",
        )
    if isinstance(error, BotoCoreError):
        return None  # a client-side defect (bad parameters, no credentials...): unexpected
    return AwsRequestRefusedError(
        f"AWS {operation} was refused ({code}): check the function's role, the key policy "
        "and that the bucket, queue or key exists (CloudTrail shows the refused call), then "
        "redrive the execution",
        code,
    )
