"""Lambda handler of the scheduled health check: all it does is pick it."""

from customer_etl.runtime.lambda_entry import health_handler as handler

__all__ = ["handler"]
