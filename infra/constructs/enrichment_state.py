"""What the enrichment APIs' clients share across Lambda invocations: the cache of answers
and each API's circuit-breaker state, one DynamoDB table each."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.nag import acknowledge

CACHE_TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB deletes a cached answer (adapters/dynamodb_state.py)."""


class EnrichmentState(Construct):
    """The answer cache (partition key `key`, TTL on `expires_at`) and the circuit-breaker
    table (partition key `name`, one item per API), on-demand and encrypted with the
    pipeline key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, env_name: str, key: kms.IKey, retain: bool
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY

        self.cache = dynamodb.Table(
            self,
            "AnswerCache",
            table_name=f"customer-etl-{env_name}-enrichment-cache",
            partition_key=dynamodb.Attribute(name="key", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=CACHE_TTL_ATTRIBUTE,
            removal_policy=removal,
        )
        self.breakers = dynamodb.Table(
            self,
            "CircuitBreakers",
            table_name=f"customer-etl-{env_name}-circuit-breakers",
            partition_key=dynamodb.Attribute(name="name", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            removal_policy=removal,
        )
        acknowledge(
            self.cache,
            "AwsSolutions-DDB3",
            "No point-in-time recovery: the cache holds API answers that rebuild themselves "
            "(a lost cache costs API requests).",
        )
        acknowledge(
            self.breakers,
            "AwsSolutions-DDB3",
            "No point-in-time recovery: a lost breaker state starts closed, which is the "
            "state a new deployment starts in anyway.",
        )
