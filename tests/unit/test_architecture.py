"""The package map in docs/architecture.md and the import-linter contract that `make lint`
enforces name the same bands, and every top-level folder of the package is in one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "customer_etl" / "customer_etl"


def contract_bands() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [str(band) for band in contract["layers"]]


def documented_bands() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = text.split("<!-- bands:", 1)[1].split("```", 2)[1]
    return re.findall(r'\["([^"]+)"\]', diagram)


def test_the_documented_bands_are_the_enforced_ones_in_the_same_order() -> None:
    assert documented_bands() == contract_bands()


def test_every_top_level_module_of_the_package_is_in_a_band() -> None:
    banded = {name.strip() for band in contract_bands() for name in band.split("|")}
    top_level = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert top_level == banded


def test_every_band_says_what_it_may_import() -> None:
    for band in contract_bands():
        for name in (part.strip() for part in band.split("|")):
            docstring = (PACKAGE / name / "__init__.py").read_text(encoding="utf-8")
            assert "May import:" in docstring, name
