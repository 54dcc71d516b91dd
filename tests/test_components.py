"""Components built on their own, from hand-made args under Pulumi's mocks: no stack, config file or environment.

Each test reads what the component registered, as the engine received it: the resources, their inputs and options.
The names and values are deliberately unlike any environment's, so nothing can come from anywhere but the args.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

from shared.components import compute, data, edge, network

ACCOUNT = "111122223333"
SUBNET = "aws:ec2/subnet:Subnet"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1234ABCD"


@dataclass(frozen=True)
class Registered:
    """One resource registration as the engine received it."""

    type: str
    """The type token."""
    name: str
    """The logical name."""
    parent_type: str
    """The type of the parent resource (the stack's, for a component)."""
    inputs: dict[str, Any]
    """The inputs, with engine (camelCase) property names."""
    protect: bool
    """The ``protect`` option."""
    retain_on_delete: bool
    """The ``retainOnDelete`` option."""
    delete_before_replace: bool
    """The ``deleteBeforeReplace`` option."""
    ignore_changes: tuple[str, ...]
    """The ``ignoreChanges`` option."""


class Registrations:
    """What one component registered; lookups fail naming what there was."""

    def __init__(self, registered: list[Registered]) -> None:
        self.all = registered

    def of_type(self, type_token: str) -> list[Registered]:
        """Every resource of one type."""
        return [r for r in self.all if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registered:
        """The single resource of ``type_token`` (named ``name``, when given)."""
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, got {[(r.type, r.name) for r in self.all]}"
        return found[0]


class _Provider(pulumi.runtime.Mocks):
    """Echoes the inputs as state, plus the few computed attributes the components read."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return "", {}
        state = {**args.inputs, "arn": f"arn:aws:mock::{ACCOUNT}:{args.name}"}
        if args.typ == "aws:s3/bucket:Bucket":
            state["arn"] = f"arn:aws:s3:::{args.inputs['bucket']}"
        if args.typ == "aws:rds/instance:Instance":
            state["masterUserSecrets"] = [{"secretArn": f"arn:aws:secretsmanager:mock:{ACCOUNT}:secret:master"}]
        if args.typ == "aws:cloudfront/distribution:Distribution":
            state["arn"] = DISTRIBUTION_ARN
            state["domainName"] = "d1234abcd.cloudfront.net"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"a component looked up {args.token}: it should come from the args")


class _Recorder(MockMonitor):
    """The SDK's mock monitor, recording each registration with its options."""

    def __init__(self) -> None:
        super().__init__(_Provider())
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    parent_type=request.parent.split("::")[2].split("$")[-1],
                    inputs=json_format.MessageToDict(request.object),
                    protect=request.protect,
                    retain_on_delete=request.retainOnDelete,
                    delete_before_replace=request.deleteBeforeReplace,
                    ignore_changes=tuple(request.ignoreChanges),
                )
            )
        return response


def build(create: Callable[[], pulumi.ComponentResource]) -> Registrations:
    """Run ``create`` under fresh mocks and wait for everything it registers."""
    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder.mocks, project="components", stack="test", preview=False, monitor=recorder)

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        create()
        return pulumi.Output.from_input(None)

    program()
    return Registrations(recorder.registered)


