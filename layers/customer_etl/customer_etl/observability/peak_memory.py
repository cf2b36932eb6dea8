"""Peak resident memory of this process over one stage.

On Linux (the Lambda runtime, most servers) the kernel keeps the process's resident-set
high-water mark (`VmHWM`) and lets the process reset it by writing `5` to
`/proc/self/clear_refs`: resetting it when a stage starts and reading it when the stage ends
gives that stage's exact peak, at the cost of two small file operations and no thread.
(tracemalloc would see only allocations Python knows of and slows pandas-heavy code several
times over; a sampling thread misses short peaks and competes for the GIL.) Where the reset
is refused or there is no `/proc`, the figure is the process's peak since it started
(`getrusage`), an upper bound for the stage; `exact` says which.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")
_RESET_HIGH_WATER_MARK = "5"


class PeakMemory:
    """Starts measuring when created; `peak_mb()` is the peak so far.

    Example:
        >>> memory = PeakMemory()
        >>> memory.peak_mb() > 0
        True
    """

    def __init__(self) -> None:
        self.exact = _reset_high_water_mark()

    def peak_mb(self) -> float:
        if self.exact:
            high_water_kib = _status_kib("VmHWM")
            if high_water_kib is not None:
                return round(high_water_kib / 1024, 1)
        return round(_process_peak_bytes() / 2**20, 1)


def _reset_high_water_mark() -> bool:
    try:
        _CLEAR_REFS.write_text(_RESET_HIGH_WATER_MARK)
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int | None:
    try:
        lines = _STATUS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def _process_peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024
