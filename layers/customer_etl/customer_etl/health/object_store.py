"""Can the pipeline write where its checkpoints go: the local runs folder, or the S3
checkpoint bucket. A probe object is written and deleted again."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from customer_etl.health.report import Finding, Status

COMPONENT = "object_store"
PROBE_PREFIX = "health/"
"""Where the probe object goes in the bucket, away from the runs' own keys."""


def check_output_dir(output_dir: Path) -> Finding:
    """Create the runs folder if need be (a run would), then write and delete a file in it."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output_dir, prefix=".health-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as error:
        return Finding(
            Status.UNHEALTHY,
            f"runs folder {output_dir} is not writable ({type(error).__name__}): check that "
            "it is a folder and that this user may write to it (pipeline.output_dir)",
        )
    return Finding(Status.HEALTHY, f"runs folder {output_dir} is writable")


def check_bucket(s3: Any, bucket: str) -> Finding:
    """Put then delete a small object under `health/` of the checkpoint bucket."""
    key = f"{PROBE_PREFIX}probe-{uuid.uuid4().hex}"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"ok")
        s3.delete_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        return Finding(
            Status.UNHEALTHY,
            f"checkpoint bucket {bucket}: write failed ({code}); check the bucket exists "
            "and the function's role may put and delete objects in it",
        )
    except BotoCoreError as error:
        return Finding(
            Status.UNHEALTHY,
            f"checkpoint bucket {bucket}: S3 unreachable ({type(error).__name__})",
        )
    return Finding(Status.HEALTHY, f"checkpoint bucket {bucket} is writable")
