"""What a retention job did (or, in a dry run, would do) to one store under one class: the
audit record kept in the warehouse's `retention_actions`, counts only, never a value or id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetentionOutcome:
    retention_class: str
    store: str
    """`warehouse_customers`, `quarantine`, `checkpoints`, `reports`, `logs`,
    `enrichment_cache`."""
    rule: str
    """The rule applied, in words: "last_seen_at before 2020-12-05 (2190 days)"."""
    action: str
    """`delete`, `anonymise` or `archive`; `skip` when the whole class is held."""
    records: int
    """Records (warehouse rows, cache answers) or files acted on, or that would be."""
    held: int
    """Records or files past their period that a legal hold kept."""


@dataclass(frozen=True)
class Expired:
    """An item past its period: its key in its store (a customer id, a file's path), and the
    run that wrote it (or last loaded it) when there is one. Held in memory only: a customer
    id never reaches a log or an audit row."""

    key: str
    run_id: str | None = None
    customer_id: str | None = None
