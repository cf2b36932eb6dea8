"""Reading synthesised CloudFormation in the infrastructure tests.

`flatten` lives with the dashboard summary (infra/dashboard_summary.py), which reads the same
template for the operator documents; the tests use that one reading too.
"""

from __future__ import annotations

from infra.dashboard_summary import flatten

__all__ = ["flatten"]
