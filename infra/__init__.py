"""The CDK app of customer-etl: one stack per environment, one construct per concern."""
