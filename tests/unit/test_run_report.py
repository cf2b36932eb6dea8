"""The run report: key numbers, stage timings, reasons, quality, APIs and charts, escaped."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from customer_etl.core.api_stats import ApiReport
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.core.quality_totals import QualityTotals
from customer_etl.observability.telemetry import send_logs_to
from customer_etl.reporting.charts import bar_chart, line_chart
from customer_etl.reporting.run_report import REPORT_FILE, render_run_report, save_run_report

STARTED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _stage(rows_in: int, quarantined: int, seconds: float, **extra: object) -> StageReport:
    return StageReport.model_validate(
        {
            "rows_in": rows_in,
            "rows_out": rows_in - quarantined,
            "rows_quarantined": quarantined,
            "duration_seconds": seconds,
            "checkpoint_uri": "/runs/run-7/stage.parquet",
            **extra,
        }
    )


def finished_run() -> RunManifest:
    manifest = RunManifest.start("run-7", "/data/customers.csv", now=STARTED)
    quality = QualityTotals(
        records=1180,
        score_sum=1180 * 92.5,
        dimension_sums={"completeness": 1180 * 97.0, "validity": 1180 * 88.25},
        dimension_records={"completeness": 1180, "validity": 1180},
    )
    postcodes = ApiReport(
        calls=12,
        cache_hits=300,
        latency_ms_p50=41.5,
        latency_ms_p95=212.0,
        latency_ms_max=950.0,
        successes=10,
        errors={"timeout": 2},
        retries=3,
        breaker_state_changes={"closed->open": 1, "open->half-open": 1},
        fallback_rows=17,
    )
    manifest.stages.update(
        {
            "extract": _stage(1234, 20, 1.25, reasons={"unreadable_row": 20}),
            "transform": _stage(
                1214,
                34,
                3.5,
                reasons={"invalid_email": 30, "missing_customer_id": 4},
                quality=quality,
                counters={"warning:phone_not_e164": 9},
            ),
            "enrich": _stage(1180, 0, 7.75, apis={"postcodes": postcodes}),
            "load": _stage(
                1180,
                0,
                2.0,
                started_at=STARTED + timedelta(seconds=12),
                finished_at=STARTED + timedelta(seconds=14),
                peak_memory_mb=412.5,
            ),
        }
    )
    return manifest.model_copy(
        update={"status": "succeeded", "finished_at": STARTED + timedelta(seconds=15)}
    )


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no element #{element_id}"
    return match.group(1)


def test_the_report_shows_the_run_s_key_numbers() -> None:
    html = render_run_report(finished_run())

    assert text_of(html, "rows-in") == "1,234"
    assert text_of(html, "rows-loaded") == "1,180"
    assert text_of(html, "rows-quarantined") == "54"
    assert text_of(html, "reconciled") == "yes"
    assert text_of(html, "status") == "succeeded"
    # 1,180 scored records at 92.5 and 20 unreadable ones at 0.
    assert text_of(html, "quality-score") == "90.96"


def test_the_report_shows_stage_timings_reasons_quality_and_apis() -> None:
    html = render_run_report(finished_run())

    stages = html[html.index('id="stages"') :]
    for stage, seconds in (("extract", "1.25 s"), ("transform", "3.5 s"), ("enrich", "7.75 s")):
        assert re.search(rf"<td>{stage}</td>.*?{re.escape(seconds)}", stages)
    for code, rows in (("invalid_email", 30), ("missing_customer_id", 4), ("unreadable_row", 20)):
        assert re.search(rf"<td>{code}</td><td class=\"n\">{rows}</td>", html)
    assert re.search(r"<td>completeness</td><td class=\"n\">95.38</td>", html)
    assert re.search(r"<td>validity</td><td class=\"n\">86.78</td>", html)
    assert "<td>phone_not_e164</td>" in html
    load = re.search(r"<tr><td>load</td>.*?</tr>", html)
    assert load and "2026-11-25T09:00:14+00:00" in load.group(0) and "412.5 MB" in load.group(0)
    apis = html[html.index('id="apis"') :]
    assert "950 ms" in apis and "212 ms" in apis and "timeout: 2" in apis
    events = html[html.index('id="breaker-events"') :]
    assert "<td>closed-&gt;open</td>" in events


def test_the_report_draws_its_charts_as_inline_svg() -> None:
    html = render_run_report(finished_run())

    assert html.count("<svg ") == 5
    # Stacked rows by stage: passed on and quarantined, one pair per stage with both.
    assert len(re.findall(r'<rect class="bar s\d"', html)) >= 10
    assert "<script" not in html
    assert_loads_nothing(html)


SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def assert_loads_nothing(html: str) -> None:
    """No address the browser could fetch: no URL but the SVG namespace (a name, never
    fetched), and no `src`, `href` or CSS `url()` pointing outside the page."""
    urls = re.findall(r"https?://[^\s\"'<>)]*", html, flags=re.IGNORECASE)
    assert set(urls) <= {SVG_NAMESPACE}, urls
    links = re.findall(
        r"""\b(?:src|href|xlink:href)\s*=\s*["']?([^"'\s>]*)""", html, flags=re.IGNORECASE
    )
    links += re.findall(r"url\(\s*[\"']?([^\"')]*)", html, flags=re.IGNORECASE)
    assert all(link.startswith(("#", "data:")) for link in links), links


