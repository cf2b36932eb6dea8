"""Data quality: the rules engine, record and run scores, and the run's thresholds."""
