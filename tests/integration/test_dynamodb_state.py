"""The cloud's enrichment state in DynamoDB (moto): the answer cache, and circuit breakers
shared by separate Lambda executions."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.dynamodb_state import DynamoDbAnswerCache, DynamoDbBreakerStorage
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.api_stats import ApiStats
from customer_etl.observability.telemetry import send_logs_to
from tests.fakes.postcodes_api import FakePostcodesApi, details, serve

REGION = "eu-west-2"
CACHE, BREAKERS = "enrichment-cache", "circuit-breakers"
DAY = 86_400.0


def create_tables(client: Any) -> None:
    for name, key in ((CACHE, "key"), (BREAKERS, "name")):
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client)
        yield client


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cache_round_trip_in_batches_with_expiry_and_hashed_keys(dynamodb: Any) -> None:
    clock = Clock()
    cache = DynamoDbAnswerCache(CACHE, client=dynamodb, clock=clock)
    answers: dict[str, dict[str, object] | None] = {
        f"B{i} 1AA": {"region": f"R{i}"} for i in range(250)
    }
    answers["ZZ1 1ZZ"] = None
    cache.put("postcodes.io", answers, ttl_seconds=DAY)

    assert cache.get("postcodes.io", [*answers, "NEW 1AA"]) == answers
    scanned = str(dynamodb.scan(TableName=CACHE)["Items"])
    assert "B1 1AA" not in scanned and "ZZ1" not in scanned
    clock.now += DAY
    assert cache.get("postcodes.io", list(answers)) == {}, "expired, even before TTL deletion"


def execution(api: FakePostcodesApi, client: Any) -> PostcodesIoLookup:
    """What one Lambda execution builds: its own client, breaker and storage object."""
    settings = PostcodesSettings(
        timeout_seconds=2, max_retries=0, failure_threshold=2, reset_timeout_seconds=60
    )
    storage = DynamoDbBreakerStorage(BREAKERS, "postcodes.io", client=client, refresh_seconds=0)
    api_client = ApiClient("postcodes.io", api.base_url, settings, breaker_storage=storage)
    return PostcodesIoLookup(settings, api_client)


def test_a_circuit_opened_by_one_execution_is_open_for_another(dynamodb: Any) -> None:
    with serve(FakePostcodesApi(known={"SW1A 1AA": details("London", "W")})) as api:
        first, second = execution(api, dynamodb), execution(api, dynamodb)
        api.down = True
        first.lookup(["A1 1AA"], ApiStats())
        first.lookup(["A1 1AB"], ApiStats())
        api.down = False

        stats = ApiStats()
        assert second.lookup(["SW1A 1AA"], stats) == {}
        assert stats.errors == {"circuit_open": 1}
        assert len(api.requests) == 2, "the second execution sent nothing"

        # An hour later, as far as the breaker can tell: the next request is the trial.
        dynamodb.update_item(
            TableName=BREAKERS,
            Key={"name": {"S": "postcodes.io"}},
            UpdateExpression="SET opened_at = :past",
            ExpressionAttributeValues={":past": {"N": str(time.time() - 3600)}},
        )
        recovered = ApiStats()
        assert second.lookup(["SW1A 1AA"], recovered)["SW1A 1AA"] is not None
        assert recovered.breaker_state_changes == {"open->half-open": 1, "half-open->closed": 1}
    item = dynamodb.get_item(TableName=BREAKERS, Key={"name": {"S": "postcodes.io"}})["Item"]
    assert item["state"] == {"S": "closed"}
    assert item["fail_counter"] == {"N": "0"}


def test_failures_from_concurrent_executions_add_up(dynamodb: Any) -> None:
    with serve(FakePostcodesApi(down=True)) as api:
        first, second = execution(api, dynamodb), execution(api, dynamodb)
        first.lookup(["A1 1AA"], ApiStats())
        opened = ApiStats()
        second.lookup(["A1 1AB"], opened)
    assert opened.breaker_state_changes == {"closed->open": 1}


def test_an_unreachable_state_table_is_logged_and_enrichment_goes_on(dynamodb: Any) -> None:
    stream = io.StringIO()
    send_logs_to(stream)
    try:
        with serve(FakePostcodesApi(known={"SW1A 1AA": details("London", "W")})) as api:
            settings = PostcodesSettings(timeout_seconds=2)
            storage = DynamoDbBreakerStorage("no-such-table", "postcodes.io", client=dynamodb)
            client = ApiClient("postcodes.io", api.base_url, settings, breaker_storage=storage)
            answers = PostcodesIoLookup(settings, client).lookup(["SW1A 1AA"], ApiStats())
    finally:
        send_logs_to(None)
    assert answers["SW1A 1AA"] is not None
    assert "circuit state table unavailable; keeping the last known state" in stream.getvalue()
