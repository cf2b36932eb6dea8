"""A run: the one place a stage runs over its chunks (`pipeline`), the stage settings of a
configuration, the checkpoint schemas, the run's summary and `etl_runs` row, the quality gate
that stops a run, the run-level metrics, how a failed run ends, and the retention job.

May import: `alerting`, `adapters`, `stages` and the bands below them; never `runtime`.
"""
