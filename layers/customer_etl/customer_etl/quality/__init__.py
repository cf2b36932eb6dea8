"""Data quality: the rules engine, record and run scores, and the run's thresholds. The gate
that acts on them (stops a run, warns) is `run.quality_gate`.

May import: `config`, `observability`, `reference` and `core`; never `privacy`.
"""
