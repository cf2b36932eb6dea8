"""`make package`: asset hashes and sizes against Lambda's limits."""

from __future__ import annotations

import json
from pathlib import Path

from infra.constructs.functions import FUNCTION_NAMES
from infra.package import (
    AWS_SDK_PANDAS_UNZIPPED_MB,
    MB,
    UNZIPPED_LIMIT_MB,
    Asset,
    function_sizes,
    measure,
    package,
)


def _folder(root: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = root / name
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def test_the_hash_names_the_content_and_the_sizes_are_counted(tmp_path: Path) -> None:
    one = measure(_folder(tmp_path, "asset.one", {"a.py": b"x" * 1000, "pkg/b.py": b"y"}))
    same = measure(
        _folder(tmp_path / "other", "asset.one", {"pkg/b.py": b"y", "a.py": b"x" * 1000})
    )
    changed = measure(
        _folder(tmp_path / "third", "asset.one", {"a.py": b"x" * 999, "pkg/b.py": b"y"})
    )
    assert (one.files, one.unzipped_bytes) == (2, 1001)
    assert 0 < one.zipped_bytes < 1001 + 400  # deflated, with the zip's own headers
    assert one.sha256 == same.sha256 != changed.sha256
    assert not list(tmp_path.glob(".*.zip"))  # the scratch archive is removed


def _template(layers: list[object]) -> dict[str, object]:
    return {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "customer-etl-dev-load",
                    "Code": {"S3Key": "code.zip"},
                    "Layers": layers,
                },
            },
            "Deps": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {"Content": {"S3Key": "deps.zip"}},
            },
        }
    }


def _asset(name: str, megabytes: float) -> Asset:
    return Asset(name, 1, int(megabytes * MB), 0, "0" * 64)


def test_a_function_counts_its_code_its_layers_and_the_managed_layer() -> None:
    assets = {"asset.code": _asset("asset.code", 1), "asset.deps": _asset("asset.deps", 90)}
    managed = "arn:aws:lambda:eu-west-2:336392948345:layer:AWSSDKPandas-Python312:31"
    [size] = function_sizes(_template([managed, {"Ref": "Deps"}]), assets, "dev")
    assert size.name == "load"
    assert size.unzipped_mb == 91 + AWS_SDK_PANDAS_UNZIPPED_MB
    assert size.within_limits


def test_a_function_over_the_unzipped_limit_is_reported() -> None:
    assets = {"asset.code": _asset("asset.code", 1), "asset.deps": _asset("asset.deps", 120)}
    managed = "arn:aws:lambda:eu-west-2:336392948345:layer:AWSSDKPandas-Python312:31"
    [size] = function_sizes(_template([managed, {"Ref": "Deps"}]), assets, "dev")
    assert size.unzipped_mb > UNZIPPED_LIMIT_MB
    assert not size.within_limits


def test_package_writes_every_function_and_asset_with_its_hash(tmp_path: Path) -> None:
    # Unbundled (no pip here): the figures are the sources', but the report is the same.
    text, fits = package("staging", tmp_path / "out", bundle=False)
    recorded = json.loads((tmp_path / "out" / "package.json").read_text())
    # The dependency layer is not built without bundling, and the verdict says so.
    assert not fits
    assert len(recorded["not_built"]) == 1
    assert "not built" in text
    assert {function["name"] for function in recorded["functions"]} == set(FUNCTION_NAMES)
    assert all(len(asset["sha256"]) == 64 for asset in recorded["assets"])
    for name in FUNCTION_NAMES:
        assert f"\n{name} " in text
