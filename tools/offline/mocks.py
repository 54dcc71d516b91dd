"""Realistic provider answers for the offline runner: ids, ARNs in each service's real format, and invokes.

Identifiers are derived from a hash of the resource's type and name, so two runs of the same program produce
byte-identical exports that diff cleanly. ARN formats follow the AWS Service Authorization Reference.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from shared.constants import endpoint_service_name
from tools import stack_export
from tools.offline.stack_files import OfflineError
from tools.scan import aws_sdk
from tools.stack_export import STACK_REFERENCE_TYPE as STACK_REFERENCE
from tools.stack_export import UNKNOWN

ACCOUNT_ID = "123456789012"
# The one instant of an offline run: creation times in the mocks' answers, and the programs' clock (shared/clock.py).
FIXED_TIME = "2026-01-01T00:00:00Z"
# Stand-in destination Regions of each geography's cross-Region inference profiles (AWS keeps the real lists per
# model). A profile is called from a source Region of its own geography and is not found elsewhere (Bedrock user
# guide, "Supported Regions and models for inference profiles"); the source test is by Region family, never
# narrower, so that no valid configuration fails here. Unlisted geographies (global) answer anywhere.
PROFILE_REGIONS = {
    "au": ["ap-southeast-2", "ap-southeast-4"],
    "apac": ["ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2"],
    "jp": ["ap-northeast-1", "ap-northeast-3"],
    "us": ["us-east-1", "us-east-2", "us-west-2"],
    "eu": ["eu-central-1", "eu-west-1", "eu-west-3"],
}
PROFILE_SOURCES = {
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "apac": ("ap-",),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "us": ("us-east-", "us-west-"),
    "eu": ("eu-",),
    "ca": ("ca-",),
    "us-gov": ("us-gov-",),
}


def digest(*parts: str, length: int = 17) -> str:
    """A deterministic lowercase hex string for ``parts``."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid(*parts: str) -> str:
    """A deterministic, well-formed v4-style UUID for ``parts``."""
    h = digest(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


@dataclass
class MockContext:
    """What the mocks know about the run: region, partition, the upstream exports and registered state."""

    region: str
    """The region from the stack's aws:region."""
    stack: str
    """The stack (environment) name."""
    upstream_exports: Mapping[str, Path]
    """Fully qualified stack name -> export file written by an earlier run."""
    preview: bool = False
    """Answer as a preview does: no ids, and the outputs the provider computes unknown (see :func:`preview_outputs`)."""
    state_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Registered state by id, so later resources can derive values (an instance's IP from its subnet)."""

    @property
    def partition(self) -> str:
        """The AWS partition of the region."""
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """An ARN in this partition, region and account."""
        return ":".join(
            ["arn", self.partition, service, self.region if region else "", ACCOUNT_ID if account else "", resource]
        )


Outputs = dict[str, Any]
Handler = Callable[[MockContext, str, dict[str, Any]], tuple[str, Outputs]]


def _physical(inputs: Mapping[str, Any], key: str, logical: str) -> str:
    """The physical name: the explicit input, or Pulumi's auto-name (logical name plus a random suffix)."""
    value = inputs.get(key)
    return str(value) if isinstance(value, str) and value else f"{logical}-{digest(logical, length=7)}"


def _ec2(prefix: str, kind: str) -> Handler:
    def handler(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
        rid = f"{prefix}-0{digest(kind, name, length=16)}"
        return rid, {"arn": ctx.arn("ec2", f"{kind}/{rid}"), "ownerId": ACCOUNT_ID}

    return handler


def _vpc(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid, out = _ec2("vpc", "vpc")(ctx, name, inputs)
    return rid, {
        **out,
        "defaultSecurityGroupId": f"sg-0{digest('default-sg', name)}",
        "mainRouteTableId": f"rtb-0{digest('main', name)}",
    }


def _subnet(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid, out = _ec2("subnet", "subnet")(ctx, name, inputs)
    zone_index = "abcdef".index(str(inputs.get("availabilityZone", "a"))[-1]) + 1
    return rid, {**out, "availabilityZoneId": f"{ctx.region[:3]}{ctx.region[-1]}-az{zone_index}"}


def _security_group(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid, out = _ec2("sg", "security-group")(ctx, name, inputs)
    return rid, {**out, "name": _physical(inputs, "name", name)}


def _sg_rule(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid = f"sgr-0{digest('sgr', name)}"
    return rid, {"arn": ctx.arn("ec2", f"security-group-rule/{rid}"), "securityGroupRuleId": rid}


def _vpc_endpoint(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid, out = _ec2("vpce", "vpc-endpoint")(ctx, name, inputs)
    service = str(inputs.get("serviceName", ""))
    extra: Outputs = {}
    if inputs.get("vpcEndpointType") == "Gateway":
        extra["prefixListId"] = f"pl-{digest('pl', service, length=8)}"
    else:
        extra["dnsEntries"] = [
            {
                "dnsName": f"{rid}-{digest(rid, length=8)}.{service.split('.', 3)[-1]}.{ctx.region}.vpce.amazonaws.com",
                "hostedZoneId": "Z" + digest(service, length=13).upper(),
            }
        ]
        extra["networkInterfaceIds"] = [
            f"eni-0{digest(rid, str(i))}" for i, _ in enumerate(inputs.get("subnetIds") or [])
        ]
    return rid, {**out, **extra, "state": "available"}


def _instance(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid, out = _ec2("i", "instance")(ctx, name, inputs)
    subnet = ctx.state_by_id.get(str(inputs.get("subnetId")), {})
    cidr = subnet.get("cidrBlock")
    private_ip = str(ipaddress.IPv4Network(cidr)[10]) if cidr else "10.0.1.10"
    return rid, {
        **out,
        "privateIp": private_ip,
        "privateDns": f"ip-{private_ip.replace('.', '-')}.{ctx.region}.compute.internal",
        "primaryNetworkInterfaceId": f"eni-0{digest('eni', name)}",
        "instanceState": "running",
        "publicIp": "",
        "availabilityZone": subnet.get("availabilityZone", f"{ctx.region}a"),
    }


def _log_group(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "name", name)
    # pulumi-aws reports the log group ARN without the trailing ":*" (terraform-provider-aws trims it).
    return physical, {"name": physical, "arn": ctx.arn("logs", f"log-group:{physical}")}


def _iam(kind: str, key: str = "name") -> Handler:
    def handler(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
        physical = _physical(inputs, key, name)
        path = str(inputs.get("path") or "/")
        arn = ctx.arn("iam", f"{kind.rstrip('/')}{path}{physical}", region=False)
        outputs: Outputs = {"name": physical, "arn": arn}
        if kind == "role/":
            outputs["uniqueId"] = "AROA" + digest("role", name, length=17).upper()
        if kind == "policy/":
            outputs["policyId"] = "ANPA" + digest("policy", name, length=17).upper()
        return physical, outputs

    return handler


def _iam_attachment(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    return f"{inputs.get('role')}-{digest(name, length=20)}", {}


def _bucket(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "bucket", name)
    return physical, {
        "bucket": physical,
        "arn": ctx.arn("s3", physical, region=False, account=False),
        "bucketDomainName": f"{physical}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{physical}.s3.{ctx.region}.amazonaws.com",
        "hostedZoneId": "Z" + digest("s3", ctx.region, length=13).upper(),
        "region": ctx.region,
    }


def _bucket_child(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    return str(inputs.get("bucket") or name), {}


def _vector_bucket(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "vectorBucketName", name)
    arn = ctx.arn("s3vectors", f"bucket/{physical}")
    return arn, {"vectorBucketName": physical, "vectorBucketArn": arn, "creationTime": FIXED_TIME}


def _vector_index(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    bucket = str(inputs.get("vectorBucketName"))
    index = _physical(inputs, "indexName", name)
    arn = ctx.arn("s3vectors", f"bucket/{bucket}/index/{index}")
    return arn, {"indexName": index, "indexArn": arn, "creationTime": FIXED_TIME}


def _queue(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "name", name)
    url = f"https://sqs.{ctx.region}.amazonaws.com/{ACCOUNT_ID}/{physical}"
    return url, {"name": physical, "arn": ctx.arn("sqs", physical), "url": url}


def _ecr(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "name", name)
    return physical, {
        "name": physical,
        "arn": ctx.arn("ecr", f"repository/{physical}"),
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{ctx.region}.amazonaws.com/{physical}",
    }


def _secret(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "name", name)
    # Secrets Manager appends a hyphen and six random characters to every secret ARN.
    arn = ctx.arn("secretsmanager", f"secret:{physical}-{digest(physical, length=6)}")
    return arn, {"name": physical, "arn": arn}


def _rds_instance(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    identifier = _physical(inputs, "identifier", name)
    address = f"{identifier}.c{digest('rds', ctx.region, length=11)}.{ctx.region}.rds.amazonaws.com"
    port = int(inputs.get("port") or 5432)
    outputs: Outputs = {
        "identifier": identifier,
        "arn": ctx.arn("rds", f"db:{identifier}"),
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "resourceId": "db-" + digest("dbi", name, length=26).upper(),
        "hostedZoneId": "Z" + digest("rds", ctx.region, length=13).upper(),
    }
    if inputs.get("manageMasterUserPassword"):
        outputs["masterUserSecrets"] = [
            {
                "secretArn": ctx.arn(
                    "secretsmanager", f"secret:rds!db-{digest('rds-secret', name, length=8)}-{digest(name, length=6)}"
                ),
                "kmsKeyId": ctx.arn(
                    "kms", f"key/{digest('kms', name, length=8)}-0000-4000-8000-{digest(name, length=12)}"
                ),
                "secretStatus": "active",
            }
        ]
    return identifier, outputs


def _named(service: str, resource_prefix: str, key: str = "name", *, region: bool = True) -> Handler:
    def handler(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
        physical = _physical(inputs, key, name)
        return physical, {key: physical, "arn": ctx.arn(service, f"{resource_prefix}{physical}", region=region)}

    return handler


def _lambda(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    physical = _physical(inputs, "name", name)
    arn = ctx.arn("lambda", f"function:{physical}")
    return physical, {
        "name": physical,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": f"arn:{ctx.partition}:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        "version": "$LATEST",
    }


def _event_source_mapping(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    uuid = _uuid("esm", name)
    return uuid, {"uuid": uuid, "arn": ctx.arn("lambda", f"event-source-mapping:{uuid}"), "state": "Enabled"}


def _id_only(prefix: str, length: int = 17) -> Handler:
    def handler(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
        return f"{prefix}{digest(prefix, name, length=length)}", {}

    return handler


def _cloud_map_namespace(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid = f"ns-{digest('ns', name, length=16)}"
    return rid, {"arn": ctx.arn("servicediscovery", f"namespace/{rid}"), "httpName": inputs.get("name", name)}


def _cloud_map_service(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid = f"srv-{digest('srv', name, length=16)}"
    return rid, {"arn": ctx.arn("servicediscovery", f"service/{rid}")}


def _http_api(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid = digest("api", name, length=10)
    return rid, {
        "arn": f"arn:{ctx.partition}:apigateway:{ctx.region}::/apis/{rid}",
        "apiEndpoint": f"https://{rid}.execute-api.{ctx.region}.amazonaws.com",
        "executionArn": ctx.arn("execute-api", rid),
    }


def _api_child(prefix: str) -> Handler:
    def handler(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
        rid = digest(prefix, name, length=7)
        outputs: Outputs = {}
        if prefix == "vpclink":
            outputs["arn"] = f"arn:{ctx.partition}:apigateway:{ctx.region}::/vpclinks/{rid}"
        if prefix == "stage":
            api = inputs.get("apiId")
            stage = str(inputs.get("name", "$default"))
            outputs["invokeUrl"] = f"https://{api}.execute-api.{ctx.region}.amazonaws.com/" + (
                "" if stage == "$default" else stage
            )
            outputs["arn"] = f"arn:{ctx.partition}:apigateway:{ctx.region}::/apis/{api}/stages/{stage}"
            return stage, outputs
        return rid, outputs

    return handler


def _distribution(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid = "E" + digest("cf", name, length=13).upper()
    return rid, {
        "arn": f"arn:{ctx.partition}:cloudfront::{ACCOUNT_ID}:distribution/{rid}",
        "domainName": f"d{digest('cfd', name, length=13)}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",  # CloudFront's fixed alias hosted zone (Route 53 docs)
        "status": "Deployed",
        "etag": "E" + digest("etag", name, length=13).upper(),
    }


def _cloudfront_child(prefix: str) -> Handler:
    def handler(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
        rid = "E" + digest(prefix, name, length=13).upper() if prefix == "oac" else _uuid(prefix, name)
        return rid, {"etag": "E" + digest("etag", name, length=13).upper()}

    return handler


def _flow_log(ctx: MockContext, name: str, inputs: dict[str, Any]) -> tuple[str, Outputs]:
    rid = f"fl-0{digest('fl', name)}"
    return rid, {"arn": ctx.arn("ec2", f"vpc-flow-log/{rid}")}


HANDLERS: dict[str, Handler] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/routeTable:RouteTable": _ec2("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _id_only("rtbassoc-0"),
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _sg_rule,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _sg_rule,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": _flow_log,
    "aws:ec2/instance:Instance": _instance,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("sg", "security-group"),
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _iam("role/"),
    "aws:iam/policy:Policy": _iam("policy/"),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile/"),
    "aws:iam/rolePolicy:RolePolicy": lambda ctx, name, inputs: (
        f"{inputs.get('role')}:{_physical(inputs, 'name', name)}",
        {"name": _physical(inputs, "name", name)},
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _iam_attachment,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_child,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _bucket_child,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _bucket_child,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_child,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_child,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_child,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": _bucket_child,
    "aws:s3/bucketLogging:BucketLogging": _bucket_child,
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": _vector_bucket,
    "aws:s3/vectorsIndex:VectorsIndex": _vector_index,
    "aws:sqs/queue:Queue": _queue,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": lambda ctx, name, inputs: (str(inputs.get("queueUrl")), {}),
    "aws:ecr/repository:Repository": _ecr,
    "aws:ecr/repositoryPolicy:RepositoryPolicy": lambda ctx, name, inputs: (
        str(inputs.get("repository")),
        {"registryId": ACCOUNT_ID},
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lambda ctx, name, inputs: (
        str(inputs.get("repository")),
        {"registryId": ACCOUNT_ID},
    ),
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": _named("rds", "subgrp:"),
    "aws:rds/parameterGroup:ParameterGroup": _named("rds", "pg:"),
    "aws:lambda/function:Function": _lambda,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _event_source_mapping,
    "aws:ssm/parameter:Parameter": lambda ctx, name, inputs: (
        str(inputs.get("name")),
        {"arn": ctx.arn("ssm", f"parameter/{str(inputs.get('name')).lstrip('/')}"), "version": 1, "tier": "Standard"},
    ),
    "aws:ssm/association:Association": lambda ctx, name, inputs: (
        _uuid("association", name),
        {
            "associationId": _uuid("association", name),
            "arn": ctx.arn("ssm", f"association/{_uuid('association', name)}"),
        },
    ),
    "aws:servicediscovery/httpNamespace:HttpNamespace": _cloud_map_namespace,
    "aws:servicediscovery/service:Service": _cloud_map_service,
    "aws:servicediscovery/instance:Instance": lambda ctx, name, inputs: (str(inputs.get("instanceId", name)), {}),
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/vpcLink:VpcLink": _api_child("vpclink"),
    "aws:apigatewayv2/integration:Integration": _api_child("integration"),
    "aws:apigatewayv2/route:Route": _api_child("route"),
    "aws:apigatewayv2/stage:Stage": _api_child("stage"),
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:cloudfront/originAccessControl:OriginAccessControl": _cloudfront_child("oac"),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _cloudfront_child("rhp"),
    "aws:cloudfront/cachePolicy:CachePolicy": _cloudfront_child("cp"),
}


def _upstream_outputs(ctx: MockContext, stack_name: str) -> tuple[dict[str, Any], list[str]]:
    path = ctx.upstream_exports.get(stack_name)
    if path is None or not path.exists():
        known = ", ".join(sorted(ctx.upstream_exports)) or "none"
        where = f" (expected {path})" if path else ""
        raise OfflineError(
            f"StackReference '{stack_name}': no offline export for that stack{where}. Run its layer first "
            f"(make preview runs them in order), or fix the *_stack config key. Known stacks: {known}"
        )
    try:
        return stack_export.stack_outputs(stack_export.read(path), f"StackReference '{stack_name}'")
    except stack_export.ExportError as err:
        raise OfflineError(str(err)) from None


def preview_outputs(token: str, name: str, inputs: Mapping[str, Any]) -> Outputs:
    """A resource's outputs in a preview: its inputs, and every output the provider computes that the program did not
    set, unknown.

    Which outputs the provider computes comes from the SDK's resource class (:func:`aws_sdk.computed_outputs`): the
    non-optional outputs, such as ``arn`` or an unset ``encrypted``; an optional output the program did not set stays
    absent, as it does in a real preview. Two simplifications: a real preview already knows the few computed values a
    provider fills in before it creates anything (an auto-name), and only top-level outputs are modelled (a nested
    value stays as the program gave it).
    """
    try:
        computed = aws_sdk.computed_outputs(token)
    except aws_sdk.UnmappedTypeError as error:
        raise OfflineError(f"resource '{name}': {error}") from error
    return {**inputs, **dict.fromkeys(sorted(computed - set(inputs)), UNKNOWN)}


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes the way AWS and the Pulumi engine would, without either."""

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        """The id and output state of a new resource: its inputs plus the attributes AWS computes."""
        if args.typ == STACK_REFERENCE:
            stack_name = str(args.inputs.get("name") or args.name)
            outputs, secret_names = _upstream_outputs(self.ctx, stack_name)
            return stack_name, {"name": stack_name, "outputs": outputs, "secretOutputNames": secret_names}
        if not args.custom:
            return "", {}  # component resources have no provider and no id
        if self.ctx.preview:
            return None, preview_outputs(args.typ, args.name, args.inputs)
        handler = HANDLERS.get(args.typ)
        if handler is None:
            raise OfflineError(
                f"resource type {args.typ} (resource '{args.name}') has no offline mock: add a handler to "
                "tools/offline/mocks.py HANDLERS that returns its id and computed attributes"
            )
        rid, computed = handler(self.ctx, args.name, args.inputs)
        state = {**args.inputs, **computed}
        self.ctx.state_by_id[rid] = state
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Answers for the provider functions our programs call."""
        ctx = self.ctx
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": ctx.arn("iam", "user/offline-preview", region=False),
                "userId": "AIDA" + digest("user", length=17).upper(),
                "id": ACCOUNT_ID,
            }, []
        if token == "aws:index/getPartition:getPartition":
            suffix = "amazonaws.com.cn" if ctx.partition == "aws-cn" else "amazonaws.com"
            return {
                "partition": ctx.partition,
                "dnsSuffix": suffix,
                "reverseDnsPrefix": ".".join(reversed(suffix.split("."))),
                "id": ctx.partition,
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {
                "name": ctx.region,
                "region": ctx.region,
                "id": ctx.region,
                "description": ctx.region,
                "endpoint": f"ec2.{ctx.region}.amazonaws.com",
            }, []
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            # Like an account opted in to a Local Zone: its name sorts first, and only a filter on opt-in status
            # (or all_availability_zones=false plus the filter) keeps it out.
            zones = [(f"{ctx.region}-per-1a", "opted-in")] + [
                (f"{ctx.region}{x}", "opt-in-not-required") for x in "abc"
            ]
            for wanted in args.args.get("filters") or []:
                if wanted.get("name") == "opt-in-status":
                    zones = [z for z in zones if z[1] in wanted.get("values", [])]
            return {
                "names": [name for name, _ in zones],
                "zoneIds": [f"{ctx.region[:3]}{ctx.region[-1]}-az{i + 1}" for i in range(len(zones))],
                "groupNames": [ctx.region] * len(zones),
                "id": ctx.region,
                "state": args.args.get("state", "available"),
            }, []
        if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            service = str(args.args.get("service"))
            name = endpoint_service_name(ctx.region, service)
            return {
                "id": name,
                "service": service,
                "serviceName": name,
                "serviceType": args.args.get("serviceType") or "Interface",
                "serviceId": f"vpce-svc-0{digest('vpce-svc', name)}",
                "owner": "amazon",
                "availabilityZones": [f"{ctx.region}{x}" for x in "abc"],
                "acceptanceRequired": False,
                "managesVpcEndpoints": False,
                "vpcEndpointPolicySupported": True,
                "region": ctx.region,
            }, []
        if token == "aws:ec2/getPrefixList:getPrefixList":
            # Same id as the S3 gateway endpoint's prefixListId for this service name.
            name = str(args.args.get("name") or f"com.amazonaws.{ctx.region}.s3")
            pl_id = f"pl-{digest('pl', name, length=8)}"
            return {
                "id": pl_id,
                "prefixListId": pl_id,
                "name": name,
                "cidrBlocks": ["52.95.128.0/21", "3.5.164.0/22"],
            }, []
        if token == "aws:ssm/getParameter:getParameter":
            name = str(args.args.get("name"))
            value = f"ami-0{digest('ami', ctx.region, name)}"
            return {
                "id": name,
                "name": name,
                "value": value,
                "insecureValue": value,
                "type": "String",
                "arn": ctx.arn("ssm", f"parameter{name}", account=False),
                "version": 1,
                "withDecryption": True,
            }, []
        if token == "aws:ec2/getInstanceType:getInstanceType":
            # Graviton families carry a "g" after the generation digit (t4g, m7g, c7gn): arm64; the rest x86_64.
            instance_type = str(args.args.get("instanceType"))
            arch = "arm64" if re.match(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.", instance_type) else "x86_64"
            return {"id": instance_type, "instanceType": instance_type, "supportedArchitectures": [arch]}, []
        if token == "aws:bedrock/getInferenceProfile:getInferenceProfile":
            profile_id = str(args.args.get("inferenceProfileId"))
            geography, _, model_id = profile_id.partition(".")
            # Stand-in destination regions per geography; the real lookup returns AWS's current list.
            sources = PROFILE_SOURCES.get(geography, ("",))
            if not ctx.region.startswith(sources):
                shown = ", ".join(source + "*" if source.endswith("-") else source for source in sources)
                raise OfflineError(
                    f"provider function {token}: inference profile '{profile_id}' is not offered in {ctx.region}, "
                    f"which is outside its geography '{geography}' (Regions {shown}); "
                    f"AWS answers ResourceNotFoundException. Set chat_model_id to the profile of {ctx.region}'s "
                    "geography, or a foundation model id"
                )
            # A profile routes to its source Region too.
            regions = sorted({*PROFILE_REGIONS.get(geography, []), ctx.region})
            return {
                "id": profile_id,
                "inferenceProfileId": profile_id,
                "inferenceProfileArn": ctx.arn("bedrock", f"inference-profile/{profile_id}"),
                "inferenceProfileName": profile_id,
                "models": [
                    {"modelArn": f"arn:{ctx.partition}:bedrock:{region}::foundation-model/{model_id}"}
                    for region in regions
                ],
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED",
            }, []
        if token == "aws:ec2/getAmi:getAmi":
            return {
                "id": f"ami-0{digest('ami', ctx.region)}",
                "name": "al2023-ami-2023.9.20251117.1-kernel-6.1-x86_64",
                "architecture": "x86_64",
                "ownerId": "137112412989",
                "rootDeviceName": "/dev/xvda",
            }, []
        raise OfflineError(
            f"provider function {token} has no offline answer: add it to OfflineMocks.call in tools/offline/mocks.py"
        )
