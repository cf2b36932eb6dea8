"""The models behind the failure impact assessment and the environmental impact figures."""

from __future__ import annotations

import pytest

from customer_etl.alerting.classification import BUILT_IN
from customer_etl.reporting.downtime_cost import (
    ClassFigures,
    ClassOverride,
    CostInputs,
    downtime_costs,
)
from customer_etl.reporting.energy import energy_figures


def inputs(**classes: ClassOverride) -> CostInputs:
    return CostInputs(
        cost_per_hour_late=100,
        engineer_hour_cost=50,
        severity_defaults={
            "P1": ClassFigures(per_year=1, hours_late=8, engineer_hours=4),
            "P2": ClassFigures(per_year=2, hours_late=2, engineer_hours=1),
            "P3": ClassFigures(per_year=12, hours_late=0, engineer_hours=0.5),
        },
        classes=classes,
    )


def test_every_classified_error_is_priced_by_its_severity_unless_it_says_otherwise() -> None:
    priced = downtime_costs(inputs(DecryptionError=ClassOverride(per_year=0.1, fixed_cost=10_000)))
    assert set(priced["classes"]) == set(BUILT_IN)
    config = priced["classes"]["ConfigError"]  # P1 defaults
    assert config["cost_per_occurrence"] == 8 * 100 + 4 * 50
    assert config["expected_annual_cost"] == 1000
    decryption = priced["classes"]["DecryptionError"]  # P1 with its own figures
    assert decryption["cost_per_occurrence"] == 8 * 100 + 4 * 50 + 10_000
    assert decryption["expected_annual_cost"] == pytest.approx(1100)
    assert (decryption["probability"], decryption["impact"], decryption["risk"]) == (1, 5, 5)
    assert priced["expected_annual_cost"] == pytest.approx(
        sum(c["expected_annual_cost"] for c in priced["classes"].values())
    )
    costs = [priced["classes"][name]["expected_annual_cost"] for name in priced["ranked"]]
    assert costs == sorted(costs, reverse=True)


def test_a_class_the_classification_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="NoSuchError"):
        downtime_costs(inputs(NoSuchError=ClassOverride(per_year=1)))


BENCH = {
    "rows": 250_000,
    "peak_rss_mb": {"runner": 1024, "largest_worker": 512},
    "runs": {
        "1": {
            "seconds": 3600.0,
            "cpu_seconds": 1800.0,
            "stage_seconds": {"extract": 1800.0, "load": 1800.0},
        }
    },
}


def test_local_energy_is_cpu_time_at_the_busy_draw_plus_the_memory_held() -> None:
    local = energy_figures(BENCH)["local"]
    # Half an hour of CPU at 3.5 W, plus 1 GB for an hour at 0.392 W.
    assert local["wh_per_run"] == pytest.approx(1.75 + 0.392, abs=1e-3)
    assert local["wh_per_million_rows"] == pytest.approx(4 * (1.75 + 0.392), abs=0.01)
    assert local["g_co2e_per_run"] == pytest.approx(0.225 * (1.75 + 0.392), abs=1e-3)
    assert local["cpu_utilisation"] == 0.5


def test_lambda_energy_is_stage_time_on_a_2_gb_function_at_half_utilisation() -> None:
    cloud = energy_figures(BENCH)["lambda"]
    vcpus, watts = 2048 / 1792, 0.74 + 0.5 * (3.5 - 0.74)
    expected = (vcpus * watts + 2 * 0.392) * 1.135  # one hour of stage time
    assert cloud["wh_per_run"] == pytest.approx(expected, abs=1e-3)
    assert cloud["wh_per_million_rows"] == pytest.approx(4 * expected, abs=0.01)
