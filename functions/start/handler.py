"""Lambda handler that starts a run for each object landed (once per object version): all it
does is pick it."""

from customer_etl.runtime.lambda_entry import start_handler as handler

__all__ = ["handler"]
