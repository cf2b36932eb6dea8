"""The stage functions, the start function that turns a landed object into one run, the
run-status function that hears the state machine's execution status events, the retention,
health and report functions and the layers they share (their schedules are in
schedules.py)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
    Size,
    Stack,
)
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from customer_etl.config import Config
from customer_etl.config.encryption import KMS_KEY_VARIABLE
from customer_etl.health.keys import PROBE_CONTEXT
from customer_etl.observability import metric_names
from customer_etl.privacy.envelope import data_key_context
from customer_etl.run.failure import MANIFEST_DOCUMENT
from infra.constructs import access, odbc_layer
from infra.constructs.network import WarehouseNetwork
from infra.constructs.odbc_layer import OdbcDriverLayer
from infra.constructs.secrets import Secrets
from infra.nag import acknowledge, acknowledge_wildcard_resource

REPO = Path(__file__).resolve().parents[2]
LAYERS_DIR = REPO / "layers"
REQUIREMENTS = LAYERS_DIR / "dependencies" / "requirements.txt"
PACKAGE_DIR = LAYERS_DIR / "customer_etl" / "customer_etl"
CONFIG_DIR = REPO / "config"
FUNCTIONS_DIR = REPO / "functions"

STAGES = ("extract", "transform", "enrich", "load")
"""The functions the state machine calls, in pipeline order."""
PIPELINE_FUNCTIONS = (*STAGES, "retention")
"""The functions that move or delete customer data: each reads and writes checkpoints."""
RUN_STATUS = "run_status"
"""The function of the execution status events: a failed run's alert and row, a recovery's
notice."""
START = "start"
"""The function that starts one execution per landed object (its name is the run id)."""
SUBJECT_REQUEST = "subject_request"
"""Data subject requests for operators (runtime/subject_lambda.py): invoked with IAM only,
no function URL and no trigger."""
FUNCTION_NAMES = (*PIPELINE_FUNCTIONS, RUN_STATUS, START, "health", "report", SUBJECT_REQUEST)
WAREHOUSE_FUNCTIONS = ("load", "retention", RUN_STATUS, "health", "report", SUBJECT_REQUEST)
"""The functions that connect to the warehouse: inside the warehouse network when there is
one (network.py). The others (extract, transform, enrich, start) stay outside any VPC:
enrich must reach the public enrichment APIs, and none of them needs the warehouse."""
LINEAGE_FUNCTIONS = (*STAGES, RUN_STATUS)
"""The functions that send the run's lineage events (docs/lineage.md)."""

SMALL_FUNCTIONS: Mapping[str, tuple[int, int]] = {
    # Memory (MB) and timeout (s) of the functions that handle no rows: enough to import the
    # package (pandas included); the stage functions take theirs from config.
    "health": (512, 60),
    "report": (1024, 300),
    # Room for a slow warehouse connection after the alert has gone (run/failure.py).
    RUN_STATUS: (512, 120),
    # One StartExecution call.
    START: (512, 30),
    # A person's rows and one decrypt per data key; an erasure is a few statements.
    SUBJECT_REQUEST: (1024, 120),
}

FIELD_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
"""Making a run's data key and unwrapping a stored one. No function re-wraps data keys
(kms:ReEncrypt*): `customer-etl keys rotate` is an operator's command, run with the
operator's own credentials, and KMS rotates the key material itself."""

ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
"""What Lambda does with the function's role to place it in the warehouse network."""

CHECKPOINT_PREFIXES = ("runs/*", "quarantine/*")
"""Where the pipeline functions read and write in the checkpoint bucket: the checkpoints and
documents of runs (adapters/aws.py S3CheckpointStore) and the quarantined rows."""

CACHE_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem")
"""The answer cache, read and written in batches (adapters/dynamodb_state.py)."""
BREAKER_READ_ACTIONS = ("dynamodb:GetItem",)
BREAKER_ACTIONS = (*BREAKER_READ_ACTIONS, "dynamodb:UpdateItem")
"""A breaker's state, read consistently and changed by conditional updates."""

