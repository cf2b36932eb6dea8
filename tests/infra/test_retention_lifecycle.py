"""The S3 lifecycle rules come from the same retention classes as the local retention job:
for every environment, the synthesised expiry of checkpoints, quarantine and reports is the
period of the class that holds each store."""

from __future__ import annotations

from typing import Any

import pytest

from customer_etl.config.retention import RetentionSettings
from infra.constructs.storage import QUARANTINE_PREFIX, RUNS_PREFIX, object_days
from tests.infra.conftest import Synth


def _rules(synth: Synth, log_prefix: str) -> list[dict[str, Any]]:
    [bucket] = [
        b["Properties"]
        for b in synth.of_type("AWS::S3::Bucket").values()
        if b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == log_prefix
    ]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert isinstance(rules, list)
    return rules


def _class_days(synth: Synth, store: str) -> int:
    found = synth.config.retention.class_of_store(store)
    assert found is not None, store
    return found[1].period_days


def test_checkpoint_and_quarantine_objects_expire_with_their_classes(synth: Synth) -> None:
    by_prefix = {rule.get("Prefix"): rule for rule in _rules(synth, "checkpoints/")}
    assert set(by_prefix) == {RUNS_PREFIX, QUARANTINE_PREFIX}
    assert by_prefix[RUNS_PREFIX]["ExpirationInDays"] == _class_days(synth, "checkpoints")
    assert by_prefix[QUARANTINE_PREFIX]["ExpirationInDays"] == _class_days(synth, "quarantine")
    for rule in by_prefix.values():
        # A deletion made for retention leaves no copy behind in an old version.
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


def test_reports_expire_with_their_class(synth: Synth) -> None:
    [rule] = _rules(synth, "reports/")
    assert rule["ExpirationInDays"] == _class_days(synth, "reports")


def test_a_class_that_archives_moves_objects_to_deep_archive_instead() -> None:
    defaults = RetentionSettings().classes
    archived = defaults["quarantine"].model_copy(update={"action": "archive", "period_days": 0})
    settings = RetentionSettings(classes={**defaults, "quarantine": archived})
    assert object_days(settings, "quarantine") == 1, (
        "S3 expires a day after creation at the earliest"
    )
    without = RetentionSettings(classes={n: c for n, c in defaults.items() if n != "reports"})
    with pytest.raises(ValueError, match="no retention class holds the store reports"):
        object_days(without, "reports")
