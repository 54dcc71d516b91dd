"""Network rules: no NAT gateway or instance, nothing public but API Gateway and CloudFront, no world ingress."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, as_list, get, is_true, is_unknown, load_json, peek, resource_policy, show

NAT_GATEWAY_TYPES = frozenset({"aws:ec2/natGateway:NatGateway", "aws-native:ec2:NatGateway"})
ROUTE_TYPES = frozenset({"aws:ec2/route:Route", "aws-native:ec2:Route"})
# Route tables with inline `routes`; the default route table of a VPC takes them the same way. (aws-native route
# tables have no inline routes.)
ROUTE_TABLE_TYPES = frozenset({"aws:ec2/routeTable:RouteTable", "aws:ec2/defaultRouteTable:DefaultRouteTable"})
ALL_ROUTE_TYPES = ROUTE_TYPES | ROUTE_TABLE_TYPES
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
NATIVE_GATEWAY_ATTACHMENT = "aws-native:ec2:VpcGatewayAttachment"
DATABASE_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:rds/cluster:Cluster",
        "aws-native:rds:DbInstance",
        "aws-native:rds:DbCluster",
        # Redshift's CreateCluster defaults PubliclyAccessible to false (both providers pass it through).
        # Source: https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
        "aws:redshift/cluster:Cluster",
        "aws-native:redshift:Cluster",
    }
)
# Instances and the resources that launch them, with the property that decides a public IP.
INSTANCE_PUBLIC_IP_TYPES = frozenset(
    {
        "aws:ec2/instance:Instance",
        "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
        "aws:ec2/launchConfiguration:LaunchConfiguration",
        "aws-native:autoscaling:LaunchConfiguration",
    }
)
NATIVE_INSTANCE = "aws-native:ec2:Instance"
LAUNCH_TEMPLATE_NICS: dict[str, tuple[str, ...]] = {
    "aws:ec2/launchTemplate:LaunchTemplate": ("networkInterfaces",),
    "aws-native:ec2:LaunchTemplate": ("launchTemplateData", "networkInterfaces"),
}
SPOT_FLEET_TYPES = frozenset({"aws:ec2/spotFleetRequest:SpotFleetRequest", "aws-native:ec2:SpotFleet"})
PUBLIC_IP_TYPES = INSTANCE_PUBLIC_IP_TYPES | {NATIVE_INSTANCE} | frozenset(LAUNCH_TEMPLATE_NICS) | SPOT_FLEET_TYPES
EIP_TYPES = frozenset(
    {
        "aws:ec2/eip:Eip",
        "aws:ec2/eipAssociation:EipAssociation",
        "aws-native:ec2:Eip",
        "aws-native:ec2:EipAssociation",
    }
)
# Load balancers: pulumi-aws says `internal` (default false: internet-facing), CloudFormation says `scheme` (default
# "internet-facing"). Gateway Load Balancers have no scheme and are never internet-facing. Sources: the providers'
# docs for `internal`/`scheme`, and
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html
LB_INTERNAL_TYPES = frozenset(
    {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer"}
)
LB_SCHEME_TYPES = frozenset(
    {"aws-native:elasticloadbalancingv2:LoadBalancer", "aws-native:elasticloadbalancing:LoadBalancer"}
)
SEARCH_DOMAIN_TYPES = frozenset(
    {"aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain", "aws-native:opensearchservice:Domain"}
)
LAMBDA_TYPES = frozenset({"aws:lambda/function:Function", "aws-native:lambda:Function"})
BUCKET_POLICY_DOCUMENT = {"aws:s3/bucketPolicy:BucketPolicy": "policy", "aws-native:s3:BucketPolicy": "policyDocument"}
BUCKET_ACL_TYPES = frozenset({"aws:s3/bucketAcl:BucketAcl", "aws-native:s3:Bucket"})
PUBLIC_CANNED_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
NATIVE_PUBLIC_ACLS = frozenset({"PublicRead", "PublicReadWrite", "AuthenticatedRead"})
# The grantee groups that make an ACL public (every anonymous user, every AWS account).
# Source: https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#specifying-grantee-predefined-groups
PUBLIC_GRANTEE_URIS = frozenset(
    {"http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}
)
FUNCTION_URL_AUTH = {"aws:lambda/functionUrl:FunctionUrl": "authorizationType", "aws-native:lambda:Url": "authType"}
STANDALONE_INGRESS_TYPES = frozenset(
    {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws-native:ec2:SecurityGroupIngress"}
)
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

# Condition keys that, pinned to fixed values with a positive operator, make a bucket policy statement for Principal
# "*" non-public. S3's own definition of a public policy (the PublicAccessBlockConfiguration API reference):
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html
# plus the keys that pin the caller to an organization, account or principal, which an anonymous request never has.
RESTRICTING_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:userid",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
    }
)
# IfExists operators pass when the key is absent (an anonymous request has none of the keys above), negated operators
# pass for every other value, so neither restricts who can call.
POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringlike", "arnequals", "arnlike", "ipaddress", "stringequalsignorecase"}
)


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


# --- no-nat-gateway ------------------------------------------------------------------------------------------------


def _nat_gateway(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    kind = get(args.props, "connectivityType") or "public"
    yield f"NAT gateway '{args.name}' ({args.resource_type}, connectivityType={kind}) is declared."


def _route_to_nat_gateway(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for prefix, route in _routes(args):
        nat = get(route, "natGatewayId")
        if nat:
            yield f"route {_route_destination(route)} has {prefix}natGatewayId={show(nat)}: it targets a NAT gateway."


def _is_default_route(route: Mapping[str, Any]) -> bool:
    destinations = [get(route, k) for k in ("destinationCidrBlock", "cidrBlock", "destinationIpv6CidrBlock")]
    return any(d in WORLD_CIDRS for d in [*destinations, get(route, "ipv6CidrBlock")])


def _nat_instance_route(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    # A default route to an instance or its network interface is a NAT instance: it works only when that instance
    # has its source/destination check off and forwards the traffic; with the check on, the route drops everything.
    # Either way it replaces VPC endpoints with a path to the internet. Source:
    # https://docs.aws.amazon.com/vpc/latest/userguide/work-with-nat-instances.html
    for prefix, route in _routes(args):
        if not _is_default_route(route):
            continue
        for key in ("instanceId", "networkInterfaceId"):
            target = get(route, key)
            if target:
                yield (
                    f"route {_route_destination(route)} has {prefix}{key}={show(target)}: a default route to an "
                    "instance is a NAT instance (its source/destination check must be off for it to forward)."
                )


NO_NAT_GATEWAY = resource_policy(
    name="no-nat-gateway",
    description=(
        "No NAT gateway (pulumi-aws or aws-native), no route whose target is a NAT gateway, and no NAT instance: no "
        "default route (0.0.0.0/0 or ::/0) to an instance or a network interface. Private subnets reach AWS "
        "services through VPC endpoints instead."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Delete the NAT gateway or NAT instance and its routes. Give the workload VPC endpoints (gateway endpoints "
        "for S3, interface endpoints for the other services it calls)."
    ),
    checks=(
        Check("nat-gateway", "a NAT gateway is declared", NAT_GATEWAY_TYPES, ("connectivityType",), _nat_gateway),
        Check(
            "route-to-nat-gateway",
            "a route targets a NAT gateway",
            ALL_ROUTE_TYPES,
            ("natGatewayId", "routes[].natGatewayId"),
            _route_to_nat_gateway,
        ),
        Check(
            "nat-instance-route",
            "a default route (0.0.0.0/0, ::/0) targets an instance or a network interface (a NAT instance)",
            ALL_ROUTE_TYPES,
            (
                "destinationCidrBlock",
                "destinationIpv6CidrBlock",
                "instanceId",
                "networkInterfaceId",
                "routes[].cidrBlock",
                "routes[].ipv6CidrBlock",
                "routes[].instanceId",
                "routes[].networkInterfaceId",
            ),
            _nat_instance_route,
        ),
    ),
    not_checked=(
        "an instance or network interface with sourceDestCheck=false on its own: without a route to it, it "
        "forwards nothing (the route is what is judged, wherever the instance is defined)",
        "routes to a NAT instance for destinations other than the default route, and transit gateways or "
        "firewall endpoints that reach a NAT in another VPC",
    ),
    mandatory=True,
)


# --- private-subnets-only -----------------------------------------------------------------------------------------


def _public_subnet(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    value = get(args.props, "mapPublicIpOnLaunch")
    if is_true(value):
        yield f"subnet '{args.name}' has mapPublicIpOnLaunch=true: instances launched in it get a public IP."
    elif value is None and args.resource_type == DEFAULT_SUBNET_TYPE:
        yield (
            f"default subnet '{args.name}' does not set mapPublicIpOnLaunch, and AWS makes it true in a default "
            "subnet: instances launched in it get a public IP; set it to false."
        )


def _internet_gateway(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    if args.resource_type in INTERNET_GATEWAY_TYPES:
        yield f"'{args.name}' ({args.resource_type}) gives the VPC a path to or from the internet."
    elif get(args.props, "internetGatewayId"):
        yield f"'{args.name}' attaches internet gateway internetGatewayId={show(get(args.props, 'internetGatewayId'))}."


def _route_to_internet_gateway(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
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


def _nic_problems(interfaces: Any, where: str) -> Iterator[str]:
    for i, nic in enumerate(as_list(interfaces)):
        value = get(nic, "associatePublicIpAddress")
        if value is None or is_true(value):
            yield f"{where}[{i}].associatePublicIpAddress={show(value)}: it must be false."


def _public_ip(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    if kind in INSTANCE_PUBLIC_IP_TYPES:
        value = get(props, "associatePublicIpAddress")
        # Absent means "follow the subnet", which is public in a default VPC: the insecure default. An instance started
        # on an existing network interface (primaryNetworkInterface) gets no public IP from its subnet.
        # Source: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceNetworkInterfaceSpecification.html
        if value is None and peek(props, "primaryNetworkInterface") is None:
            yield (
                "associatePublicIpAddress is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
                "(true in a default VPC)."
            )
        elif is_true(value):
            yield "associatePublicIpAddress=true: the instance gets a public IP."
    if kind == NATIVE_INSTANCE:
        if not as_list(get(props, "networkInterfaces")):
            yield (
                "networkInterfaces is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
                "(true in a default VPC); declare an interface with associatePublicIpAddress=false."
            )
        yield from _nic_problems(get(props, "networkInterfaces"), "networkInterfaces")
    if kind in LAUNCH_TEMPLATE_NICS:
        path = LAUNCH_TEMPLATE_NICS[kind]
        yield from _nic_problems(get(props, *path), ".".join(path))
    if kind == "aws:ec2/spotFleetRequest:SpotFleetRequest":
        for i, spec in enumerate(as_list(get(props, "launchSpecifications"))):
            value = get(spec, "associatePublicIpAddress")
            if value is None or is_true(value):
                yield f"launchSpecifications[{i}].associatePublicIpAddress={show(value)}: it must be false."
    if kind == "aws-native:ec2:SpotFleet":
        specs = as_list(get(props, "spotFleetRequestConfigData", "launchSpecifications"))
        for i, spec in enumerate(specs):
            where = f"spotFleetRequestConfigData.launchSpecifications[{i}].networkInterfaces"
            if not as_list(get(spec, "networkInterfaces")):
                yield f"{where} is not set, so its instances follow the subnet's mapPublicIpOnLaunch."
            yield from _nic_problems(get(spec, "networkInterfaces"), where)


def _elastic_ip(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    what = "associates an Elastic IP" if "ssociation" in args.resource_type else "allocates an Elastic IP"
    yield f"'{args.name}' ({args.resource_type}) {what}: a public IPv4 address reachable from the internet."


def _public_load_balancer(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    props = args.props
    if args.resource_type in LB_INTERNAL_TYPES:
        if get(props, "loadBalancerType") == "gateway":
            return
        internal = get(props, "internal")
        if not is_true(internal):
            yield f"internal={show(internal)}: the load balancer is internet-facing (the default); set internal=true."
        return
    if get(props, "type") == "gateway":
        return
    scheme = get(props, "scheme")
    if scheme != "internal":
        yield f'scheme={show(scheme)}: the load balancer is internet-facing (the default); set scheme="internal".'


def _public_database(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    value = get(args.props, "publiclyAccessible")
    if is_true(value):
        yield "publiclyAccessible=true: the database gets a public DNS name and address."
    # pulumi-aws defaults publiclyAccessible to false (its docs: "Default is `false`"); CloudFormation makes an
    # instance public by default when its subnets route to an internet gateway, so absent counts as true there.
    # Aurora clusters have no such property (their instances do), so a cluster is flagged only when it says true.
    # Source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbinstance.html
    if args.resource_type == "aws-native:rds:DbInstance" and value is None:
        yield "publiclyAccessible is not set: CloudFormation makes the instance public when its subnets are."


def _public_search_domain(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    # A domain without VPC options gets a public endpoint; that choice is made at creation and cannot be changed.
    # Source: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/vpc.html
    if not as_list(get(args.props, "vpcOptions", "subnetIds")):
        yield "vpcOptions.subnetIds is not set: the domain gets a public endpoint instead of living in the VPC."


def _lambda_outside_vpc(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    vpc_config = get(args.props, "vpcConfig")
    if vpc_config is None:
        yield "vpcConfig is not set: the function runs outside the VPC with direct internet access."
    elif not as_list(get(vpc_config, "subnetIds")):
        yield "vpcConfig.subnetIds is empty: the function runs outside the VPC with direct internet access."


def _restricts_caller(condition: Any) -> bool:
    """True when a condition pins a caller-identifying key to fixed values (S3's test for a non-public policy)."""
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        if str(operator).lower() not in POSITIVE_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            values = as_list(values)
            fixed = values and all(isinstance(v, str) and "*" not in v and v not in WORLD_CIDRS for v in values)
            if str(key).lower() in RESTRICTING_KEYS and fixed:
                return True
    return False


def _anonymous(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))


