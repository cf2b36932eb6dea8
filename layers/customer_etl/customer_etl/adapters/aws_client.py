"""Every AWS client the pipeline makes, with one retry policy.

botocore's `standard` retry mode (rather than whatever the environment defaults to): the
same throttling and transient-error judgement on every service, exponential backoff with
jitter, and a retry quota that stops a failing service being hammered. What outlasts these
attempts becomes the pipeline's own error (adapters/aws_errors.py) for the task's Retry.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

MAX_ATTEMPTS = 5
"""The SDK's attempts per call (the first and four retries) before the task's Retry."""

_CONFIG = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})


def aws_client(service: str, region: str | None = None) -> Any:
    """A boto3 client of `service`, made when called (inside a handler, never at import:
    Lambda and moto both need that)."""
    return boto3.client(service, region_name=region, config=_CONFIG)
