from __future__ import annotations

from pathlib import Path

import pytest

from customer_etl.config import ConfigError, load_config
from customer_etl.config.reference import render_reference

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("local", "dev", "staging", "prod")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_file_is_valid(env: str) -> None:
    config = load_config(env, REPO / "config" / f"{env}.yaml", environ={})
    assert config.environment == env


def test_local_defaults_to_sqlite_and_the_runs_folder() -> None:
    config = load_config("local", REPO / "config" / "local.yaml", environ={})
    assert config.warehouse.url == "sqlite:///.etl/warehouse.db"
    assert str(config.pipeline.output_dir) == ".etl/runs"


def test_environment_variables_override_the_file_with_types() -> None:
    environ = {
        "CUSTOMER_ETL__WAREHOUSE__URL": "sqlite:////tmp/other.db",
        "CUSTOMER_ETL__ENRICHMENT__POSTCODES__ENABLED": "false",
        "CUSTOMER_ETL__PIPELINE__CHUNK_ROWS": "10",
    }
    config = load_config("local", REPO / "config" / "local.yaml", environ=environ)
    assert config.warehouse.url == "sqlite:////tmp/other.db"
    assert config.enrichment.postcodes.enabled is False
    assert config.pipeline.chunk_rows == 10


def test_an_unknown_key_is_one_line_naming_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("environment: local\nwarehouse:\n  ulr: sqlite://\n")
    with pytest.raises(ConfigError) as caught:
        load_config("local", path, environ={})
    message = str(caught.value)
    assert str(path) in message
    assert "warehouse.ulr" in message
    assert "unknown key" in message
    assert "\n" not in message


def test_a_bad_value_names_the_key_and_not_the_value(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("environment: local\npipeline:\n  chunk_rows: -5\n")
    with pytest.raises(ConfigError, match=r"key pipeline\.chunk_rows") as caught:
        load_config("local", path, environ={})
    assert "-5" not in str(caught.value)


def test_a_bad_override_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CUSTOMER_ETL__PIPELINE__CHUNK_ROWS"):
        load_config(
            "local",
            REPO / "config" / "local.yaml",
            environ={"CUSTOMER_ETL__PIPELINE__CHUNK_ROWS": "lots"},
        )


def test_a_password_in_the_warehouse_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("environment: local\nwarehouse:\n  url: postgresql://u:hunter2@db/x\n")
    with pytest.raises(ConfigError, match="password_ref") as caught:
        load_config("local", path, environ={})
    assert "hunter2" not in str(caught.value)


def test_a_secret_must_be_a_reference(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("environment: local\nwarehouse:\n  password_ref: hunter2\n")
    with pytest.raises(ConfigError, match=r"warehouse\.password_ref"):
        load_config("local", path, environ={})


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        load_config("local", tmp_path / "missing.yaml", environ={})


def test_the_configuration_reference_is_up_to_date() -> None:
    documented = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert documented == render_reference(), "run `make docs` to regenerate it"


def test_the_reference_lists_every_key_with_its_override() -> None:
    reference = render_reference()
    for key in (
        "warehouse.url",
        "enrichment.postcodes.timeout_seconds",
        "alerts.email.from",
        "aws.checkpoint_bucket",
        "retention.customer_retention_days",
    ):
        assert f"`{key}`" in reference
    assert "`CUSTOMER_ETL__ENRICHMENT__POSTCODES__TIMEOUT_SECONDS`" in reference
