"""Lambda handler of the daily retention job."""

from customer_etl.runtime.lambda_entry import retention_handler as handler

__all__ = ["handler"]
