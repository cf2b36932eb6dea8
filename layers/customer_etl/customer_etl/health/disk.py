"""Free space on the filesystem of the local runs folder: checkpoints and quarantine of a
run are written there."""

from __future__ import annotations

import shutil
from pathlib import Path

from customer_etl.config.health import HealthSettings
from customer_etl.health.report import Finding, Status

COMPONENT = "disk"
_MIB = 1024 * 1024


def check_disk(output_dir: Path, settings: HealthSettings) -> Finding:
    """Unhealthy below `min_free_disk_mb`, degraded below `min_free_disk_percent`."""
    where = _existing(output_dir)
    try:
        usage = shutil.disk_usage(where)
    except OSError as error:
        return Finding(Status.UNHEALTHY, f"cannot read free space ({type(error).__name__})")
    free_mb = usage.free // _MIB
    percent = 100.0 * usage.free / usage.total if usage.total else 0.0
    figures = f"{free_mb} MiB free ({percent:.1f}%) on the filesystem of {output_dir}"
    if free_mb < settings.min_free_disk_mb:
        return Finding(
            Status.UNHEALTHY,
            f"{figures}, below health.min_free_disk_mb {settings.min_free_disk_mb}: free space "
            "or move pipeline.output_dir",
        )
    if percent < settings.min_free_disk_percent:
        return Finding(
            Status.DEGRADED,
            f"{figures}, below health.min_free_disk_percent {settings.min_free_disk_percent:g}",
        )
    return Finding(Status.HEALTHY, figures)


def _existing(path: Path) -> Path:
    """The folder itself or, before the first run created it, its nearest existing parent."""
    for candidate in (path.absolute(), *path.absolute().parents):
        if candidate.exists():
            return candidate
    return Path("/")
