"""The SQL Server ODBC layer: built only when the licence is accepted, attached to the
functions that connect to the warehouse, and never built here (no machine here can download
Microsoft's driver): the construct and its build script are what is tested."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import DockerImage
from aws_cdk.assertions import Annotations, Match, Template

from infra.constructs import odbc_layer
from infra.constructs.functions import FUNCTION_NAMES, WAREHOUSE_FUNCTIONS
from infra.constructs.odbc_layer import (
    BUILD_SCRIPT,
    ENVIRONMENT,
    LICENCE_URL,
    ODBC_DIR,
    AmazonLinuxBundling,
    on_amazon_linux_2023,
)

if TYPE_CHECKING:
    from conftest import AppFactory, Synth

ACCEPT = {"CUSTOMER_ETL__AWS__ACCEPT_MICROSOFT_ODBC_LICENCE": "true"}


@pytest.fixture(scope="module")
def accepted(app_factory: AppFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """staging (SQL Server) with the licence accepted; one synth for the module."""
    _app, stack = app_factory("staging", outdir=tmp_path_factory.mktemp("cdk-odbc"), environ=ACCEPT)
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert isinstance(resources, dict)
    return resources


def _odbc_layers(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: layer
        for logical_id, layer in resources.items()
        if layer["Type"] == "AWS::Lambda::LayerVersion"
        and "ODBC Driver 18" in layer["Properties"]["Description"]
    }


def test_an_accepted_licence_builds_the_layer_for_the_warehouse_functions_only(
    accepted: dict[str, Any],
) -> None:
    [(layer_id, layer)] = _odbc_layers(accepted).items()
    assert layer["Properties"]["LicenseInfo"] == LICENCE_URL
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    functions = {
        function["Properties"]["FunctionName"].removeprefix("customer-etl-staging-"): function
        for function in accepted.values()
        if function["Type"] == "AWS::Lambda::Function"
    }
    assert set(functions) == set(FUNCTION_NAMES)
    for name, function in functions.items():
        properties = function["Properties"]
        uses = {"Ref": layer_id} in properties["Layers"]
        assert uses == (name in WAREHOUSE_FUNCTIONS), name
        variables = properties["Environment"]["Variables"]
        if uses:
            assert properties["Layers"][-1] == {"Ref": layer_id}, name
            assert {key: variables[key] for key in ENVIRONMENT} == ENVIRONMENT
        else:
            assert not set(ENVIRONMENT) & set(variables), name


def test_without_the_licence_there_is_no_layer_and_the_stack_says_why(synth: Synth) -> None:
    assert not synth.config.aws.accept_microsoft_odbc_licence
    assert not _odbc_layers(synth.resources)
    warnings = Annotations.from_stack(synth.stack).find_warning(
        "*", Match.string_like_regexp("accept_microsoft_odbc_licence is false")
    )
    # Only the SQL Server environments need the driver.
    is_sql_server = synth.config.warehouse.url.startswith("mssql")
    assert bool(warnings) == is_sql_server, synth.env


def test_a_postgresql_warehouse_gets_no_odbc_layer(app_factory: AppFactory, tmp_path: Path) -> None:
    _app, stack = app_factory("dev", outdir=tmp_path, environ=ACCEPT)
    assert not _odbc_layers(Template.from_stack(stack).to_json()["Resources"])


def test_the_build_refuses_without_the_licence_accepted(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "ACCEPT_EULA"}
    result = subprocess.run(
        ["bash", str(ODBC_DIR / BUILD_SCRIPT), str(tmp_path / "out")],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "aws.accept_microsoft_odbc_licence" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_build_pins_its_versions_and_records_what_it_installed() -> None:
    script = (ODBC_DIR / BUILD_SCRIPT).read_text(encoding="utf-8")
    assert 'MSODBCSQL_VERSION="18.' in script
    assert 'PYODBC_VERSION="5.' in script
    assert '"msodbcsql18-${MSODBCSQL_VERSION}"' in script
    assert "odbc-layer-packages.txt" in script
    assert "Driver=/opt/" in script


def test_local_bundling_declines_off_amazon_linux_so_docker_builds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n')
    assert not on_amazon_linux_2023(release)
    release.write_text('NAME="Amazon Linux"\nID="amzn"\nVERSION_ID="2023"\n')
    assert on_amazon_linux_2023(release)
    assert not on_amazon_linux_2023(tmp_path / "missing")
    monkeypatch.setattr(odbc_layer, "on_amazon_linux_2023", lambda: False)
    bundling = AmazonLinuxBundling()
    assert bundling.try_bundle(str(tmp_path), image=DockerImage.from_registry("x")) is False
    assert not list(tmp_path.glob("out*"))
