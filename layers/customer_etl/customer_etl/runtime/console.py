"""What a person sees of a local run on the console: one line per finished stage on standard
output, beside the run's closing report, and, on a long stage, a progress bar on standard
error, which otherwise holds only a failure's one-line message. The JSON log goes to the
run's log file, not here.

The progress bar is tqdm's (rate, elapsed time, terminal width and redraws are its job);
it appears only when standard error is a terminal and a stage has run for a second, so
pipes, CI logs and short runs get the stage lines alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

from customer_etl.core.manifest import StageReport


class Console:
    """Example:
    >>> console = Console(progress=False)
    >>> with console.stage("extract", total_rows=None) as advance:
    ...     advance(400)
    """

    def __init__(self, progress: bool = True, show_after_seconds: float = 1.0) -> None:
        self._progress = progress
        self._show_after_seconds = show_after_seconds

    @contextmanager
    def stage(self, name: str, total_rows: int | None) -> Iterator[Callable[[int], None]]:
        """A callback that advances the stage's progress bar by a number of rows."""
        stream = sys.stderr  # looked up now, so that a redirected stderr is honoured
        if not (self._progress and stream.isatty()):
            yield _ignore
            return
        with tqdm(
            total=total_rows,
            desc=name,
            unit=" rows",
            unit_scale=True,
            file=stream,
            delay=self._show_after_seconds,
            leave=False,
        ) as bar:

            def advance(rows: int) -> None:
                bar.update(rows)

            yield advance

    def stage_finished(self, name: str, report: StageReport) -> None:
        # tqdm.write keeps a bar that is still drawn from garbling the line.
        tqdm.write(stage_line(name, report), file=sys.stdout)


def stage_line(name: str, report: StageReport) -> str:
    """One line of counts and figures, never values.

    Example:
        >>> report = StageReport(rows_in=400, rows_out=380, rows_quarantined=20,
        ...     duration_seconds=1.25, checkpoint_uri="x", peak_memory_mb=212.4)
        >>> stage_line("transform", report)
        'transform  400 rows in, 380 out, 20 quarantined  1.25 s  peak 212 MB'
    """
    memory = f"  peak {report.peak_memory_mb:.0f} MB" if report.peak_memory_mb else ""
    return (
        f"{name:<9}  {report.rows_in} rows in, {report.rows_out} out, "
        f"{report.rows_quarantined} quarantined  {report.duration_seconds:.2f} s{memory}"
    )


def _ignore(rows: int) -> None:
    """No progress bar: nothing to advance."""
