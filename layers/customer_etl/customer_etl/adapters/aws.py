"""AWS adapters: S3 for inputs, checkpoints and quarantine; SQS for quarantine notices; SNS
for alerts. Clients are created when an adapter is built (inside the handler call), never
at import time."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from customer_etl.adapters.aws_client import aws_client
from customer_etl.adapters.parquet_files import ParquetFileWriter, read_parquet_chunks
from customer_etl.core.errors import InputChangedError, InputFileError
from customer_etl.core.ports import Alert, QuarantineBatch

_S3 = "s3://"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith(_S3):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[len(_S3) :].partition("/")
    return bucket, key


class _Scratch:
    """A private temporary folder (Lambda's /tmp) for files on their way to or from S3."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="customer-etl-")
        self.path = Path(self._dir.name)


class S3InputStore:
    def __init__(self, s3: Any | None = None) -> None:
        self._s3 = s3 or aws_client("s3")
        self._scratch = _Scratch()

    def fetch(self, uri: str, version: str | None = None) -> Path:
        """The object downloaded; with `version` (a version id, or an ETag in quotes for a
        bucket without versioning), that version or InputChangedError: a run never reads a
        replaced object as if it were the one it was started for."""
        bucket, key = split_s3_uri(uri)
        target = self._scratch.path / "input.csv"
        pinned: dict[str, str] = {}
        if version is not None:
            pinned = {"IfMatch": version} if version.startswith('"') else {"VersionId": version}
        try:
            if pinned:
                # get_object, not download_file: the transfer manager takes no IfMatch.
                body = self._s3.get_object(Bucket=bucket, Key=key, **pinned)["Body"]
                with target.open("wb") as handle:
                    for block in body.iter_chunks(1 << 20):
                        handle.write(block)
            else:
                self._s3.download_file(bucket, key, str(target))
        except self._s3.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}:
                raise InputFileError(
                    f"input object {Path(key).name} not found in {bucket}"
                    + (" at the version the run was started for" if version else "")
                ) from None
            if code in {"412", "PreconditionFailed"}:
                raise InputChangedError(
                    f"input object {Path(key).name} in {bucket} was replaced after the run "
                    "started: the new object starts a run of its own"
                ) from None
            raise
        return target


class S3CheckpointStore:
    """Checkpoints at `s3://<bucket>/<prefix><run_id>/<stage>/chunk-00000.parquet` (`stage`
    names the chunk), documents beside them."""

    def __init__(self, bucket: str, prefix: str = "runs/", s3: Any | None = None) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._s3 = s3 or aws_client("s3")
        self._scratch = _Scratch()

    def _key(self, run_id: str, stage: str) -> str:
        return f"{self._prefix}{run_id}/{stage}.parquet"

    def writer(self, run_id: str, stage: str, schema: object) -> ParquetFileWriter:
        assert isinstance(schema, pa.Schema)
        return self._writer_at(self._key(run_id, stage), schema)

    def _writer_at(self, key: str, schema: pa.Schema) -> ParquetFileWriter:
        local = self._scratch.path / key.replace("/", "__")

        def upload(path: Path) -> str:
            self._s3.upload_file(str(path), self._bucket, key)
            path.unlink()
            return f"{_S3}{self._bucket}/{key}"

        return ParquetFileWriter(local, schema, publish=upload)

    def read_chunks(self, uri: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
        bucket, key = split_s3_uri(uri)
        local = self._scratch.path / ("read__" + key.replace("/", "__"))
        self._s3.download_file(bucket, key, str(local))
        return read_parquet_chunks(local, chunk_rows)

    def put_document(self, run_id: str, name: str, text: str) -> str:
        key = f"{self._prefix}{run_id}/{name}"
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=text.encode("utf-8"))
        return f"{_S3}{self._bucket}/{key}"

    def get_document(self, run_id: str, name: str) -> str | None:
        key = f"{self._prefix}{run_id}/{name}"
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
        return bytes(body).decode("utf-8")


class SqsQuarantineSink:
    """Quarantined rows as Parquet in the checkpoint bucket, one notice per batch on the
    quarantine queue (counts and reason codes only: the rows stay in the encrypted bucket)."""

    def __init__(self, bucket: str, queue_url: str, s3: Any | None = None, sqs: Any | None = None):
        self._store = S3CheckpointStore(bucket, prefix="quarantine/", s3=s3)
        self._queue_url = queue_url
        self._sqs = sqs or aws_client("sqs")

    def writer(self, run_id: str, stage: str, schema: object) -> ParquetFileWriter:
        return self._store.writer(run_id, stage, schema)

    def announce(self, run_id: str, stage: str, batch: QuarantineBatch) -> None:
        body = {
            "kind": "rows_quarantined",
            "run_id": run_id,
            "stage": stage,
            "rows": batch.rows,
            "reasons": dict(batch.reasons),
            "rules": dict(batch.rules),
            "uri": batch.uri,
        }
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body))

    def announce_failed_run(
        self,
        run_id: str,
        stage: str | None,
        error_class: str,
        error: str | None,
        execution: str,
        status: str,
    ) -> None:
        body = {
            "kind": "run_failed",
            "run_id": run_id,
            "stage": stage,
            "status": status,
            "error_class": error_class,
            "error": error,
            "execution": execution,
            "recovery": (
                "fix the cause, then redrive the execution: "
                f"aws stepfunctions redrive-execution --execution-arn {execution}"
            ),
        }
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(body))


class StepFunctionsStarter:
    """Starts executions of the pipeline's state machine under a name of the caller's."""

    def __init__(self, state_machine_arn: str, sfn: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = sfn or aws_client("stepfunctions")

    def start(self, name: str, state_input: dict[str, Any]) -> bool:
        """Start the execution `name`; False when one of that name exists already (Step
        Functions keeps names unique for 90 days: the same object delivered again)."""
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(state_input)
            )
        except self._sfn.exceptions.ExecutionAlreadyExists:
            return False
        return True


class SnsNotifier:
    def __init__(self, topic_arn: str, sns: Any | None = None) -> None:
        self._topic_arn = topic_arn
        self._sns = sns or aws_client("sns")

    def send(self, alert: Alert) -> None:
        attributes: dict[str, dict[str, str]] = {}
        if alert.severity:
            # Lets a subscription's filter policy route by severity (P1 to the pager).
            attributes["severity"] = {"DataType": "String", "StringValue": alert.severity}
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=sns_subject(alert.subject),
            Message=alert.body,
            MessageAttributes=attributes,
        )


SNS_SUBJECT_LIMIT = 100


def sns_subject(subject: str) -> str:
    """`subject` as SNS accepts it: ASCII without control characters, at most 100 characters
    (a longer one is cut, ending in `...`, so that the severity and run id that open it stay)."""
    printable = "".join(c if " " <= c <= "~" else " " for c in subject).strip()
    if len(printable) <= SNS_SUBJECT_LIMIT:
        return printable
    return printable[: SNS_SUBJECT_LIMIT - 3].rstrip() + "..."
