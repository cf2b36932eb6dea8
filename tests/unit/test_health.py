"""Health checks: each component failing in turn, the aggregate, and the JSON form."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.config import Config, load_config
from customer_etl.config.health import HealthSettings
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.ports import KeyProvider
from customer_etl.health import apis, disk
from customer_etl.health.checks import KeyProviderFactory, local_health
from customer_etl.health.report import ComponentHealth, Finding, HealthReport, Status
from customer_etl.health.runner import Check, run_checks
from customer_etl.runtime.factory import build_key_provider
from tests.fakes.postcodes_api import FakePostcodesApi, closed_port_url, serve

HEALTHY, DEGRADED, UNHEALTHY = Status.HEALTHY, Status.DEGRADED, Status.UNHEALTHY
SKIPPED = Status.SKIPPED


class MismatchedKeyFile(LocalKeyFile):
    """A key file that unwraps to the wrong key, as a broken provider might."""

    def unwrap(self, wrapped: bytes, kek_version: str, context: Mapping[str, str]) -> bytes:
        return super().unwrap(wrapped, kek_version, context)[::-1]


class Setup(NamedTuple):
    path: Path
    api: FakePostcodesApi


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A local installation whose every component is healthy: upgraded SQLite warehouse,
    writable runs folder, a key file, the fake postcodes.io, Companies House without a
    key."""
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrated = SqlWarehouse(warehouse_url)
    migrated.upgrade()
    migrated.dispose()
    LocalKeyFile(tmp_path / "keys.json").current_version()  # as the first run would
    with serve(FakePostcodesApi()) as api:
        path = tmp_path / "local.yaml"
        write_config(
            path,
            {
                "environment": "local",
                "pipeline": {"output_dir": str(tmp_path / "runs")},
                "warehouse": {"url": warehouse_url, "auto_upgrade": False},
                "enrichment": {"postcodes": {"base_url": api.base_url}},
                "health": {"check_timeout_seconds": 10, "min_free_disk_mb": 0},
                "encryption": {"key_file": str(tmp_path / "keys.json")},
            },
        )
        yield Setup(path, api)


