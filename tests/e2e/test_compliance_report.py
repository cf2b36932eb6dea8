"""`customer-etl compliance report` after real runs, as headless Chromium shows the page: the
lawful basis of every personal field, consent coverage, retention within and past each
class's period, quarantine ageing, breach indicators (an unexpected personal-data column, a
decryption failure in the logs), subject requests "not available", and the score."""

from __future__ import annotations

import csv
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from customer_etl.config.privacy import CLASS_OF_COLUMN
from customer_etl.reference.sample import Sample, write_sample
from tests.e2e.local_workspace import Workspace
from tests.e2e.test_reports_chromium import rendered

ROWS = 200
NI_NUMBERS = ["AB123456C", "CE654321D", "JK112233A", "PR998877B"]


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Sample]:
    path = tmp_path / "customers.csv"
    return path, write_sample(path, rows=ROWS, seed=9, defect_rate=0.05)


def with_ni_numbers(source: Path, target: Path) -> Path:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[0].append("ni_number")
    for position, row in enumerate(rows[1:]):
        row.append(NI_NUMBERS[position % len(NI_NUMBERS)])
    with target.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return target


def test_the_compliance_page_shows_bases_consent_retention_breaches_and_the_score(
    chromium: str,
    workspace: Workspace,
    sample: tuple[Path, Sample],
    tmp_path: Path,
    log_dir: Path,
) -> None:
    path, generated = sample
    assert workspace.pipeline(path, "--run-id", "kept") == 0
    assert workspace.pipeline(with_ni_numbers(path, tmp_path / "ni.csv"), "--run-id", "ni") == 1
    loaded = ROWS - len(generated.defects)
    # One customer last seen seven years ago, one checkpoint eight days old: both past.
    old = datetime.now(UTC) - timedelta(days=7 * 365)
    with create_engine(workspace.warehouse_url).begin() as connection:
        connection.execute(
            text(
                "update customers set last_seen_at = :old where customer_id = "
                "(select min(customer_id) from customers)"
            ),
            {"old": old},
        )
    checkpoints = sorted((workspace.runs / "kept").glob("*/chunk-*.parquet"))
    checkpoints = [p for p in checkpoints if p.parent.name != "quarantine"]
    eight_days_ago = time.time() - 8 * 86_400
    os.utime(checkpoints[0], (eight_days_ago, eight_days_ago))
    # A decryption failure as the log records one; a message that merely names it is not one.
    (log_dir / "kept-later.jsonl").write_text(
        json.dumps({"message": "stage failed", "error_class": "DecryptionError"})
        + "\n"
        + json.dumps({"message": "see DecryptionError in the runbook"})
        + "\n"
    )
    [(consented,)] = workspace.query("select count(*) from customers where marketing_consent")

    page_file = tmp_path / "compliance.html"
    args = ("compliance", "report", "--runs", str(workspace.runs), "--out", str(page_file))
    assert workspace.run(*args) == 0
    page, dom = rendered(chromium, page_file, tmp_path / "profile")

    assert page.text["fields"].strip() == str(len(CLASS_OF_COLUMN))
    assert page.text["basis-email"].strip() == "contract"  # the customer class's basis
    assert page.text["check-lawful-basis"].strip() == "100"
    assert page.text["consent-share"].strip() == f"{round(100 * consented / loaded, 1):g} %"
    assert (page.text["within-warehouse_customers"], page.text["past-warehouse_customers"]) == (
        str(loaded - 1),
        "1",
    )
    assert page.text["past-checkpoints"].strip() == "1"
    assert page.text["within-checkpoints"].strip() == str(len(checkpoints) - 1)
    assert "not measured" in page.text["within-enrichment_cache"]
    assert page.text["quarantined"].strip() == str(len(generated.defects))
    assert page.text["quarantine-1"].strip() == str(len(generated.defects))  # under 7 days
    assert "ni_number" in page.text["unexpected-columns"]
    assert "national_insurance_number" in page.text["unexpected-columns"]
    assert page.text["decryption-failures"].strip().endswith(": 1.")
    assert page.text["breaches"].strip() == "2"
    assert page.text["check-breach-indicators"].strip() == "0"
    # The register is there and holds no open request: nothing to score.
    assert page.text["open-requests"].strip() == "0"
    assert page.text["check-subject-requests"].strip() == "not available"
    # The score: the weighted mean of the measured checks, as the page lists them.
    retention = float(page.text["check-retention"])
    quarantine = float(page.text["check-quarantine-ageing"])
    assert quarantine == 100
    expected = (1 * 100 + 2 * retention + 1 * quarantine + 2 * 0) / (1 + 2 + 1 + 2)
    assert float(page.text["score"]) == pytest.approx(expected, abs=0.1)
    assert 0 < retention < 100
    for value in [*NI_NUMBERS, *generated.frame["email"]]:
        assert value not in dom
