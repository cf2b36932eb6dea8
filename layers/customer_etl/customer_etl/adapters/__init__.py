"""Adapters: the ports (`core.ports`) implemented for the local machine, for AWS, and for the
warehouse.

May import: `quality`, `privacy`, `config`, `observability`, `reference` and `core`; never
`stages` or `alerting` (the bands beside it) or anything above.
"""
