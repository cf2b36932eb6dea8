"""Settings every test shares: offline AWS credentials and quiet Powertools."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set before any boto3 client or Powertools object exists, so that nothing can reach AWS
# and tracing stays off outside Lambda.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_DEV": "false",
    }
)
for variable in [name for name in os.environ if name.startswith("CUSTOMER_ETL")]:
    del os.environ[variable]

# After the settings above: the warehouse adapter creates Powertools objects on import.
from tests.databases import (  # noqa: E402, F401 - shared fixtures
    postgres_url,
    warehouse,
    warehouse_url,
)
from tests.state_machine_harness import aws  # noqa: E402, F401 - the cloud tests' fixture


@pytest.fixture(autouse=True)
def _key_file_per_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's local key-encryption key file in its own folder, never the repo's `.etl`."""
    monkeypatch.setenv("CUSTOMER_ETL__ENCRYPTION__KEY_FILE", str(tmp_path / "keys.json"))
