"""Data rules: encryption at rest, S3 TLS-only policies and public access blocks, log retention.

The S3 rules are stack policies: in pulumi-aws v7 a bucket's encryption, policy and public access block are separate
resources, linked to the bucket by their ``bucket`` property. Stack policies see outputs (as the CLI gives them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .base import (
    as_list,
    elsewhere_note,
    get,
    is_true,
    launch_template_label,
    launch_templates_of,
    load_json,
    references,
    resource_policy,
    show,
    stack_policy,
)

BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
SSE_CONFIG_TYPES = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
BUCKET_POLICY_TYPES = frozenset({"aws:s3/bucketPolicy:BucketPolicy"})
PUBLIC_ACCESS_BLOCK_TYPES = frozenset({"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"})
NATIVE_BUCKET = "aws-native:s3:Bucket"
NATIVE_BUCKET_POLICY = "aws-native:s3:BucketPolicy"
S3_ALGORITHMS = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})
ECR_ENCRYPTION_TYPES = frozenset({"AES256", "KMS", "KMS_DSSE"})
VECTOR_SSE_TYPES = frozenset({"AES256", "aws:kms"})

Check = Callable[[Mapping[str, Any]], Iterable[str]]


def judge(resource: PolicyResource, check: Check) -> Iterator[tuple[str, str] | UnknownValueError]:
    """Run a per-resource check inside a stack policy; an unknown stops only this resource's check."""
    try:
        for message in check(resource.props):
            yield resource.urn, message
    except UnknownValueError as err:
        err.message = f"{resource.name}: {err.message}"
        yield err


# --- encryption-at-rest, per resource (outputs) ---------------------------------------------------------------


def _must_be_true(props: Mapping[str, Any], *path: Any) -> Iterator[str]:
    value = get(props, *path)
    if not is_true(value):
        yield f"{'.'.join(str(p) for p in path)}={show(value)}: the data is stored unencrypted; it must be true."