@pytest.mark.parametrize(
    "page",
    [
        '<img src="//cdn.example/x.png">',
        "<a href=https://example.org>x</a>",
        '<link rel="stylesheet" href="style.css">',
        "<style>body { background: url('http://example.org/x.png') }</style>",
    ],
)
def test_the_check_for_external_addresses_catches_them(page: str) -> None:
    with pytest.raises(AssertionError):
        assert_loads_nothing(page)


def test_the_check_lets_the_svg_namespace_and_in_page_links_through() -> None:
    assert_loads_nothing(f'<svg xmlns="{SVG_NAMESPACE}"><a href="#top">top</a></svg>')


def test_a_failed_run_s_report_shows_its_error_and_the_stages_it_finished() -> None:
    manifest = RunManifest.start("run-8", "/data/customers.csv", now=STARTED)
    manifest.stages["extract"] = _stage(10, 0, 0.5)
    failed = manifest.model_copy(
        update={
            "status": "failed",
            "error": "warehouse sqlite:///w.db unreachable: resume the run",
            "finished_at": STARTED + timedelta(seconds=3),
        }
    )

    html = render_run_report(failed)

    assert text_of(html, "status") == "failed"
    assert "unreachable: resume the run" in text_of(html, "error")
    assert "<td>extract</td>" in html and "<td>load</td>" not in html


def test_every_text_is_escaped() -> None:
    manifest = finished_run()
    manifest.stages["transform"].reasons["<script>alert(1)</script>"] = 1
    hostile = manifest.model_copy(update={"source_uri": '/data/"><img src=x onerror=alert(2)>.csv'})

    html = render_run_report(hostile)

    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_the_report_leaves_out_checkpoint_paths() -> None:
    html = render_run_report(finished_run())

    assert "stage.parquet" not in html


def test_saving_writes_report_html_in_the_run_folder(tmp_path: Path) -> None:
    path = save_run_report(finished_run(), tmp_path)

    assert path == tmp_path / REPORT_FILE
    assert text_of(path.read_text(encoding="utf-8"), "rows-loaded") == "1,180"


def test_a_report_that_cannot_be_written_is_logged_not_raised(tmp_path: Path) -> None:
    stream = io.StringIO()
    previous = send_logs_to(stream)
    try:
        assert save_run_report(finished_run(), tmp_path / "no" / "such" / "folder") is None
    finally:
        send_logs_to(previous)

    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["message"] == "could not write the run report"
    assert line["error_class"] == "FileNotFoundError"


def test_stacked_bars_add_up_and_grouped_bars_share_one_scale() -> None:
    stacked = bar_chart("rows", ["a", "b"], {"x": [30, 10], "y": [10, 0]}, stacked=True)
    grouped = bar_chart("ms", ["api"], {"p50": [50], "max": [200]})

    first, second, third = stacked.bars
    assert first.x + first.width == second.x  # b's segment starts where a's ends
    assert first.width == 3 * second.width == 3 * third.width
    assert grouped.bars[1].width == 4 * grouped.bars[0].width


def test_a_line_chart_marks_its_flagged_points() -> None:
    chart = line_chart("duration", ["a", "b", "c"], [10, 12, 90], flagged={2})

    assert [point.flagged for point in chart.points] == [False, False, True]
    assert chart.points[2].y < chart.points[0].y  # higher values sit higher
    assert bar_chart("none", [], {"x": []}).empty
