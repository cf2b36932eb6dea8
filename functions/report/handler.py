"""Lambda handler of the scheduled daily and weekly period reports."""

from customer_etl.runtime.lambda_entry import report_handler as handler

__all__ = ["handler"]
