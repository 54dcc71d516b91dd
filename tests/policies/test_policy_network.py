"""no-nat-gateway, private-subnets-only and no-world-ingress: a compliant network, then one case per violation."""

from __future__ import annotations

import pytest
from policytest_helpers import UNKNOWN, Res, messages, run

LAMBDA_VPC = {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]}


def compliant_network() -> list[Res]:
    """A private network as this architecture builds it: no public path anywhere."""
    return [
        Res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}),
        Res("aws:ec2/subnet:Subnet", "private-a", {"vpcId": "vpc-1", "cidrBlock": "10.0.1.0/24"}),
        Res("aws-native:ec2:Subnet", "native-a", {"vpcId": "vpc-1", "mapPublicIpOnLaunch": False}),
        Res("aws:ec2/routeTable:RouteTable", "private-rt", {"vpcId": "vpc-1", "routes": []}),
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "default-rt",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "192.168.0.0/16", "gatewayId": "vgw-1"}]},
        ),
        Res(
            "aws:ec2/defaultSubnet:DefaultSubnet", "default-a", {"availabilityZone": "a", "mapPublicIpOnLaunch": False}
        ),
        Res(
            "aws:ec2/route:Route",
            "to-peer",
            {"routeTableId": "rtb-1", "destinationCidrBlock": "10.1.0.0/16", "vpcPeeringConnectionId": "pcx-1"},
        ),
        Res(
            "aws:ec2/route:Route",
            "to-vgw",
            {"routeTableId": "rtb-1", "destinationCidrBlock": "192.168.0.0/16", "gatewayId": "vgw-1"},
        ),
        Res("aws:ec2/instance:Instance", "backend", {"associatePublicIpAddress": False, "subnetId": "subnet-1"}),
        Res(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "lt",
            {"networkInterfaces": [{"associatePublicIpAddress": "false", "deviceIndex": 0}]},
        ),
        Res(
            "aws-native:ec2:Instance",
            "native-i",
            {"networkInterfaces": [{"deviceIndex": "0", "associatePublicIpAddress": False}]},
        ),
        Res("aws:rds/instance:Instance", "db", {"publiclyAccessible": False}),
        Res("aws:rds/instance:Instance", "db-default", {}),
        Res("aws-native:rds:DbInstance", "native-db", {"publiclyAccessible": False}),
        Res("aws-native:rds:DbCluster", "aurora", {}),
        Res("aws:rds/clusterInstance:ClusterInstance", "aurora-1", {"publiclyAccessible": False}),
        Res("aws:rds/clusterInstance:ClusterInstance", "aurora-2", {"clusterIdentifier": "c1"}),  # default false
        Res("aws:lambda/function:Function", "fn", {"vpcConfig": LAMBDA_VPC}),
        Res("aws-native:lambda:Function", "native-fn", {"vpcConfig": LAMBDA_VPC}),
        Res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "from-sg",
            {"securityGroupId": "sg-1", "referencedSecurityGroupId": "sg-2", "fromPort": 443, "toPort": 443},
        ),
        Res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "from-vpc",
            {"securityGroupId": "sg-1", "cidrIpv4": "10.0.0.0/16", "fromPort": 5432, "toPort": 5432},
        ),
        Res(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "egress-all",
            {"type": "egress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 0, "toPort": 0},
        ),
        Res(
            "aws:ec2/securityGroup:SecurityGroup",
            "sg",
            {"ingress": [{"cidrBlocks": ["10.0.0.0/16"], "fromPort": 443, "toPort": 443}]},
        ),
    ]


@pytest.mark.parametrize("policy", ["no-nat-gateway", "private-subnets-only", "no-world-ingress"])
def test_compliant_network_passes(policy: str) -> None:
    assert messages(compliant_network(), policy) == []


