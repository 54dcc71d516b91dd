"""The network layer, asserted on the real offline exports of dev, staging and prod."""

from __future__ import annotations

import ipaddress

import pytest

from shared.components.network import security_group_matrix
from shared.constants import INTERFACE_ENDPOINT_SERVICES, SUBNET_CIDRS
from shared.tags import BASE_TAG_KEYS, tags_style
from tests.conftest import ENVS, Export

SUBNET = "aws:ec2/subnet:Subnet"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FORBIDDEN = (
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/route:Route",
)


@pytest.fixture(params=ENVS)
def network(request: pytest.FixtureRequest, exports: dict[tuple[str, str], Export]) -> tuple[str, Export]:
    return request.param, exports[(request.param, "network")]


def test_no_nat_no_internet_gateway_no_public_ip(network: tuple[str, Export]) -> None:
    _, export = network
    for resource in export.resources:
        assert resource["type"] not in FORBIDDEN, f"{resource['urn']}: forbidden in a private-only VPC"
    for subnet in export.of_type(SUBNET):
        assert subnet["inputs"].get("mapPublicIpOnLaunch") is False, (
            f"{subnet['urn']}: must set mapPublicIpOnLaunch=false"
        )
    for table in export.of_type("aws:ec2/routeTable:RouteTable"):
        assert not table["inputs"].get("routes"), f"{table['urn']}: only local and endpoint routes are allowed"


def test_vpc_has_dns_for_private_endpoints(network: tuple[str, Export]) -> None:
    _, export = network
    vpc = export.one("aws:ec2/vpc:Vpc")
    assert vpc["inputs"]["cidrBlock"] == "10.0.0.0/16", vpc["urn"]
    assert vpc["inputs"]["enableDnsSupport"] is True and vpc["inputs"]["enableDnsHostnames"] is True, vpc["urn"]


def test_subnets_azs_and_cidrs(network: tuple[str, Export]) -> None:
    env, export = network
    az_count = 1 if env == "dev" else 2
    subnets = {s["urn"].rsplit("::", 1)[1]: s for s in export.of_type(SUBNET)}
    expected = {
        f"student-helper-{env}-{role}-{'ab'[i]}": (cidrs[i], f"ap-southeast-2{'ab'[i]}")
        for role, cidrs in SUBNET_CIDRS.items()
        for i in range(2 if role == "data" else az_count)
    }
    assert set(subnets) == set(expected)
    for name, (cidr, zone) in expected.items():
        inputs = subnets[name]["inputs"]
        assert (inputs["cidrBlock"], inputs["availabilityZone"]) == (cidr, zone), subnets[name]["urn"]
        assert ipaddress.IPv4Network(cidr).subnet_of(ipaddress.IPv4Network("10.0.0.0/16"))
    data_zones = {subnets[f"student-helper-{env}-data-{x}"]["inputs"]["availabilityZone"] for x in "ab"}
    assert len(data_zones) == 2, "the RDS subnet group needs two AZs"
    assert "10.0.0.0/24" not in {s["inputs"]["cidrBlock"] for s in subnets.values()}, "10.0.0.0/24 stays reserved"


