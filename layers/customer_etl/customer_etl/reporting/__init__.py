"""Operator reports: one HTML page per run, and daily or weekly reports of the runs.

Self-contained HTML (inline CSS and SVG charts, no script, no network) built from run
manifests and `etl_runs` rows: counts, reason codes, timings and error classes, never a
record's values. docs/reports.md describes what they show.

May import: `run`, `adapters`, `stages` and the bands below them; never `runtime` or `health`.
"""
