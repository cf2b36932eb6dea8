"""The retention schedule and the records of processing are generated from the
configuration: stale pages fail here, as the configuration reference does."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_etl.config import load_config
from customer_etl.config.governance_docs import (
    RECORDS_OF_PROCESSING,
    RETENTION_SCHEDULE,
    render_records_of_processing,
    render_retention_schedule,
    write_governance_docs,
)
from customer_etl.config.model import Config

REPO = Path(__file__).resolve().parents[2]
GOVERNANCE = REPO / "docs" / "governance"


def test_the_governance_pages_are_up_to_date(tmp_path: Path) -> None:
    written = write_governance_docs(tmp_path)
    assert [p.name for p in written] == [RETENTION_SCHEDULE, RECORDS_OF_PROCESSING]
    for page in written:
        committed = (GOVERNANCE / page.name).read_text(encoding="utf-8")
        assert committed == page.read_text(encoding="utf-8"), "run `make docs` to regenerate"


@pytest.mark.parametrize("env", ["local", "dev", "staging", "prod"])
def test_every_environment_keeps_the_documented_classes(env: str) -> None:
    # The pages are rendered from the defaults: an environment that changed its classes
    # would not be the one documented.
    config = load_config(env, REPO / "config" / f"{env}.yaml", environ={})
    assert config.retention.effective_classes() == Config(environment=env).retention.classes


def test_the_pages_follow_the_configuration() -> None:
    config = Config(environment="local")
    classes = config.retention.classes
    longer = classes["checkpoints"].model_copy(update={"period_days": 14})
    changed = config.model_copy(
        update={
            "retention": config.retention.model_copy(
                update={"classes": {**classes, "checkpoints": longer}}
            )
        }
    )
    assert "| `checkpoints` | 7 days |" in render_retention_schedule(config)
    assert "| `checkpoints` | 14 days |" in render_retention_schedule(changed)
    records = render_records_of_processing(config)
    for data_class in config.privacy.classification.policies:
        assert f"| {data_class.value.replace('_', ' ')} |" in records
    assert "postcodes.io" in records