def write_config(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


def change(path: Path, section: str, **values: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault(section, {}).update(values)
    write_config(path, data)


def health(path: Path, keys: KeyProviderFactory | None = build_key_provider) -> HealthReport:
    return local_health(lambda: load_config("local", path, environ={}), keys)


def by_name(report: HealthReport) -> dict[str, ComponentHealth]:
    return {component.name: component for component in report.components}


def test_a_sound_installation_is_healthy_in_the_documented_json_form(setup: Setup) -> None:
    report = health(setup.path)
    document = report.as_json()

    assert document["status"] == "healthy", document
    assert set(document) == {"status", "components"}
    names = [component["name"] for component in document["components"]]
    assert names == [
        "config",
        "database",
        "object_store",
        "disk",
        "key_provider",
        "api:postcodes.io",
        "api:companies_house",
    ]
    statuses = {c["name"]: c["status"] for c in document["components"]}
    # Without an API key Companies House is not asked: said as skipped, not as healthy.
    assert statuses.pop("api:companies_house") == "skipped"
    assert set(statuses.values()) == {"healthy"}
    for component in document["components"]:
        assert set(component) == {"name", "status", "latency_ms", "message"}
        assert isinstance(component["latency_ms"], float) and component["latency_ms"] >= 0
        assert component["message"]
    assert setup.api.requests == [[apis.PROBE_POSTCODE]]  # one probe, no retries
    assert "no API key configured" in by_name(report)["api:companies_house"].message


def test_a_bad_configuration_file_is_unhealthy_and_nothing_else_is_checked(
    setup: Setup,
) -> None:
    change(setup.path, "warehouse", connect_attempts=0)
    report = health(setup.path)
    assert report.status is UNHEALTHY
    [config] = report.components
    assert config.name == "config" and config.status is UNHEALTHY
    assert "warehouse.connect_attempts" in config.message
    assert setup.api.requests == []


def test_a_missing_quality_rules_file_makes_the_configuration_unhealthy(
    setup: Setup, tmp_path: Path
) -> None:
    change(setup.path, "quality", rules_file=str(tmp_path / "absent.yaml"))
    report = health(setup.path)
    config = by_name(report)["config"]
    assert (report.status, config.status) == (UNHEALTHY, UNHEALTHY)
    assert "quality.rules_file" in config.message
    assert by_name(report)["database"].status is HEALTHY  # the rest is still checked


def test_an_unwritable_runs_folder_is_unhealthy(setup: Setup, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    change(setup.path, "pipeline", output_dir=str(blocker / "runs"))
    report = health(setup.path)
    store = by_name(report)["object_store"]
    assert (report.status, store.status) == (UNHEALTHY, UNHEALTHY)
    assert "not writable" in store.message and "pipeline.output_dir" in store.message


def test_the_runs_folder_probe_leaves_nothing_behind(setup: Setup, tmp_path: Path) -> None:
    health(setup.path)
    assert list((tmp_path / "runs").iterdir()) == []


def test_an_unreachable_warehouse_is_unhealthy_without_its_password(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port_url().rsplit(":", 1)[1]
    change(
        setup.path,
        "warehouse",
        url=f"postgresql+psycopg://etl@127.0.0.1:{port}/customers",
        password_ref="env:HEALTH_TEST_WAREHOUSE_PASSWORD",
    )
    monkeypatch.setenv("HEALTH_TEST_WAREHOUSE_PASSWORD", "hunter2-secret")
    report = health(setup.path)
    database = by_name(report)["database"]
    assert (report.status, database.status) == (UNHEALTHY, UNHEALTHY)
    assert "cannot be reached" in database.message
    assert "hunter2-secret" not in str(report.as_json())


def test_a_warehouse_without_migrations_is_unhealthy_unless_runs_upgrade_it(
    setup: Setup, tmp_path: Path
) -> None:
    change(setup.path, "warehouse", url=f"sqlite:///{tmp_path / 'empty.db'}")
    report = health(setup.path)
    database = by_name(report)["database"]
    assert (report.status, database.status) == (UNHEALTHY, UNHEALTHY)
    assert "customer-etl db upgrade" in database.message

    change(setup.path, "warehouse", auto_upgrade=True)
    database = by_name(health(setup.path))["database"]
    assert database.status is HEALTHY
    assert "next run applies the migrations" in database.message


def test_postcodes_io_down_degrades_without_making_the_whole_unhealthy(setup: Setup) -> None:
    setup.api.down = True
    report = health(setup.path)
    api = by_name(report)["api:postcodes.io"]
    assert (report.status, api.status) == (DEGRADED, DEGRADED)
    assert "HTTP 503" in api.message and "runs fall back" in api.message


def test_postcodes_io_unreachable_degrades_and_hides_the_url(setup: Setup) -> None:
    address = closed_port_url()
    change(setup.path, "enrichment", postcodes={"base_url": address})
    report = health(setup.path)
    api = by_name(report)["api:postcodes.io"]
    assert (report.status, api.status) == (DEGRADED, DEGRADED)
    assert "unreachable (ConnectionError)" in api.message
    assert address not in str(report.as_json())


def test_companies_house_is_asked_only_with_a_key_and_a_refused_key_degrades(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.api.api_key = "right-key"
    change(
        setup.path,
        "enrichment",
        companies_house={"base_url": setup.api.base_url, "api_key_ref": "env:HEALTH_TEST_CH"},
    )
    assert by_name(health(setup.path))["api:companies_house"].status is SKIPPED
    assert setup.api.company_requests == []  # no key: skipped, not asked

    monkeypatch.setenv("HEALTH_TEST_CH", "wrong-key")
    report = health(setup.path)
    api = by_name(report)["api:companies_house"]
    assert (report.status, api.status) == (DEGRADED, DEGRADED)
    assert "refused the API key (HTTP 401)" in api.message
    assert "wrong-key" not in str(report.as_json())

    monkeypatch.setenv("HEALTH_TEST_CH", "right-key")
    api = by_name(health(setup.path))["api:companies_house"]
    assert api.status is HEALTHY and "reachable (HTTP 404)" in api.message
    assert setup.api.company_requests == [apis.PROBE_COMPANY, apis.PROBE_COMPANY]


def test_a_disabled_api_is_not_checked_and_said_to_be_skipped(setup: Setup) -> None:
    change(setup.path, "enrichment", postcodes={"enabled": False})
    report = health(setup.path)
    postcodes = by_name(report)["api:postcodes.io"]
    assert postcodes.status is SKIPPED and "enrichment.postcodes.enabled" in postcodes.message
    assert report.status is HEALTHY, "a skipped component is no worse than healthy"
    assert setup.api.requests == []


def test_a_skipped_component_reads_skipped_on_the_console_and_never_sets_the_whole() -> None:
    skipped = ComponentHealth("api:companies_house", SKIPPED, 0.0, "no API key configured")
    assert skipped.summary() == "api:companies_house: skipped, no API key configured"
    assert HealthReport.of([skipped]).status is HEALTHY
    degraded = ComponentHealth("disk", DEGRADED, 1.0, "low")
    assert HealthReport.of([skipped, degraded]).status is DEGRADED


def test_an_open_breaker_degrades_a_reachable_api(setup: Setup) -> None:
    def open_breaker(api: str) -> Finding:
        return Finding(DEGRADED, f"circuit of {api} open")

    finding = apis.check_postcodes(PostcodesSettings(base_url=setup.api.base_url), 2, open_breaker)
    assert finding.status is DEGRADED
    assert finding.message == "reachable (HTTP 200); circuit of postcodes.io open"


def test_a_local_breaker_is_reported_fresh(setup: Setup) -> None:
    message = by_name(health(setup.path))["api:postcodes.io"].message
    assert "fresh breaker" in message


def test_a_missing_local_key_file_is_reported_and_not_created(setup: Setup, tmp_path: Path) -> None:
    change(setup.path, "encryption", key_file=str(tmp_path / "lost" / "keys.json"))
    report = health(setup.path)
    keys = by_name(report)["key_provider"]
    assert (report.status, keys.status) == (DEGRADED, DEGRADED)
    assert "does not exist" in keys.message and "restored from its backup" in keys.message
    assert not (tmp_path / "lost").exists()


def test_a_failing_key_provider_is_unhealthy(setup: Setup) -> None:
    def broken(config: Config) -> KeyProvider:
        raise PermissionError("kms:GenerateDataKey denied for arn:aws:kms:secret")

    report = health(setup.path, broken)
    keys = by_name(report)["key_provider"]
    assert (report.status, keys.status) == (UNHEALTHY, UNHEALTHY)
    assert "PermissionError" in keys.message and "arn:aws" not in keys.message


def test_a_key_provider_that_unwraps_a_different_key_is_unhealthy(setup: Setup) -> None:
    report = health(setup.path, lambda config: MismatchedKeyFile(config.encryption.key_file))
    assert by_name(report)["key_provider"].status is UNHEALTHY


def test_without_a_key_provider_factory_the_check_says_so_and_degrades(setup: Setup) -> None:
    keys = by_name(health(setup.path, None))["key_provider"]
    assert keys.status is DEGRADED and "not checked" in keys.message


def test_with_encryption_off_the_key_provider_is_skipped(setup: Setup) -> None:
    change(setup.path, "encryption", enabled=False)
    keys = by_name(health(setup.path, None))["key_provider"]
    assert keys.status is SKIPPED and "encryption.enabled is false" in keys.message


class Usage(NamedTuple):
    total: int
    used: int
    free: int


@pytest.mark.parametrize(
    ("free_mb", "expected"),
    [(5000, HEALTHY), (800, DEGRADED), (100, UNHEALTHY)],
)
def test_free_disk_below_the_percentage_degrades_and_below_the_minimum_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free_mb: int, expected: Status
) -> None:
    mib = 1024 * 1024
    usage = Usage(10_000 * mib, (10_000 - free_mb) * mib, free_mb * mib)
    monkeypatch.setattr("shutil.disk_usage", lambda path: usage)
    settings = HealthSettings(min_free_disk_mb=500, min_free_disk_percent=10)
    finding = disk.check_disk(tmp_path / "not-yet-created", settings)
    assert finding.status is expected
    assert f"{free_mb} MiB free" in finding.message


def test_low_disk_makes_the_whole_degraded(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.disk_usage", lambda path: Usage(100, 95, 5))
    report = health(setup.path)
    assert by_name(report)["disk"].status is DEGRADED
    assert report.status is DEGRADED


def test_a_check_that_does_not_answer_in_time_fails_and_the_others_still_report() -> None:
    release = threading.Event()

    def hangs() -> Finding:
        release.wait()
        return Finding(HEALTHY, "too late")

    try:
        report = run_checks(
            [Check("slow", hangs), Check("quick", lambda: Finding(HEALTHY, "fine"))], 0.05
        )
    finally:
        release.set()
    components = by_name(report)
    assert components["slow"].status is UNHEALTHY
    assert "timed out" in components["slow"].message
    assert components["quick"].status is HEALTHY


def test_a_probe_that_raises_is_reported_by_error_class_only() -> None:
    def raises() -> Finding:
        raise ValueError("postgresql://etl:hunter2@host/db")

    [component] = run_checks([Check("database", raises)], 5).components
    assert component.status is UNHEALTHY
    assert component.message == "check failed (ValueError)"


@pytest.mark.parametrize(
    ("required", "found", "component_status"),
    [
        (True, UNHEALTHY, UNHEALTHY),
        (False, UNHEALTHY, DEGRADED),
        (True, DEGRADED, DEGRADED),
        (False, HEALTHY, HEALTHY),
    ],
)
def test_optional_components_are_degraded_at_worst_and_the_whole_is_the_worst(
    required: bool, found: Status, component_status: Status
) -> None:
    checks = [
        Check("other", lambda: Finding(HEALTHY, "fine")),
        Check("it", lambda: Finding(found, "x"), required=required),
    ]
    report = run_checks(checks, 5)
    assert by_name(report)["it"].status is component_status
    assert report.status is component_status
    assert report.unhealthy_count == (1 if component_status is UNHEALTHY else 0)
