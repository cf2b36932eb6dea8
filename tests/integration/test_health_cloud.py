"""The cloud health (moto): the checkpoint bucket written to, the shared breaker state read
from DynamoDB, and the health function's answer and metric."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pybreaker
import pytest
import yaml
from moto import mock_aws

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.config import Config, load_config
from customer_etl.core.ports import KeyProvider
from customer_etl.health.checks import cloud_health
from customer_etl.health.report import HealthReport, Status
from customer_etl.observability import metric_names
from customer_etl.runtime.lambda_handlers import ENV_VARIABLE
from tests.fakes.lambda_invoke import FakeLambdaContext, load_handler
from tests.fakes.postcodes_api import FakePostcodesApi, serve

REGION = "eu-west-2"
BUCKET, BREAKERS = "checkpoints", "circuit-breakers"


class Cloud(NamedTuple):
    config_dir: Path
    s3: Any
    dynamodb: Any
    api: FakePostcodesApi


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """A deployment's configuration with its bucket and breaker table in moto, an upgraded
    warehouse and the fake postcodes.io."""
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrated = SqlWarehouse(warehouse_url)
    migrated.upgrade()
    migrated.dispose()
    with mock_aws(), serve(FakePostcodesApi()) as api:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=BREAKERS,
            KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        config = {
            "environment": "dev",
            "warehouse": {"url": warehouse_url},
            "enrichment": {
                "postcodes": {"base_url": api.base_url},
                "companies_house": {"enabled": False},
            },
            # KMS is checked through the key provider port; moto's KMS is not needed here.
            "encryption": {"enabled": False},
            "aws": {
                "checkpoint_bucket": BUCKET,
                "quarantine_queue_url": "https://sqs.eu-west-2.amazonaws.com/1/q",
                "alert_topic_arn": "arn:aws:sns:eu-west-2:111111111111:alerts",
                "enrichment_cache_table": "enrichment-cache",
                "circuit_breaker_table": BREAKERS,
            },
        }
        (tmp_path / "dev.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        monkeypatch.setenv("CUSTOMER_ETL_CONFIG_DIR", str(tmp_path))
        monkeypatch.setenv(ENV_VARIABLE, "dev")
        yield Cloud(tmp_path, s3, dynamodb, api)


def health(cloud: Cloud, **overrides: str) -> HealthReport:
    environ = {"CUSTOMER_ETL_CONFIG_DIR": str(cloud.config_dir), **overrides}
    return cloud_health(
        lambda: load_config("dev", environ=environ), s3=cloud.s3, dynamodb=cloud.dynamodb
    )


def statuses(report: HealthReport) -> dict[str, Status]:
    return {component.name: component.status for component in report.components}


def test_a_sound_deployment_is_healthy_and_leaves_no_probe_in_the_bucket(cloud: Cloud) -> None:
    report = health(cloud)
    assert report.status is Status.HEALTHY, report.as_json()
    assert set(statuses(report)) == {
        "config",
        "database",
        "warehouse_transport",
        "object_store",
        "key_provider",
        "api:postcodes.io",
        "api:companies_house",
    }
    # Disabled in this configuration: said so, not called healthy.
    assert statuses(report)["api:companies_house"] is Status.SKIPPED
    assert cloud.s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_a_missing_checkpoint_bucket_is_unhealthy(cloud: Cloud) -> None:
    report = health(cloud, CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET="no-such-bucket")
    store = next(c for c in report.components if c.name == "object_store")
    assert (report.status, store.status) == (Status.UNHEALTHY, Status.UNHEALTHY)
    assert "NoSuchBucket" in store.message


def test_a_resource_name_the_stack_did_not_set_is_unhealthy(cloud: Cloud) -> None:
    report = health(cloud, CUSTOMER_ETL__AWS__CIRCUIT_BREAKER_TABLE="")
    [config] = report.components
    assert config.status is Status.UNHEALTHY
    assert "aws.circuit_breaker_table" in config.message


def test_an_open_shared_breaker_degrades_the_api(cloud: Cloud) -> None:
    cloud.dynamodb.put_item(
        TableName=BREAKERS,
        Item={
            "name": {"S": "postcodes.io"},
            "state": {"S": pybreaker.STATE_OPEN},
            "opened_at": {"N": "2000000000"},
        },
    )
    report = health(cloud)
    api = next(c for c in report.components if c.name == "api:postcodes.io")
    assert (report.status, api.status) == (Status.DEGRADED, Status.DEGRADED)
    assert "circuit open since 2033-05-18 03:33 UTC" in api.message


def test_an_unreadable_breaker_table_degrades_the_api(cloud: Cloud) -> None:
    cloud.dynamodb.delete_table(TableName=BREAKERS)
    report = health(cloud)
    api = next(c for c in report.components if c.name == "api:postcodes.io")
    assert (report.status, api.status) == (Status.DEGRADED, Status.DEGRADED)
    assert "ResourceNotFoundException" in api.message


def test_the_key_provider_round_trip_runs_in_the_cloud_too(cloud: Cloud, tmp_path: Path) -> None:
    environ = {
        "CUSTOMER_ETL_CONFIG_DIR": str(cloud.config_dir),
        "CUSTOMER_ETL__ENCRYPTION__ENABLED": "true",
    }

    def keys(config: Config) -> KeyProvider:
        return LocalKeyFile(tmp_path / "keys.json")

    report = cloud_health(
        lambda: load_config("dev", environ=environ), keys, s3=cloud.s3, dynamodb=cloud.dynamodb
    )
    assert statuses(report)["key_provider"] is Status.HEALTHY


def test_the_health_function_returns_the_json_form_and_counts_unhealthy_components(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = load_handler("health")
    monkeypatch.setenv("CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET", "no-such-bucket")
    capsys.readouterr()
    answer = handler({}, FakeLambdaContext("customer-etl-health"))

    assert answer["status"] == "unhealthy"
    assert [c["name"] for c in answer["components"] if c["status"] == "unhealthy"] == [
        "object_store"
    ]
    [metric] = [
        blob
        for blob in map(json.loads, capsys.readouterr().out.splitlines())
        if metric_names.HEALTH_UNHEALTHY in blob
    ]
    [definition] = metric["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == metric_names.NAMESPACE
    assert definition["Dimensions"] == [list(metric_names.RUN_DIMENSIONS)]
    assert {name: metric[name] for name in definition["Dimensions"][0]} == (
        metric_names.RUN_DIMENSIONS
    )
    assert metric[metric_names.HEALTH_UNHEALTHY] == [1.0]
