"""Network rules: no NAT gateways, nothing public except through API Gateway and CloudFront, no world ingress."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import as_list, get, is_true, is_unknown, peek, resource_policy, show

NAT_GATEWAY_TYPES = frozenset({"aws:ec2/natGateway:NatGateway", "aws-native:ec2:NatGateway"})
ROUTE_TYPES = frozenset({"aws:ec2/route:Route", "aws-native:ec2:Route"})
# Route tables with inline `routes`; the default route table of a VPC takes them the same way.
ROUTE_TABLE_TYPES = frozenset({"aws:ec2/routeTable:RouteTable", "aws:ec2/defaultRouteTable:DefaultRouteTable"})
SUBNET_TYPES = frozenset({"aws:ec2/subnet:Subnet", "aws-native:ec2:Subnet"})
# A default subnet maps public IPs on launch unless told otherwise, so absent counts as true.
# Source: https://docs.aws.amazon.com/vpc/latest/userguide/default-subnet.html
DEFAULT_SUBNET_TYPE = "aws:ec2/defaultSubnet:DefaultSubnet"
INTERNET_GATEWAY_TYPES = frozenset(
    {
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment",
        "aws-native:ec2:InternetGateway",
        "aws-native:ec2:EgressOnlyInternetGateway",
    }
)
DATABASE_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/cluster:Cluster",
        "aws-native:rds:DbInstance",
        "aws-native:rds:DbCluster",
    }
)
STANDALONE_INGRESS_TYPES = frozenset(
    {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws-native:ec2:SecurityGroupIngress"}
)
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def _route_destination(route: Mapping[str, Any]) -> str:
    # Only names the route in a message, so an unknown destination must not stop the check.
    for key in (
        "destinationCidrBlock",
        "cidrBlock",
        "destinationIpv6CidrBlock",
        "ipv6CidrBlock",
        "destinationPrefixListId",
    ):
        value = peek(route, key)
        if value:
            return "<unknown destination>" if is_unknown(value) else str(value)
    return "<no destination>"


def _routes(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every route the resource declares, with the property path to name in a message."""
    if args.resource_type in ROUTE_TYPES:
        yield "", args.props
    elif args.resource_type in ROUTE_TABLE_TYPES:
        for i, route in enumerate(as_list(get(args.props, "routes"))):
            yield f"routes[{i}].", route