NAT_CASES = [
    (
        "aws nat gateway",
        Res("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "subnet-1"}),
        "NAT gateway 'nat' (aws:ec2/natGateway:NatGateway, connectivityType=public) is declared.",
    ),
    (
        "native nat gateway",
        Res("aws-native:ec2:NatGateway", "nat", {"connectivityType": "private"}),
        "NAT gateway 'nat' (aws-native:ec2:NatGateway, connectivityType=private) is declared.",
    ),
    (
        "aws route",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1"}),
        'route 0.0.0.0/0 has natGatewayId="nat-1": it targets a NAT gateway.',
    ),
    (
        "inline route",
        Res("aws:ec2/routeTable:RouteTable", "rt", {"routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-2"}]}),
        'route 0.0.0.0/0 has routes[0].natGatewayId="nat-2": it targets a NAT gateway.',
    ),
    (
        "native route",
        Res("aws-native:ec2:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-3"}),
        'route 0.0.0.0/0 has natGatewayId="nat-3": it targets a NAT gateway.',
    ),
    (
        "default route table inline route",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "drt",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-4"}]},
        ),
        'route 0.0.0.0/0 has routes[0].natGatewayId="nat-4": it targets a NAT gateway.',
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in NAT_CASES], ids=[c[0] for c in NAT_CASES])
def test_no_nat_gateway_violations(resource: Res, expected: str) -> None:
    assert messages([*compliant_network(), resource], "no-nat-gateway") == [expected]


