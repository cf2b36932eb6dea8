"""Lambda handler of the scheduled daily and weekly period reports."""

from customer_etl.runtime.lambda_handlers import report_handler as handler

__all__ = ["handler"]
