"""The logging safety net: personal-data patterns are redacted from every part of a record."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from customer_etl.observability.redaction import redact, redact_value
from customer_etl.observability.telemetry import logger, send_logs_to

PERSONAL = {
    "email": "jo.bloggs+news@mail.example.com",
    "phone": "07700 900123",
    "international phone": "+44 20 7946 0018",
    "landline in brackets": "(0161) 496 0000",
    "postcode": "SW1A 1AA",
    "postcode without space": "sw1a1aa",
    "ni_number": "QQ 12 34 56 C",
    "card": "4111 1111 1111 1111",
    "card without spaces": "5500005555555559",
}


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    previous = send_logs_to(stream)
    yield stream
    send_logs_to(previous)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("value", PERSONAL.values(), ids=PERSONAL.keys())
def test_a_value_in_the_message_is_redacted(log: io.StringIO, value: str) -> None:
    logger.warning(f"row refused: {value} was odd")
    [record] = records(log)
    assert value not in log.getvalue()
    assert record["message"].startswith("row refused: [") and record["message"].endswith(
        "] was odd"
    )


@pytest.mark.parametrize("value", PERSONAL.values(), ids=PERSONAL.keys())
def test_a_value_in_an_extra_field_is_redacted_however_deep(log: io.StringIO, value: str) -> None:
    logger.info("lookup", extra={"key": value, "nested": {"keys": [value, 3]}, "rows": 12})
    [record] = records(log)
    assert value not in log.getvalue()
    assert record["key"].startswith("[") and record["nested"]["keys"][1] == 3
    assert record["rows"] == 12


@pytest.mark.parametrize("value", PERSONAL.values(), ids=PERSONAL.keys())
def test_a_value_in_an_exception_message_is_redacted(log: io.StringIO, value: str) -> None:
    try:
        raise ValueError(f"cannot parse {value}")
    except ValueError:
        logger.exception("parse failed")
    [record] = records(log)
    assert value not in log.getvalue()
    assert record["exception_name"] == "ValueError"
    assert "ValueError: cannot parse [" in record["exception"]


@pytest.mark.parametrize("value", PERSONAL.values(), ids=PERSONAL.keys())
def test_a_value_used_as_a_dictionary_key_is_redacted(log: io.StringIO, value: str) -> None:
    logger.info("counted", extra={"by_value": {value: 3, "total": 4}})
    [record] = records(log)
    assert value not in log.getvalue()
    [key] = [key for key in record["by_value"] if key != "total"]
    assert key.startswith("[") and record["by_value"][key] == 3
    assert record["by_value"]["total"] == 4


def test_keys_that_redact_alike_keep_every_entry() -> None:
    counter = {"SW1A 1AA": 3, "jo@example.com": 1, "ann@example.org": 2, ("x", "W1A 0AX"): 5}
    assert redact_value(counter) == {
        "[postcode]": 3,
        "[email]": 1,
        "[email] #2": 2,
        ("x", "[postcode]"): 5,
    }


def test_a_value_in_printf_style_arguments_is_redacted(log: io.StringIO) -> None:
    logger.info("sent to %s", PERSONAL["email"])
    assert records(log)[0]["message"] == "sent to [email]"


def test_lines_without_personal_data_are_untouched(log: io.StringIO) -> None:
    extra = {
        "stage": "transform",
        "run_id": "20261126T010203Z-ab12cd",
        "rows_in": 400,
        "duration_seconds": 0.0123456,
        "started_at": "2026-11-26T01:02:03.456789+00:00",
        "reasons": {"invalid_email": 3, "invalid_postcode": 2},
        "raised_at": ["pipeline.py:120 in run_stage"],
        "warehouse": "postgresql+psycopg://etl@127.0.0.1:5432/warehouse",
        "checkpoint": "s3://bucket/runs/20261126T010203Z-ab12cd/transform.parquet",
        "latency_ms_p95": 153.4,
        "error_kind": "http_503",
        "count_13_digits": "1764121500000",
    }
    logger.info("stage finished: 400 rows in 1.25 s, peak 212.4 MB", extra=extra)
    [record] = records(log)
    assert record["message"] == "stage finished: 400 rows in 1.25 s, peak 212.4 MB"
    assert {key: record[key] for key in extra} == extra


def test_a_sixteen_digit_number_failing_the_luhn_check_is_not_a_card() -> None:
    assert redact("order 4111 1111 1111 1112") == "order 4111 1111 1111 1112"
    assert redact("order 4111111111111111") == "order [card]"


def test_numbers_too_short_or_long_for_a_phone_are_left() -> None:
    assert redact("rows 0123 4567") == "rows 0123 4567"
    assert redact("call 07700 900123") == "call [phone]"
