"""The retention job: apply each retention class to the stores it names, skip (and count)
what a legal hold keeps, audit every action in the warehouse, and record the job in
`etl_runs`.

Stores: the warehouse's customers (by `last_seen_at` or `signup_date`), and locally the run
folders' checkpoints, quarantine and reports, the period reports, the log files and the
enrichment cache. In the cloud the objects are S3's to expire (lifecycle rules derived from
the same classes, infra/constructs/storage.py), so the job there sees the warehouse only.
A dry run reads the same and changes nothing: no deletion, no audit row, no `etl_runs` row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from customer_etl.adapters import run_artefacts
from customer_etl.adapters.answer_cache import SqliteAnswerCache
from customer_etl.adapters.secrets import SecretError, resolve_secret
from customer_etl.config import Config
from customer_etl.config.retention import (
    DEPRECATED_CUSTOMER_DAYS,
    RetentionClass,
    RetentionSettings,
)
from customer_etl.core.errors import CustomerEtlError, MaskingKeyError
from customer_etl.core.legal_holds import HeldTargets
from customer_etl.core.ports import RunRecord, Warehouse
from customer_etl.core.retention import Expired, RetentionOutcome
from customer_etl.core.schema import PERSONAL_COLUMNS
from customer_etl.observability.telemetry import logger
from customer_etl.privacy.masking import pseudonymise
from customer_etl.stages.retention import decide, retention_cutoff, rule_text

CUSTOMERS = "warehouse_customers"
CLEARED_COLUMNS = ("date_of_birth",)
"""Personal columns anonymisation empties instead of pseudonymising."""
MIN_KEY_CHARS = 32
CACHE = "enrichment_cache"
RECORD_FILES = frozenset({"quarantine", "checkpoints"})
"""Artefact stores that hold whole records, so every personal-data class."""


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by start time, unique without coordination."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class LocalStores:
    """Where a local job finds the artefacts (None in the cloud, where S3 expires them)."""

    runs: Path
    reports: Path
    logs: Path
    archive: Path
    cache: SqliteAnswerCache | None = None
    cache_min_ttl_seconds: float = 0.0
    """The shortest answer lifetime of the cache's APIs: an answer's write time is its
    expiry less its lifetime, so with the shortest one no answer outlives its class."""

    @staticmethod
    def of(config: Config) -> LocalStores:
        enrichment = config.enrichment
        ttls = [enrichment.postcodes.cache_ttl_days, enrichment.companies_house.cache_ttl_days]
        cache_path = enrichment.cache_path
        work = config.pipeline.output_dir.parent
        return LocalStores(
            runs=config.pipeline.output_dir,
            reports=work / "reports",
            logs=config.observability.log_dir,
            archive=work / "archive",
            cache=SqliteAnswerCache(cache_path) if cache_path.exists() else None,
            cache_min_ttl_seconds=min(ttls) * 86_400.0,
        )


@dataclass(frozen=True)
class RetentionResult:
    run_id: str
    started_at: datetime
    dry_run: bool
    status: str
    outcomes: tuple[RetentionOutcome, ...] = field(default=())

    @property
    def rows_deleted(self) -> int:
        """Warehouse customers deleted or anonymised (what `etl_runs.rows_deleted` says)."""
        return sum(o.records for o in self.outcomes if o.store == CUSTOMERS and o.action != "skip")


def covered_classes(config: Config) -> dict[str, frozenset[str]]:
    """Per retention class, the personal-data classes the policies put in it: a hold on
    `email` keeps what the class holding emails would delete."""
    covered: dict[str, set[str]] = {}
    for data_class, policy in config.privacy.classification.policies.items():
        covered.setdefault(policy.retention_class, set()).add(data_class.value)
    return {name: frozenset(classes) for name, classes in covered.items()}


def apply_retention(
    warehouse: Warehouse,
    settings: RetentionSettings,
    now: datetime | None = None,
    *,
    local: LocalStores | None = None,
    covered: Mapping[str, frozenset[str]] | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    """Apply every retention class to its stores; the job's result (its `etl_runs` row is
    written unless it is a dry run). A failure is recorded as a failed job, with what was
    done before it audited, then raised."""
    if settings.customer_retention_days is not None:
        logger.warning("deprecated setting", extra={"setting": DEPRECATED_CUSTOMER_DAYS})
    started = now or datetime.now(UTC)
    run_id = new_run_id(started)
    job = _Job(warehouse, started, local, covered or {}, dry_run)
    job.anonymise_key_ref = settings.anonymise_key_ref
    try:
        for name, retention_class in settings.effective_classes().items():
            for store in retention_class.stores:
                job.apply(name, retention_class, store)
    except Exception as error:
        if not dry_run:
            _record_failure(warehouse, run_id, started, job.outcomes, error)
        raise
    result = RetentionResult(run_id, started, dry_run, "succeeded", tuple(job.outcomes))
    if not dry_run:
        warehouse.record_retention_actions(run_id, datetime.now(UTC), result.outcomes)
        warehouse.record_run(_record(run_id, started, "succeeded", result.rows_deleted, None))
    logger.info(
        "retention applied",
        extra={
            "rows_deleted": result.rows_deleted,
            "dry_run": dry_run,
            "actions": len(job.outcomes),
        },
    )
    return result


class _Job:
    def __init__(
        self,
        warehouse: Warehouse,
        now: datetime,
        local: LocalStores | None,
        covered: Mapping[str, frozenset[str]],
        dry_run: bool,
    ) -> None:
        self.warehouse = warehouse
        self.now = now
        self.local = local
        self.covered = covered
        self.dry_run = dry_run
        self.outcomes: list[RetentionOutcome] = []
        self.anonymise_key_ref: str | None = None

    def anonymise_key(self) -> bytes:
        """The pseudonyms' key, read when first needed; never a default key."""
        try:
            secret = resolve_secret(self.anonymise_key_ref)
        except SecretError as error:
            raise MaskingKeyError(f"retention cannot anonymise: {error}") from None
        if secret is None or len(secret) < MIN_KEY_CHARS:
            raise MaskingKeyError(
                "retention cannot anonymise: retention.anonymise_key_ref names no key of at "
                f"least {MIN_KEY_CHARS} characters"
            )
        return secret.encode()

    def apply(self, name: str, retention_class: RetentionClass, store: str) -> None:
        if store != CUSTOMERS and self.local is None:
            return  # the cloud's objects: S3 lifecycle rules
        cutoff = retention_cutoff(self.now, retention_class.period_days)
        rule = rule_text(retention_class.runs_from, retention_class.period_days, cutoff)
        appliers: dict[str, Callable[[str, RetentionClass, datetime], tuple[int, int]]] = {
            CUSTOMERS: self._customers,
            CACHE: self._cache,
        }
        records, held = appliers.get(store, self._files(store))(name, retention_class, cutoff)
        action = retention_class.action if records or not held else "skip"
        outcome = RetentionOutcome(name, store, rule, action, records, held)
        self.outcomes.append(outcome)
        logger.info(
            "retention class applied",
            extra={
                "retention_class": name,
                "store": store,
                "action": action,
                "records": records,
                "held": held,
                "dry_run": self.dry_run,
            },
        )

    def _classes(self, name: str, store: str) -> frozenset[str]:
        """The classes whose hold keeps this store: the retention class, the personal-data
        classes the policies put in it, and for files of records (quarantine, checkpoints)
        every personal-data class, since they hold whole records."""
        classes = frozenset({name}) | self.covered.get(name, frozenset())
        if store in RECORD_FILES:
            classes = classes.union(*self.covered.values())
        return classes

    def _held(self, name: str, items: list[Expired], store: str) -> tuple[HeldTargets, bool]:
        held = self.warehouse.held_at(
            self.now,
            customer_ids=[i.customer_id for i in items if i.customer_id],
            data_classes=self._classes(name, store),
            run_ids=[i.run_id for i in items if i.run_id],
        )
        return held, bool(held.data_classes)

    def _customers(
        self, name: str, retention_class: RetentionClass, cutoff: datetime
    ) -> tuple[int, int]:
        event = retention_class.runs_from
        anonymise = retention_class.action == "anonymise"
        expired = self.warehouse.expired_customers(event, cutoff, skip_anonymised=anonymise)
        decision = decide(expired, *self._held(name, expired, CUSTOMERS))
        if self.dry_run or not decision.act_on:
            return len(decision.act_on), decision.held
        ids = [item.key for item in decision.act_on]
        if anonymise:
            values = pseudonyms(ids, self.anonymise_key())
            return self.warehouse.anonymise_expired_customers(values, event, cutoff), decision.held
        return self.warehouse.delete_expired_customers(ids, event, cutoff), decision.held

    def _cache(
        self, name: str, retention_class: RetentionClass, cutoff: datetime
    ) -> tuple[int, int]:
        assert self.local is not None
        cache = self.local.cache
        if cache is None:
            return 0, 0
        expires_before = max(
            self.now.timestamp(), cutoff.timestamp() + self.local.cache_min_ttl_seconds
        )
        if self._held(name, [], CACHE)[1]:
            return 0, cache.purge(expires_before, dry_run=True)
        return cache.purge(expires_before, dry_run=self.dry_run), 0

    def _files(self, store: str) -> Callable[[str, RetentionClass, datetime], tuple[int, int]]:
        def apply(name: str, retention_class: RetentionClass, cutoff: datetime) -> tuple[int, int]:
            local = self.local
            assert local is not None
            found = run_artefacts.artefacts(store, local.runs, local.reports, local.logs)
            by_key = {str(a.path): a for a in found if a.written_at < cutoff}
            expired = [Expired(key=key, run_id=a.run_id) for key, a in by_key.items()]
            decision = decide(expired, *self._held(name, expired, store))
            if not self.dry_run:
                for item in decision.act_on:
                    artefact = by_key[item.key]
                    if retention_class.action == "archive":
                        run_artefacts.archive(artefact, local.archive, store)
                    else:
                        run_artefacts.remove(artefact)
            return len(decision.act_on), decision.held

        return apply


