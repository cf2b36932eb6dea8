"""Every whole run here writes its JSON log under the test's temporary folder, never into
the working tree's `.etl/logs`."""

from __future__ import annotations

from pathlib import Path

import pytest

LOG_DIR_VARIABLE = "CUSTOMER_ETL__OBSERVABILITY__LOG_DIR"


@pytest.fixture(autouse=True)
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "logs"
    monkeypatch.setenv(LOG_DIR_VARIABLE, str(folder))
    return folder
