"""The customer-etl stack of one environment: it composes the constructs and nothing else."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Stack
from constructs import Construct
from sqlalchemy.engine import make_url

from customer_etl.config import Config
from infra.constructs.alerting import Alerting
from infra.constructs.encryption import Encryption
from infra.constructs.enrichment_state import EnrichmentState
from infra.constructs.functions import RUNTIME, Functions
from infra.constructs.log_queries import LogQueries
from infra.constructs.monitoring import Monitoring
from infra.constructs.network import WarehouseNetwork, warehouse_port
from infra.constructs.odbc_layer import OdbcDriverLayer
from infra.constructs.orchestration import Orchestration
from infra.constructs.quarantine import Quarantine
from infra.constructs.replication import Replication
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
        storage = Storage(self, "Storage", key=key, retain=retain, retention=config.retention)
        self.replication = (
            Replication(
                self,
                "Replication",
                env_name=env_name,
                region=config.aws.secondary_region,
                key=key,
                sources={"landing": storage.landing, "checkpoints": storage.checkpoints},
            )
            if config.aws.secondary_region
            else None
        )
        quarantine = Quarantine(self, "Quarantine", env_name=env_name, key=key, retain=retain)
        alerting = Alerting(
            self, "Alerting", env_name=env_name, key=key, email_to=config.alerts.email.to
        )
        enrichment_state = EnrichmentState(
            self, "EnrichmentState", env_name=env_name, key=key, retain=retain
        )
        secrets = Secrets(self, "Secrets", config=config, key=key, retain=retain)
        network = warehouse_network(self, config)
        odbc = self._odbc_layer(config)
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
            network=network,
            odbc=odbc,
        )
        orchestration = Orchestration(
            self,
            "Orchestration",
            env_name=env_name,
            key=key,
            stages=functions.stages,
            start=functions.start,
            start_target=functions.live["start"],
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
            health=functions.live["health"],
            retention=functions.live["retention"],
            report=functions.live["report"],
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
            functions=functions.by_name,
            quarantine=quarantine.queue,
            quarantine_dead_letters=quarantine.dead_letters,
            log_groups=[function.log_group for function in functions.by_name.values()],
        )
        log_queries = LogQueries(
            self,
            "LogQueries",
            env_name=env_name,
            log_groups=[function.log_group for function in functions.by_name.values()],
        )

        self.encryption = encryption
        self.storage = storage
        self.quarantine = quarantine
        self.alerting = alerting
        self.enrichment_state = enrichment_state
        self.secrets = secrets
        self.network = network
        self.odbc = odbc
        self.functions = functions
        self.orchestration = orchestration
        self.schedules = schedules
        self.monitoring = monitoring
        self.log_queries = log_queries

    def _odbc_layer(self, config: Config) -> OdbcDriverLayer | None:
        """The ODBC layer for a SQL Server warehouse whose driver's licence is accepted; a
        warning on the stack for one whose licence is not (its load cannot connect)."""
        if make_url(config.warehouse.url).get_backend_name() != "mssql":
            return None
        if not config.aws.accept_microsoft_odbc_licence:
            Annotations.of(self).add_warning_v2(
                "customer-etl:no-odbc-driver",
                "the warehouse is SQL Server but aws.accept_microsoft_odbc_licence is false: "
                "no ODBC layer is built, and the warehouse functions cannot connect "
                "(docs/deployment.md, SQL Server)",
            )
            return None
        return OdbcDriverLayer(self, "OdbcDriver", runtime=RUNTIME)


def warehouse_network(scope: Construct, config: Config) -> WarehouseNetwork | None:
    """The warehouse network the configuration names, or None to stay outside any VPC."""
    settings = config.aws.warehouse_network
    if not settings.enabled:
        return None
    url = make_url(config.warehouse.url)
    return WarehouseNetwork(
        scope,
        "Network",
        env_name=config.environment,
        settings=settings,
        port=warehouse_port(settings, url.get_backend_name(), url.port),
    )
