"""Lambda handler of the state machine's execution status events (failed, timed out,
aborted, or a redriven execution's success): all it does is pick it."""

from customer_etl.runtime.lambda_entry import run_status_handler as handler

__all__ = ["handler"]