def _rds(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _must_be_true(props, "storageEncrypted")


def _native_rds_instance(props: Mapping[str, Any]) -> Iterator[str]:
    # An Aurora instance stores nothing itself: its cluster's storageEncrypted decides.
    if get(props, "dbClusterIdentifier"):
        return
    yield from _must_be_true(props, "storageEncrypted")


def _ebs_mappings(props: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[str]:
    mappings = get(props, *path)
    where = ".".join(path)
    if mappings is None:
        yield f"{where} is not set, so the root volume follows the AMI snapshot's encryption; declare it encrypted."
        return
    for i, mapping in enumerate(as_list(mappings)):
        if get(mapping, "ebs") is None:
            continue  # instance-store or NoDevice mapping: nothing on EBS
        yield from _must_be_true(props, *path, i, "ebs", "encrypted")


def _aws_instance(props: Mapping[str, Any]) -> Iterator[str]:
    if get(props, "rootBlockDevice") is None:
        yield (
            "rootBlockDevice is not set, so the root volume follows the AMI snapshot's encryption; set encrypted=true."
        )
    else:
        yield from _must_be_true(props, "rootBlockDevice", "encrypted")
    yield from _aws_extra_devices(props)


def _aws_extra_devices(props: Mapping[str, Any]) -> Iterator[str]:
    for i, _ in enumerate(as_list(get(props, "ebsBlockDevices"))):
        yield from _must_be_true(props, "ebsBlockDevices", i, "encrypted")


def _sqs(props: Mapping[str, Any]) -> Iterator[str]:
    # New queues get SSE-SQS by default since 2022, so only an explicit opt-out without a KMS key is unencrypted.
    # Source: https://aws.amazon.com/about-aws/whats-new/2022/10/amazon-sqs-announces-server-side-encryption-ssq-managed-sse-sqs-default/
    managed = get(props, "sqsManagedSseEnabled")
    if managed is not None and not is_true(managed) and not get(props, "kmsMasterKeyId"):
        yield f"sqsManagedSseEnabled={show(managed)} and no kmsMasterKeyId: messages are stored unencrypted."


def _ecr(props: Mapping[str, Any], key: str) -> Iterator[str]:
    # ECR always encrypts (AES256 when unset); only a value outside the valid set is worth a finding.
    for i, conf in enumerate(as_list(get(props, key))):
        kind = get(conf, "encryptionType")
        if kind is not None and kind not in ECR_ENCRYPTION_TYPES:
            yield f"{key}[{i}].encryptionType={show(kind)} is not one of {sorted(ECR_ENCRYPTION_TYPES)}."


def _vectors(props: Mapping[str, Any], key: str) -> Iterator[str]:
    # S3 Vectors always encrypts (SSE-S3 when unset); aws:kms needs a key to be stronger than the default.
    for i, conf in enumerate(as_list(get(props, key))):
        kind = get(conf, "sseType")
        if kind is not None and kind not in VECTOR_SSE_TYPES:
            yield f"{key}[{i}].sseType={show(kind)} is not one of {sorted(VECTOR_SSE_TYPES)}."
        if kind == "aws:kms" and not get(conf, "kmsKeyArn"):
            yield f'{key}[{i}].sseType="aws:kms" without kmsKeyArn: name the KMS key.'


def _sse_rules_problems(rules: Any, where: str) -> Iterator[str]:
    algorithms = [get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in as_list(rules)]
    if not any(a in S3_ALGORITHMS for a in algorithms):
        yield f"{where} sets no default encryption algorithm (found {show(algorithms)}; need AES256 or aws:kms)."


def _sse_config_check(where: str) -> Check:
    return lambda props: _sse_rules_problems(get(props, "rules"), where)


def _native_bucket(props: Mapping[str, Any]) -> Iterator[str]:
    rules = as_list(get(props, "bucketEncryption", "serverSideEncryptionConfiguration"))
    algorithms = [get(rule, "serverSideEncryptionByDefault", "sseAlgorithm") for rule in rules]
    if not any(a in S3_ALGORITHMS for a in algorithms):
        yield (
            "bucketEncryption.serverSideEncryptionConfiguration sets no default encryption algorithm "
            f"(found {show(algorithms)}; need AES256 or aws:kms)."
        )


PER_RESOURCE: dict[str, Check] = {
    "aws:rds/instance:Instance": _rds,
    "aws:rds/cluster:Cluster": _rds,
    "aws-native:rds:DbInstance": _native_rds_instance,
    "aws-native:rds:DbCluster": _rds,
    "aws:ec2/instance:Instance": _aws_instance,
    "aws:ebs/volume:Volume": lambda p: _must_be_true(p, "encrypted"),
    "aws-native:ec2:Volume": lambda p: _must_be_true(p, "encrypted"),
    "aws:ec2/launchTemplate:LaunchTemplate": lambda p: _ebs_mappings(p, ("blockDeviceMappings",)),
    "aws-native:ec2:Instance": lambda p: _ebs_mappings(p, ("blockDeviceMappings",)),
    "aws-native:ec2:LaunchTemplate": lambda p: _ebs_mappings(p, ("launchTemplateData", "blockDeviceMappings")),
    "aws:sqs/queue:Queue": _sqs,
    "aws-native:sqs:Queue": _sqs,
    "aws:ecr/repository:Repository": lambda p: _ecr(p, "encryptionConfigurations"),
    "aws-native:ecr:Repository": lambda p: _ecr(p, "encryptionConfiguration"),
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": lambda p: _vectors(p, "encryptionConfigurations"),
    "aws:s3/vectorsIndex:VectorsIndex": lambda p: _vectors(p, "encryptionConfigurations"),
    "aws-native:s3vectors:VectorBucket": lambda p: _vectors(p, "encryptionConfiguration"),
    "aws-native:s3vectors:Index": lambda p: _vectors(p, "encryptionConfiguration"),
    NATIVE_BUCKET: _native_bucket,
}


# Instances whose root volume may come from a launch template: (property that declares it here, the checks of
# the instance's own devices that still apply when the template supplies the root volume).
TEMPLATE_ROOT: dict[str, tuple[str, Check]] = {
    "aws:ec2/instance:Instance": ("rootBlockDevice", _aws_extra_devices),
    "aws-native:ec2:Instance": ("blockDeviceMappings", lambda _props: iter(())),
}
TEMPLATE_MAPPINGS: dict[str, tuple[str, ...]] = {
    "aws:ec2/launchTemplate:LaunchTemplate": ("blockDeviceMappings",),
    "aws-native:ec2:LaunchTemplate": ("launchTemplateData", "blockDeviceMappings"),
}


def _root_from_template(resource: PolicyResource) -> bool:
    """True when the instance declares no root device of its own but names a launch template."""
    spec = TEMPLATE_ROOT.get(resource.resource_type)
    return (
        spec is not None and get(resource.props, spec[0]) is None and get(resource.props, "launchTemplate") is not None
    )


def _instance_from_template(
    instance: PolicyResource, resources: list[PolicyResource]
) -> Iterator[tuple[str, str] | UnknownValueError]:
    """Judge the template an instance takes its root volume from; a note when the template is in another stack."""
    key, own_devices = TEMPLATE_ROOT[instance.resource_type]
    yield from judge(instance, own_devices)
    templates = launch_templates_of(instance, resources)
    if not templates:
        label = launch_template_label(get(instance.props, "launchTemplate"))
        yield elsewhere_note(
            f"{instance.name}: {key} is not set, so the root volume comes from launch template {label}, which is not "
            "in this stack; encryption-at-rest checks it where it is defined."
        )
    for template in templates:
        path = TEMPLATE_MAPPINGS[template.resource_type]
        prefix = f"{key} is not set, so the root volume comes from launch template '{template.name}', whose "
        for finding in judge(template, _mappings_check(path)):
            if isinstance(finding, UnknownValueError):
                finding.message = f"{instance.name} (via launch template) {finding.message}"
                yield finding
            else:
                yield instance.urn, prefix + finding[1]


def _mappings_check(path: tuple[str, ...]) -> Check:
    return lambda props: _ebs_mappings(props, path)


def _check_encryption(args: StackValidationArgs, _config: Mapping[str, Any]) -> Iterator[Any]:
    resources = list(args.resources)
    for resource in resources:
        try:
            from_template = _root_from_template(resource)
        except UnknownValueError as err:
            err.message = f"{resource.name}: {err.message}"
            yield err
            continue
        if from_template:
            yield from _instance_from_template(resource, resources)
            continue
        check = PER_RESOURCE.get(resource.resource_type)
        if check is not None:
            yield from judge(resource, check)
    buckets = [r for r in args.resources if r.resource_type in BUCKET_TYPES]
    configs = [r for r in args.resources if r.resource_type in SSE_CONFIG_TYPES]
    configured: set[str] = set()
    for config in configs:
        # A bucket with a configuration is settled here: a weak one is reported once, on the configuration.
        configured.update(t.urn for t in references(config, "bucket", buckets))
        yield from judge(config, _sse_config_check(f"'{config.name}' rules"))
    for bucket in buckets:
        if bucket.urn not in configured:
            yield (
                bucket.urn,
                (
                    f"bucket '{bucket.name}' has no BucketServerSideEncryptionConfiguration whose bucket property "
                    "names it, so its default encryption is not declared."
                ),
            )


ENCRYPTION_AT_REST = stack_policy(
    name="encryption-at-rest",
    description=(
        "Data stores are encrypted at rest. Checked: RDS instances and clusters (storageEncrypted); EC2 root and "
        'extra block devices, EBS volumes and launch-template block devices (encrypted, true or "true"); SQS '
        "queues must not turn SSE off (sqsManagedSseEnabled=false without kmsMasterKeyId; absent means the "
        "SSE-SQS default); every S3 bucket has a linked server-side encryption configuration with AES256, "
        "aws:kms or aws:kms:dsse (aws-native: bucketEncryption); ECR repositories and S3 vector buckets/indexes "
        "may only name a valid encryption type, and aws:kms needs a key. Not checked, because AWS always encrypts "
        "them and offers no weaker option: CloudWatch log groups, Secrets Manager secrets."
    ),
    severity=Severity.HIGH,
    remediation=(
        "RDS: storage_encrypted=True. EC2/EBS: encrypted=True on root_block_device, every ebs_block_device, every "
        "volume and launch-template ebs block. SQS: remove sqs_managed_sse_enabled=False or set a KMS key. S3: add "
        "aws.s3.BucketServerSideEncryptionConfiguration(bucket=<bucket>.id, rules=[{apply_server_side_encryption_"
        'by_default: {sse_algorithm: "AES256"}}]). ECR/S3 Vectors: use AES256 or KMS with a key.'
    ),
    check=_check_encryption,
    mandatory=True,
)


# --- S3 TLS-only and public access block (stack) ---------------------------------------------------------------


def _condition_denies_plain_http(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for operator in ("Bool", "BoolIfExists"):
        block = condition.get(operator)
        if isinstance(block, Mapping):
            for key, value in block.items():
                # IAM condition values may be a string, a JSON boolean or a one-item list of either.
                if key.lower() == "aws:securetransport" and [str(v).lower() for v in as_list(value)] == ["false"]:
                    return True
    return False


def denies_insecure_transport(document: Any) -> bool:
    """True when a bucket policy has a Deny on every principal and s3:* (or *) for aws:SecureTransport false."""
    if not isinstance(document, Mapping):
        return False
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        if everyone and actions & {"s3:*", "*"} and _condition_denies_plain_http(statement.get("Condition")):
            return True
    return False


def _bucket_policies(args: StackValidationArgs) -> Iterator[Any]:
    """(bucket, linked) pairs for pulumi-aws buckets, and native buckets judged by their native policies."""
    buckets = [r for r in args.resources if r.resource_type in BUCKET_TYPES | {NATIVE_BUCKET}]
    policies = [r for r in args.resources if r.resource_type in BUCKET_POLICY_TYPES | {NATIVE_BUCKET_POLICY}]
    linked: dict[str, list[PolicyResource]] = {b.urn: [] for b in buckets}
    for policy in policies:
        for bucket in references(policy, "bucket", buckets):
            linked[bucket.urn].append(policy)
    return iter([(b, linked[b.urn]) for b in buckets])


def _check_tls(args: StackValidationArgs, _config: Mapping[str, Any]) -> Iterator[Any]:
    for bucket, policies in _bucket_policies(args):
        if not policies:
            yield bucket.urn, f"bucket '{bucket.name}' has no bucket policy, so plain-HTTP requests are not denied."
            continue
        try:
            documents = [
                load_json(get(p.props, "policy" if p.resource_type in BUCKET_POLICY_TYPES else "policyDocument"))
                for p in policies
            ]
        except UnknownValueError as err:
            err.message = f"{bucket.name}: {err.message}"
            yield err
            continue
        except ValueError:
            documents = []
        if not any(denies_insecure_transport(d) for d in documents):
            names = ", ".join(p.name for p in policies)
            yield (
                bucket.urn,
                (
                    f"bucket '{bucket.name}' policy ({names}) has no Deny for aws:SecureTransport=false on s3:*, so "
                    "plain-HTTP requests are allowed."
                ),
            )


S3_TLS_ONLY = stack_policy(
    name="s3-tls-only",
    description=(
        "Every S3 bucket has a bucket policy that denies any request made without TLS "
        "(Effect Deny, Principal *, Action s3:*, Condition Bool aws:SecureTransport = false)."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Add an aws.s3.BucketPolicy for the bucket with the statement {Sid: DenyInsecureTransport, Effect: Deny, "
        'Principal: "*", Action: "s3:*", Resource: [<bucket arn>, <bucket arn>/*], Condition: {Bool: '
        '{"aws:SecureTransport": "false"}}}.'
    ),
    check=_check_tls,
)

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _block_problems(flags: Mapping[str, Any] | None, where: str) -> Iterator[str]:
    off = [f for f in PUBLIC_ACCESS_FLAGS if not is_true(get(flags, f))]
    if off:
        yield f"{where} leaves {', '.join(off)} unset or false: the bucket can be made public."


def _block_check(where: str) -> Check:
    return lambda props: _block_problems(props, where)


def _check_public_access(args: StackValidationArgs, _config: Mapping[str, Any]) -> Iterator[Any]:
    buckets = [r for r in args.resources if r.resource_type in BUCKET_TYPES]
    blocks = [r for r in args.resources if r.resource_type in PUBLIC_ACCESS_BLOCK_TYPES]
    blocked: set[str] = set()
    for block in blocks:
        for bucket in references(block, "bucket", buckets):
            blocked.add(bucket.urn)
        yield from judge(block, _block_check(f"public access block '{block.name}'"))
    for bucket in buckets:
        if bucket.urn not in blocked:
            yield bucket.urn, f"bucket '{bucket.name}' has no BucketPublicAccessBlock whose bucket property names it."
    for bucket in (r for r in args.resources if r.resource_type == NATIVE_BUCKET):
        yield from judge(
            bucket,
            lambda props: _block_problems(
                get(props, "publicAccessBlockConfiguration"), "publicAccessBlockConfiguration"
            ),
        )


S3_PUBLIC_ACCESS_BLOCK = stack_policy(
    name="s3-public-access-block",
    description=(
        "Every S3 bucket has a public access block with all four flags true (pulumi-aws: a linked "
        "BucketPublicAccessBlock; aws-native: publicAccessBlockConfiguration). Absent flags count as false."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Add aws.s3.BucketPublicAccessBlock(bucket=<bucket>.id, block_public_acls=True, block_public_policy=True, "
        "ignore_public_acls=True, restrict_public_buckets=True). Serve public content through CloudFront with OAC."
    ),
    check=_check_public_access,
)


# --- log retention (resource) ------------------------------------------------------------------------------------


def _check_retention(args: ResourceValidationArgs, config: Mapping[str, Any]) -> Iterator[str]:
    if args.resource_type not in ("aws:cloudwatch/logGroup:LogGroup", "aws-native:logs:LogGroup"):
        return
    days = get(args.props, "retentionInDays")
    if not days:
        yield f"retentionInDays={show(days)}: the log group keeps its events forever (and bills for them)."
        return
    maximum = config.get("maxRetentionDays")
    if maximum and isinstance(days, int | float) and days > maximum:
        yield f"retentionInDays={show(days)} is more than the configured maximum of {maximum} days."


LOG_RETENTION = resource_policy(
    name="log-retention",
    description="Every CloudWatch log group sets retentionInDays (absent or 0 means never expire).",
    severity=Severity.LOW,
    remediation="Set retention_in_days on the log group (e.g. 30 in dev, 365 in prod for audit logs).",
    check=_check_retention,
    properties={
        "maxRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "description": "Optional upper bound on retentionInDays; unset means any explicit retention passes.",
        }
    },
)

POLICIES = (ENCRYPTION_AT_REST, S3_TLS_ONLY, S3_PUBLIC_ACCESS_BLOCK, LOG_RETENTION)
