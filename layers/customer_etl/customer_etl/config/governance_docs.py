"""Render the governance pages from the configuration itself: the retention schedule
(`docs/governance/retention-schedule.md`) from `retention.classes`, and the records of
processing (UK GDPR article 30, `docs/governance/records-of-processing.md`) from the
classification policies and the retention classes. `customer-etl config governance-docs`
writes them (`make docs`); a test fails when a page is stale.

Both are rendered from the model's defaults, which every environment file uses (a test
checks that too), so one page holds for every environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from customer_etl.config.model import Config
from customer_etl.config.privacy import CLASS_OF_COLUMN
from customer_etl.config.retention import RetentionClass

RETENTION_SCHEDULE = "retention-schedule.md"
RECORDS_OF_PROCESSING = "records-of-processing.md"

_GENERATED = (
    "Generated from the configuration model by `customer-etl config governance-docs` "
    "(`make docs`); a test fails when this page is stale. Do not edit by hand."
)

_EVENTS = {
    "last_seen": "the last source file that held the customer (`last_seen_at`)",
    "signup": "the customer's sign-up date (`signup_date`)",
    "consent_withdrawn": "the withdrawal of consent",
    "run_end": "the end of the run that wrote it (or the API answer's time)",
}
_ACTIONS = {
    "delete": "deleted",
    "anonymise": "anonymised (keyed pseudonyms)",
    "archive": "archived (moved to the archive folder; Glacier Deep Archive in the cloud)",
}
_STORES = {
    "warehouse_customers": "warehouse `customers` rows",
    "quarantine": "quarantined records (run folders' `quarantine/`; S3 `quarantine/`)",
    "checkpoints": "stage checkpoints and record scores (run folders; S3 `runs/`)",
    "reports": "run reports and period reports (`report.html`, `reports/`; the reports bucket)",
    "logs": "structured log files (`.etl/logs`)",
    "enrichment_cache": "the enrichment answer cache (`.etl/enrichment-cache.db`)",
}
_RECIPIENTS: Mapping[str, str] = {
    "postcode": "postcodes.io (the postcode alone, to look up its area)",
}
"""Who receives a class beyond the operators and the warehouse's readers (authorised
tooling with the keys): the enrichment APIs are asked about postcodes (Companies House is
asked about company numbers, which are not personal data)."""
_EVERYONE = "operators of the pipeline; readers of the warehouse with the decryption keys"
_HOSTING = "AWS (processor) in the cloud deployment"


def _days(period: int) -> str:
    if period == 0:
        return "until the event (0 days)"
    years, rest = divmod(period, 365)
    if rest == 0 and years:
        return f"{period} days ({years} year{'s' if years > 1 else ''})"
    return f"{period} days"


def render_retention_schedule(config: Config) -> str:
    classes = config.retention.effective_classes()
    lines = [
        "# Retention schedule",
        "",
        _GENERATED,
        "",
        "Each retention class says how long its data is kept, from which event, on which lawful",
        "basis, and what `customer-etl retention` (daily in the cloud) does when it expires. A",
        "legal hold (docs/governance/legal-holds.md) keeps what it covers past its period;",
        "every skipped record is counted. Change a class under `retention.classes`",
        "(docs/configuration.md).",
        "",
        "| class | kept for | from | lawful basis | on expiry | applied to | purpose |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, c in classes.items():
        stores = "; ".join(_STORES[s] for s in c.stores) or "nothing yet (documented and holdable)"
        lines.append(
            f"| `{name}` | {_days(c.period_days)} | {_EVENTS[c.runs_from]} | "
            f"{c.lawful_basis.replace('_', ' ')} | {_ACTIONS[c.action]} | {stores} | {c.purpose} |"
        )
    lines += [
        "",
        "Notes:",
        "",
        "- `marketing` runs from the withdrawal of consent, which the warehouse does not yet",
        "  record with a time (it keeps `marketing_consent` only), so no store is given it.",
        "- In the cloud the objects expire by S3 lifecycle rules derived from the same classes",
        "  (`infra/constructs/storage.py`, checked by `tests/infra/test_retention_lifecycle.py`);",
        "  old object versions go after one day.",
        "- `retention.customer_retention_days` (deprecated) overrides the `customer` period when",
        "  set, with a warning.",
    ]
    return "\n".join(lines) + "\n"


def render_records_of_processing(config: Config) -> str:
    classes = config.retention.effective_classes()
    policies = config.privacy.classification.policies
    columns: dict[str, list[str]] = {}
    for column, data_class in CLASS_OF_COLUMN.items():
        columns.setdefault(data_class.value, []).append(f"`{column}`")
    lines = [
        "# Records of processing (UK GDPR article 30)",
        "",
        _GENERATED,
        "",
        "Controller: the organisation that runs customer-etl. Purpose of the processing as a",
        "whole: keeping an accurate, protected record of customers, validated, enriched and",
        "loaded from the source systems' exports. Categories of data subjects: customers and",
        "prospects of the source systems. Transfers outside the UK: none by the pipeline (the",
        "cloud region is set by `aws.region`; docs/deployment.md).",
        "",
        "| personal data | columns | handling | retention class | purpose | lawful basis | "
        "kept for | recipients |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for data_class, policy in policies.items():
        retention: RetentionClass = classes[policy.retention_class]
        recipients = "; ".join(
            r for r in (_EVERYONE, _RECIPIENTS.get(data_class.value), _HOSTING) if r
        )
        held_in = ", ".join(columns.get(data_class.value, [])) or "none (dropped at extract)"
        lines.append(
            f"| {data_class.value.replace('_', ' ')} | {held_in} | {policy.handling} | "
            f"`{policy.retention_class}` | {retention.purpose} | "
            f"{retention.lawful_basis.replace('_', ' ')} | {_days(retention.period_days)} from "
            f"{retention.runs_from.replace('_', ' ')} | {recipients} |"
        )
    lines += [
        "",
        "Technical and organisational measures: field-level encryption of personal columns",
        "(docs/encryption.md), masking outside production (docs/data-protection.md), no",
        "personal data in logs, metrics or alerts (docs/logging.md), retention by class",
        "(docs/governance/retention-schedule.md) and legal holds",
        "(docs/governance/legal-holds.md).",
    ]
    return "\n".join(lines) + "\n"


def write_governance_docs(folder: Path) -> list[Path]:
    """Write both pages into `folder`, from the model's defaults; the paths written."""
    config = Config(environment="prod")  # only the defaults are read
    pages = {
        RETENTION_SCHEDULE: render_retention_schedule(config),
        RECORDS_OF_PROCESSING: render_records_of_processing(config),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in pages]
