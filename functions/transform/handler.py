"""Lambda handler of the transform stage: all it does is name its stage."""

from customer_etl.runtime.lambda_entry import stage_handler

handler = stage_handler("transform")
