"""The warehouse network: the functions that reach the warehouse run in its private subnets
behind a security group that lets out only the warehouse port and HTTPS to the endpoints;
the others stay outside any VPC."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from aws_cdk.assertions import Template
from pydantic import ValidationError

from customer_etl.config.network import WarehouseNetworkSettings
from infra.constructs.functions import FUNCTION_NAMES, WAREHOUSE_FUNCTIONS
from infra.constructs.network import GATEWAY_SERVICES, INTERFACE_SERVICES, warehouse_port

if TYPE_CHECKING:
    from conftest import AppFactory, Synth

PREFIX = "CUSTOMER_ETL__AWS__WAREHOUSE_NETWORK__"
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
WAREHOUSE_GROUP = "sg-0a1b2c3d4e5f60009"
S3_PREFIX_LIST = "pl-7ca54015"
DYNAMODB_PREFIX_LIST = "pl-b3a742da"


def network_environ(**warehouse: str) -> dict[str, str]:
    """Overrides naming a complete warehouse network, reaching the warehouse by `warehouse`
    (`WAREHOUSE_SECURITY_GROUP_ID` or `WAREHOUSE_CIDR`)."""
    environ = {
        f"{PREFIX}VPC_ID": "vpc-0a1b2c3d4e5f60000",
        f"{PREFIX}AVAILABILITY_ZONES": "[eu-west-2a, eu-west-2b]",
        f"{PREFIX}PRIVATE_SUBNET_IDS": f"[{', '.join(SUBNETS)}]",
        f"{PREFIX}PRIVATE_ROUTE_TABLE_IDS": "[rtb-0a1b2c3d4e5f60001, rtb-0a1b2c3d4e5f60002]",
        f"{PREFIX}S3_PREFIX_LIST_ID": S3_PREFIX_LIST,
        f"{PREFIX}DYNAMODB_PREFIX_LIST_ID": DYNAMODB_PREFIX_LIST,
    }
    environ.update({f"{PREFIX}{name}": value for name, value in warehouse.items()})
    return environ


@pytest.fixture(scope="module")
def networked(app_factory: AppFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """staging (SQL Server) in a warehouse network reached by security group; one synth."""
    _app, stack = app_factory(
        "staging",
        outdir=tmp_path_factory.mktemp("cdk-network"),
        environ=network_environ(WAREHOUSE_SECURITY_GROUP_ID=WAREHOUSE_GROUP),
    )
    # Runs cdk-nag: a finding the network adds fails here.
    template = Template.from_stack(stack).to_json()["Resources"]
    assert isinstance(template, dict)
    return template


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in resources.items() if value["Type"] == kind}


def _functions(resources: dict[str, Any], env: str) -> dict[str, dict[str, Any]]:
    return {
        function["Properties"]["FunctionName"].removeprefix(f"customer-etl-{env}-"): function
        for function in _of_type(resources, "AWS::Lambda::Function").values()
    }


def _group_id(resources: dict[str, Any], description_end: str) -> str:
    [logical_id] = [
        logical_id
        for logical_id, group in _of_type(resources, "AWS::EC2::SecurityGroup").items()
        if group["Properties"]["GroupDescription"].endswith(description_end)
    ]
    return logical_id


def _egress(resources: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """Every egress rule of `group`, inline or as its own resource."""
    ref = {"Fn::GetAtt": [group, "GroupId"]}
    inline = resources[group]["Properties"].get("SecurityGroupEgress", [])
    separate = [
        rule["Properties"]
        for rule in _of_type(resources, "AWS::EC2::SecurityGroupEgress").values()
        if rule["Properties"]["GroupId"] == ref
    ]
    return [*inline, *separate]


def test_warehouse_functions_run_in_the_private_subnets_and_the_others_outside(
    networked: dict[str, Any],
) -> None:
    clients = _group_id(networked, "functions that reach the warehouse")
    functions = _functions(networked, "staging")
    assert set(functions) == set(FUNCTION_NAMES)
    for name, function in functions.items():
        vpc = function["Properties"].get("VpcConfig")
        if name in WAREHOUSE_FUNCTIONS:
            assert vpc == {
                "SecurityGroupIds": [{"Fn::GetAtt": [clients, "GroupId"]}],
                "SubnetIds": SUBNETS,
            }, name
        else:
            # enrich calls the public APIs; extract, transform and start need no warehouse.
            assert vpc is None, name
    assert "enrich" not in WAREHOUSE_FUNCTIONS


def test_the_functions_may_connect_out_only_to_the_warehouse_port_and_the_endpoints(
    networked: dict[str, Any],
) -> None:
    clients = _group_id(networked, "functions that reach the warehouse")
    endpoints = _group_id(networked, "VPC endpoints of the warehouse functions")
    rules = _egress(networked, clients)
    described = sorted(
        json.dumps(
            [
                rule.get("DestinationSecurityGroupId")
                or rule.get("DestinationPrefixListId")
                or rule.get("CidrIp"),
                rule["IpProtocol"],
                rule["FromPort"],
                rule["ToPort"],
            ]
        )
        for rule in rules
    )
    assert described == sorted(
        json.dumps(rule)
        for rule in (
            [WAREHOUSE_GROUP, "tcp", 1433, 1433],
            [{"Fn::GetAtt": [endpoints, "GroupId"]}, "tcp", 443, 443],
            [S3_PREFIX_LIST, "tcp", 443, 443],
            [DYNAMODB_PREFIX_LIST, "tcp", 443, 443],
        )
    )
    # The warehouse's group accepts them on its port; the endpoints on HTTPS from them only.
    ingress = [
        rule["Properties"]
        for rule in _of_type(networked, "AWS::EC2::SecurityGroupIngress").values()
    ]
    assert sorted(
        (json.dumps(rule["GroupId"]), rule["FromPort"], rule["ToPort"]) for rule in ingress
    ) == sorted(
        [
            (json.dumps(WAREHOUSE_GROUP), 1433, 1433),
            (json.dumps({"Fn::GetAtt": [endpoints, "GroupId"]}), 443, 443),
        ]
    )
    source = {"Fn::GetAtt": [clients, "GroupId"]}
    assert all(rule["SourceSecurityGroupId"] == source for rule in ingress)


def test_every_service_the_functions_call_has_an_endpoint_in_the_vpc(
    networked: dict[str, Any],
) -> None:
    endpoints = _of_type(networked, "AWS::EC2::VPCEndpoint").values()
    services = {
        json.dumps(endpoint["Properties"]["ServiceName"]): endpoint["Properties"]
        for endpoint in endpoints
    }
    assert len(services) == len(INTERFACE_SERVICES) + len(GATEWAY_SERVICES)
    names = " ".join(services)
    for service in (
        "sqs",
        "sns",
        "kms",
        "secretsmanager",
        "states",
        "logs",
        "monitoring",
        "s3",
        "dynamodb",
    ):
        assert f".{service}" in names, service
    for properties in services.values():
        assert properties["VpcId"] == "vpc-0a1b2c3d4e5f60000"
        if properties.get("VpcEndpointType") == "Interface":
            assert properties["SubnetIds"] == SUBNETS
            assert properties["PrivateDnsEnabled"] is True
        else:
            assert properties["RouteTableIds"] == [
                "rtb-0a1b2c3d4e5f60001",
                "rtb-0a1b2c3d4e5f60002",
            ]


def test_warehouse_functions_may_place_themselves_in_the_subnets(
    networked: dict[str, Any],
) -> None:
    functions = _functions(networked, "staging")
    for name, function in functions.items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in _of_type(networked, "AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        creates = any(
            "ec2:CreateNetworkInterface" in statement["Action"] for statement in statements
        )
        assert creates == (name in WAREHOUSE_FUNCTIONS), name
        if name in WAREHOUSE_FUNCTIONS:
            # Created after its grants, or Lambda refuses to make the interfaces.
            assert any("DefaultPolicy" in dep for dep in function["DependsOn"]), name


def test_without_a_network_nothing_is_in_a_vpc(synth: Synth) -> None:
    assert not synth.config.aws.warehouse_network.enabled
    assert not synth.of_type("AWS::EC2::SecurityGroup")
    assert not synth.of_type("AWS::EC2::VPCEndpoint")
    for function in synth.of_type("AWS::Lambda::Function").values():
        assert "VpcConfig" not in function["Properties"]


def test_a_warehouse_reached_by_address_range_gets_its_dialect_port(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    # dev is PostgreSQL without a port in its URL: 5432.
    _app, stack = app_factory(
        "dev", outdir=tmp_path, environ=network_environ(WAREHOUSE_CIDR="10.20.0.0/16")
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    clients = _group_id(resources, "functions that reach the warehouse")
    assert {(rule.get("CidrIp"), rule["FromPort"]) for rule in _egress(resources, clients)} >= {
        ("10.20.0.0/16", 5432)
    }
    # No warehouse group to open: the only inbound rule is the endpoints' own.
    ingress = _of_type(resources, "AWS::EC2::SecurityGroupIngress").values()
    assert all(not isinstance(rule["Properties"]["GroupId"], str) for rule in ingress)


def test_warehouse_port_comes_from_config_then_url_then_dialect() -> None:
    settings = WarehouseNetworkSettings()
    assert warehouse_port(settings, "mssql", None) == 1433
    assert warehouse_port(settings, "postgresql", 6543) == 6543
    assert (
        warehouse_port(WarehouseNetworkSettings(warehouse_port=15432), "postgresql", 6543) == 15432
    )
    with pytest.raises(ValueError, match="SQLite warehouse needs no network"):
        warehouse_port(settings, "sqlite", None)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("S3_PREFIX_LIST_ID", "s3_prefix_list_id"),
        ("PRIVATE_ROUTE_TABLE_IDS", "private_route_table_ids"),
        ("AVAILABILITY_ZONES", "availability_zones"),
    ],
)
def test_an_incomplete_network_is_a_configuration_error(missing: str, message: str) -> None:
    values = _settings(network_environ(WAREHOUSE_CIDR="10.0.0.0/8"))
    del values[missing.lower()]
    with pytest.raises(ValidationError, match=message):
        WarehouseNetworkSettings.model_validate(values)


def test_a_network_needs_exactly_one_way_to_the_warehouse() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        WarehouseNetworkSettings.model_validate(_settings(network_environ()))


def _settings(environ: dict[str, str]) -> dict[str, Any]:
    """The overrides as the settings' own fields (YAML values, as the loader reads them)."""
    return {
        key.removeprefix(PREFIX).lower(): yaml.safe_load(value) for key, value in environ.items()
    }
