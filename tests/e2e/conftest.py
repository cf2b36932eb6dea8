"""Every whole run here writes its JSON log under the test's temporary folder, never into
the working tree's `.etl/logs`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from customer_etl.reporting.pdf import ChromiumNotFoundError, find_chromium
from tests.e2e.local_workspace import Workspace, local_workspace

LOG_DIR_VARIABLE = "CUSTOMER_ETL__OBSERVABILITY__LOG_DIR"


@pytest.fixture(autouse=True)
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "logs"
    monkeypatch.setenv(LOG_DIR_VARIABLE, str(folder))
    return folder


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A local workspace (runs folder, SQLite warehouse, fake APIs); a module that needs
    another kind defines its own `workspace`."""
    with local_workspace(tmp_path, monkeypatch) as prepared:
        yield prepared


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium (.ci/run installs it) for the tests that look at a page in a real
    browser. Without it they fail and say how to install it: a skip would let a broken page
    pass unnoticed."""
    try:
        return find_chromium()
    except ChromiumNotFoundError as error:
        pytest.fail(f"{error}. These tests check pages in a real browser.")