def _statements(policy: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(policy)["Statement"]
    return statements


def test_vpc_takes_its_plan_names_and_retention_from_its_args() -> None:
    args = network.VpcArgs(
        name_prefix="shop-qa",
        cidr_block="10.20.0.0/16",
        subnet_cidrs={
            "private": ("10.20.1.0/24", "10.20.11.0/24"),
            "lambda": ("10.20.2.0/24", "10.20.12.0/24"),
            "data": ("10.20.3.0/24", "10.20.4.0/24"),
        },
        workload_az_count=1,
        availability_zones=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        account_id=ACCOUNT,
        flow_log_group_name="/qa/flow-logs",
        log_retention_days=14,
    )
    registered = build(lambda: network.Vpc("vpc", args))

    assert registered.one("aws:ec2/vpc:Vpc", "shop-qa-vpc").inputs["cidrBlock"] == "10.20.0.0/16"
    subnets = {r.name: (r.inputs["cidrBlock"], r.inputs["availabilityZone"]) for r in registered.of_type(SUBNET)}
    # One AZ for the workloads, and always two for the data subnets (an RDS subnet group needs them).
    assert subnets == {
        "shop-qa-private-a": ("10.20.1.0/24", "eu-west-1a"),
        "shop-qa-lambda-a": ("10.20.2.0/24", "eu-west-1a"),
        "shop-qa-data-a": ("10.20.3.0/24", "eu-west-1a"),
        "shop-qa-data-b": ("10.20.4.0/24", "eu-west-1b"),
    }
    log_group = registered.one("aws:cloudwatch/logGroup:LogGroup", "shop-qa-flow-logs")
    assert (log_group.inputs["name"], log_group.inputs["retentionInDays"]) == ("/qa/flow-logs", 14)
    trust = _statements(registered.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    component = registered.one("student-helper:network:Vpc", "vpc")
    assert component.parent_type == "pulumi:pulumi:Stack"
    for child in (r for r in registered.all if r is not component):
        assert child.parent_type == component.type, f"{child.type} {child.name}: parent {child.parent_type}"


def test_vpc_endpoints_use_the_service_names_they_are_given() -> None:
    # The Region publishes the names (China's differ): the component never builds one.
    args = network.VpcEndpointsArgs(
        name_prefix="shop-qa",
        gateway_services={"s3": "com.amazonaws.cn-north-1.s3"},
        interface_services={"ssm": "cn.com.amazonaws.cn-north-1.ssm", "ecr.api": "cn.com.amazonaws.cn-north-1.ecr.api"},
        vpc_id="vpc-1",
        route_table_ids=["rtb-1", "rtb-2"],
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_id="sg-1",
    )
    registered = build(lambda: network.VpcEndpoints("endpoints", args))

    endpoints = {r.name: r.inputs for r in registered.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert {name: inputs["serviceName"] for name, inputs in endpoints.items()} == {
        "shop-qa-s3-gateway": "com.amazonaws.cn-north-1.s3",
        "shop-qa-ssm-endpoint": "cn.com.amazonaws.cn-north-1.ssm",
        "shop-qa-ecr-api-endpoint": "cn.com.amazonaws.cn-north-1.ecr.api",
    }
    assert endpoints["shop-qa-s3-gateway"]["routeTableIds"] == ["rtb-1", "rtb-2"]
    assert endpoints["shop-qa-ssm-endpoint"]["subnetIds"] == ["subnet-1", "subnet-2"]


@pytest.mark.parametrize(
    ("protect", "force_destroy"),
    [(True, False), (False, True)],
    ids=["protected", "disposable"],
)
def test_private_bucket_options_follow_its_args(protect: bool, force_destroy: bool) -> None:
    args = data.PrivateBucketArgs(
        bucket_name="qa-logs-bucket",
        protect=protect,
        force_destroy=force_destroy,
        log_sources=("qa-docs-bucket",),
        log_source_account=ACCOUNT,
    )
    registered = build(lambda: data.PrivateBucket("qa-logs", args))

    bucket = registered.one("aws:s3/bucket:Bucket", "qa-logs")
    assert (bucket.inputs["bucket"], bucket.inputs["forceDestroy"]) == ("qa-logs-bucket", force_destroy)
    # A bucket's objects are in no snapshot: protected means retained too.
    assert (bucket.protect, bucket.retain_on_delete) == (protect, protect)
    delivery, tls = _statements(registered.one("aws:s3/bucketPolicy:BucketPolicy", "qa-logs-policy").inputs["policy"])
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": ["arn:aws:s3:::qa-docs-bucket"]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    assert tls["Sid"] == "DenyInsecureTransport"


def test_private_bucket_log_sources_need_their_account() -> None:
    with pytest.raises(ValueError, match="bucket qa-logs-bucket: log_sources need log_source_account"):
        data.PrivateBucketArgs(bucket_name="qa-logs-bucket", log_sources=("qa-docs-bucket",))


def test_database_uses_the_names_and_settings_it_is_given() -> None:
    args = data.DatabaseArgs(
        identifier="qa-db",
        subnet_group_name="qa-db-subnets",
        parameter_group_name="qa-db-params",
        monitoring_role_name="qa-db-monitoring",
        account_id=ACCOUNT,
        partition="aws-cn",
        instance_class="db.t4g.micro",
        allocated_storage_gb=30,
        multi_az=False,
        backup_retention_days=3,
        deletion_protection=False,
        final_snapshot=False,
        performance_insights=False,
        log_retention_days=5,
        db_name="qa",
        username="qa_admin",
        subnet_ids=["subnet-1", "subnet-2"],
        security_group_id="sg-1",
        protect=True,
    )
    registered = build(lambda: data.Database("database", args))

    assert registered.one("aws:rds/subnetGroup:SubnetGroup", "qa-db-subnets").inputs["name"] == "qa-db-subnets"
    assert registered.one("aws:rds/parameterGroup:ParameterGroup", "qa-db-params").inputs["name"] == "qa-db-params"
    log_groups = {r.name: r.inputs["name"] for r in registered.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert log_groups == {
        "qa-db-postgresql-logs": "/aws/rds/instance/qa-db/postgresql",
        "qa-db-upgrade-logs": "/aws/rds/instance/qa-db/upgrade",
    }
    attachment = registered.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "qa-db-monitoring")
    assert attachment.inputs["policyArn"] == "arn:aws-cn:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    instance = registered.one("aws:rds/instance:Instance", "qa-db")
    expected = {"identifier": "qa-db", "instanceClass": "db.t4g.micro", "allocatedStorage": 30, "username": "qa_admin"}
    assert {key: instance.inputs[key] for key in expected} == expected
    assert instance.inputs["skipFinalSnapshot"] is True
    assert instance.inputs["finalSnapshotIdentifier"].startswith("qa-db-final-"), "named even when skipped"
    # Protected but not retained: the final snapshot, not the instance, keeps the data.
    assert (instance.protect, instance.retain_on_delete) == (True, False)
    assert instance.ignore_changes == ("finalSnapshotIdentifier",)


def test_processor_function_takes_its_sizes_and_image_from_its_args() -> None:
    args = compute.ProcessorFunctionArgs(
        function_name="qa-worker",
        memory_mb=256,
        timeout_seconds=42,
        log_retention_days=3,
        image_tag="1.2.3",
        max_concurrency=5,
        reserved_concurrency=None,
        role_arn="arn:aws:iam::111122223333:role/qa-worker",
        repository_url="111122223333.dkr.ecr.eu-west-1.amazonaws.com/qa-worker",
        subnet_ids=["subnet-1"],
        security_group_id="sg-1",
        queue_arn="arn:aws:sqs:eu-west-1:111122223333:qa-queue",
        environment={"STAGE": "qa"},
    )
    registered = build(lambda: compute.ProcessorFunction("processor", args))

    function = registered.one("aws:lambda/function:Function", "qa-worker").inputs
    assert function["imageUri"] == "111122223333.dkr.ecr.eu-west-1.amazonaws.com/qa-worker:1.2.3"
    assert (function["memorySize"], function["timeout"]) == (256, 42)
    assert "reservedConcurrentExecutions" not in function, "None reserves nothing"
    assert function["environment"] == {"variables": {"STAGE": "qa"}}
    log_group = registered.one("aws:cloudwatch/logGroup:LogGroup", "qa-worker-logs").inputs
    assert (log_group["name"], log_group["retentionInDays"]) == ("/aws/lambda/qa-worker", 3)
    mapping = registered.one("aws:lambda/eventSourceMapping:EventSourceMapping", "qa-worker-sqs").inputs
    assert mapping["eventSourceArn"] == "arn:aws:sqs:eu-west-1:111122223333:qa-queue"
    assert mapping["scalingConfig"] == {"maximumConcurrency": 5}


@pytest.mark.parametrize(
    ("certificate_arn", "aliases", "certificate"),
    [
        (None, None, {"cloudfrontDefaultCertificate": True}),
        (
            "arn:aws:acm:us-east-1:111122223333:certificate/qa",
            ["qa.example.org"],
            {
                "acmCertificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/qa",
                "sslSupportMethod": "sni-only",
                "minimumProtocolVersion": "TLSv1.2_2021",
            },
        ),
    ],
    ids=["cloudfront-domain", "custom-domain"],
)
def test_frontend_cdn_serves_the_domain_only_with_a_certificate(
    certificate_arn: str | None, aliases: list[str] | None, certificate: dict[str, Any]
) -> None:
    args = edge.FrontendCdnArgs(
        name_prefix="shop-qa",
        origin_access_control_name="qa-oac",
        cache_policy_name="qa-cache",
        headers_policy_name="qa-headers",
        environment="qa",
        domain="qa.example.org",
        certificate_arn=certificate_arn,
        price_class="PriceClass_All",
        hsts_include_subdomains=False,
        hsts_preload=False,
        bucket_name="qa-frontend",
        bucket_arn="arn:aws:s3:::qa-frontend",
        bucket_regional_domain_name="qa-frontend.s3.eu-west-1.amazonaws.com",
    )
    registered = build(lambda: edge.FrontendCdn("frontend-cdn", args))

    for type_token, name in [
        ("aws:cloudfront/originAccessControl:OriginAccessControl", "qa-oac"),
        ("aws:cloudfront/cachePolicy:CachePolicy", "qa-cache"),
        ("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "qa-headers"),
    ]:
        assert registered.one(type_token, name).inputs["name"] == name
    distribution = registered.one("aws:cloudfront/distribution:Distribution", "shop-qa-frontend").inputs
    assert distribution["comment"] == "Student Helper frontend (qa)"
    assert distribution.get("aliases") == aliases
    assert distribution["viewerCertificate"] == certificate
    policy = registered.one("aws:s3/bucketPolicy:BucketPolicy", "shop-qa-frontend-bucket-policy").inputs
    read = _statements(policy["policy"])[0]
    assert read["Resource"] == "arn:aws:s3:::qa-frontend/*"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": DISTRIBUTION_ARN}}
