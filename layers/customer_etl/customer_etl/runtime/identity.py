"""Who started a run, as the audit trail records it (`etl_runs.triggered_by`).

An operator's identity (a local account, an AWS account or principal), never a customer's
data; it goes into `etl_runs` and the audit report, not into log lines.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from typing import Any

from customer_etl.adapters.warehouse.tables import TRIGGER_LENGTH


def local_identity() -> str:
    """`local:<account>`: the account running the command (`getpass.getuser`, which reads
    LOGNAME, USER, LNAME, USERNAME, then the password database); its uid when it has no
    name (a container's arbitrary uid)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = f"uid-{os.getuid()}"
    return _bounded(f"local:{name}")


def cloud_identity(source: Mapping[str, Any]) -> str | None:
    """The identity an execution's input carries: `triggered_by` when an operator started the
    execution by hand and named themselves, else the S3 event's requester (the account or
    service principal that uploaded the object) as `s3:<requester>`; None without either."""
    named = source.get("triggered_by")
    if isinstance(named, str) and named:
        return _bounded(named)
    requester = source.get("requester")
    if isinstance(requester, str) and requester:
        return _bounded(f"s3:{requester}")
    return None


def _bounded(identity: str) -> str:
    return identity[:TRIGGER_LENGTH]
