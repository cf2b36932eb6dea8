"""Built-in reference data that the pipeline can use without calling an external service,
and the sample generator that draws on it.

May import: `core`.
"""
