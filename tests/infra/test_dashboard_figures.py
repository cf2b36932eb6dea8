"""docs/figures/dashboard.json, which the operator documents are checked against
(tests/unit/test_docs_drift.py), is the summary of the stack as it synthesises today: a new,
renamed or removed alarm or dashboard widget fails here until `make doc-figures` is run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from infra.dashboard_summary import summarise

if TYPE_CHECKING:
    from conftest import Synth

FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures"


def test_the_dashboard_figures_are_the_synthesised_dashboard(synth: Synth) -> None:
    written = json.loads((FIGURES / "dashboard.json").read_text(encoding="utf-8"))
    current = summarise(synth.template.to_json(), synth.env)
    # Drawn from prod; every environment must have the same alarms and sections, so the
    # documents hold for each.
    assert {**current, "environment": written["environment"]} == written
    for section in written["sections"]:
        assert (FIGURES / section["png"]).stat().st_size > 0