def _check_no_nat(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    if args.resource_type in NAT_GATEWAY_TYPES:
        kind = get(args.props, "connectivityType") or "public"
        yield f"NAT gateway '{args.name}' ({args.resource_type}, connectivityType={kind}) is declared."
    for prefix, route in _routes(args):
        nat = get(route, "natGatewayId")
        if nat:
            yield f"route {_route_destination(route)} has {prefix}natGatewayId={show(nat)}: it targets a NAT gateway."


def _check_private(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    if kind in SUBNET_TYPES or kind == DEFAULT_SUBNET_TYPE:
        value = get(props, "mapPublicIpOnLaunch")
        if is_true(value):
            yield f"subnet '{args.name}' has mapPublicIpOnLaunch=true: instances launched in it get a public IP."
        elif value is None and kind == DEFAULT_SUBNET_TYPE:
            yield (
                f"default subnet '{args.name}' does not set mapPublicIpOnLaunch, and AWS makes it true in a default "
                "subnet: instances launched in it get a public IP; set it to false."
            )
    if kind in INTERNET_GATEWAY_TYPES:
        yield f"'{args.name}' ({kind}) gives the VPC a path to or from the internet."
    if kind == "aws-native:ec2:VpcGatewayAttachment" and get(props, "internetGatewayId"):
        yield f"'{args.name}' attaches internet gateway internetGatewayId={show(get(props, 'internetGatewayId'))}."
    for prefix, route in _routes(args):
        gateway = get(route, "gatewayId")
        if isinstance(gateway, str) and gateway.startswith("igw-"):
            yield f"route {_route_destination(route)} has {prefix}gatewayId={show(gateway)}: an internet gateway."
        for key in ("egressOnlyGatewayId", "egressOnlyInternetGatewayId"):
            if get(route, key):
                yield (
                    f"route {_route_destination(route)} has {prefix}{key}={show(get(route, key))}: "
                    "an egress-only internet gateway."
                )
    yield from _public_ips(args)
    yield from _public_databases(args)
    yield from _lambda_outside_vpc(args)


def _public_ips(args: ResourceValidationArgs) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    if kind == "aws:ec2/instance:Instance":
        value = get(props, "associatePublicIpAddress")
        # Absent means "follow the subnet", which is public in a default VPC: the insecure default.
        # Source: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceNetworkInterfaceSpecification.html
        if value is None and not as_list(get(props, "networkInterfaces")):
            yield (
                "associatePublicIpAddress is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
                "(true in a default VPC)."
            )
        elif is_true(value):
            yield "associatePublicIpAddress=true: the instance gets a public IP."
    if kind == "aws-native:ec2:Instance":
        interfaces = as_list(get(props, "networkInterfaces"))
        if not interfaces:
            yield (
                "networkInterfaces is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
                "(true in a default VPC); declare an interface with associatePublicIpAddress=false."
            )
        for i, nic in enumerate(interfaces):
            value = get(nic, "associatePublicIpAddress")
            if value is None or is_true(value):
                yield f"networkInterfaces[{i}].associatePublicIpAddress={show(value)}: it must be false."
    template_path: tuple[str, ...] = ()
    if kind == "aws:ec2/launchTemplate:LaunchTemplate":
        template_path = ("networkInterfaces",)
    elif kind == "aws-native:ec2:LaunchTemplate":
        template_path = ("launchTemplateData", "networkInterfaces")
    if template_path:
        for i, nic in enumerate(as_list(get(props, *template_path))):
            value = get(nic, "associatePublicIpAddress")
            if value is None or is_true(value):
                yield f"{'.'.join(template_path)}[{i}].associatePublicIpAddress={show(value)}: it must be false."


def _public_databases(args: ResourceValidationArgs) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    if kind not in DATABASE_TYPES:
        return
    value = get(props, "publiclyAccessible")
    if is_true(value):
        yield "publiclyAccessible=true: the database gets a public DNS name and address."
    # pulumi-aws defaults publiclyAccessible to false (its docs: "Default is `false`"); CloudFormation makes an
    # instance public by default when its subnets route to an internet gateway, so absent counts as true there.
    # Aurora clusters have no such property (their instances do), so a cluster is flagged only when it says true.
    # Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbinstance.html
    if kind == "aws-native:rds:DbInstance" and value is None:
        yield "publiclyAccessible is not set: CloudFormation makes the instance public when its subnets are."


def _lambda_outside_vpc(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type not in ("aws:lambda/function:Function", "aws-native:lambda:Function"):
        return
    vpc_config = get(args.props, "vpcConfig")
    if vpc_config is None:
        yield "vpcConfig is not set: the function runs outside the VPC with direct internet access."
    elif not as_list(get(vpc_config, "subnetIds")):
        yield "vpcConfig.subnetIds is empty: the function runs outside the VPC with direct internet access."


def _world(cidrs: Any) -> list[str]:
    return [c for c in as_list(cidrs) if c in WORLD_CIDRS]


def _check_world_ingress(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    rules: list[tuple[str, Any]] = []
    if kind == "aws:ec2/securityGroup:SecurityGroup":
        rules = [(f"ingress[{i}].", r) for i, r in enumerate(as_list(get(props, "ingress")))]
    elif kind == "aws-native:ec2:SecurityGroup":
        rules = [(f"securityGroupIngress[{i}].", r) for i, r in enumerate(as_list(get(props, "securityGroupIngress")))]
    elif kind in STANDALONE_INGRESS_TYPES or (
        kind == "aws:ec2/securityGroupRule:SecurityGroupRule" and get(props, "type") == "ingress"
    ):
        rules = [("", props)]
    for prefix, rule in rules:
        for key in ("cidrBlocks", "ipv6CidrBlocks", "cidrIpv4", "cidrIpv6", "cidrIp"):
            for cidr in _world(get(rule, key)):
                ports = f"{get(rule, 'fromPort')}-{get(rule, 'toPort')}"
                yield f"{prefix}{key} allows ingress from {cidr} (ports {ports})."


NO_NAT_GATEWAY = resource_policy(
    name="no-nat-gateway",
    description=(
        "No NAT gateway (pulumi-aws or aws-native), and no route whose target is a NAT gateway. Private subnets "
        "reach AWS services through VPC endpoints instead."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Delete the NAT gateway and its routes. Give the workload VPC endpoints (gateway endpoints for S3, "
        "interface endpoints for the other services it calls)."
    ),
    check=_check_no_nat,
    mandatory=True,
)

PRIVATE_SUBNETS_ONLY = resource_policy(
    name="private-subnets-only",
    description=(
        "Nothing is reachable from the internet except through API Gateway and CloudFront: no subnet that maps "
        "public IPs on launch, no internet or egress-only internet gateway, no route to one, no EC2 instance or "
        "launch-template interface with a public IP, no publicly accessible RDS database, and every Lambda "
        "function attached to a VPC."
    ),
    severity=Severity.CRITICAL,
    remediation=(
        "Set mapPublicIpOnLaunch=false on subnets; remove internet gateways and their routes; set "
        "associatePublicIpAddress=false on instances and launch-template network interfaces; set "
        "publiclyAccessible=false on databases; give every Lambda function a vpcConfig with private subnets. "
        "Expose services only through API Gateway (VPC link) or CloudFront."
    ),
    check=_check_private,
    mandatory=True,
)

NO_WORLD_INGRESS = resource_policy(
    name="no-world-ingress",
    description=(
        "No security-group ingress from 0.0.0.0/0 or ::/0: inline ingress on aws:ec2/securityGroup, "
        "aws:ec2/securityGroupRule of type ingress, aws:vpc/securityGroupIngressRule and the aws-native forms."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Allow ingress only from a security group (referencedSecurityGroupId / sourceSecurityGroupId), a "
        "prefix list or the VPC CIDR."
    ),
    check=_check_world_ingress,
)

POLICIES = (NO_NAT_GATEWAY, PRIVATE_SUBNETS_ONLY, NO_WORLD_INGRESS)
