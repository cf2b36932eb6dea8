"""The secondary-region stack of one environment (active-passive): the replica buckets the
primary replicates to. Deployed before the primary, which names its buckets."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from customer_etl.config import Config
from infra.constructs.replication import ReplicaStorage


class CustomerEtlReplicaStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.storage = ReplicaStorage(
            self, "ReplicaStorage", env_name=config.environment, retain=config.aws.retain_data
        )
