"""cfn-lint finds nothing in the synthesised templates, with every optional part on: the
warehouse network, the ODBC layer and the secondary region."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from test_network import network_environ

if TYPE_CHECKING:
    from conftest import AppFactory

REPO = Path(__file__).resolve().parents[2]


def test_every_template_passes_cfn_lint(app_factory: AppFactory, tmp_path: Path) -> None:
    environ = {
        **network_environ(WAREHOUSE_SECURITY_GROUP_ID="sg-0a1b2c3d4e5f60009"),
        "CUSTOMER_ETL__AWS__ACCEPT_MICROSOFT_ODBC_LICENCE": "true",
        "CUSTOMER_ETL__AWS__SECONDARY_REGION": "eu-west-1",
        "CUSTOMER_ETL__AWS__RESIDENCY__REGIONS__GB": "[eu-west-2, eu-west-1]",
    }
    app, _stack = app_factory("staging", outdir=tmp_path, environ=environ)
    assembly = app.synth()
    templates = sorted(Path(assembly.directory).glob("*.template.json"))
    assert [path.name for path in templates] == [
        "customer-etl-staging-replica.template.json",
        "customer-etl-staging.template.json",
    ]
    result = subprocess.run(
        # The console script beside this interpreter (cfnlint has no __main__).
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, templates)],
        cwd=REPO,  # .cfnlintrc.yaml
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
