"""Built-in reference data that the pipeline can use without calling an external service."""