PRIVATE_CASES = [
    (
        "public subnet",
        Res("aws:ec2/subnet:Subnet", "pub", {"mapPublicIpOnLaunch": True}),
        "subnet 'pub' has mapPublicIpOnLaunch=true: instances launched in it get a public IP.",
    ),
    (
        "native public subnet",
        Res("aws-native:ec2:Subnet", "pub", {"mapPublicIpOnLaunch": True}),
        "subnet 'pub' has mapPublicIpOnLaunch=true: instances launched in it get a public IP.",
    ),
    (
        "default subnet public",
        Res("aws:ec2/defaultSubnet:DefaultSubnet", "ds", {"mapPublicIpOnLaunch": True}),
        "subnet 'ds' has mapPublicIpOnLaunch=true: instances launched in it get a public IP.",
    ),
    (
        "default subnet unset",
        Res("aws:ec2/defaultSubnet:DefaultSubnet", "ds", {"availabilityZone": "eu-west-1a"}),
        "default subnet 'ds' does not set mapPublicIpOnLaunch, and AWS makes it true in a default subnet: instances "
        "launched in it get a public IP; set it to false.",
    ),
    (
        "internet gateway",
        Res("aws:ec2/internetGateway:InternetGateway", "igw", {"vpcId": "vpc-1"}),
        "'igw' (aws:ec2/internetGateway:InternetGateway) gives the VPC a path to or from the internet.",
    ),
    (
        "egress-only gateway",
        Res("aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "eigw", {}),
        "'eigw' (aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway) gives the VPC a path to or from the "
        "internet.",
    ),
    (
        "igw attachment",
        Res("aws:ec2/internetGatewayAttachment:InternetGatewayAttachment", "att", {}),
        "'att' (aws:ec2/internetGatewayAttachment:InternetGatewayAttachment) gives the VPC a path to or from the "
        "internet.",
    ),
    (
        "native igw",
        Res("aws-native:ec2:InternetGateway", "igw", {}),
        "'igw' (aws-native:ec2:InternetGateway) gives the VPC a path to or from the internet.",
    ),
    (
        "native eigw",
        Res("aws-native:ec2:EgressOnlyInternetGateway", "eigw", {"vpcId": "vpc-1"}),
        "'eigw' (aws-native:ec2:EgressOnlyInternetGateway) gives the VPC a path to or from the internet.",
    ),
    (
        "native igw attachment",
        Res("aws-native:ec2:VpcGatewayAttachment", "att", {"internetGatewayId": "igw-9"}),
        "'att' attaches internet gateway internetGatewayId=\"igw-9\".",
    ),
    (
        "route to igw",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}),
        'route 0.0.0.0/0 has gatewayId="igw-1": an internet gateway.',
    ),
    (
        "inline route to igw",
        Res("aws:ec2/routeTable:RouteTable", "rt", {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-2"}]}),
        'route 0.0.0.0/0 has routes[0].gatewayId="igw-2": an internet gateway.',
    ),
    (
        "default route table inline route to igw",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "drt",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-3"}]},
        ),
        'route 0.0.0.0/0 has routes[0].gatewayId="igw-3": an internet gateway.',
    ),
    (
        "route to eigw",
        Res("aws:ec2/route:Route", "r", {"destinationIpv6CidrBlock": "::/0", "egressOnlyGatewayId": "eigw-1"}),
        'route ::/0 has egressOnlyGatewayId="eigw-1": an egress-only internet gateway.',
    ),
    (
        "native route to eigw",
        Res("aws-native:ec2:Route", "r", {"destinationIpv6CidrBlock": "::/0", "egressOnlyInternetGatewayId": "eigw-2"}),
        'route ::/0 has egressOnlyInternetGatewayId="eigw-2": an egress-only internet gateway.',
    ),
    (
        "instance public ip",
        Res("aws:ec2/instance:Instance", "i", {"associatePublicIpAddress": True}),
        "associatePublicIpAddress=true: the instance gets a public IP.",
    ),
    (
        "instance ip unset",
        Res("aws:ec2/instance:Instance", "i", {"subnetId": "subnet-1"}),
        "associatePublicIpAddress is not set, so the instance follows its subnet's mapPublicIpOnLaunch (true in a "
        "default VPC).",
    ),
    (
        "launch template nic",
        Res(
            "aws:ec2/launchTemplate:LaunchTemplate", "lt", {"networkInterfaces": [{"associatePublicIpAddress": "true"}]}
        ),
        'networkInterfaces[0].associatePublicIpAddress="true": it must be false.',
    ),
    (
        "launch template nic unset",
        Res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"networkInterfaces": [{"deviceIndex": 0}]}),
        "networkInterfaces[0].associatePublicIpAddress=null: it must be false.",
    ),
    (
        "native launch template nic",
        Res(
            "aws-native:ec2:LaunchTemplate",
            "lt",
            {"launchTemplateData": {"networkInterfaces": [{"associatePublicIpAddress": True}]}},
        ),
        "launchTemplateData.networkInterfaces[0].associatePublicIpAddress=true: it must be false.",
    ),
    (
        "native instance nic",
        Res("aws-native:ec2:Instance", "i", {"networkInterfaces": [{"associatePublicIpAddress": True}]}),
        "networkInterfaces[0].associatePublicIpAddress=true: it must be false.",
    ),
    (
        "native instance no nic",
        Res("aws-native:ec2:Instance", "i", {"subnetId": "subnet-1"}),
        "networkInterfaces is not set, so the instance follows its subnet's mapPublicIpOnLaunch (true in a default "
        "VPC); declare an interface with associatePublicIpAddress=false.",
    ),
    (
        "public rds",
        Res("aws:rds/instance:Instance", "db", {"publiclyAccessible": True}),
        "publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "public rds cluster",
        Res("aws:rds/cluster:Cluster", "db", {"publiclyAccessible": True}),
        "publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "public aurora cluster instance",
        Res("aws:rds/clusterInstance:ClusterInstance", "db", {"publiclyAccessible": True}),
        "publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "native public multi-az cluster",
        Res("aws-native:rds:DbCluster", "db", {"publiclyAccessible": True}),
        "publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "native rds unset",
        Res("aws-native:rds:DbInstance", "db", {"dbInstanceClass": "db.t4g.micro"}),
        "publiclyAccessible is not set: CloudFormation makes the instance public when its subnets are.",
    ),
    (
        "lambda outside vpc",
        Res("aws:lambda/function:Function", "fn", {"runtime": "python3.12"}),
        "vpcConfig is not set: the function runs outside the VPC with direct internet access.",
    ),
    (
        "lambda empty subnets",
        Res("aws:lambda/function:Function", "fn", {"vpcConfig": {"subnetIds": [], "securityGroupIds": []}}),
        "vpcConfig.subnetIds is empty: the function runs outside the VPC with direct internet access.",
    ),
    (
        "native lambda outside vpc",
        Res("aws-native:lambda:Function", "fn", {}),
        "vpcConfig is not set: the function runs outside the VPC with direct internet access.",
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in PRIVATE_CASES], ids=[c[0] for c in PRIVATE_CASES])
def test_private_subnets_only_violations(resource: Res, expected: str) -> None:
    assert messages([*compliant_network(), resource], "private-subnets-only") == [expected]


