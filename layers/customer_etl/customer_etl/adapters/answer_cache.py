"""The persistent cache of enrichment answers: SQLite locally, and the lookup wrapper that
asks the cache before the API.

Keys are SHA-256 digests of the API name and the postcode or company number, so the cache
holds no postcode in clear. That is not anonymisation (the postcode space is small enough
to enumerate): it keeps postcodes out of the table, its backups and any tooling that
displays keys. Answers carry only the API's public facts about a place or a company.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from customer_etl.adapters.private_files import make_private, private_folder
from customer_etl.core.api_stats import ApiStats
from customer_etl.core.errors import TransientError
from customer_etl.core.ports import AnswerCache
from customer_etl.observability.telemetry import logger

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Answer = dict[str, object] | None

_SQLITE_BATCH = 500
"""Keys per `IN (...)` query, under SQLite's default limit of 999 parameters."""


class CacheUnavailableError(TransientError):
    """The answer cache could not be read or written; the lookup goes to the API instead."""


def cache_key(api: str, key: str) -> str:
    return hashlib.sha256(f"{api}\x00{key}".encode()).hexdigest()


class SqliteAnswerCache:
    """The cache in one SQLite file (local runs).

    Example:
        >>> cache = SqliteAnswerCache(Path(".etl/enrichment-cache.db"))  # doctest: +SKIP
        >>> cache.put("postcodes.io", {"SW1A 1AA": {"region": "London"}}, 86400)  # doctest: +SKIP
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        with self._connection() as connection:
            connection.execute(
                "create table if not exists answers ("
                "key text primary key, answer text not null, expires_at real not null)"
            )

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            private_folder(self._path.parent)
            with closing(sqlite3.connect(self._path, timeout=10)) as connection, connection:
                # Owner-only: the cache keys are digests, but its answers are postcodes'
                # and companies' details. SQLite gives its journal the file's mode.
                make_private(self._path)
                yield connection
        except (sqlite3.Error, OSError) as error:
            raise CacheUnavailableError(
                f"enrichment cache {self._path} unusable ({type(error).__name__}): check the "
                "file and its folder, or set enrichment.cache_path"
            ) from None

    def get(self, api: str, keys: list[str]) -> dict[str, Answer]:
        by_digest = {cache_key(api, key): key for key in keys}
        digests = list(by_digest)
        found: dict[str, Answer] = {}
        now = self._clock()
        with self._connection() as connection:
            for start in range(0, len(digests), _SQLITE_BATCH):
                batch = digests[start : start + _SQLITE_BATCH]
                marks = ",".join("?" * len(batch))
                rows = connection.execute(
                    f"select key, answer from answers where key in ({marks}) and expires_at > ?",
                    [*batch, now],
                )
                for digest, answer in rows:
                    found[by_digest[digest]] = json.loads(answer)
        return found

    def put(self, api: str, answers: Mapping[str, Answer], ttl_seconds: float) -> None:
        expires_at = self._clock() + ttl_seconds
        rows = [
            (cache_key(api, key), json.dumps(answer), expires_at) for key, answer in answers.items()
        ]
        with self._connection() as connection:
            connection.executemany(
                "insert into answers (key, answer, expires_at) values (?, ?, ?) "
                "on conflict (key) do update set answer = excluded.answer, "
                "expires_at = excluded.expires_at",
                rows,
            )
            connection.execute("delete from answers where expires_at <= ?", (self._clock(),))

    def purge(self, expires_before: float, *, dry_run: bool = False) -> int:
        """Delete (or, in a dry run, count) the answers that expire before this epoch time:
        the retention job's hold on the cache (run/retention.py)."""
        with self._connection() as connection:
            if dry_run:
                row = connection.execute(
                    "select count(*) from answers where expires_at < ?", (expires_before,)
                ).fetchone()
                return int(row[0]) if row else 0
            deleted = connection.execute(
                "delete from answers where expires_at < ?", (expires_before,)
            )
            return int(deleted.rowcount)


class Lookup(Protocol[T_co]):
    def lookup(self, keys: list[str], stats: ApiStats) -> Mapping[str, T_co | None]: ...


class CachedLookup(Generic[T]):
    """Answers from the cache where it has them, from `source` otherwise; what the source
    answers (found or unknown) is kept for `ttl_seconds`. A cache that fails is logged and
    bypassed: it only saves requests."""

    def __init__(
        self,
        api: str,
        source: Lookup[T],
        cache: AnswerCache,
        ttl_seconds: float,
        encode: Callable[[T], dict[str, object]],
        decode: Callable[[dict[str, object]], T],
    ) -> None:
        self._api = api
        self._source = source
        self._cache = cache
        self._ttl = ttl_seconds
        self._encode = encode
        self._decode = decode

    def lookup(self, keys: list[str], stats: ApiStats) -> dict[str, T | None]:
        try:
            cached = self._cache.get(self._api, keys)
        except CacheUnavailableError as error:
            self._cache_failed("read", error)
            cached = {}
        answers: dict[str, T | None] = {
            key: None if value is None else self._decode(value) for key, value in cached.items()
        }
        stats.record_cache_hits(len(answers))
        missing = [key for key in keys if key not in answers]
        if not missing:
            return answers
        fresh = self._source.lookup(missing, stats)
        answers.update(fresh)
        try:
            self._cache.put(
                self._api,
                {
                    key: None if value is None else self._encode(value)
                    for key, value in fresh.items()
                },
                self._ttl,
            )
        except CacheUnavailableError as error:
            self._cache_failed("write", error)
        return answers

    def _cache_failed(self, action: str, error: CacheUnavailableError) -> None:
        logger.warning(
            "enrichment cache unavailable; asking the API",
            extra={"api": self._api, "action": action, "error": str(error)},
        )