HEALTH_PROBE_PREFIX = "health/"
"""Where the health check puts and deletes its probe object in the checkpoint bucket
(health/object_store.py)."""

RUNTIME = lambda_.Runtime.PYTHON_3_12
"""3.12 because the AWS SDK for pandas layer and the pip platform tags below must match it."""
PYTHON_VERSION = "3.12"

AWS_SDK_PANDAS_ACCOUNT = "336392948345"
AWS_SDK_PANDAS_LAYER_VERSIONS: Mapping[str, int] = {
    # Version of the managed layer `AWSSDKPandas-Python312` (x86_64) per region. Versions
    # differ between regions; the table is at
    # https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html. Published versions stay
    # available, so moving to a newer one is a deliberate change, tested in dev first.
    "eu-west-2": 31,
}

# fmt: off
PIP_PLATFORM_ARGS = (
    # Wheels for Lambda's Amazon Linux 2023 x86_64, whatever machine runs the synth.
    "--platform", "manylinux_2_28_x86_64",
    "--platform", "manylinux2014_x86_64",
    "--implementation", "cp",
    "--python-version", PYTHON_VERSION,
    "--only-binary=:all:",
)
# fmt: on

PRUNED_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath")
"""Pulled in by aws-xray-sdk, but the Lambda runtime already has them: dropping them keeps the
layer well under Lambda's 250 MB unzipped limit beside the pandas layer."""

EPHEMERAL_STORAGE = Size.mebibytes(2048)
"""Extract downloads the CSV to /tmp before reading it in chunks; 512 MB is Lambda's default."""

ASYNC_FAILURES: Mapping[str, str] = {
    # Why each function invoked asynchronously needs no dead-letter queue of its own.
    START: "Its EventBridge target retries and keeps undelivered events in the events "
    "dead-letter queue (orchestration.py).",
    RUN_STATUS: "Its EventBridge target retries and keeps undelivered events in the events "
    "dead-letter queue (orchestration.py).",
    "retention": "Run daily by a rule that retries twice; the next day's run does the same "
    "work, and the errors alarm tells operators.",
    "health": "Run every five minutes by EventBridge Scheduler; a missed check is what the "
    "health alarm (missing data breaching) reports.",
    "report": "Run by EventBridge Scheduler with retries; a failed report raises the "
    "report-failed alarm and is invoked again by hand (docs/reports.md).",
    SUBJECT_REQUEST: "Invoked synchronously by an operator with IAM: a failure is the "
    "operator's response, and the request's row in subject_requests stays open.",
}

LIVE_ALIAS = "live"
"""The alias every caller invokes; moving it to an earlier version rolls a function back."""


