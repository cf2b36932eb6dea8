"""Price every error class with config/downtime-cost.yaml and write docs/figures/impact.json,
the figures docs/failure-impact.md quotes (`make doc-figures`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from customer_etl.reporting.downtime_cost import CostInputs, downtime_costs

REPO = Path(__file__).resolve().parents[1]
INPUTS = REPO / "config" / "downtime-cost.yaml"
TARGET = REPO / "docs" / "figures" / "impact.json"


def main() -> int:
    inputs = CostInputs.model_validate(yaml.safe_load(INPUTS.read_text(encoding="utf-8")))
    figures = downtime_costs(inputs)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"expected annual cost {figures['expected_annual_cost']:,.0f} {figures['currency']}")
    for name in figures["ranked"][:5]:
        print(f"  {name:<32} {figures['classes'][name]['expected_annual_cost']:>10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
