"""Lambda handler of data subject requests, invoked by operators with IAM only."""

from customer_etl.runtime.subject_lambda import handler

__all__ = ["handler"]