def pseudonyms(ids: list[str], key: bytes) -> dict[str, dict[str, str | None]]:
    """Per customer id, its personal columns' keyed pseudonyms (`p_` and 24 hex digits of
    HMAC-SHA-256 under the key, as masking makes them), from the id rather than the value,
    which stays encrypted; the birth date, whose column must read as a date, is cleared."""
    frame = pd.Series(ids, dtype=object)
    by_column = {
        column: list(pseudonymise(frame, key, column))
        for column in PERSONAL_COLUMNS
        if column not in CLEARED_COLUMNS
    }
    return {
        customer_id: {
            **{column: values[n] for column, values in by_column.items()},
            **dict.fromkeys(CLEARED_COLUMNS),
        }
        for n, customer_id in enumerate(ids)
    }


def _record_failure(
    warehouse: Warehouse,
    run_id: str,
    started: datetime,
    outcomes: list[RetentionOutcome],
    error: Exception,
) -> None:
    # The period report counts failed retention jobs: record this one if the warehouse
    # still answers. Only our own errors' messages are kept (others may quote values).
    message = str(error) if isinstance(error, CustomerEtlError) else type(error).__name__
    deleted = sum(o.records for o in outcomes if o.store == CUSTOMERS and o.action != "skip")
    try:
        warehouse.record_retention_actions(run_id, datetime.now(UTC), outcomes)
        warehouse.record_run(_record(run_id, started, "failed", deleted, message))
    except Exception as unrecorded:  # the original error is the one that matters
        logger.warning(
            "failed retention job not recorded",
            extra={"error_class": type(unrecorded).__name__},
        )


def _record(
    run_id: str, started: datetime, status: str, deleted: int, error: str | None
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind="retention",
        source_file="-",
        status=status,
        rows_in=0,
        rows_loaded=0,
        rows_quarantined=0,
        rows_deleted=deleted,
        started_at=started,
        finished_at=datetime.now(UTC),
        error=error,
    )