class Functions(Construct):
    """Eight functions (four stages, run-failed, retention, health, report) on one dependency
    layer plus the pandas layer."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        key: kms.IKey,
        field_key: kms.IKey,
        landing: s3.IBucket,
        checkpoints: s3.IBucket,
        reports: s3.IBucket,
        quarantine: sqs.IQueue,
        alerts: sns.ITopic,
        enrichment_cache: dynamodb.ITable,
        circuit_breakers: dynamodb.ITable,
        secrets: Secrets,
        network: WarehouseNetwork | None = None,
        odbc: OdbcDriverLayer | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env_name = config.environment
        region = Stack.of(self).region
        retain = config.aws.retain_data

        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="customer-etl: the customer_etl package, its dependencies and config/",
            code=dependency_layer_code(),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
        )
        self.pandas = lambda_.LayerVersion.from_layer_version_arn(
            self, "AwsSdkPandas", aws_sdk_pandas_layer_arn(region)
        )

        environment = {
            "CUSTOMER_ETL_ENV": env_name,
            # The dependency layer puts config/ at /opt/config (layers unpack under /opt).
            "CUSTOMER_ETL_CONFIG_DIR": "/opt/config",
            "CUSTOMER_ETL__AWS__LANDING_BUCKET": landing.bucket_name,
            "CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET": checkpoints.bucket_name,
            "CUSTOMER_ETL__AWS__QUARANTINE_QUEUE_URL": quarantine.queue_url,
            "CUSTOMER_ETL__AWS__ALERT_TOPIC_ARN": alerts.topic_arn,
            "CUSTOMER_ETL__AWS__ENRICHMENT_CACHE_TABLE": enrichment_cache.table_name,
            "CUSTOMER_ETL__AWS__CIRCUIT_BREAKER_TABLE": circuit_breakers.table_name,
            "CUSTOMER_ETL__AWS__REPORTS_BUCKET": reports.bucket_name,
            # The field key's ARN (no secret) in one environment shared by every function;
            # only load and health are granted its use, below.
            KMS_KEY_VARIABLE: field_key.key_arn,
            "POWERTOOLS_SERVICE_NAME": metric_names.SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": metric_names.NAMESPACE,
        }

        self.by_name: dict[str, lambda_.Function] = {}
        self.live: dict[str, lambda_.Alias] = {}
        """Each function's `live` alias: what every caller (state machine, rules,
        schedules) invokes, so that a release is rolled back by pointing the alias at the
        previous version (docs/deployment.md, Rolling back)."""
        for name in FUNCTION_NAMES:
            self.by_name[name] = self._function(
                name,
                env_name=env_name,
                config=config,
                key=key,
                environment=environment,
                retain=retain,
                network=network if name in WAREHOUSE_FUNCTIONS else None,
                odbc=odbc if name in WAREHOUSE_FUNCTIONS else None,
            )

        # Grants, least privilege per function: the actions its adapters call, on the
        # resources it calls them on (access.py). Every pipeline function reads and writes
        # the checkpoints of runs and the quarantined rows (never deletes them: a rerun
        # writes a checkpoint again), and may raise an alert.
        key_services: dict[str, set[str]] = {name: set() for name in FUNCTION_NAMES}
        for name in PIPELINE_FUNCTIONS:
            function = self.by_name[name]
            access.grant_objects(function, checkpoints, CHECKPOINT_PREFIXES, read=True, write=True)
            access.grant_list(function, checkpoints)
            access.grant_publish(function, alerts)
            key_services[name] |= {"s3", "sns"}
        extract = self.by_name["extract"]
        access.grant_objects(extract, landing, ["*"], read=True)
        access.grant_list(extract, landing)
        for name in ("transform", "load"):
            access.grant_send(self.by_name[name], quarantine)
            key_services[name].add("sqs")
        # Masking for non-production environments: transform masks, and is the only stage
        # function that reads the masking key (runtime/lambda_handlers.py).
        masking = config.privacy.masking
        if masking.enabled:
            secrets.grant_read("MaskingKey", [self.by_name["transform"]])
        # Field-level encryption: load seals the personal-data columns under one data key
        # per run, only under the pipeline's encryption context (privacy/envelope.py), and
        # needs the blind-index secret.
        run_context = data_key_context("")
        access.grant_field_key(
            self.by_name["load"],
            field_key,
            FIELD_KEY_ACTIONS,
            {name: value for name, value in run_context.items() if value},
            context_keys=list(run_context),
        )
        # Subject requests find a person by blind index, and unwrap (never make) the data
        # keys of the runs that sealed their record, for an access export: Decrypt only,
        # under the pipeline's context. No bucket, queue or topic: the warehouse alone.
        subject = self.by_name[SUBJECT_REQUEST]
        access.grant_field_key(
            subject,
            field_key,
            ("kms:Decrypt",),
            {name: value for name, value in run_context.items() if value},
            context_keys=list(run_context),
        )
        secrets.grant_read("BlindIndexKey", [self.by_name["load"], subject])

        # Health probes what a run needs: the warehouse, a put and delete under health/ in
        # the checkpoint bucket, a data-key round trip, the APIs and their breaker states.
        # Report reads the run history, writes under the reports prefix and announces the
        # report on the topic. Neither reads customer rows, so neither gets the checkpoints'
        # objects or the quarantine queue.
        health = self.by_name["health"]
        report = self.by_name["report"]
        access.grant_objects(
            health, checkpoints, [f"{HEALTH_PROBE_PREFIX}*"], write=True, delete=True
        )
        access.grant_table(health, circuit_breakers, BREAKER_READ_ACTIONS)
        key_services["health"] |= {"s3", "dynamodb"}
        # Only under the probe's encryption context: the check can make and open its own
        # throwaway keys, never unwrap the data key of a run.
        access.grant_field_key(health, field_key, FIELD_KEY_ACTIONS, PROBE_CONTEXT)
        access.grant_objects(report, reports, [f"{config.aws.reports_prefix}*"], write=True)
        access.grant_publish(report, alerts)
        key_services["report"] |= {"s3", "sns"}
        # Run-status sends a failed run's alert (or a recovery's notice), writes its
        # `etl_runs` row and its `run_failed` message, and reads the run's last manifest:
        # the topic and the queue, the warehouse, and the manifests only: no rows, no field
        # key.
        run_status = self.by_name[RUN_STATUS]
        access.grant_publish(run_status, alerts)
        access.grant_send(run_status, quarantine)
        access.grant_objects(run_status, checkpoints, [f"runs/*/{MANIFEST_DOCUMENT}"], read=True)
        access.grant_list(run_status, checkpoints)
        key_services[RUN_STATUS] |= {"s3", "sns", "sqs"}
        secrets.grant_read("Warehouse", [self.by_name[name] for name in WAREHOUSE_FUNCTIONS])
        # Only enrich talks to the enrichment APIs: it alone writes their state; health
        # reads the breaker states and asks each API once with its key.
        enrich = self.by_name["enrich"]
        access.grant_table(enrich, enrichment_cache, CACHE_ACTIONS)
        access.grant_table(enrich, circuit_breakers, BREAKER_ACTIONS)
        key_services["enrich"].add("dynamodb")
        secrets.grant_read("CompaniesHouseKey", [enrich, health])
        # The functions that send lineage events (docs/lineage.md) read its consumer's key,
        # or post to the DataZone domain, and nothing else of it.
        senders = [self.by_name[name] for name in LINEAGE_FUNCTIONS]
        secrets.grant_read("LineageApiKey", senders)
        if config.lineage.transport == "datazone":
            domain = Stack.of(self).format_arn(
                service="datazone",
                resource="domain",
                resource_name=config.lineage.datazone_domain_id,
            )
            for sender in senders:
                sender.add_to_role_policy(
                    iam.PolicyStatement(actions=["datazone:PostLineageEvent"], resources=[domain])
                )
        # The storage key only through the services each function uses; start uses none.
        for name, services in key_services.items():
            if services:
                access.grant_storage_key(self.by_name[name], key, services)

        for name, function in self.by_name.items():
            # A version per deployment whose code or configuration changed (kept on stack
            # updates, so an earlier one is there to roll back to), and the alias on it.
            self.live[name] = lambda_.Alias(
                self,
                f"{function.node.id}Live",
                alias_name=LIVE_ALIAS,
                version=function.current_version,
                description=f"customer-etl {env_name} {name}: the version callers invoke",
            )

        self._acknowledge_findings(
            landing=landing, checkpoints=checkpoints, reports=reports, config=config
        )

    @property
    def stages(self) -> dict[str, lambda_.IFunction]:
        """The `live` aliases of the four stage functions, which the state machine calls."""
        return {name: self.live[name] for name in STAGES}

    @property
    def run_status(self) -> lambda_.IFunction:
        """The `live` alias of the function of the state machine's execution status events."""
        return self.live[RUN_STATUS]

    @property
    def start(self) -> lambda_.Function:
        """The target of the landing bucket's "Object Created" rule."""
        return self.by_name[START]

    def _function(
        self,
        name: str,
        *,
        env_name: str,
        config: Config,
        key: kms.IKey,
        environment: Mapping[str, str],
        retain: bool,
        network: WarehouseNetwork | None,
        odbc: OdbcDriverLayer | None,
    ) -> lambda_.Function:
        construct_id = "".join(part.capitalize() for part in name.split("_"))
        memory_mb, timeout_seconds = SMALL_FUNCTIONS.get(
            name, (config.aws.lambda_memory_mb, config.aws.lambda_timeout_seconds)
        )
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_YEAR if retain else logs.RetentionDays.ONE_MONTH,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        # An explicit role without the AWSLambdaBasicExecutionRole managed policy: the
        # function only ever writes to its own log group, so it gets only that.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"customer-etl {env_name} {name} function",
        )
        log_group.grant_write(role)
        if network:
            # What Lambda needs to attach the function to the subnets (the managed policy
            # AWSLambdaVPCAccessExecutionRole, inline): EC2 has no resource-level
            # permissions for the Describe calls, and the interfaces' ids are made by Lambda.
            role.add_to_policy(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
        function = lambda_.Function(
            self,
            construct_id,
            function_name=f"customer-etl-{env_name}-{name}",
            description=f"customer-etl {env_name}: {name}",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(
                str(FUNCTIONS_DIR / name), exclude=["__pycache__", "*.pyc"]
            ),
            # Layers unpack into /opt in this order, a later one overwriting an earlier one:
            # ours goes last so its versions of shared packages (typing_extensions for
            # pydantic, say) win over the pandas layer's.
            layers=[self.pandas, self.dependencies, *([odbc.layer] if odbc else [])],
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            ephemeral_storage_size=EPHEMERAL_STORAGE,
            # Versions are kept when a deployment replaces them: rollback moves the alias
            # back to one (docs/deployment.md, Rolling back).
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.RETAIN),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            role=role,
            environment={**environment, **(odbc_layer.ENVIRONMENT if odbc else {})},
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=[network.clients] if network else None,
        )
        if network:
            # The interfaces are made when the function is: its role's grants must exist.
            function.node.add_dependency(access.default_policy(role))
        return function

    def _acknowledge_findings(
        self, *, landing: s3.IBucket, checkpoints: s3.IBucket, reports: s3.IBucket, config: Config
    ) -> None:
        """The wildcards the grants above produce, each acknowledged on the one policy that
        holds it, with its reason."""
        runs = (
            "Checkpoint keys hold the run id and chunk number, made at run time; the grant "
            "reads and writes (never deletes) under runs/ or quarantine/ of this one bucket."
        )
        wildcards: dict[str, list[tuple[str, str]]] = {
            name: [(checkpoints.arn_for_objects(prefix), runs) for prefix in CHECKPOINT_PREFIXES]
            for name in PIPELINE_FUNCTIONS
        }
        wildcards["extract"].append(
            (
                landing.arn_for_objects("*"),
                "Files land under any key their sender chooses; extract only reads, in this "
                "one bucket.",
            )
        )
        wildcards["health"] = [
            (
                checkpoints.arn_for_objects(f"{HEALTH_PROBE_PREFIX}*"),
                "The health probe's object key is random per check; the grant is a put and a "
                "delete under health/ of this one bucket.",
            )
        ]
        wildcards[RUN_STATUS] = [
            (
                checkpoints.arn_for_objects(f"runs/*/{MANIFEST_DOCUMENT}"),
                "The run-status function reads each run's last manifest (ids and counts, never "
                "rows), under the run's own prefix; run ids are made at run time.",
            )
        ]
        wildcards["report"] = [
            (
                reports.arn_for_objects(f"{config.aws.reports_prefix}*"),
                "Report keys name their period and date, unknown at deploy time; the grant "
                "stays under the reports prefix of this one bucket.",
            )
        ]
        for name, function in self.by_name.items():
            assert function.role is not None
            policy = access.default_policy(function.role)
            for resource, reason in wildcards.get(name, []):
                acknowledge_wildcard_resource(policy, resource, reason)
            in_vpc = function.is_bound_to_vpc
            acknowledge_wildcard_resource(
                policy,
                "*",
                "X-Ray's PutTraceSegments and PutTelemetryRecords (active tracing) have no "
                "resource-level permissions"
                + (
                    "; nor have EC2's network-interface actions, which Lambda takes with this "
                    "role to place the function in the warehouse subnets."
                    if in_vpc
                    else "."
                ),
            )
            pinned = (
                "Pinned to Python 3.12: the AWS SDK for pandas layer and the dependency "
                "layer's wheels are built for it. Move all three together."
            )
            acknowledge(function, "AwsSolutions-L1", pinned)
            acknowledge(function, "Serverless-LambdaLatestVersion", pinned)
            acknowledge(
                function,
                "Serverless-LambdaDLQ",
                ASYNC_FAILURES.get(
                    name,
                    "Invoked synchronously by the state machine, which retries and records a "
                    "failed invocation itself: no asynchronous event to keep.",
                ),
            )