def test_every_subnet_is_associated_with_a_private_route_table(network: tuple[str, Export]) -> None:
    _, export = network
    associated = {
        a["inputs"]["subnetId"] for a in export.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    for subnet in export.of_type(SUBNET):
        assert subnet["id"] in associated, f"{subnet['urn']}: not associated with a route table"


def test_security_group_rules_match_the_matrix(network: tuple[str, Export]) -> None:
    _, export = network
    groups = {r["id"]: r["urn"].rsplit("::", 1)[1] for r in export.of_type("aws:ec2/securityGroup:SecurityGroup")}
    role_of = {gid: name.split("-", 3)[3].removesuffix("-sg").replace("-", "_") for gid, name in groups.items()}
    prefix_list = export.outputs["s3_prefix_list_id"]
    actual = set()
    for rule_type, direction in ((INGRESS, "ingress"), (EGRESS, "egress")):
        for rule in export.of_type(rule_type):
            inputs = rule["inputs"]
            assert inputs.get("description"), f"{rule['urn']}: every rule needs a description"
            assert inputs["ipProtocol"] == "tcp" and inputs["fromPort"] == inputs["toPort"], rule["urn"]
            assert inputs.get("cidrIpv4") not in ("0.0.0.0/0",) and inputs.get("cidrIpv6") != "::/0", rule["urn"]
            if "referencedSecurityGroupId" in inputs:
                peer = ("group", role_of[inputs["referencedSecurityGroupId"]])
            elif "cidrIpv4" in inputs:
                assert inputs["cidrIpv4"] == "10.0.0.0/16", rule["urn"]
                peer = ("vpc_cidr", "vpc")
            else:
                assert inputs["prefixListId"] == prefix_list, rule["urn"]
                peer = ("prefix_list", "s3")
            actual.add((role_of[inputs["securityGroupId"]], direction, inputs["fromPort"], *peer))
    expected = {(s.group, s.direction, s.port, s.peer_kind, s.peer) for s in security_group_matrix()}
    assert actual == expected
    # The matrix itself, spelled out: what the issue promises.
    assert ("backend", "ingress", 8000, "group", "vpc_link") in expected
    assert {r for r in expected if r[0] == "database"} == {
        ("database", "ingress", 5432, "group", "backend"),
        ("database", "ingress", 5432, "group", "lambda"),
    }
    assert {r for r in expected if r[0] == "endpoints"} == {
        ("endpoints", "ingress", 443, "group", "backend"),
        ("endpoints", "ingress", 443, "group", "lambda"),
    }
    assert {(r[2], r[4]) for r in expected if r[0] == "lambda"} == {(443, "vpc"), (443, "s3"), (5432, "database")}
    for group in export.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not group["inputs"].get("ingress") and not group["inputs"].get("egress"), f"{group['urn']}: inline rules"


def test_default_security_group_is_emptied(network: tuple[str, Export]) -> None:
    _, export = network
    default = export.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default["inputs"].get("ingress") and not default["inputs"].get("egress"), default["urn"]


def test_endpoints_per_environment(network: tuple[str, Export]) -> None:
    env, export = network
    by_service = {e["inputs"]["serviceName"].split("ap-southeast-2.", 1)[1]: e for e in export.of_type(ENDPOINT)}
    assert set(by_service) == {"s3", *INTERFACE_ENDPOINT_SERVICES}
    gateway = by_service.pop("s3")
    assert gateway["inputs"]["vpcEndpointType"] == "Gateway", gateway["urn"]
    route_tables = {t["id"] for t in export.of_type("aws:ec2/routeTable:RouteTable")}
    assert set(gateway["inputs"]["routeTableIds"]) == route_tables, gateway["urn"]
    lambda_subnets = export.outputs["subnet_ids"]["lambda"]
    for endpoint in by_service.values():
        inputs = endpoint["inputs"]
        assert inputs["vpcEndpointType"] == "Interface" and inputs["privateDnsEnabled"] is True, endpoint["urn"]
        assert inputs["subnetIds"] == lambda_subnets and len(inputs["subnetIds"]) == (1 if env == "dev" else 2), (
            endpoint["urn"]
        )
        assert inputs["securityGroupIds"] == [export.outputs["security_group_ids"]["endpoints"]], endpoint["urn"]


def test_prod_has_every_endpoint_the_issue_lists(exports: dict[tuple[str, str], Export]) -> None:
    services = {e["inputs"]["serviceName"] for e in exports[("prod", "network")].of_type(ENDPOINT)}
    for suffix in (
        "ecr.api",
        "ecr.dkr",
        "s3",
        "ssm",
        "ssmmessages",
        "ec2messages",
        "logs",
        "s3vectors",
        "sqs",
        "secretsmanager",
        "bedrock-runtime",
    ):
        assert f"com.amazonaws.ap-southeast-2.{suffix}" in services, suffix


def test_flow_logs_to_a_log_group_with_retention(network: tuple[str, Export]) -> None:
    env, export = network
    flow_log = export.one("aws:ec2/flowLog:FlowLog")
    group = export.one("aws:cloudwatch/logGroup:LogGroup")
    assert flow_log["inputs"]["vpcId"] == export.outputs["vpc_id"], flow_log["urn"]
    assert flow_log["inputs"]["logDestination"] == group["outputs"]["arn"], flow_log["urn"]
    assert flow_log["inputs"]["trafficType"] == "ALL", flow_log["urn"]
    assert group["inputs"]["retentionInDays"] == {"dev": 14, "staging": 30, "prod": 90}[env], group["urn"]


def test_every_taggable_resource_has_the_base_tags(exports: dict[tuple[str, str], Export]) -> None:
    checked = 0
    for (env, layer), export in exports.items():
        for resource in export.custom():
            if tags_style(resource["type"]) != "map":
                continue
            tags = resource["inputs"].get("tags") or {}
            for key in BASE_TAG_KEYS:
                assert tags.get(key), f"{resource['urn']}: missing tag {key}"
            assert (tags["Environment"], tags["Layer"], tags["ManagedBy"]) == (env, layer, "pulumi"), resource["urn"]
            checked += 1
    assert checked > 50


def test_exports_match_the_contract_shape(network: tuple[str, Export]) -> None:
    _, export = network
    outputs = export.outputs
    assert set(outputs["subnet_ids"]) == {"private", "lambda", "data"}
    assert set(outputs["security_group_ids"]) == {"vpc_link", "backend", "lambda", "database", "endpoints"}
    assert outputs["vpc_cidr"] == "10.0.0.0/16"
    assert outputs["s3_prefix_list_id"].startswith("pl-")
    assert outputs["endpoint_ids"]["s3"] == export.one(ENDPOINT, "s3-gateway")["id"]
