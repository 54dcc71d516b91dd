"""no-nat-gateway, private-subnets-only and no-world-ingress: a compliant network, then one case per violation."""

from __future__ import annotations

import json
from typing import Any

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
            "ok-lt",
            {"networkInterfaces": [{"associatePublicIpAddress": "false", "deviceIndex": 0}]},
        ),
        Res(
            "aws-native:ec2:Instance",
            "native-i",
            {"networkInterfaces": [{"deviceIndex": "0", "associatePublicIpAddress": False}]},
        ),
        Res("aws:rds/instance:Instance", "ok-db", {"publiclyAccessible": False}),
        Res("aws:rds/instance:Instance", "db-default", {}),
        Res("aws-native:rds:DbInstance", "native-db", {"publiclyAccessible": False}),
        Res("aws-native:rds:DbCluster", "aurora", {}),
        Res("aws:rds/clusterInstance:ClusterInstance", "aurora-1", {"publiclyAccessible": False}),
        Res("aws:rds/clusterInstance:ClusterInstance", "aurora-2", {"clusterIdentifier": "c1"}),  # default false
        Res("aws:lambda/function:Function", "ok-fn", {"vpcConfig": LAMBDA_VPC}),
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
            "ok-sg",
            {"ingress": [{"cidrBlocks": ["10.0.0.0/16"], "fromPort": 443, "toPort": 443}]},
        ),
        *compliant_neighbours(),
    ]


TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::docs", "arn:aws:s3:::docs/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
PINNED_TO_ENDPOINT = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::docs/*",
    "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc"}},
}
CLOUDFRONT_READ = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudfront.amazonaws.com"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::docs/*",
    "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}},
}


def bucket_policy(*statements: dict[str, Any]) -> str:
    """A bucket policy as pulumi-aws takes it: a JSON string."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def compliant_neighbours() -> list[Res]:
    """The other shapes the policies judge, private, in both providers."""
    return [
        # A route to an instance or interface for a private destination is routing, not NAT.
        Res(
            "aws:ec2/route:Route",
            "to-appliance",
            {"routeTableId": "rtb-1", "destinationCidrBlock": "172.16.0.0/12", "networkInterfaceId": "eni-1"},
        ),
        Res(
            "aws-native:ec2:Route",
            "native-to-appliance",
            {"destinationCidrBlock": "172.16.0.0/12", "instanceId": "i-1"},
        ),
        Res("aws:ec2/instance:Instance", "router", {"associatePublicIpAddress": False, "sourceDestCheck": False}),
        Res("aws:ec2/instance:Instance", "on-eni", {"primaryNetworkInterface": {"networkInterfaceId": "eni-2"}}),
        Res("aws:lb/loadBalancer:LoadBalancer", "alb", {"internal": True}),
        Res("aws:lb/loadBalancer:LoadBalancer", "gwlb", {"loadBalancerType": "gateway"}),
        Res("aws:alb/loadBalancer:LoadBalancer", "legacy-alb", {"internal": True}),
        Res("aws:elb/loadBalancer:LoadBalancer", "classic", {"internal": True, "listeners": []}),
        Res("aws-native:elasticloadbalancingv2:LoadBalancer", "native-nlb", {"scheme": "internal", "type": "network"}),
        Res("aws-native:elasticloadbalancingv2:LoadBalancer", "native-gwlb", {"type": "gateway"}),
        Res("aws-native:elasticloadbalancing:LoadBalancer", "native-classic", {"scheme": "internal", "listeners": []}),
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "ok-lc", {"associatePublicIpAddress": False}),
        Res("aws-native:autoscaling:LaunchConfiguration", "native-lc", {"associatePublicIpAddress": False}),
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "ok-spot", {"associatePublicIpAddress": False}),
        Res(
            "aws:ec2/spotFleetRequest:SpotFleetRequest",
            "ok-fleet",
            {"launchSpecifications": [{"ami": "ami-1", "associatePublicIpAddress": False}]},
        ),
        Res(
            "aws-native:ec2:SpotFleet",
            "native-fleet",
            {
                "spotFleetRequestConfigData": {
                    "launchSpecifications": [
                        {
                            "imageId": "ami-1",
                            "networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": False}],
                        }
                    ]
                }
            },
        ),
        Res("aws:redshift/cluster:Cluster", "warehouse", {}),  # CreateCluster defaults PubliclyAccessible to false
        Res("aws-native:redshift:Cluster", "native-warehouse", {"publiclyAccessible": False}),
        Res("aws:opensearch/domain:Domain", "ok-search", {"vpcOptions": {"subnetIds": ["subnet-1"]}}),
        Res("aws-native:opensearchservice:Domain", "native-search", {"vpcOptions": {"subnetIds": ["subnet-1"]}}),
        Res("aws:lambda/functionUrl:FunctionUrl", "ok-url", {"authorizationType": "AWS_IAM", "functionName": "fn"}),
        Res("aws-native:lambda:Url", "native-url", {"authType": "AWS_IAM", "targetFunctionArn": "arn"}),
        Res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "docs-policy",
            {"bucket": "docs", "policy": bucket_policy(TLS_DENY, PINNED_TO_ENDPOINT, CLOUDFRONT_READ)},
        ),
        Res(
            "aws-native:s3:BucketPolicy",
            "native-docs-policy",
            {
                "bucket": "docs",
                "policyDocument": {
                    "Statement": [
                        {
                            **PINNED_TO_ENDPOINT,
                            "Principal": {"AWS": "*"},
                            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                        }
                    ]
                },
            },
        ),
        Res("aws:s3/bucketAcl:BucketAcl", "docs-acl", {"bucket": "docs", "acl": "private"}),
        Res("aws-native:s3:Bucket", "native-docs", {"accessControl": "Private"}),
    ]


@pytest.mark.parametrize("policy", ["no-nat-gateway", "private-subnets-only", "no-world-ingress"])
def test_compliant_network_passes(policy: str) -> None:
    assert messages(compliant_network(), policy) == []


NAT_CASES = [
    (
        "aws nat gateway",
        Res("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "subnet-1"}),
        "[nat-gateway] NAT gateway 'nat' (aws:ec2/natGateway:NatGateway, connectivityType=public) is declared.",
    ),
    (
        "native nat gateway",
        Res("aws-native:ec2:NatGateway", "nat", {"connectivityType": "private"}),
        "[nat-gateway] NAT gateway 'nat' (aws-native:ec2:NatGateway, connectivityType=private) is declared.",
    ),
    (
        "aws route",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1"}),
        '[route-to-nat-gateway] route 0.0.0.0/0 has natGatewayId="nat-1": it targets a NAT gateway.',
    ),
    (
        "inline route",
        Res("aws:ec2/routeTable:RouteTable", "rt", {"routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-2"}]}),
        '[route-to-nat-gateway] route 0.0.0.0/0 has routes[0].natGatewayId="nat-2": it targets a NAT gateway.',
    ),
    (
        "native route",
        Res("aws-native:ec2:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-3"}),
        '[route-to-nat-gateway] route 0.0.0.0/0 has natGatewayId="nat-3": it targets a NAT gateway.',
    ),
    (
        "default route table inline route",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "drt",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-4"}]},
        ),
        '[route-to-nat-gateway] route 0.0.0.0/0 has routes[0].natGatewayId="nat-4": it targets a NAT gateway.',
    ),
]


NAT_INSTANCE = (
    "a default route to an instance is a NAT instance (its source/destination check must be off for it to forward)."
)
NAT_CASES += [
    (
        "aws route to eni",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "networkInterfaceId": "eni-nat"}),
        f'[nat-instance-route] route 0.0.0.0/0 has networkInterfaceId="eni-nat": {NAT_INSTANCE}',
    ),
    (
        "aws inline route to eni",
        Res(
            "aws:ec2/routeTable:RouteTable",
            "rt",
            {"routes": [{"cidrBlock": "0.0.0.0/0", "networkInterfaceId": "eni-2"}]},
        ),
        f'[nat-instance-route] route 0.0.0.0/0 has routes[0].networkInterfaceId="eni-2": {NAT_INSTANCE}',
    ),
    (
        "default route table to instance",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "drt",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "instanceId": "i-nat"}]},
        ),
        f'[nat-instance-route] route 0.0.0.0/0 has routes[0].instanceId="i-nat": {NAT_INSTANCE}',
    ),
    (
        "native route to instance",
        Res("aws-native:ec2:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "instanceId": "i-nat"}),
        f'[nat-instance-route] route 0.0.0.0/0 has instanceId="i-nat": {NAT_INSTANCE}',
    ),
    (
        "native ipv6 default route to eni",
        Res("aws-native:ec2:Route", "r", {"destinationIpv6CidrBlock": "::/0", "networkInterfaceId": "eni-6"}),
        f'[nat-instance-route] route ::/0 has networkInterfaceId="eni-6": {NAT_INSTANCE}',
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in NAT_CASES], ids=[c[0] for c in NAT_CASES])
def test_no_nat_gateway_violations(resource: Res, expected: str) -> None:
    assert messages([*compliant_network(), resource], "no-nat-gateway") == [expected]


PRIVATE_CASES = [
    (
        "public subnet",
        Res("aws:ec2/subnet:Subnet", "pub", {"mapPublicIpOnLaunch": True}),
        "[public-subnet] subnet 'pub' has mapPublicIpOnLaunch=true: instances launched in it get a public IP.",
    ),
    (
        "native public subnet",
        Res("aws-native:ec2:Subnet", "pub", {"mapPublicIpOnLaunch": True}),
        "[public-subnet] subnet 'pub' has mapPublicIpOnLaunch=true: instances launched in it get a public IP.",
    ),
    (
        "default subnet public",
        Res("aws:ec2/defaultSubnet:DefaultSubnet", "ds", {"mapPublicIpOnLaunch": True}),
        "[public-subnet] subnet 'ds' has mapPublicIpOnLaunch=true: instances launched in it get a public IP.",
    ),
    (
        "default subnet unset",
        Res("aws:ec2/defaultSubnet:DefaultSubnet", "ds", {"availabilityZone": "eu-west-1a"}),
        "[public-subnet] default subnet 'ds' does not set mapPublicIpOnLaunch, and AWS makes it true in a default "
        "subnet: instances "
        "launched in it get a public IP; set it to false.",
    ),
    (
        "internet gateway",
        Res("aws:ec2/internetGateway:InternetGateway", "igw", {"vpcId": "vpc-1"}),
        "[internet-gateway] 'igw' (aws:ec2/internetGateway:InternetGateway) gives the VPC a path to or from the "
        "internet.",
    ),
    (
        "egress-only gateway",
        Res("aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "eigw", {}),
        "[internet-gateway] 'eigw' (aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway) gives the VPC a path "
        "to or from the "
        "internet.",
    ),
    (
        "igw attachment",
        Res("aws:ec2/internetGatewayAttachment:InternetGatewayAttachment", "att", {}),
        "[internet-gateway] 'att' (aws:ec2/internetGatewayAttachment:InternetGatewayAttachment) gives the VPC a path "
        "to or from the "
        "internet.",
    ),
    (
        "native igw",
        Res("aws-native:ec2:InternetGateway", "igw", {}),
        "[internet-gateway] 'igw' (aws-native:ec2:InternetGateway) gives the VPC a path to or from the internet.",
    ),
    (
        "native eigw",
        Res("aws-native:ec2:EgressOnlyInternetGateway", "eigw", {"vpcId": "vpc-1"}),
        "[internet-gateway] 'eigw' (aws-native:ec2:EgressOnlyInternetGateway) gives the VPC a path to or from the "
        "internet.",
    ),
    (
        "native igw attachment",
        Res("aws-native:ec2:VpcGatewayAttachment", "att", {"internetGatewayId": "igw-9"}),
        "[internet-gateway] 'att' attaches internet gateway internetGatewayId=\"igw-9\".",
    ),
    (
        "route to igw",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}),
        '[route-to-internet-gateway] route 0.0.0.0/0 has gatewayId="igw-1": an internet gateway.',
    ),
    (
        "inline route to igw",
        Res("aws:ec2/routeTable:RouteTable", "rt", {"routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-2"}]}),
        '[route-to-internet-gateway] route 0.0.0.0/0 has routes[0].gatewayId="igw-2": an internet gateway.',
    ),
    (
        "default route table inline route to igw",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "drt",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-3"}]},
        ),
        '[route-to-internet-gateway] route 0.0.0.0/0 has routes[0].gatewayId="igw-3": an internet gateway.',
    ),
    (
        "route to eigw",
        Res("aws:ec2/route:Route", "r", {"destinationIpv6CidrBlock": "::/0", "egressOnlyGatewayId": "eigw-1"}),
        '[route-to-internet-gateway] route ::/0 has egressOnlyGatewayId="eigw-1": an egress-only internet gateway.',
    ),
    (
        "native route to eigw",
        Res("aws-native:ec2:Route", "r", {"destinationIpv6CidrBlock": "::/0", "egressOnlyInternetGatewayId": "eigw-2"}),
        '[route-to-internet-gateway] route ::/0 has egressOnlyInternetGatewayId="eigw-2": an egress-only internet '
        "gateway.",
    ),
    (
        "instance public ip",
        Res("aws:ec2/instance:Instance", "i", {"associatePublicIpAddress": True}),
        "[public-ip] associatePublicIpAddress=true: the instance gets a public IP.",
    ),
    (
        "instance ip unset",
        Res("aws:ec2/instance:Instance", "i", {"subnetId": "subnet-1"}),
        "[public-ip] associatePublicIpAddress is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
        "(true in a "
        "default VPC).",
    ),
    (
        "launch template nic",
        Res(
            "aws:ec2/launchTemplate:LaunchTemplate", "lt", {"networkInterfaces": [{"associatePublicIpAddress": "true"}]}
        ),
        '[public-ip] networkInterfaces[0].associatePublicIpAddress="true": it must be false.',
    ),
    (
        "launch template nic unset",
        Res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"networkInterfaces": [{"deviceIndex": 0}]}),
        "[public-ip] networkInterfaces[0].associatePublicIpAddress=null: it must be false.",
    ),
    (
        "native launch template nic",
        Res(
            "aws-native:ec2:LaunchTemplate",
            "lt",
            {"launchTemplateData": {"networkInterfaces": [{"associatePublicIpAddress": True}]}},
        ),
        "[public-ip] launchTemplateData.networkInterfaces[0].associatePublicIpAddress=true: it must be false.",
    ),
    (
        "native instance nic",
        Res("aws-native:ec2:Instance", "i", {"networkInterfaces": [{"associatePublicIpAddress": True}]}),
        "[public-ip] networkInterfaces[0].associatePublicIpAddress=true: it must be false.",
    ),
    (
        "native instance no nic",
        Res("aws-native:ec2:Instance", "i", {"subnetId": "subnet-1"}),
        "[public-ip] networkInterfaces is not set, so the instance follows its subnet's mapPublicIpOnLaunch (true in "
        "a default "
        "VPC); declare an interface with associatePublicIpAddress=false.",
    ),
    (
        "public rds",
        Res("aws:rds/instance:Instance", "db", {"publiclyAccessible": True}),
        "[public-database] publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "public rds cluster",
        Res("aws:rds/cluster:Cluster", "db", {"publiclyAccessible": True}),
        "[public-database] publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "public aurora cluster instance",
        Res("aws:rds/clusterInstance:ClusterInstance", "db", {"publiclyAccessible": True}),
        "[public-database] publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "native public multi-az cluster",
        Res("aws-native:rds:DbCluster", "db", {"publiclyAccessible": True}),
        "[public-database] publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "native rds unset",
        Res("aws-native:rds:DbInstance", "db", {"dbInstanceClass": "db.t4g.micro"}),
        "[public-database] publiclyAccessible is not set: CloudFormation makes the instance public when its subnets "
        "are.",
    ),
    (
        "lambda outside vpc",
        Res("aws:lambda/function:Function", "fn", {"runtime": "python3.12"}),
        "[lambda-outside-vpc] vpcConfig is not set: the function runs outside the VPC with direct internet access.",
    ),
    (
        "lambda empty subnets",
        Res("aws:lambda/function:Function", "fn", {"vpcConfig": {"subnetIds": [], "securityGroupIds": []}}),
        "[lambda-outside-vpc] vpcConfig.subnetIds is empty: the function runs outside the VPC with direct internet "
        "access.",
    ),
    (
        "native lambda outside vpc",
        Res("aws-native:lambda:Function", "fn", {}),
        "[lambda-outside-vpc] vpcConfig is not set: the function runs outside the VPC with direct internet access.",
    ),
]


ANYONE = (
    "with no condition that pins the caller (aws:SourceVpce, aws:SourceArn, aws:PrincipalOrgID, ...): anyone on the "
    "internet can call it."
)
PUBLIC_READ = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::docs/*"}
PRIVATE_CASES += [
    *[
        (
            f"elastic ip {kind}",
            Res(kind, "eip", {}),
            f"[elastic-ip] 'eip' ({kind}) {verb} an Elastic IP: a public IPv4 address reachable from the internet.",
        )
        for kind, verb in [
            ("aws:ec2/eip:Eip", "allocates"),
            ("aws:ec2/eipAssociation:EipAssociation", "associates"),
            ("aws-native:ec2:Eip", "allocates"),
            ("aws-native:ec2:EipAssociation", "associates"),
        ]
    ],
    (
        "lb internal unset",
        Res("aws:lb/loadBalancer:LoadBalancer", "lb", {"loadBalancerType": "application"}),
        "[public-load-balancer] internal=null: the load balancer is internet-facing (the default); set internal=true.",
    ),
    (
        "alb internal false",
        Res("aws:alb/loadBalancer:LoadBalancer", "lb", {"internal": False}),
        "[public-load-balancer] internal=false: the load balancer is internet-facing (the default); set internal=true.",
    ),
    (
        "nlb internal false",
        Res("aws:lb/loadBalancer:LoadBalancer", "lb", {"internal": False, "loadBalancerType": "network"}),
        "[public-load-balancer] internal=false: the load balancer is internet-facing (the default); set internal=true.",
    ),
    (
        "classic elb unset",
        Res("aws:elb/loadBalancer:LoadBalancer", "lb", {"listeners": []}),
        "[public-load-balancer] internal=null: the load balancer is internet-facing (the default); set internal=true.",
    ),
    (
        "native lb scheme unset",
        Res("aws-native:elasticloadbalancingv2:LoadBalancer", "lb", {"type": "application"}),
        "[public-load-balancer] scheme=null: the load balancer is internet-facing (the default); set "
        'scheme="internal".',
    ),
    (
        "native lb internet-facing",
        Res("aws-native:elasticloadbalancingv2:LoadBalancer", "lb", {"scheme": "internet-facing"}),
        '[public-load-balancer] scheme="internet-facing": the load balancer is internet-facing (the default); set '
        'scheme="internal".',
    ),
    (
        "native classic elb unset",
        Res("aws-native:elasticloadbalancing:LoadBalancer", "lb", {"listeners": []}),
        "[public-load-balancer] scheme=null: the load balancer is internet-facing (the default); set "
        'scheme="internal".',
    ),
    (
        "launch configuration public",
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "lc", {"associatePublicIpAddress": True}),
        "[public-ip] associatePublicIpAddress=true: the instance gets a public IP.",
    ),
    (
        "launch configuration unset",
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "lc", {"imageId": "ami-1"}),
        "[public-ip] associatePublicIpAddress is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
        "(true in a default VPC).",
    ),
    (
        "native launch configuration public",
        Res("aws-native:autoscaling:LaunchConfiguration", "lc", {"associatePublicIpAddress": True}),
        "[public-ip] associatePublicIpAddress=true: the instance gets a public IP.",
    ),
    (
        "spot request unset",
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "spot", {"spotPrice": "0.01"}),
        "[public-ip] associatePublicIpAddress is not set, so the instance follows its subnet's mapPublicIpOnLaunch "
        "(true in a default VPC).",
    ),
    (
        "spot fleet specification",
        Res("aws:ec2/spotFleetRequest:SpotFleetRequest", "fleet", {"launchSpecifications": [{"ami": "ami-1"}]}),
        "[public-ip] launchSpecifications[0].associatePublicIpAddress=null: it must be false.",
    ),
    (
        "native spot fleet without interfaces",
        Res(
            "aws-native:ec2:SpotFleet",
            "fleet",
            {"spotFleetRequestConfigData": {"launchSpecifications": [{"imageId": "ami-1"}]}},
        ),
        "[public-ip] spotFleetRequestConfigData.launchSpecifications[0].networkInterfaces is not set, so its "
        "instances follow the subnet's mapPublicIpOnLaunch.",
    ),
    (
        "native spot fleet public interface",
        Res(
            "aws-native:ec2:SpotFleet",
            "fleet",
            {
                "spotFleetRequestConfigData": {
                    "launchSpecifications": [{"networkInterfaces": [{"associatePublicIpAddress": True}]}]
                }
            },
        ),
        "[public-ip] spotFleetRequestConfigData.launchSpecifications[0].networkInterfaces[0].associatePublicIpAddress"
        "=true: it must be false.",
    ),
    (
        "public redshift",
        Res("aws:redshift/cluster:Cluster", "dw", {"publiclyAccessible": True}),
        "[public-database] publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    (
        "native public redshift",
        Res("aws-native:redshift:Cluster", "dw", {"publiclyAccessible": True}),
        "[public-database] publiclyAccessible=true: the database gets a public DNS name and address.",
    ),
    *[
        (
            f"search domain outside vpc {kind}",
            Res(kind, "search", props),
            "[public-search-domain] vpcOptions.subnetIds is not set: the domain gets a public endpoint instead of "
            "living in the VPC.",
        )
        for kind, props in [
            ("aws:opensearch/domain:Domain", {"engineVersion": "OpenSearch_2.13"}),
            ("aws:elasticsearch/domain:Domain", {"vpcOptions": {"subnetIds": []}}),
            ("aws-native:opensearchservice:Domain", {}),
        ]
    ],
    (
        "function url without auth",
        Res("aws:lambda/functionUrl:FunctionUrl", "url", {"authorizationType": "NONE", "functionName": "fn"}),
        '[public-function-url] authorizationType="NONE": anyone on the internet can invoke the function through '
        'its URL; use "AWS_IAM".',
    ),
    (
        "native function url without auth",
        Res("aws-native:lambda:Url", "url", {"authType": "NONE", "targetFunctionArn": "arn"}),
        '[public-function-url] authType="NONE": anyone on the internet can invoke the function through its URL; '
        'use "AWS_IAM".',
    ),
    (
        "bucket policy public read",
        Res(
            "aws:s3/bucketPolicy:BucketPolicy", "p", {"bucket": "docs", "policy": bucket_policy(TLS_DENY, PUBLIC_READ)}
        ),
        f'[public-bucket-policy] policy Statement[1] allows Principal "*" ["s3:GetObject"] {ANYONE}',
    ),
    (
        "bucket policy aws star with an IfExists condition",
        Res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "p",
            {
                "bucket": "docs",
                "policy": bucket_policy(
                    {
                        **PUBLIC_READ,
                        "Sid": "Read",
                        "Principal": {"AWS": "*"},
                        "Condition": {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}},
                    }
                ),
            },
        ),
        f'[public-bucket-policy] policy Statement[0] (Sid \'Read\') allows Principal {{"AWS": "*"}} ["s3:GetObject"] '
        f"{ANYONE}",
    ),
    (
        "bucket policy negated condition",
        Res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "p",
            {
                "bucket": "docs",
                "policy": bucket_policy(
                    {**PUBLIC_READ, "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}
                ),
            },
        ),
        f'[public-bucket-policy] policy Statement[0] allows Principal "*" ["s3:GetObject"] {ANYONE}',
    ),
    (
        "bucket policy wildcard source arn",
        Res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "p",
            {
                "bucket": "docs",
                "policy": bucket_policy({**PUBLIC_READ, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:*"}}}),
            },
        ),
        f'[public-bucket-policy] policy Statement[0] allows Principal "*" ["s3:GetObject"] {ANYONE}',
    ),
    (
        "bucket policy open ip range",
        Res(
            "aws:s3/bucketPolicy:BucketPolicy",
            "p",
            {
                "bucket": "docs",
                "policy": bucket_policy({**PUBLIC_READ, "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}),
            },
        ),
        f'[public-bucket-policy] policy Statement[0] allows Principal "*" ["s3:GetObject"] {ANYONE}',
    ),
    (
        "native bucket policy public",
        Res(
            "aws-native:s3:BucketPolicy",
            "p",
            {
                "bucket": "docs",
                "policyDocument": {"Statement": {**PUBLIC_READ, "Action": ["s3:GetObject", "s3:ListBucket"]}},
            },
        ),
        f'[public-bucket-policy] policyDocument Statement[0] allows Principal "*" ["s3:GetObject", "s3:ListBucket"] '
        f"{ANYONE}",
    ),
    (
        "canned public acl",
        Res("aws:s3/bucketAcl:BucketAcl", "acl", {"bucket": "docs", "acl": "public-read"}),
        '[public-bucket-acl] acl="public-read": the canned ACL grants access to everyone.',
    ),
    (
        "grant to all users",
        Res(
            "aws:s3/bucketAcl:BucketAcl",
            "acl",
            {
                "bucket": "docs",
                "accessControlPolicy": {
                    "owner": {"id": "o"},
                    "grants": [
                        {"grantee": {"type": "CanonicalUser", "id": "o"}, "permission": "FULL_CONTROL"},
                        {
                            "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                            "permission": "READ",
                        },
                    ],
                },
            },
        ),
        '[public-bucket-acl] accessControlPolicy.grants[1] grants "READ" to '
        "http://acs.amazonaws.com/groups/global/AllUsers.",
    ),
    (
        "native canned acl",
        Res("aws-native:s3:Bucket", "b", {"accessControl": "PublicReadWrite"}),
        '[public-bucket-acl] accessControl="PublicReadWrite": the canned ACL grants access to everyone.',
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
        "[route-to-nat-gateway] string value at .natGatewayId can't be known during preview; it can be checked only "
        "at apply time",
    ),
    (
        "gateway id unknown",
        Res("aws:ec2/route:Route", "r", {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}),
        "private-subnets-only",
        "[route-to-internet-gateway] string value at .gatewayId can't be known during preview; it can be checked only "
        "at apply time",
    ),
    (
        "default route table gateway unknown",
        Res(
            "aws:ec2/defaultRouteTable:DefaultRouteTable",
            "r",
            {"defaultRouteTableId": "rtb-0", "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN}]},
        ),
        "private-subnets-only",
        "[route-to-internet-gateway] string value at .routes.0.gatewayId can't be known during preview; it can be "
        "checked only at apply time",
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
        "[world-ingress] cidrIpv4 allows ingress from 0.0.0.0/0 (ports 22-22).",
    ),
    (
        "ingress rule v6",
        Res(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "r",
            {"cidrIpv6": "::/0", "fromPort": 443, "toPort": 443},
        ),
        "[world-ingress] cidrIpv6 allows ingress from ::/0 (ports 443-443).",
    ),
    (
        "inline ingress",
        Res(
            "aws:ec2/securityGroup:SecurityGroup",
            "sg",
            {"ingress": [{"cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"], "fromPort": 80, "toPort": 80}]},
        ),
        "[world-ingress] ingress[0].cidrBlocks allows ingress from 0.0.0.0/0 (ports 80-80).",
    ),
    (
        "sg rule",
        Res(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "r",
            {"type": "ingress", "ipv6CidrBlocks": ["::/0"], "fromPort": 0, "toPort": 65535},
        ),
        "[world-ingress] ipv6CidrBlocks allows ingress from ::/0 (ports 0-65535).",
    ),
    (
        "native sg",
        Res(
            "aws-native:ec2:SecurityGroup",
            "sg",
            {"securityGroupIngress": [{"cidrIp": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "ipProtocol": "tcp"}]},
        ),
        "[world-ingress] securityGroupIngress[0].cidrIp allows ingress from 0.0.0.0/0 (ports 443-443).",
    ),
    (
        "native ingress",
        Res("aws-native:ec2:SecurityGroupIngress", "r", {"cidrIpv6": "::/0", "fromPort": 1, "toPort": 2}),
        "[world-ingress] cidrIpv6 allows ingress from ::/0 (ports 1-2).",
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in WORLD_CASES], ids=[c[0] for c in WORLD_CASES])
def test_no_world_ingress_violations(resource: Res, expected: str) -> None:
    assert messages([*compliant_network(), resource], "no-world-ingress") == [expected]