PREVIEW_NOTE = "can't run policy '{}' from policy pack 'student-helper@v0.1.0' during preview: "

UNKNOWN_ROUTE_CASES = [
    (
        "nat id unknown",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": UNKNOWN}),
        "no-nat-gateway",
        "string value at .natGatewayId can't be known during preview; it can be checked only at apply time",
    ),
    (
        "gateway id unknown",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}),
        "private-subnets-only",
        "string value at .gatewayId can't be known during preview; it can be checked only at apply time",
    ),
    (
        "default route table gateway unknown",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "r",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}]},
        ),
        "private-subnets-only",
        "string value at .routes.0.gatewayId can't be known during preview; it can be checked only at apply time",
    ),
]


@pytest.mark.parametrize(
    ("resource", "policy", "expected"), [c[1:] for c in UNKNOWN_ROUTE_CASES], ids=[c[0] for c in UNKNOWN_ROUTE_CASES]
)
def test_route_target_unknown_at_preview_is_an_advisory_note(resource: Res, policy: str, expected: str) -> None:
    found = run([*compliant_network(), resource], policy)
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [
        ("advisory", resource.urn, PREVIEW_NOTE.format(policy) + expected)
    ]


WORLD_CASES = [
    (
        "ingress rule v4",
        Res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "r",
            {"cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22},
        ),
        "cidrIpv4 allows ingress from 0.0.0.0/0 (ports 22-22).",
    ),
    (
        "ingress rule v6",
        Res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "r",
            {"cidrIpv6": "::/0", "fromPort": 443, "toPort": 443},
        ),
        "cidrIpv6 allows ingress from ::/0 (ports 443-443).",
    ),
    (
        "inline ingress",
        Res(
            "aws:ec2/securityGroup:SecurityGroup",
            "sg",
            {"ingress": [{"cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"], "fromPort": 80, "toPort": 80}]},
        ),
        "ingress[0].cidrBlocks allows ingress from 0.0.0.0/0 (ports 80-80).",
    ),
    (
        "sg rule",
        Res(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "r",
            {"type": "ingress", "ipv6CidrBlocks": ["::/0"], "fromPort": 0, "toPort": 65535},
        ),
        "ipv6CidrBlocks allows ingress from ::/0 (ports 0-65535).",
    ),
    (
        "native sg",
        Res(
            "aws-native:ec2:SecurityGroup",
            "sg",
            {"securityGroupIngress": [{"cidrIp": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp"}]},
        ),
        "securityGroupIngress[0].cidrIp allows ingress from 0.0.0.0/0 (ports 443-443).",
    ),
    (
        "native ingress",
        Res("aws-native:ec2:SecurityGroupIngress", "r", {"cidrIpv6": "::/0", "fromPort": 1, "toPort": 2}),
        "cidrIpv6 allows ingress from ::/0 (ports 1-2).",
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in WORLD_CASES], ids=[c[0] for c in WORLD_CASES])
def test_no_world_ingress_violations(resource: Res, expected: str) -> None:
    assert messages([*compliant_network(), resource], "no-world-ingress") == [expected]
