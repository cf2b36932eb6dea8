"""Run the failure drills of tests/resilience and write what they measured to
docs/figures/drills.json, the file docs/disaster-recovery.md and docs/resilience-testing.md
quote (tests/unit/test_docs_drift.py fails when a quoted figure differs from it).

    make drills            # scripts/with-postgres.sh .venv/bin/python scripts/drill_times.py

Each drill's time is pytest's own measure of the test (setup, call and teardown: the failure
driven, the recovery and the checks), read from its JUnit XML. The local recovery drills also
print how long their `customer-etl resume` took; those lines are kept as the recoveries.
Figures are rounded to tenths of a second: the machine is shared, so finer digits are noise.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DRILLS = "tests/resilience"
TARGET = REPO / "docs" / "figures" / "drills.json"
RECOVERY = re.compile(r"recovery after (?P<what>.+?): resume took (?P<seconds>[0-9.]+) s")


def slug(text: str) -> str:
    """`SIGKILL in load` -> `sigkill_in_load`: a key a document can name."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def drill_key(classname: str, name: str) -> str:
    """`tests.resilience.test_disk_full` + `test_x[load]` -> `test_disk_full.test_x_load`."""
    module = classname.rsplit(".", 1)[-1]
    return f"{module}.{slug(name)}"


def read_junit(report: Path) -> dict[str, dict[str, object]]:
    drills: dict[str, dict[str, object]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in {"failure", "error"}:
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        drills[drill_key(case.get("classname", ""), case.get("name", ""))] = {
            "seconds": round(float(case.get("time", "0")), 1),
            "outcome": outcome,
        }
    return drills


def measure(pytest_args: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="drills-") as scratch:
        report = Path(scratch) / "drills.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            DRILLS,
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *pytest_args,
        ]
        finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        sys.stdout.write(finished.stdout)  # every failure's traceback, to read before rerunning
        drills = read_junit(report)
    recoveries = {
        slug(match["what"]): round(float(match["seconds"]), 1)
        for match in RECOVERY.finditer(finished.stdout)
    }
    outcomes = [str(drill["outcome"]) for drill in drills.values()]
    seconds = [float(str(drill["seconds"])) for drill in drills.values()]
    return {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "make drills",
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, shared 2-core host",
        "exit_code": finished.returncode,
        "totals": {
            "drills": len(drills),
            "passed": outcomes.count("passed"),
            "failed": outcomes.count("failed"),
            "skipped": outcomes.count("skipped"),
            "seconds": round(sum(seconds), 1),
            "slowest_seconds": max(seconds, default=0.0),
        },
        "recoveries": recoveries,
        "drills": drills,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TARGET)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (-k ...)")
    args = parser.parse_args()
    figures = measure(args.pytest_args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    totals = figures["totals"]
    print(f"wrote {args.output.relative_to(REPO)}: {totals}")
    return int(str(figures["exit_code"]))


if __name__ == "__main__":
    sys.exit(main())
