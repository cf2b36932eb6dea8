from __future__ import annotations

from pathlib import Path

import pytest

from customer_etl.config import Config, ConfigError, load_config
from customer_etl.config.model import CompaniesHouseSettings, PostcodesSettings
from customer_etl.config.reference import render_reference
from customer_etl.core.schema import PERSONAL_COLUMNS

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
    # The message names the file; its temporary path may itself hold "-5" (pytest-51).
    assert "-5" not in str(caught.value).replace(str(path), "<file>")


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
        "retention.classes",
    ):
        assert f"`{key}`" in reference
    assert "`CUSTOMER_ETL__ENRICHMENT__POSTCODES__TIMEOUT_SECONDS`" in reference


def load_privacy(tmp_path: Path, yaml_text: str) -> Config:
    path = tmp_path / "local.yaml"
    path.write_text("environment: local\n" + yaml_text)
    return load_config("local", path, environ={})


def test_by_default_every_personal_column_is_encrypted_and_masked(tmp_path: Path) -> None:
    config = load_privacy(tmp_path, "")
    assert config.encryption.columns == PERSONAL_COLUMNS
    assert set(config.privacy.masking.fields) == set(PERSONAL_COLUMNS)


def test_the_class_policies_decide_what_is_encrypted_and_masked(tmp_path: Path) -> None:
    config = load_privacy(
        tmp_path,
        "privacy:\n  classification:\n    policies:\n"
        "      person_name: {handling: keep, retention_class: customer}\n"
        "      phone: {handling: mask, retention_class: customer}\n",
    )
    address = ("address_line_1", "address_line_2", "city", "county")
    assert config.encryption.columns == ("email", "postcode", "date_of_birth", *address)
    assert set(config.privacy.masking.fields) == {
        "email",
        "phone",
        "postcode",
        "date_of_birth",
        *address,
    }
    # The encryption code reads the same attribute, of the same type.
    assert isinstance(config.encryption.columns, tuple)


@pytest.mark.parametrize(
    ("data_class", "message"),
    [
        ("email", "required column email"),
        ("person_name", "required column first_name"),
        ("postcode", "cannot apply to the record's column postcode"),
        ("phone", "source mapping"),
        ("date_of_birth", "source mapping"),
    ],
)
def test_dropping_a_class_the_record_holds_is_a_configuration_error(
    tmp_path: Path, data_class: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"policies\.{data_class}: handling drop") as caught:
        load_privacy(
            tmp_path,
            "privacy:\n  classification:\n    policies:\n"
            f"      {data_class}: {{handling: drop, retention_class: customer}}\n",
        )
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_class_no_record_column_holds_may_be_dropped(tmp_path: Path) -> None:
    config = load_privacy(
        tmp_path,
        "privacy:\n  classification:\n    policies:\n"
        "      national_insurance_number: {handling: drop, retention_class: special}\n",
    )
    assert config.encryption.columns == PERSONAL_COLUMNS


def test_encryption_columns_that_disagree_with_the_policies_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"encryption\.columns \(email\) disagrees"):
        load_privacy(tmp_path, "encryption:\n  columns: [email]\n")
    kept_names = (
        "privacy:\n  classification:\n    policies:\n"
        "      person_name: {handling: keep, retention_class: customer}\n"
    )
    with pytest.raises(ConfigError, match=r"disagrees with privacy\.classification\.policies"):
        load_privacy(
            tmp_path, kept_names + "encryption:\n  columns: [" + ", ".join(PERSONAL_COLUMNS) + "]\n"
        )
    agreeing = (
        "encryption:\n  columns: [postcode, email, phone, date_of_birth, address_line_1, "
        "address_line_2, city, county]\n"
    )
    assert set(load_privacy(tmp_path, kept_names + agreeing).encryption.columns) == {
        "email",
        "phone",
        "postcode",
        "date_of_birth",
        "address_line_1",
        "address_line_2",
        "city",
        "county",
    }


def test_masking_fields_that_disagree_with_the_policies_are_refused(tmp_path: Path) -> None:
    kept_names = (
        "privacy:\n  classification:\n    policies:\n"
        "      person_name: {handling: keep, retention_class: customer}\n"
        "      phone: {handling: mask, retention_class: customer}\n"
    )
    with pytest.raises(ConfigError, match=r"masking\.fields\.first_name: .* handling keep"):
        load_privacy(
            tmp_path, kept_names + "  masking:\n    fields: {first_name: redact, phone: phone}\n"
        )
    with pytest.raises(ConfigError, match=r"masking\.fields lacks phone"):
        load_privacy(tmp_path, kept_names + "  masking:\n    fields: {email: email}\n")
    config = load_privacy(tmp_path, kept_names + "  masking:\n    fields: {phone: redact}\n")
    assert config.privacy.masking.fields == {"phone": "redact"}


def test_a_loaded_configuration_validates_again_unchanged() -> None:
    """A configuration passed on as data (to a Lambda, into a report) is valid as it is."""
    config = load_config("dev", REPO / "config" / "dev.yaml", environ={})
    again = Config.model_validate(config.model_dump(by_alias=True))
    assert again == config


@pytest.mark.parametrize(
    "url",
    ["http://api.postcodes.io", "ftp://api.postcodes.io", "https://", "api.postcodes.io"],
)
def test_the_enrichment_apis_are_reached_over_https_only(url: str) -> None:
    """Postcodes and API keys travel to these APIs; plain HTTP only to this machine."""
    with pytest.raises(ValueError, match="https://"):
        PostcodesSettings(base_url=url)
    with pytest.raises(ValueError, match="https://"):
        CompaniesHouseSettings(base_url=url)


@pytest.mark.parametrize("url", ["https://api.postcodes.io", "http://127.0.0.1:8080"])
def test_https_and_local_test_servers_are_accepted(url: str) -> None:
    assert PostcodesSettings(base_url=url).base_url == url
