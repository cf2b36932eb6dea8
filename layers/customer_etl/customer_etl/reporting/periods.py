"""The periods a runs report covers. A module of its own, free of the reports' imports, so
that the command line can offer them without loading the reporting code."""

from __future__ import annotations

from typing import Literal, get_args

Period = Literal["daily", "weekly"]
PERIODS: tuple[Period, ...] = get_args(Period)
