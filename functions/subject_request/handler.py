"""Lambda handler of data subject requests, invoked by operators with IAM only."""

from customer_etl.runtime.lambda_entry import subject_request_handler as handler

__all__ = ["handler"]
