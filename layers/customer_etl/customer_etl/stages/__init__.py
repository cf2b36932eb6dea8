"""Stages: pure functions over one DataFrame chunk at a time, within a run-level context.

No boto3, no environment variables, no network, no files: what a stage needs from the
world comes through a port (`customer_etl.core.ports`).

May import: `quality`, `privacy`, `config`, `observability`, `reference` and `core`; never
`adapters` or `alerting` (the bands beside it) or anything above.
"""
