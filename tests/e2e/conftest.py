"""Every whole run here writes its JSON log under the test's temporary folder, never into
the working tree's `.etl/logs`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
