"""Alerts: the error classification (category, severity, escalation) and the alert texts,
rendered from templates. See docs/incident-response.md.

May import: `quality`, `privacy`, `config`, `observability`, `reference` and `core`.
"""
