"""The warehouse network: the VPC the warehouse is reachable from, imported from the
configuration (never looked up, so that synth needs no AWS credentials), a security group
for the functions that reach the warehouse, and the VPC endpoints they need there.

The functions placed here have no route to the internet (private subnets, no NAT assumed):
everything they call is an AWS service through an endpoint, or the warehouse. Their security
group lets out only the warehouse port to the warehouse, and HTTPS to the endpoints and to
the S3 and DynamoDB gateway endpoints' prefix lists. Functions that call the internet
(enrich: postcodes.io and Companies House) stay outside the VPC.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from customer_etl.config.network import WarehouseNetworkSettings

HTTPS = 443

INTERFACE_SERVICES = {
    # Construct id -> the endpoint's service: what a warehouse function calls from inside.
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "Sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "Kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "StepFunctions": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
}
"""Logs and Monitoring for Powertools' logs and metrics, X-Ray for active tracing, Step
Functions for the run-status function's execution reads, Secrets Manager and KMS for the
secrets and the field key, SQS and SNS for quarantine notices and alerts."""

GATEWAY_SERVICES = {
    "S3": ec2.GatewayVpcEndpointAwsService.S3,
    "DynamoDb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}
"""Gateway endpoints (free, and no security group of their own): reached through the route
tables, let out by their prefix lists."""

DIALECT_PORTS = {"mssql": 1433, "postgresql": 5432}


def warehouse_port(settings: WarehouseNetworkSettings, backend: str, url_port: int | None) -> int:
    """The configured port, else the URL's, else the dialect's default."""
    if settings.warehouse_port is not None:
        return settings.warehouse_port
    if url_port is not None:
        return url_port
    try:
        return DIALECT_PORTS[backend]
    except KeyError:
        raise ValueError(
            f"aws.warehouse_network is set but the warehouse dialect {backend} has no network "
            "port: a SQLite warehouse needs no network"
        ) from None


class WarehouseNetwork(Construct):
    """`vpc`, `subnets` and `clients` (the security group of the warehouse functions)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        settings: WarehouseNetworkSettings,
        port: int,
    ) -> None:
        super().__init__(scope, construct_id)
        assert settings.vpc_id is not None
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=settings.vpc_id,
            availability_zones=list(settings.availability_zones),
            private_subnet_ids=list(settings.private_subnet_ids),
            private_subnet_route_table_ids=list(settings.private_route_table_ids),
        )
        self.subnets = ec2.SubnetSelection(subnets=self.vpc.private_subnets)
        self.port = port

        # Nothing out but the rules below (CDK's default lets everything out).
        self.clients, self.endpoints_group = (
            ec2.SecurityGroup(
                self,
                group_id,
                vpc=self.vpc,
                description=f"customer-etl {env_name}: {what}",
                allow_all_outbound=False,
            )
            for group_id, what in (
                ("WarehouseClients", "functions that reach the warehouse"),
                ("Endpoints", "VPC endpoints of the warehouse functions"),
            )
        )
        warehouse: ec2.IPeer
        if settings.warehouse_security_group_id is not None:
            warehouse_group = ec2.SecurityGroup.from_security_group_id(
                self, "Warehouse", settings.warehouse_security_group_id, allow_all_outbound=False
            )
            # The warehouse's side of the rule, made (and removed) with this stack: the
            # database accepts the warehouse functions on its port, and nothing else new.
            warehouse_group.add_ingress_rule(
                self.clients, ec2.Port.tcp(port), f"customer-etl {env_name} functions"
            )
            warehouse = warehouse_group
        else:
            assert settings.warehouse_cidr is not None
            warehouse = ec2.Peer.ipv4(settings.warehouse_cidr)
        self.clients.add_egress_rule(
            warehouse, ec2.Port.tcp(port), "the warehouse, on its port only"
        )
        self.clients.add_egress_rule(
            self.endpoints_group, ec2.Port.tcp(HTTPS), "AWS services, through the endpoints"
        )
        self.endpoints_group.add_ingress_rule(
            self.clients, ec2.Port.tcp(HTTPS), "the warehouse functions"
        )
        for prefix_list, service in (
            (settings.s3_prefix_list_id, "S3"),
            (settings.dynamodb_prefix_list_id, "DynamoDB"),
        ):
            assert prefix_list is not None
            self.clients.add_egress_rule(
                ec2.Peer.prefix_list(prefix_list),
                ec2.Port.tcp(HTTPS),
                f"{service}, through its gateway endpoint",
            )

        self.interface_endpoints = {
            construct_id: self.vpc.add_interface_endpoint(
                construct_id,
                service=service,
                subnets=self.subnets,
                security_groups=[self.endpoints_group],
                private_dns_enabled=True,
                open=False,
            )
            for construct_id, service in INTERFACE_SERVICES.items()
        }
        self.gateway_endpoints = {
            construct_id: self.vpc.add_gateway_endpoint(
                construct_id, service=service, subnets=[self.subnets]
            )
            for construct_id, service in GATEWAY_SERVICES.items()
        }
