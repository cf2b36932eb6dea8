"""What the command line's help and the Lambda functions' modules load before they answer:
none of the heavy libraries (their time is `scripts/bench_speed.py`'s to measure, never a
timed test's). Each check runs in a fresh interpreter, since this one has them all loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(path.parent.name for path in (REPO / "functions").glob("*/handler.py"))
HEAVY = ("pandas", "sqlalchemy", "pyarrow", "aws_xray_sdk", "boto3", "customer_etl.health")


def loaded_after(code: str) -> set[str]:
    """The heavy modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    modules = json.loads(result.stdout.splitlines()[-1])
    return {name for name in modules if name.split(".")[0] in HEAVY or name in HEAVY}


def test_help_loads_no_heavy_library() -> None:
    code = (
        "from customer_etl.runtime.entry import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code) == set()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_module_loads_no_heavy_library(function: str) -> None:
    assert loaded_after(f"import functions.{function}.handler") == set()


def test_a_stage_loads_no_health_check_or_report() -> None:
    loaded = loaded_after("import customer_etl.runtime.lambda_handlers")
    assert not {name for name in loaded if name.startswith("customer_etl.health")}
    assert "pandas" in loaded  # the probe does see what a stage really loads


def test_the_command_line_still_runs_commands(tmp_path: Path) -> None:
    # The entry hands every other command on to the command line's own main.
    result = subprocess.run(
        [sys.executable, "-m", "customer_etl.runtime.entry", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.strip()
    from customer_etl.runtime.entry import main

    sample = tmp_path / "sample.csv"
    assert main(["generate-sample", "--rows", "5", "--output", str(sample)]) == 0
    assert len(sample.read_text().splitlines()) == 6


def test_a_deferred_handler_builds_the_real_one_once_and_calls_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from customer_etl.runtime import lambda_entry

    built: list[str] = []
    module = types.ModuleType("fake_handlers")

    def attribute(name: str) -> object:
        built.append(name)
        return lambda event, context: {"answer": event["n"] * 2, "context": context}

    module.__getattr__ = attribute  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "fake_handlers", module)
    handler = lambda_entry._named("handler", "fake_handlers")
    assert built == [], "nothing is imported before the first call"
    assert handler({"n": 2}, "ctx") == {"answer": 4, "context": "ctx"}
    assert handler({"n": 5}, None) == {"answer": 10, "context": None}
    assert built == ["handler"]
