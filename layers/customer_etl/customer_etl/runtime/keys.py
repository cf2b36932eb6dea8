"""`customer-etl keys rotate`: wires the warehouse and the key provider of a configuration
to the rotation (`adapters.warehouse.key_rotation`) and prints what it did."""

from __future__ import annotations

import dataclasses
import json
from typing import TextIO

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.adapters.warehouse.key_rotation import RotationResult, rotate_data_keys
from customer_etl.config.model import Config
from customer_etl.runtime.factory import build_key_provider


def rotate_command(config: Config, out: TextIO, *, as_json: bool = False) -> int:
    """`customer-etl keys rotate`: prints counts and key versions, never a key; `as_json`
    prints them as a JSON object for scripts."""
    warehouse = build_warehouse(config)
    try:
        result = rotate_data_keys(warehouse, build_key_provider(config, warehouse=warehouse))
    finally:
        warehouse.dispose()
    if as_json:
        print(json.dumps(dataclasses.asdict(result), indent=2), file=out)
    else:
        print(summary(result), file=out)
    return 0


def summary(result: RotationResult) -> str:
    """One line for the operator: says "new key version" only when one was started."""
    if result.new_version:
        how = "new key version"
    elif result.rewrapped:
        how = "finished the wraps under older keys"
    else:
        how = "nothing to rewrap: every data key is already under this version"
    return (
        f"keys rotate: {result.rewrapped} data key(s) rewrapped under {result.kek_id} "
        f"version {result.kek_version} ({how})"
    )
