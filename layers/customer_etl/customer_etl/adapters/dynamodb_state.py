"""DynamoDB adapters of the enrichment APIs' shared state in the cloud: the answer cache and
the circuit breakers' state, both seen by every Lambda invocation and concurrent execution.

Clients are created when an adapter is built (inside the handler call), never at import.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pybreaker
from botocore.exceptions import BotoCoreError, ClientError

from customer_etl.adapters.answer_cache import Answer, CacheUnavailableError, cache_key
from customer_etl.adapters.aws_client import aws_client
from customer_etl.observability.telemetry import logger

_GET_BATCH = 100  # BatchGetItem's limit
_WRITE_BATCH = 25  # BatchWriteItem's limit
_UNPROCESSED_ROUNDS = 5
"""DynamoDB may hand back part of a batch under load; ask again a few times, then give up
(the cache only saves requests)."""


class DynamoDbAnswerCache:
    """The answer cache in a DynamoDB table: partition key `key`, the answer as JSON in
    `answer`, and `expires_at` (epoch seconds), the table's TTL attribute.

    DynamoDB deletes expired items within days, not at once, so reads also check
    `expires_at`.
    """

    def __init__(
        self, table_name: str, client: Any | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = table_name
        self._client = client or aws_client("dynamodb")
        self._clock = clock

    def get(self, api: str, keys: list[str]) -> dict[str, Answer]:
        by_digest = {cache_key(api, key): key for key in keys}
        digests = list(by_digest)
        found: dict[str, Answer] = {}
        now = self._clock()
        for start in range(0, len(digests), _GET_BATCH):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [{"key": {"S": d}} for d in digests[start : start + _GET_BATCH]],
                    "ProjectionExpression": "#k, answer, expires_at",
                    "ExpressionAttributeNames": {"#k": "key"},
                }
            }
            for item in self._batch_get(request):
                if float(item["expires_at"]["N"]) > now:
                    found[by_digest[item["key"]["S"]]] = json.loads(item["answer"]["S"])
        return found

    def _batch_get(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for _ in range(_UNPROCESSED_ROUNDS):
            response = self._call("read", self._client.batch_get_item, RequestItems=request)
            items.extend(response.get("Responses", {}).get(self._table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
        return items

    def put(self, api: str, answers: Mapping[str, Answer], ttl_seconds: float) -> None:
        expires_at = str(int(self._clock() + ttl_seconds))
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "key": {"S": cache_key(api, key)},
                        "answer": {"S": json.dumps(answer)},
                        "expires_at": {"N": expires_at},
                    }
                }
            }
            for key, answer in answers.items()
        ]
        for start in range(0, len(requests), _WRITE_BATCH):
            pending: dict[str, Any] = {self._table: requests[start : start + _WRITE_BATCH]}
            for _ in range(_UNPROCESSED_ROUNDS):
                response = self._call("write", self._client.batch_write_item, RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break

    def _call(self, action: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except (ClientError, BotoCoreError) as error:
            raise CacheUnavailableError(
                f"enrichment cache table {self._table}: {action} failed "
                f"({type(error).__name__}); check the table and the function's access to it"
            ) from None


class DynamoDbBreakerStorage(pybreaker.CircuitBreakerStorage):
    """A pybreaker state in one DynamoDB item per breaker (partition key `name`).

    pybreaker reads the state several times per call; the item is therefore read at most
    once per `refresh_seconds` (a circuit opened elsewhere is seen that much later), and a
    reset of a counter that is already zero writes nothing. Counters are incremented with
    atomic `ADD`, so concurrent executions do not lose failures. When the table cannot be
    reached the breaker keeps its last known state and the failure is logged: enrichment
    must not fail because its bookkeeping did.
    """

    def __init__(
        self,
        table_name: str,
        breaker_name: str,
        client: Any | None = None,
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__("dynamodb")
        self._table = table_name
        self._key = {"name": {"S": breaker_name}}
        self._client = client or aws_client("dynamodb")
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._item: dict[str, Any] = {}
        self._read_at: float | None = None

    def _fresh(self) -> dict[str, Any]:
        with self._lock:
            stale = self._read_at is None or self._clock() - self._read_at >= self._refresh
        if stale:
            response = self._safely(
                "read", self._client.get_item, Key=self._key, ConsistentRead=True
            )
            if response is not None:
                item = {name: _value(value) for name, value in response.get("Item", {}).items()}
                with self._lock:
                    self._item = item
                    self._read_at = self._clock()
        with self._lock:
            return dict(self._item)

    def _set(self, name: str, value: str | int | float) -> None:
        encoded = {"S": value} if isinstance(value, str) else {"N": str(value)}
        self._safely(
            "write",
            self._client.update_item,
            Key=self._key,
            UpdateExpression="SET #f = :v",
            ExpressionAttributeNames={"#f": name},
            ExpressionAttributeValues={":v": encoded},
        )
        with self._lock:
            self._item[name] = value

    def _add_one(self, name: str) -> None:
        response = self._safely(
            "write",
            self._client.update_item,
            Key=self._key,
            UpdateExpression="ADD #f :one",
            ExpressionAttributeNames={"#f": name},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        with self._lock:
            if response is not None:
                self._item[name] = _value(response["Attributes"][name])
            else:
                self._item[name] = int(self._item.get(name, 0)) + 1

    def _reset(self, name: str) -> None:
        if int(self._fresh().get(name, 0)) != 0:
            self._set(name, 0)

    def _safely(self, action: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(TableName=self._table, **kwargs)
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "circuit state table unavailable; keeping the last known state",
                extra={"table": self._table, "action": action, "error_class": type(error).__name__},
            )
            return None

    @property
    def state(self) -> str:
        return str(self._fresh().get("state", pybreaker.STATE_CLOSED))

    @state.setter
    def state(self, state: str) -> None:
        self._set("state", state)

    def increment_counter(self) -> None:
        self._add_one("fail_counter")

    def reset_counter(self) -> None:
        self._reset("fail_counter")

    def increment_success_counter(self) -> None:
        self._add_one("success_counter")

    def reset_success_counter(self) -> None:
        self._reset("success_counter")

    @property
    def counter(self) -> int:
        return int(self._fresh().get("fail_counter", 0))

    @property
    def success_counter(self) -> int:
        return int(self._fresh().get("success_counter", 0))

    @property
    def opened_at(self) -> datetime | None:
        stamp = self._fresh().get("opened_at")
        return datetime.fromtimestamp(float(stamp), UTC) if stamp is not None else None

    @opened_at.setter
    def opened_at(self, moment: datetime) -> None:
        self._set("opened_at", moment.timestamp())


def _value(attribute: Mapping[str, Any]) -> str | int | float:
    if "N" in attribute:
        number = float(attribute["N"])
        return int(number) if number.is_integer() else number
    return str(attribute.get("S", ""))
