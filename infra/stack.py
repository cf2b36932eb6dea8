"""The customer-etl stack of one environment: it composes the constructs and nothing else."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from customer_etl.config import Config
from infra.constructs.alerting import Alerting
from infra.constructs.encryption import Encryption
from infra.constructs.enrichment_state import EnrichmentState
from infra.constructs.functions import Functions
from infra.constructs.monitoring import Monitoring
from infra.constructs.orchestration import Orchestration
from infra.constructs.quarantine import Quarantine
from infra.constructs.schedules import Schedules
from infra.constructs.secrets import Secrets
from infra.constructs.storage import Storage


class CustomerEtlStack(Stack):
    """Everything one environment needs in the cloud, from `config/<env>.yaml`."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        env_name = config.environment
        retain = config.aws.retain_data

        encryption = Encryption(self, "Encryption", env_name=env_name, retain=retain)
        key = encryption.key
        storage = Storage(self, "Storage", key=key, retain=retain)
        quarantine = Quarantine(self, "Quarantine", env_name=env_name, key=key, retain=retain)
        alerting = Alerting(
            self, "Alerting", env_name=env_name, key=key, email_to=config.alerts.email.to
        )
        enrichment_state = EnrichmentState(
            self, "EnrichmentState", env_name=env_name, key=key, retain=retain
        )
        secrets = Secrets(self, "Secrets", config=config, key=key, retain=retain)
        functions = Functions(
            self,
            "Functions",
            config=config,
            key=key,
            field_key=encryption.field_key,
            landing=storage.landing,
            checkpoints=storage.checkpoints,
            reports=storage.reports,
            quarantine=quarantine.queue,
            alerts=alerting.topic,
            enrichment_cache=enrichment_state.cache,
            circuit_breakers=enrichment_state.breakers,
            secrets=secrets,
        )
        orchestration = Orchestration(
            self,
            "Orchestration",
            env_name=env_name,
            key=key,
            stages=functions.stages,
            start=functions.start,
            run_status=functions.run_status,
            landing=storage.landing,
            checkpoints=storage.checkpoints,
            max_concurrency=config.aws.max_concurrency,
            lambda_timeout_seconds=config.aws.lambda_timeout_seconds,
            retain=retain,
        )
        failed_executions = alerting.watch(orchestration.state_machine)
        schedules = Schedules(
            self,
            "Schedules",
            env_name=env_name,
            health=functions.by_name["health"],
            report=functions.by_name["report"],
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            env_name=env_name,
            settings=config.aws.alarms,
            quality=config.quality,
            topic=alerting.topic,
            state_machine=orchestration.state_machine,
            failed_executions=failed_executions,
            report=functions.by_name["report"],
            dead_letters=orchestration.dead_letters,
            event_rules=[orchestration.trigger, orchestration.status_rule],
        )

        self.encryption = encryption
        self.storage = storage
        self.quarantine = quarantine
        self.alerting = alerting
        self.enrichment_state = enrichment_state
        self.secrets = secrets
        self.functions = functions
        self.orchestration = orchestration
        self.schedules = schedules
        self.monitoring = monitoring
