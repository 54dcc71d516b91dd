"""Network layer components: the VPC with private subnets only, security groups, VPC endpoints, flow logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from shared.constants import PORTS
from shared.iam import policy_document, service_trust_policy

SECURITY_GROUP_ROLES = ("vpc_link", "backend", "lambda", "database", "endpoints")


@dataclass(frozen=True)
class RuleSpec:
    """One security group rule of the matrix."""

    group: str
    """The role of the group the rule belongs to."""
    direction: Literal["ingress", "egress"]
    """Ingress or egress."""
    port: int
    """The single TCP port allowed."""
    peer_kind: Literal["group", "vpc_cidr", "prefix_list"]
    """What the peer is: another group, the VPC's CIDR, or the S3 managed prefix list."""
    peer: str
    """The peer group's role, or "vpc" / "s3"."""
    description: str
    """Shown in the console and in audits: why the rule exists."""

    @property
    def resource_name(self) -> str:
        """A stable logical name, unique per rule."""
        return f"{self.group}-{self.direction}-{self.port}-{self.peer}".replace("_", "-")


def security_group_matrix() -> tuple[RuleSpec, ...]:
    """Every rule the architecture needs, and nothing else: no world ingress, no all-outbound egress."""
    https, app, pg = PORTS["https"], PORTS["fastapi"], PORTS["postgres"]
    rules = [
        RuleSpec("vpc_link", "egress", app, "group", "backend", "API Gateway VPC link to the FastAPI backend"),
        RuleSpec("backend", "ingress", app, "group", "vpc_link", "FastAPI from the API Gateway VPC link only"),
        RuleSpec("database", "ingress", pg, "group", "backend", "PostgreSQL from the backend instance"),
        RuleSpec("database", "ingress", pg, "group", "lambda", "PostgreSQL from the processor Lambda"),
        RuleSpec("endpoints", "ingress", https, "group", "backend", "HTTPS to interface endpoints from the backend"),
        RuleSpec("endpoints", "ingress", https, "group", "lambda", "HTTPS to interface endpoints from the Lambda"),
    ]
    for workload in ("backend", "lambda"):
        rules += [
            RuleSpec(workload, "egress", https, "vpc_cidr", "vpc", "HTTPS to interface endpoints in the VPC"),
            RuleSpec(workload, "egress", https, "prefix_list", "s3", "HTTPS to S3 via the gateway endpoint"),
            RuleSpec(workload, "egress", pg, "group", "database", "PostgreSQL to the database"),
        ]
    return tuple(rules)


@dataclass(frozen=True)
class VpcArgs:
    """Inputs of :class:`Vpc`."""

    name_prefix: str
    """Base of the children's logical names: ``{prefix}-vpc``, ``{prefix}-private-a``."""
    cidr_block: str
    """The VPC's IPv4 block."""
    subnet_cidrs: Mapping[str, Sequence[str]]
    """Per role (private, lambda, data), one CIDR per AZ in AZ order; extra CIDRs are left unused."""
    workload_az_count: int
    """How many AZs the private and lambda subnets span; the data subnets always span two."""
    availability_zones: Sequence[str]
    """AZ names from the provider, in order; at least two."""
    account_id: str
    """Our account, for the flow-log role's confused-deputy guard."""
    flow_log_group_name: str
    """The flow logs' CloudWatch log group."""
    log_retention_days: int
    """Retention of the flow logs."""


class Vpc(pulumi.ComponentResource):
    """A VPC with private subnets only: no public subnet, internet gateway or NAT, and flow logs on."""

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:network:Vpc", name, None, opts)
        prefix = args.name_prefix
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = aws.ec2.Vpc(
            f"{prefix}-vpc",
            cidr_block=args.cidr_block,
            enable_dns_support=True,  # both are required for interface endpoints' private DNS
            enable_dns_hostnames=True,
            opts=child,
        )
        # Strip the rules AWS puts on the default security group so nothing can fall back to it.
        aws.ec2.DefaultSecurityGroup(f"{prefix}-default-sg", vpc_id=self.vpc.id, opts=child)

        # An RDS subnet group needs subnets in two AZs, whatever the workloads span.
        counts = {"private": args.workload_az_count, "lambda": args.workload_az_count, "data": 2}
        self.subnet_ids: dict[str, list[pulumi.Output[str]]] = {}
        self.route_tables: dict[str, aws.ec2.RouteTable] = {}
        for role, count in counts.items():
            table = aws.ec2.RouteTable(f"{prefix}-{role}-rt", vpc_id=self.vpc.id, opts=child)
            self.route_tables[role] = table
            self.subnet_ids[role] = []
            for index in range(count):
                suffix = "abcdef"[index]
                subnet = aws.ec2.Subnet(
                    f"{prefix}-{role}-{suffix}",
                    vpc_id=self.vpc.id,
                    cidr_block=args.subnet_cidrs[role][index],
                    availability_zone=args.availability_zones[index],
                    map_public_ip_on_launch=False,
                    tags={"Tier": role},
                    opts=child,
                )
                aws.ec2.RouteTableAssociation(
                    f"{prefix}-{role}-{suffix}-rta", subnet_id=subnet.id, route_table_id=table.id, opts=child
                )
                self.subnet_ids[role].append(subnet.id)

        self.flow_log_group = aws.cloudwatch.LogGroup(
            f"{prefix}-flow-logs",
            name=args.flow_log_group_name,
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        flow_role = aws.iam.Role(
            f"{prefix}-flow-logs-role",
            assume_role_policy=service_trust_policy("vpc-flow-logs.amazonaws.com", source_account=args.account_id),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{prefix}-flow-logs-delivery",
            role=flow_role.id,
            # Flow logs create one stream per ENI inside this group only (VPC user guide, "IAM role for
            # publishing flow logs to CloudWatch Logs"); the group already exists, so no CreateLogGroup.
            policy=self.flow_log_group.arn.apply(
                lambda arn: policy_document(
                    [
                        {
                            "Sid": "DeliverFlowLogs",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [arn, f"{arn}:log-stream:*"],
                        }
                    ]
                )
            ),
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{prefix}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            opts=child,
        )
        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "subnet_ids": self.subnet_ids,
                "route_table_ids": [t.id for t in self.route_tables.values()],
                "flow_log_id": self.flow_log.id,
            }
        )


