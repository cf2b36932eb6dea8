"""Energy and carbon per run and per million rows from the last pipeline benchmark
(docs/figures/bench-pipeline.json, written by `make bench-pipeline BENCH_ARGS="... --json
docs/figures/bench-pipeline.json"`), written to docs/figures/energy.json, the figures
docs/environmental-impact.md quotes (`make doc-figures`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from customer_etl.reporting.energy import energy_figures

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def main() -> int:
    bench = json.loads((FIGURES / "bench-pipeline.json").read_text(encoding="utf-8"))
    figures = energy_figures(bench)
    target = FIGURES / "energy.json"
    target.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for place in ("local", "lambda"):
        print(
            f"{place}: {figures[place]['wh_per_million_rows']} Wh and "
            f"{figures[place]['g_co2e_per_million_rows']} g CO2e per million rows"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
