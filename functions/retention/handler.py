"""Lambda handler of the daily retention job."""

from customer_etl.runtime.lambda_handlers import retention_handler as handler

__all__ = ["handler"]
