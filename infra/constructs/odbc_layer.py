"""The SQL Server ODBC layer: unixODBC, Microsoft's ODBC Driver 18 and pyodbc, built at
deploy time by `layers/odbc/build.sh`, and only once the configuration accepts Microsoft's
licence (`aws.accept_microsoft_odbc_licence`).

pip cannot install an ODBC driver: the driver is an RPM from packages.microsoft.com, under
Microsoft's own licence, which this project may not redistribute or accept for its users. So
the layer is built by whoever deploys, from pinned versions, in the Amazon Linux 2023 image
Lambda's Python 3.12 runtime is built on (or directly on such a build host, no Docker).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO = Path(__file__).resolve().parents[2]
ODBC_DIR = REPO / "layers" / "odbc"
BUILD_SCRIPT = "build.sh"
BUILD_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"
LICENCE_URL = "https://aka.ms/odbc18eula"

ENVIRONMENT = {
    # unixODBC reads odbcinst.ini from here; layers unpack under /opt.
    "ODBCSYSINI": "/opt/etc",
}
"""What a function using the layer needs in its environment (its libraries are in /opt/lib,
which Lambda already puts on the library path, and pyodbc in /opt/python)."""


@jsii.implements(ILocalBundling)
class AmazonLinuxBundling:
    """Runs the build script directly on an Amazon Linux 2023 host as root (a CodeBuild
    image, say); anywhere else declines, and CDK builds in the Docker image instead."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        if not on_amazon_linux_2023() or os.geteuid() != 0 or shutil.which("dnf") is None:
            return False
        result = subprocess.run(
            ["bash", str(ODBC_DIR / BUILD_SCRIPT), output_dir],
            env={**os.environ, "ACCEPT_EULA": "Y"},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the ODBC layer failed:\n{result.stderr}")
        return True


def on_amazon_linux_2023(os_release: Path = Path("/etc/os-release")) -> bool:
    try:
        fields = dict(
            line.split("=", 1) for line in os_release.read_text().splitlines() if "=" in line
        )
    except OSError:
        return False
    return (
        fields.get("ID", "").strip('"') == "amzn"
        and fields.get("VERSION_ID", "").strip('"') == "2023"
    )


class OdbcDriverLayer(Construct):
    """`layer`, for the functions that connect to a SQL Server warehouse."""

    def __init__(self, scope: Construct, construct_id: str, *, runtime: lambda_.Runtime) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="customer-etl: unixODBC, Microsoft ODBC Driver 18 for SQL Server, pyodbc",
            code=lambda_.Code.from_asset(
                str(ODBC_DIR),
                bundling=BundlingOptions(
                    image=DockerImage.from_registry(BUILD_IMAGE),
                    command=["bash", BUILD_SCRIPT, "/asset-output"],
                    # The configuration accepted the licence: only then is this built.
                    environment={"ACCEPT_EULA": "Y"},
                    user="root",
                    local=AmazonLinuxBundling(),
                ),
            ),
            compatible_runtimes=[runtime],
            compatible_architectures=[lambda_.Architecture.X86_64],
            license=LICENCE_URL,
        )
