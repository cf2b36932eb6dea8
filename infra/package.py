"""`make package ENV=staging`: build every function and layer asset of one environment, record
its hash, and check each function's size against Lambda's limits.

    .venv/bin/python -m infra.package --env staging [--outdir cdk.out/package-staging]

Synthesises the stack with bundling on (the dependency layer is built by pip; the ODBC
layer, where the licence is accepted, by its build script), then reads the assembly: each
function's code asset and the layers it uses. Lambda counts a function's code and all its
layers against one unzipped limit; the managed AWS SDK for pandas layer is not an asset of
ours, so its size is the figure AWS publishes for it, stated as such. Writes the figures and
the SHA-256 of every asset's files to `<outdir>/package.json` and prints them; exits 1 when
a function is over a limit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MB = 1024 * 1024
UNZIPPED_LIMIT_MB = 250.0
"""Lambda: a function's code plus all its layers, unzipped."""
LAYERS_PER_FUNCTION = 5
AWS_SDK_PANDAS_UNZIPPED_MB = 150.0
"""The managed AWS SDK for pandas layer (pandas, pyarrow, numpy), unzipped: AWS's order of
magnitude for the Python 3.12 layer, not measured here (the layer is AWS's, not an asset)."""


@dataclass(frozen=True)
class Asset:
    """One directory asset of the assembly."""

    path: str
    files: int
    unzipped_bytes: int
    zipped_bytes: int
    sha256: str

    @property
    def unzipped_mb(self) -> float:
        return self.unzipped_bytes / MB


@dataclass(frozen=True)
class FunctionSize:
    name: str
    code: str
    layers: tuple[str, ...]
    managed_layers: int
    unzipped_mb: float

    @property
    def within_limits(self) -> bool:
        layer_count = len(self.layers) + self.managed_layers
        return self.unzipped_mb <= UNZIPPED_LIMIT_MB and layer_count <= LAYERS_PER_FUNCTION


def measure(directory: Path) -> Asset:
    """Files, sizes (unzipped, and zipped as CDK uploads it: deflated) and a SHA-256 over
    every file's relative path and content, in sorted order, so the hash names the content
    whatever the machine."""
    digest = hashlib.sha256()
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    unzipped = 0
    scratch = directory.parent / f".{directory.name}.size.zip"
    with zipfile.ZipFile(scratch, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            relative = path.relative_to(directory).as_posix()
            data = path.read_bytes()
            unzipped += len(data)
            digest.update(relative.encode())
            digest.update(b"\0")
            digest.update(hashlib.sha256(data).digest())
            archive.writestr(relative, data)
    zipped = scratch.stat().st_size
    scratch.unlink()
    return Asset(directory.name, len(files), unzipped, zipped, digest.hexdigest())


def function_sizes(
    template: Mapping[str, Any], assets: Mapping[str, Asset], env_name: str
) -> list[FunctionSize]:
    """Each function's code and layers, from the template: a layer or function whose code
    is an asset of ours names it by its `S3Key` (`<hash>.zip`); any other layer is managed."""
    resources = template["Resources"]

    def asset_of(code: Mapping[str, Any]) -> str:
        key = str(code["S3Key"])
        return f"asset.{key.removesuffix('.zip')}"

    layer_assets = {
        logical_id: asset_of(resource["Properties"]["Content"])
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::LayerVersion"
    }
    sizes = []
    for resource in resources.values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        code = asset_of(properties["Code"])
        ours = [
            layer_assets[layer["Ref"]]
            for layer in properties.get("Layers", [])
            if isinstance(layer, dict) and layer.get("Ref") in layer_assets
        ]
        managed = len(properties.get("Layers", [])) - len(ours)
        # An asset a synth without bundling did not stage counts as nothing: the report
        # names it as not built.
        total = sum(assets[name].unzipped_mb for name in (code, *ours) if name in assets)
        total += managed * AWS_SDK_PANDAS_UNZIPPED_MB
        name = str(properties["FunctionName"]).removeprefix(f"customer-etl-{env_name}-")
        sizes.append(FunctionSize(name, code, tuple(ours), managed, round(total, 1)))
    return sorted(sizes, key=lambda size: size.name)


def report(assets: Iterable[Asset], sizes: Iterable[FunctionSize]) -> str:
    lines = [f"{'asset':<72} {'files':>6} {'unzipped MB':>12} {'zipped MB':>10}  sha256"]
    for asset in assets:
        lines.append(
            f"{asset.path:<72} {asset.files:>6} {asset.unzipped_mb:>12.1f} "
            f"{asset.zipped_bytes / MB:>10.1f}  {asset.sha256}"
        )
    lines.append("")
    lines.append(
        f"{'function':<12} {'unzipped MB (code + layers)':>28} {'limit':>7} {'layers':>7}  verdict"
    )
    for size in sizes:
        layers = len(size.layers) + size.managed_layers
        verdict = "ok" if size.within_limits else "OVER THE LIMIT"
        lines.append(
            f"{size.name:<12} {size.unzipped_mb:>28.1f} {UNZIPPED_LIMIT_MB:>7.0f} "
            f"{layers:>7}  {verdict}"
        )
    lines.append(
        f"(the managed pandas layer is counted as {AWS_SDK_PANDAS_UNZIPPED_MB:g} MB, AWS's "
        "figure, not measured)"
    )
    return "\n".join(lines)


def package(env_name: str, outdir: Path, *, bundle: bool = True) -> tuple[str, bool]:
    """Synthesise `env_name` into `outdir`, measure it, write `package.json`; the report
    and whether every function is within the limits."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    import aws_cdk as cdk

    from infra.app import BUNDLING_STACKS_CONTEXT, REPO, build, stack_name

    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
    context["env"] = env_name
    if not bundle:
        context[BUNDLING_STACKS_CONTEXT] = []
    app = cdk.App(context=context, outdir=str(outdir))
    build(app)
    assembly = app.synth()
    directory = Path(assembly.directory)
    template = json.loads(
        (directory / f"{stack_name(env_name)}.template.json").read_text(encoding="utf-8")
    )
    assets = {
        path.name: measure(path) for path in sorted(directory.glob("asset.*")) if path.is_dir()
    }
    sizes = function_sizes(template, assets, env_name)
    unbuilt = sorted({name for size in sizes for name in (size.code, *size.layers)} - set(assets))
    (directory / "package.json").write_text(
        json.dumps(
            {
                "environment": env_name,
                "assets": [asdict(asset) for asset in assets.values()],
                "functions": [
                    {**asdict(size), "within_limits": size.within_limits} for size in sizes
                ],
                "unzipped_limit_mb": UNZIPPED_LIMIT_MB,
                "aws_sdk_pandas_unzipped_mb": AWS_SDK_PANDAS_UNZIPPED_MB,
                "not_built": unbuilt,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    text = report(assets.values(), sizes)
    if unbuilt:
        text += "\nnot built (synth without bundling; sizes leave them out): " + ", ".join(unbuilt)
    return text, not unbuilt and all(size.within_limits for size in sizes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=("dev", "staging", "prod"))
    parser.add_argument("--outdir", type=Path)
    arguments = parser.parse_args(argv)
    outdir = arguments.outdir or Path("cdk.out") / f"package-{arguments.env}"
    text, fits = package(arguments.env, outdir)
    sys.stdout.write(text + "\n")
    return 0 if fits else 1


if __name__ == "__main__":
    raise SystemExit(main())