def _public_bucket_policy(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    key = BUCKET_POLICY_DOCUMENT[args.resource_type]
    raw = get(args.props, key)
    if raw is None or raw == "":
        return
    try:
        document = load_json(raw)
    except ValueError:
        return  # not a document: S3 rejects it, so it grants nothing
    statements = as_list(document.get("Statement")) if isinstance(document, Mapping) else []
    for index, statement in enumerate(statements):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if _anonymous(statement.get("Principal")) and not _restricts_caller(statement.get("Condition")):
            sid = statement.get("Sid")
            label = f"Statement[{index}]" + (f" (Sid {sid!r})" if sid else "")
            yield (
                f"{key} {label} allows Principal {show(statement.get('Principal'))} "
                f"{show(as_list(statement.get('Action')))} with no condition that pins the caller (aws:SourceVpce, "
                "aws:SourceArn, aws:PrincipalOrgID, ...): anyone on the internet can call it."
            )


def _public_bucket_acl(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    props = args.props
    if args.resource_type == "aws-native:s3:Bucket":
        acl = get(props, "accessControl")
        if acl in NATIVE_PUBLIC_ACLS:
            yield f"accessControl={show(acl)}: the canned ACL grants access to everyone."
        return
    acl = get(props, "acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"acl={show(acl)}: the canned ACL grants access to everyone."
    for i, grant in enumerate(as_list(get(props, "accessControlPolicy", "grants"))):
        uri = get(grant, "grantee", "uri")
        if uri in PUBLIC_GRANTEE_URIS:
            yield f"accessControlPolicy.grants[{i}] grants {show(get(grant, 'permission'))} to {uri}."


def _public_function_url(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    key = FUNCTION_URL_AUTH[args.resource_type]
    auth = get(args.props, key)
    if auth == "NONE":
        yield f'{key}="NONE": anyone on the internet can invoke the function through its URL; use "AWS_IAM".'


PRIVATE_SUBNETS_ONLY = resource_policy(
    name="private-subnets-only",
    description=(
        "Nothing is reachable from the internet except through API Gateway and CloudFront: no subnet that maps "
        "public IPs on launch, no internet or egress-only internet gateway, no route to one, no public IP on an "
        "instance or on whatever launches one (launch templates and configurations, spot requests and fleets), no "
        "Elastic IP, no internet-facing load balancer, no publicly accessible RDS or Redshift database, no "
        "OpenSearch domain outside the VPC, every Lambda function in a VPC and no public function URL, and no S3 "
        "bucket policy or ACL that grants anonymous access."
    ),
    severity=Severity.CRITICAL,
    remediation=(
        "Set mapPublicIpOnLaunch=false on subnets; remove internet gateways, their routes and Elastic IPs; set "
        "associatePublicIpAddress=false on instances, launch templates/configurations and spot fleets; make load "
        "balancers internal; set publiclyAccessible=false on databases; give OpenSearch domains and Lambda functions "
        'VPC subnets; use AuthType "AWS_IAM" on function URLs; grant bucket access to named principals or pin '
        "aws:SourceVpce/aws:SourceArn. Expose services only through API Gateway (VPC link) or CloudFront."
    ),
    checks=(
        Check(
            "public-subnet",
            "a subnet maps public IPs on launch (a default subnet does unless told not to)",
            SUBNET_TYPES | {DEFAULT_SUBNET_TYPE},
            ("mapPublicIpOnLaunch",),
            _public_subnet,
        ),
        Check(
            "internet-gateway",
            "an internet or egress-only internet gateway, or its attachment, is declared",
            INTERNET_GATEWAY_TYPES | {NATIVE_GATEWAY_ATTACHMENT},
            ("internetGatewayId",),
            _internet_gateway,
        ),
        Check(
            "route-to-internet-gateway",
            "a route targets an internet gateway (igw-*) or an egress-only internet gateway",
            ALL_ROUTE_TYPES,
            (
                "gatewayId",
                "egressOnlyGatewayId",
                "egressOnlyInternetGatewayId",
                "routes[].gatewayId",
                "routes[].egressOnlyGatewayId",
            ),
            _route_to_internet_gateway,
        ),
        Check(
            "public-ip",
            "an instance, or what launches one, gets a public IP (associatePublicIpAddress true or unset)",
            PUBLIC_IP_TYPES,
            (
                "associatePublicIpAddress",
                "primaryNetworkInterface",
                "networkInterfaces[].associatePublicIpAddress",
                "launchTemplateData.networkInterfaces[].associatePublicIpAddress",
                "launchSpecifications[].associatePublicIpAddress",
                "spotFleetRequestConfigData.launchSpecifications[].networkInterfaces[].associatePublicIpAddress",
            ),
            _public_ip,
        ),
        Check("elastic-ip", "an Elastic IP is allocated or associated", EIP_TYPES, (), _elastic_ip),
        Check(
            "public-load-balancer",
            "a load balancer is internet-facing (internal unset or false; scheme unset or internet-facing)",
            LB_INTERNAL_TYPES | LB_SCHEME_TYPES,
            ("internal", "loadBalancerType", "scheme", "type"),
            _public_load_balancer,
        ),
        Check(
            "public-database",
            "a database is publicly accessible (aws-native RDS instance: also when unset)",
            DATABASE_TYPES,
            ("publiclyAccessible",),
            _public_database,
        ),
        Check(
            "public-search-domain",
            "an OpenSearch/Elasticsearch domain has no VPC subnets, so its endpoint is public",
            SEARCH_DOMAIN_TYPES,
            ("vpcOptions.subnetIds",),
            _public_search_domain,
        ),
        Check(
            "lambda-outside-vpc",
            "a Lambda function has no VPC subnets",
            LAMBDA_TYPES,
            ("vpcConfig.subnetIds",),
            _lambda_outside_vpc,
        ),
        Check(
            "public-function-url",
            'a Lambda function URL needs no authentication (authorization type "NONE")',
            frozenset(FUNCTION_URL_AUTH),
            tuple(FUNCTION_URL_AUTH.values()),
            _public_function_url,
        ),
        Check(
            "public-bucket-policy",
            'a bucket policy allows Principal "*" without a condition that pins the caller (S3\'s own test)',
            frozenset(BUCKET_POLICY_DOCUMENT),
            (*BUCKET_POLICY_DOCUMENT.values(), "Statement[].Principal", "Statement[].Condition"),
            _public_bucket_policy,
        ),
        Check(
            "public-bucket-acl",
            "a bucket ACL grants access to all users or all AWS accounts",
            BUCKET_ACL_TYPES,
            ("acl", "accessControlPolicy.grants[].grantee.uri", "accessControl"),
            _public_bucket_acl,
        ),
    ),
    not_checked=(
        "IPv6 addresses (assignIpv6AddressOnCreation): without an internet gateway route they are not reachable, "
        "and those routes are judged",
        "EKS public endpoints, API Gateway and AppSync APIs, MQ, DMS, Lightsail, Global Accelerator, and resource "
        "policies of SQS, SNS, KMS, ECR, Lambda permissions and S3 access points",
        "autoscaling groups and EC2 fleets: they launch from launch templates and configurations, which are judged",
    ),
    mandatory=True,
)


# --- no-world-ingress (advisory) -------------------------------------------------------------------------------------


def _world(cidrs: Any) -> list[str]:
    return [c for c in as_list(cidrs) if c in WORLD_CIDRS]


def _world_ingress(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    rules: list[tuple[str, Any]] = []
    if kind == "aws:ec2/securityGroup:SecurityGroup":
        rules = [(f"ingress[{i}].", r) for i, r in enumerate(as_list(get(props, "ingress")))]
    elif kind == "aws-native:ec2:SecurityGroup":
        rules = [(f"securityGroupIngress[{i}].", r) for i, r in enumerate(as_list(get(props, "securityGroupIngress")))]
    elif kind in STANDALONE_INGRESS_TYPES or (kind == SECURITY_GROUP_RULE and get(props, "type") == "ingress"):
        rules = [("", props)]
    for prefix, rule in rules:
        for key in ("cidrBlocks", "ipv6CidrBlocks", "cidrIpv4", "cidrIpv6", "cidrIp"):
            for cidr in _world(get(rule, key)):
                ports = f"{get(rule, 'fromPort')}-{get(rule, 'toPort')}"
                yield f"{prefix}{key} allows ingress from {cidr} (ports {ports})."


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
    checks=(
        Check(
            "world-ingress",
            "a security-group ingress rule allows 0.0.0.0/0 or ::/0",
            frozenset({"aws:ec2/securityGroup:SecurityGroup", "aws-native:ec2:SecurityGroup", SECURITY_GROUP_RULE})
            | STANDALONE_INGRESS_TYPES,
            (
                "ingress[].cidrBlocks",
                "ingress[].ipv6CidrBlocks",
                "securityGroupIngress[].cidrIp",
                "securityGroupIngress[].cidrIpv6",
                "type",
                "cidrBlocks",
                "ipv6CidrBlocks",
                "cidrIpv4",
                "cidrIpv6",
                "cidrIp",
            ),
            _world_ingress,
        ),
    ),
    not_checked=("network ACLs", "prefix lists that contain 0.0.0.0/0"),
)

POLICIES = (NO_NAT_GATEWAY, PRIVATE_SUBNETS_ONLY, NO_WORLD_INGRESS)
