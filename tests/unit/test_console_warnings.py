"""The console's warning lines: one per distinct warning, names and codes only, redacted."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from customer_etl.observability.telemetry import logger, send_logs_to
from customer_etl.runtime.console_warnings import warnings_on_console
from customer_etl.runtime.log_file import command_log_file


@pytest.fixture(autouse=True)
def json_log() -> Iterator[io.StringIO]:
    """The JSON log goes here, as the CLI sends it to a file: standard error is the console's."""
    log = io.StringIO()
    previous = send_logs_to(log)
    yield log
    send_logs_to(previous)


def test_each_distinct_warning_is_one_line_with_only_the_naming_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings_on_console():
        for attempt in (1, 2, 3):
            logger.warning(
                "API request failed; retrying",
                extra={"api": "postcodes.io", "attempt": attempt, "error_kind": "timeout"},
            )
        logger.warning(
            "alert", extra={"subject": "run failed", "body": "jane@example.com in row 3"}
        )
        logger.warning("rows quarantined", extra={"stage": "transform", "rows": 4})
        logger.error("run failed", extra={"stage": "load", "error_class": "X"})
        logger.warning("quality warning", extra={"warning": "9 of 10 rows were quarantined"})
    logger.warning("after the command", extra={"api": "postcodes.io"})

    assert capsys.readouterr().err.splitlines() == [
        "customer-etl: warning: API request failed; retrying (api postcodes.io, error_kind "
        "timeout)",
        "customer-etl: warning: quality warning: 9 of 10 rows were quarantined",
    ]


def test_a_value_in_a_warning_is_redacted_and_unnamed_fields_never_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with warnings_on_console():
        logger.warning(
            "could not reach jane.doe@example.com",
            extra={"stage": "enrich", "postcode": "SW1A 1AA", "reasons": {"bad_email": 1}},
        )
    [line] = capsys.readouterr().err.splitlines()
    assert "jane.doe@example.com" not in line
    assert line.endswith("(stage enrich)")
    assert "SW1A" not in line and "bad_email" not in line


def test_a_command_logs_to_its_file_and_to_standard_error_only_when_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with command_log_file(lambda: tmp_path / "logs", "health"):
        logger.info("health checked")
    [written] = (tmp_path / "logs").glob("health-*.jsonl")
    assert '"message":"health checked"' in written.read_text()
    assert capsys.readouterr().err == ""

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a file where the log folder should be
    with command_log_file(lambda: blocker / "logs", "health"):
        logger.info("health checked")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("customer-etl: warning: cannot write the log file ")
    assert '"message":"health checked"' in err[1]
