"""Alembic migrations of the warehouse schema, shipped inside the package so that the Lambda
layer and a plain `pip install` carry them. Applied by `customer-etl db upgrade`.

May import: `adapters.warehouse` (the tables) and below. Nothing imports it: Alembic loads it.
"""
