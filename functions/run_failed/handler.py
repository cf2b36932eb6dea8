"""Lambda handler at the end of the state machine's failure path: all it does is pick it."""

from customer_etl.runtime.lambda_handlers import run_failed_handler as handler

__all__ = ["handler"]
