"""Measure what the redaction filter adds to a log line: the project's logger writing a
typical `stage finished` line with and without the filter, to an in-memory stream.

    .venv/bin/python scripts/bench_redaction.py
"""

from __future__ import annotations

import io
import timeit

from customer_etl.observability.telemetry import LOG_HANDLER, REDACTION_FILTER, logger, send_logs_to

LINES = 20_000
EXTRA = {
    "stage": "transform",
    "run_id": "20261126T010000Z-ab12cd",
    "rows_in": 50_000,
    "rows_out": 49_000,
    "rows_quarantined": 1_000,
    "duration_seconds": 1.234,
    "peak_memory_mb": 212.4,
    "reasons": {"invalid_email": 600, "invalid_postcode": 400},
}


def main() -> None:
    sink = io.StringIO()
    previous = send_logs_to(sink)

    def line() -> None:
        logger.info("stage finished", extra=EXTRA)
        sink.seek(0)
        sink.truncate()

    try:
        with_filter = min(timeit.repeat(line, number=LINES, repeat=5)) / LINES
        LOG_HANDLER.removeFilter(REDACTION_FILTER)
        try:
            without = min(timeit.repeat(line, number=LINES, repeat=5)) / LINES
        finally:
            LOG_HANDLER.addFilter(REDACTION_FILTER)
    finally:
        send_logs_to(previous)
    print(
        f"per line: {without * 1e6:.1f} us without the filter, {with_filter * 1e6:.1f} us "
        f"with it (+{(with_filter - without) * 1e6:.1f} us)"
    )


if __name__ == "__main__":
    main()