@dataclass(frozen=True)
class SecurityGroupsArgs:
    """Inputs of :class:`SecurityGroups`."""

    name_prefix: str
    """Base of the groups' and rules' logical names (Pulumi auto-names the groups from them)."""
    vpc_id: pulumi.Input[str]
    """The VPC the groups belong to."""
    vpc_cidr: str
    """The VPC CIDR, for HTTPS to interface endpoints."""
    s3_prefix_list_id: pulumi.Input[str]
    """The regional S3 managed prefix list, for HTTPS to S3 through the gateway endpoint."""


class SecurityGroups(pulumi.ComponentResource):
    """One group per role and one rule resource per matrix entry, each with a description."""

    def __init__(self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:network:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        self.groups = {
            role: aws.ec2.SecurityGroup(
                f"{prefix}-{role.replace('_', '-')}-sg",
                vpc_id=args.vpc_id,
                description=f"student-helper {role.replace('_', ' ')}; rules are separate resources",
                # No inline rules: the provider then also revokes AWS's default allow-all egress rule
                # (pulumi_aws/ec2/security_group.py: "this provider will remove this default rule").
                opts=child,
            )
            for role in SECURITY_GROUP_ROLES
        }
        for spec in security_group_matrix():
            rule_cls = (
                aws.vpc.SecurityGroupIngressRule if spec.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
            )
            rule_cls(
                f"{prefix}-{spec.resource_name}",
                security_group_id=self.groups[spec.group].id,
                ip_protocol="tcp",
                from_port=spec.port,
                to_port=spec.port,
                description=spec.description,
                referenced_security_group_id=self.groups[spec.peer].id if spec.peer_kind == "group" else None,
                cidr_ipv4=args.vpc_cidr if spec.peer_kind == "vpc_cidr" else None,
                prefix_list_id=args.s3_prefix_list_id if spec.peer_kind == "prefix_list" else None,
                opts=child,
            )
        self.ids = {role: group.id for role, group in self.groups.items()}
        self.register_outputs({"security_group_ids": self.ids})


@dataclass(frozen=True)
class VpcEndpointsArgs:
    """Inputs of :class:`VpcEndpoints`."""

    name_prefix: str
    """Base of the endpoints' logical names: ``{prefix}-s3-gateway``, ``{prefix}-ecr-api-endpoint``."""
    gateway_services: Mapping[str, str]
    """Gateway endpoints to create: service (s3) -> the service name the Region publishes for it."""
    interface_services: Mapping[str, str]
    """Interface endpoints to create: service (ecr.api, ssm, ...) -> the service name the Region publishes."""
    vpc_id: pulumi.Input[str]
    route_table_ids: Sequence[pulumi.Input[str]]
    """Every private route table; the S3 gateway endpoint adds its prefix-list route to each."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Subnets for the interface endpoints' ENIs, one in each AZ they span."""
    security_group_id: pulumi.Input[str]
    """The endpoints security group (443 from the workloads)."""


class VpcEndpoints(pulumi.ComponentResource):
    """The S3 gateway endpoint plus the configured interface endpoints with private DNS."""

    def __init__(self, name: str, args: VpcEndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:network:VpcEndpoints", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        self.endpoints: dict[str, aws.ec2.VpcEndpoint] = {}
        for service, service_name in args.gateway_services.items():
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{prefix}-{service}-gateway",
                vpc_id=args.vpc_id,
                service_name=service_name,
                vpc_endpoint_type="Gateway",
                route_table_ids=list(args.route_table_ids),
                opts=child,
            )
        for service, service_name in args.interface_services.items():
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{prefix}-{service.replace('.', '-')}-endpoint",
                vpc_id=args.vpc_id,
                service_name=service_name,
                vpc_endpoint_type="Interface",
                subnet_ids=list(args.subnet_ids),
                security_group_ids=[args.security_group_id],
                private_dns_enabled=True,
                opts=child,
            )
        self.ids = {service: endpoint.id for service, endpoint in self.endpoints.items()}
        self.register_outputs({"endpoint_ids": self.ids})
