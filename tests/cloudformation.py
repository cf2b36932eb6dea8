"""Reading synthesised CloudFormation in the infrastructure tests."""

from __future__ import annotations

from typing import Any


def flatten(value: Any) -> str:
    """A CloudFormation value as one string, references written as <LogicalId> or
    <LogicalId.Attr>, so that tests can compare what a resource points at."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(flatten(part) for part in parts)
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Ref" in value:
        return f"<{value['Ref']}>"
    raise AssertionError(f"unexpected CloudFormation value {value!r}")