def aws_sdk_pandas_layer_arn(region: str) -> str:
    """The ARN of the managed AWS SDK for pandas layer (pandas, pyarrow, numpy) in `region`."""
    try:
        version = AWS_SDK_PANDAS_LAYER_VERSIONS[region]
    except KeyError:
        known = ", ".join(sorted(AWS_SDK_PANDAS_LAYER_VERSIONS))
        raise ValueError(
            f"no AWSSDKPandas-Python312 layer version known for region {region} (known: "
            f"{known}); add it to AWS_SDK_PANDAS_LAYER_VERSIONS in infra/constructs/functions.py"
        ) from None
    return (
        f"arn:aws:lambda:{region}:{AWS_SDK_PANDAS_ACCOUNT}:layer:AWSSDKPandas-Python312:{version}"
    )


def dependency_layer_code() -> lambda_.AssetCode:
    """The dependency layer, built by pip on this machine (no Docker).

    The Docker image is only the fallback CDK requires in the options; local bundling
    always answers first. The asset hash covers every input of the build, so a change to
    the package, the requirements or a config file rebuilds the layer and nothing else does.
    """
    return lambda_.Code.from_asset(
        str(LAYERS_DIR),
        asset_hash=_fingerprint(),
        exclude=["**/__pycache__", "**/*.pyc", "*.egg-info"],
        bundling=BundlingOptions(
            image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{PYTHON_VERSION}"),
            local=PipLayerBundling(),
        ),
    )


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Builds the layer with pip for Lambda's platform, whatever platform runs the synth."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        out = Path(output_dir)
        site = out / "python"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--target",
            str(site),
            *PIP_PLATFORM_ARGS,
            "--disable-pip-version-check",
            "--quiet",
            "-r",
            str(REQUIREMENTS),
        ]
        # A failed pip must stop the synth with pip's message, not fall back to Docker.
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"building the dependency layer failed: {' '.join(command)}\n{result.stderr}"
            )
        _prune(site)
        shutil.copytree(
            PACKAGE_DIR,
            site / "customer_etl",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
        shutil.copytree(
            CONFIG_DIR, out / "config", ignore=shutil.ignore_patterns("*~"), dirs_exist_ok=True
        )
        return True


def _prune(site: Path) -> None:
    for distribution in PRUNED_DISTRIBUTIONS:
        for path in [site / distribution, *site.glob(f"{distribution}-*.dist-info")]:
            shutil.rmtree(path, ignore_errors=True)
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(" ".join(PIP_PLATFORM_ARGS + PRUNED_DISTRIBUTIONS).encode())
    inputs = [REQUIREMENTS, *_files(PACKAGE_DIR), *_files(CONFIG_DIR)]
    for path in inputs:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )
