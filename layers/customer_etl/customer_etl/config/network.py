"""The warehouse's network, for the CDK stack: where the functions that reach the warehouse
run, and what they may reach from there (docs/deployment.md, "Network")."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
RouteTableId = Annotated[str, StringConstraints(pattern=r"^rtb-[0-9a-f]{8,17}$")]
PrefixListId = Annotated[str, StringConstraints(pattern=r"^pl-[0-9a-f]{8,17}$")]


class WarehouseNetworkSettings(BaseModel):
    """Unset (no `vpc_id`): every function runs outside any VPC, as for a warehouse with a
    public endpoint. Set: the functions that reach the warehouse run in `private_subnet_ids`
    behind a security group that lets out only the warehouse port (and HTTPS to the VPC
    endpoints the stack adds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vpc_id: str | None = Field(
        None,
        pattern=r"^vpc-[0-9a-f]{8,17}$",
        description="The VPC the warehouse is reachable from; unset keeps every function "
        "outside any VPC.",
    )
    availability_zones: list[str] = Field(
        default_factory=list,
        description="Availability zones of `private_subnet_ids`, one per subnet, in order.",
    )
    private_subnet_ids: list[SubnetId] = Field(
        default_factory=list,
        description="Private subnets (no internet route needed) the warehouse functions and "
        "the VPC endpoints are placed in; two or more, in different zones.",
    )
    private_route_table_ids: list[RouteTableId] = Field(
        default_factory=list,
        description="Route tables of `private_subnet_ids`, one per subnet, in order: the S3 "
        "and DynamoDB gateway endpoints are added to them.",
    )
    warehouse_security_group_id: str | None = Field(
        None,
        pattern=r"^sg-[0-9a-f]{8,17}$",
        description="The warehouse's security group, in the same VPC: the functions may "
        "connect to it on the warehouse port, and the stack adds the matching inbound rule "
        "to it.",
    )
    warehouse_cidr: str | None = Field(
        None,
        pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$",
        description="The warehouse's address range (IPv4 CIDR), for a warehouse outside "
        "the VPC (on premises, through a VPN or Direct Connect), instead of a security group.",
    )
    warehouse_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="The port allowed out; unset takes the warehouse URL's port, else the "
        "dialect's (1433 for SQL Server, 5432 for PostgreSQL).",
    )
    s3_prefix_list_id: PrefixListId | None = Field(
        None,
        description="The region's AWS-managed prefix list of S3 (`aws ec2 "
        "describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws."
        "<region>.s3`): HTTPS to it is let out, through the S3 gateway endpoint.",
    )
    dynamodb_prefix_list_id: PrefixListId | None = Field(
        None,
        description="The region's AWS-managed prefix list of DynamoDB (as above, "
        "`com.amazonaws.<region>.dynamodb`): HTTPS to it is let out, through the DynamoDB "
        "gateway endpoint.",
    )

    @property
    def enabled(self) -> bool:
        return self.vpc_id is not None

    @model_validator(mode="after")
    def _complete_when_named(self) -> WarehouseNetworkSettings:
        if not self.enabled:
            return self
        problems = []
        subnets = len(self.private_subnet_ids)
        if subnets < 2:
            problems.append("name two or more private_subnet_ids")
        if len(self.availability_zones) != subnets:
            problems.append("give one availability_zones entry per private subnet")
        if len(self.private_route_table_ids) != subnets:
            problems.append("give one private_route_table_ids entry per private subnet")
        if (self.warehouse_security_group_id is None) == (self.warehouse_cidr is None):
            problems.append("set exactly one of warehouse_security_group_id and warehouse_cidr")
        if self.s3_prefix_list_id is None or self.dynamodb_prefix_list_id is None:
            problems.append("set s3_prefix_list_id and dynamodb_prefix_list_id")
        if problems:
            raise ValueError(f"aws.warehouse_network.vpc_id is set: {'; '.join(problems)}")
        return self
