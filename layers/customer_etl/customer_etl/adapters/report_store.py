"""Where the scheduled reports go: an S3 prefix (a local report is just a file)."""

from __future__ import annotations

from typing import Any

from customer_etl.adapters.aws_client import aws_client


class S3ReportStore:
    """Reports at `s3://<bucket>/<prefix><name>`, served as UTF-8 HTML.

    Example:
        >>> store = S3ReportStore("reports-bucket")  # doctest: +SKIP
        >>> store.put("daily/2026-11-25.html", "<html>...</html>")  # doctest: +SKIP
        's3://reports-bucket/reports/daily/2026-11-25.html'
    """

    def __init__(self, bucket: str, prefix: str = "reports/", s3: Any | None = None) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._s3 = s3 or aws_client("s3")

    def put(self, name: str, html: str) -> str:
        key = f"{self._prefix}{name}"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=html.encode("utf-8"),
            ContentType="text/html; charset=utf-8",
        )
        return f"s3://{self._bucket}/{key}"
