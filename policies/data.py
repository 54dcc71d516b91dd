"""Data rules: encryption at rest, S3 TLS-only policies and public access blocks, log retention.

encryption-at-rest and log-retention are resource policies, judged on each resource's inputs: the CLI runs them before
a resource is created or changed, and a setting the program leaves out is known to be absent, where its output would
be a value the provider computes, unknown during a preview.

The S3 rules are stack policies, because what they judge lives in separate resources (a bucket, its BucketPolicy, its
BucketPublicAccessBlock), linked by the ``bucket`` property. Stack policies see outputs, and the CLI runs them after the
changes of an update: they report, they cannot prevent (both are advisory). What they read is what the program sets,
and a preview carries inputs over to outputs (https://github.com/pulumi/docs/pull/15367), so they judge the program's
own values there too: the policy document and bucket of a BucketPolicy, the four flags of a public access block
(absent counts as false), and links made through property dependencies, which hold while ids are still unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .base import (
    Check,
    ResourceRun,
    as_list,
    elsewhere_note,
    get,
    is_true,
    judge,
    launch_template_label,
    load_json,
    references,
    resource_policy,
    show,
    stack_policy,
)

BUCKET_TYPES = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
BUCKET_POLICY_TYPES = frozenset({"aws:s3/bucketPolicy:BucketPolicy"})
PUBLIC_ACCESS_BLOCK_TYPES = frozenset({"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"})
NATIVE_BUCKET = "aws-native:s3:Bucket"
NATIVE_BUCKET_POLICY = "aws-native:s3:BucketPolicy"
ECR_ENCRYPTION_TYPES = frozenset({"AES256", "KMS", "KMS_DSSE"})
VECTOR_SSE_TYPES = frozenset({"AES256", "aws:kms"})

PropsCheck = Callable[[Mapping[str, Any]], Iterable[str]]


# --- encryption-at-rest, per resource (inputs) ----------------------------------------------------------------


def _must_be_true(props: Mapping[str, Any], *path: Any) -> Iterator[str]:
    value = get(props, *path)
    if not is_true(value):
        yield f"{'.'.join(str(p) for p in path)}={show(value)}: the data is stored unencrypted; it must be true."


def _storage_encrypted(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _must_be_true(props, "storageEncrypted")


def _native_rds_instance(props: Mapping[str, Any]) -> Iterator[str]:
    # An Aurora instance stores nothing itself: its cluster's storageEncrypted decides.
    if get(props, "dbClusterIdentifier"):
        return
    yield from _must_be_true(props, "storageEncrypted")


# RDS, Aurora, Neptune and DocumentDB default to unencrypted storage (the providers' docs: "The default is `false`");
# Redshift's CreateCluster takes Encrypted without a secure default, and pulumi-aws 7 passes it as a string.
DATABASE_STORAGE: dict[str, PropsCheck] = {
    "aws:rds/instance:Instance": _storage_encrypted,
    "aws:rds/cluster:Cluster": _storage_encrypted,
    "aws-native:rds:DbInstance": _native_rds_instance,
    "aws-native:rds:DbCluster": _storage_encrypted,
    "aws:neptune/cluster:Cluster": _storage_encrypted,
    "aws-native:neptune:DbCluster": _storage_encrypted,
    "aws:docdb/cluster:Cluster": _storage_encrypted,
    "aws:redshift/cluster:Cluster": lambda p: _must_be_true(p, "encrypted"),
    "aws-native:redshift:Cluster": lambda p: _must_be_true(p, "encrypted"),
}


def _ebs_mappings(props: Mapping[str, Any], path: tuple[Any, ...]) -> Iterator[str]:
    mappings = get(props, *path)
    where = ".".join(str(p) for p in path)
    if mappings is None:
        yield f"{where} is not set, so the root volume follows the AMI snapshot's encryption; declare it encrypted."
        return
    for i, mapping in enumerate(as_list(mappings)):
        if get(mapping, "ebs") is None:
            continue  # instance-store or NoDevice mapping: nothing on EBS
        yield from _must_be_true(props, *path, i, "ebs", "encrypted")


def _aws_root_and_extra(props: Mapping[str, Any], root: str = "rootBlockDevice") -> Iterator[str]:
    """pulumi-aws instances, spot requests and launch configurations: the root device, then every EBS device."""
    if get(props, root) is None:
        yield f"{root} is not set, so the root volume follows the AMI snapshot's encryption; set encrypted=true."
    else:
        yield from _must_be_true(props, root, "encrypted")
    yield from _aws_extra_devices(props)


def _aws_extra_devices(props: Mapping[str, Any]) -> Iterator[str]:
    for i, _ in enumerate(as_list(get(props, "ebsBlockDevices"))):
        yield from _must_be_true(props, "ebsBlockDevices", i, "encrypted")


def _aws_spot_fleet(props: Mapping[str, Any]) -> Iterator[str]:
    for i, spec in enumerate(as_list(get(props, "launchSpecifications"))):
        where = f"launchSpecifications[{i}]"
        roots = as_list(get(spec, "rootBlockDevices"))
        if not roots:
            yield (
                f"{where}.rootBlockDevices is not set, so the root volume follows the AMI snapshot's encryption; "
                "declare it encrypted."
            )
        for key in ("rootBlockDevices", "ebsBlockDevices"):
            for j, device in enumerate(as_list(get(spec, key))):
                if not is_true(get(device, "encrypted")):
                    yield (
                        f"{where}.{key}[{j}].encrypted={show(get(device, 'encrypted'))}: the data is stored "
                        "unencrypted; it must be true."
                    )


def _native_spot_fleet(props: Mapping[str, Any]) -> Iterator[str]:
    specs = as_list(get(props, "spotFleetRequestConfigData", "launchSpecifications"))
    for i, _ in enumerate(specs):
        path = ("spotFleetRequestConfigData", "launchSpecifications", i, "blockDeviceMappings")
        yield from _ebs_mappings(props, path)


EBS: dict[str, PropsCheck] = {
    "aws:ec2/instance:Instance": _aws_root_and_extra,
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest": _aws_root_and_extra,
    "aws:ec2/launchConfiguration:LaunchConfiguration": _aws_root_and_extra,
    "aws:ec2/spotFleetRequest:SpotFleetRequest": _aws_spot_fleet,
    "aws:ebs/volume:Volume": lambda p: _must_be_true(p, "encrypted"),
    "aws-native:ec2:Volume": lambda p: _must_be_true(p, "encrypted"),
    "aws:ec2/launchTemplate:LaunchTemplate": lambda p: _ebs_mappings(p, ("blockDeviceMappings",)),
    "aws-native:ec2:Instance": lambda p: _ebs_mappings(p, ("blockDeviceMappings",)),
    "aws-native:ec2:LaunchTemplate": lambda p: _ebs_mappings(p, ("launchTemplateData", "blockDeviceMappings")),
    "aws-native:autoscaling:LaunchConfiguration": lambda p: _ebs_mappings(p, ("blockDeviceMappings",)),
    "aws-native:ec2:SpotFleet": _native_spot_fleet,
}


# Instances whose root volume may come from a launch template: (property that declares it here, the checks of
# the instance's own devices that still apply when the template supplies the root volume).
TEMPLATE_ROOT: dict[str, tuple[str, PropsCheck]] = {
    "aws:ec2/instance:Instance": ("rootBlockDevice", _aws_extra_devices),
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest": ("rootBlockDevice", _aws_extra_devices),
    "aws-native:ec2:Instance": ("blockDeviceMappings", lambda _props: iter(())),
}


def _root_from_template(args: ResourceValidationArgs) -> bool:
    """True when the instance declares no root device of its own but names a launch template."""
    spec = TEMPLATE_ROOT.get(args.resource_type)
    return spec is not None and get(args.props, spec[0]) is None and get(args.props, "launchTemplate") is not None


def _ebs(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    """Every EBS device the resource declares. An instance that declares no root device but names a launch template
    gets its own devices judged, then an advisory note: a resource policy sees one resource, so the template is judged
    as its own resource, wherever it is declared (as imdsv2-required does)."""
    if not _root_from_template(args):
        yield from EBS[args.resource_type](args.props)
        return
    key, own_devices = TEMPLATE_ROOT[args.resource_type]
    yield from own_devices(args.props)
    raise elsewhere_note(
        f"{key} is not set, so '{args.name}' takes its root volume from launch template "
        f"{launch_template_label(get(args.props, 'launchTemplate'))}; encryption-at-rest checks that template's block "
        "device mappings where it is defined."
    )


def _efs(props: Mapping[str, Any]) -> Iterator[str]:
    # CreateFileSystem leaves a file system unencrypted unless Encrypted is true (the console's default differs).
    # Source: https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html
    yield from _must_be_true(props, "encrypted")


EFS_TYPES = frozenset({"aws:efs/fileSystem:FileSystem", "aws-native:efs:FileSystem"})
REPLICATION_GROUP_TYPES = frozenset(
    {"aws:elasticache/replicationGroup:ReplicationGroup", "aws-native:elasticache:ReplicationGroup"}
)
CACHE_CLUSTER_TYPES = frozenset({"aws:elasticache/cluster:Cluster", "aws-native:elasticache:CacheCluster"})


def _replication_group(props: Mapping[str, Any]) -> Iterator[str]:
    # AtRestEncryptionEnabled defaults to true for Valkey and false for Redis OSS (the default engine), and applies
    # the same way with cluster mode on or off. Source:
    # https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
    value = get(props, "atRestEncryptionEnabled")
    engine = str(get(props, "engine") or "redis").lower()
    if value is None and engine == "valkey":
        return
    if not is_true(value):
        yield (
            f"atRestEncryptionEnabled={show(value)} (engine {engine}): backups and the disk used during sync and "
            "swap are unencrypted; set it to true (it cannot be changed after creation)."
        )


def _cache_cluster(props: Mapping[str, Any]) -> Iterator[str]:
    # A node-based cluster that is not part of a replication group has no at-rest encryption option (only replication
    # groups do); a member of a group is judged on its group. Memcached keeps nothing on disk and takes no snapshots.
    # Source: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/at-rest-encryption.html
    engine = str(get(props, "engine") or "").lower()
    if engine == "memcached" or get(props, "replicationGroupId"):
        return
    yield (
        f"engine {show(get(props, 'engine'))} without a replication group cannot encrypt at rest: create a "
        "replication group with atRestEncryptionEnabled=true instead of a standalone cluster."
    )


def _kinesis(props: Mapping[str, Any]) -> Iterator[str]:
    # Kinesis Data Streams are unencrypted unless server-side encryption is turned on (pulumi-aws: "The default value
    # is `NONE`"). Source: https://docs.aws.amazon.com/streams/latest/dev/what-is-sse.html
    kind = get(props, "encryptionType")
    if kind != "KMS":
        yield f'encryptionType={show(kind)}: records are stored unencrypted; set it to "KMS".'


def _native_kinesis(props: Mapping[str, Any]) -> Iterator[str]:
    kind = get(props, "streamEncryption", "encryptionType")
    if kind != "KMS":
        yield f'streamEncryption.encryptionType={show(kind)}: records are stored unencrypted; set it to "KMS".'


def _search_domain(path: tuple[str, ...]) -> PropsCheck:
    # pulumi-aws: "If the encrypt_at_rest block is not provided then this defaults to false".
    return lambda props: _must_be_true(props, *path)


SEARCH_DOMAIN: dict[str, PropsCheck] = {
    "aws:opensearch/domain:Domain": _search_domain(("encryptAtRest", "enabled")),
    "aws:elasticsearch/domain:Domain": _search_domain(("encryptAtRest", "enabled")),
    "aws-native:opensearchservice:Domain": _search_domain(("encryptionAtRestOptions", "enabled")),
}


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


ENCRYPTION_TYPE: dict[str, PropsCheck] = {
    "aws:ecr/repository:Repository": lambda p: _ecr(p, "encryptionConfigurations"),
    "aws-native:ecr:Repository": lambda p: _ecr(p, "encryptionConfiguration"),
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": lambda p: _vectors(p, "encryptionConfigurations"),
    "aws:s3/vectorsIndex:VectorsIndex": lambda p: _vectors(p, "encryptionConfigurations"),
    "aws-native:s3vectors:VectorBucket": lambda p: _vectors(p, "encryptionConfiguration"),
    "aws-native:s3vectors:Index": lambda p: _vectors(p, "encryptionConfiguration"),
}


def _by_type(table: Mapping[str, PropsCheck]) -> ResourceRun:
    """A resource check that runs the type's check from ``table`` on the resource's inputs."""

    def run(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterable[str]:
        return table[args.resource_type](args.props)

    return run


SQS_TYPES = frozenset({"aws:sqs/queue:Queue", "aws-native:sqs:Queue"})
KINESIS: dict[str, PropsCheck] = {"aws:kinesis/stream:Stream": _kinesis, "aws-native:kinesis:Stream": _native_kinesis}

# Judged on inputs, as a resource policy. The CLI runs resource policies on a resource's inputs before it is created
# or changed, and stack policies on outputs after the changes are made ("Modifications to resources can't be
# prevented": https://github.com/pulumi/docs/pull/3597). Several settings judged here are computed outputs
# (encrypted, storageEncrypted, rootBlockDevice, atRestEncryptionEnabled): a preview leaves them unknown when the
# program does not set them, which the CLI reports only as an advisory note. Their inputs are simply absent, which
# counts as AWS's insecure default.
ENCRYPTION_AT_REST = resource_policy(
    name="encryption-at-rest",
    description=(
        "Data stores are encrypted at rest: databases (RDS, Aurora, Neptune, DocumentDB, Redshift), EBS volumes "
        "wherever an instance's disks are declared (instances, spot requests and fleets, launch templates and "
        "configurations, volumes), EFS file systems, ElastiCache replication groups and clusters, Kinesis streams, "
        "OpenSearch domains; SQS queues must not turn SSE off; ECR repositories and S3 vector buckets/indexes may "
        "only name a valid encryption type. A missing setting counts as unencrypted where that is AWS's default; "
        "stores that AWS always encrypts (S3 since January 2023, DynamoDB, CloudWatch Logs, Secrets Manager, "
        "ElastiCache Serverless) pass."
    ),
    severity=Severity.HIGH,
    remediation=(
        "RDS/Aurora/Neptune/DocumentDB: storage_encrypted=True; Redshift: encrypted=True. EC2/EBS: encrypted=True on "
        "root_block_device, every ebs_block_device, every volume and launch-template/configuration ebs block. EFS: "
        "encrypted=True. ElastiCache: a replication group with at_rest_encryption_enabled=True. Kinesis: "
        'encryption_type="KMS". OpenSearch: encrypt_at_rest={"enabled": True}. SQS: remove '
        "sqs_managed_sse_enabled=False or set a KMS key. ECR/S3 Vectors: use AES256 or KMS with a key."
    ),
    checks=(
        Check(
            "database-storage",
            "a database's storage is not encrypted (storageEncrypted / encrypted not true)",
            frozenset(DATABASE_STORAGE),
            ("storageEncrypted", "encrypted", "dbClusterIdentifier"),
            _by_type(DATABASE_STORAGE),
        ),
        Check(
            "ebs",
            "an EBS volume, or a root or extra device of whatever launches an instance, is not encrypted (a missing "
            "root device counts as unencrypted; an instance that takes its root device from a launchTemplate gets an "
            "advisory note, and the template is judged where it is defined)",
            frozenset(EBS),
            (
                "rootBlockDevice.encrypted",
                "ebsBlockDevices[].encrypted",
                "encrypted",
                "blockDeviceMappings[].ebs.encrypted",
                "launchTemplateData.blockDeviceMappings[].ebs.encrypted",
                "launchSpecifications[].rootBlockDevices[].encrypted",
                "launchSpecifications[].ebsBlockDevices[].encrypted",
                "spotFleetRequestConfigData.launchSpecifications[].blockDeviceMappings[].ebs.encrypted",
                "launchTemplate",
            ),
            _ebs,
        ),
        Check(
            "file-system",
            "an EFS file system is not encrypted",
            EFS_TYPES,
            ("encrypted",),
            _by_type(dict.fromkeys(EFS_TYPES, _efs)),
        ),
        Check(
            "cache",
            "an ElastiCache replication group is not encrypted at rest (unset: Valkey encrypts, Redis OSS does not), "
            "or a Redis OSS/Valkey cluster stands alone, where at-rest encryption is impossible",
            REPLICATION_GROUP_TYPES | CACHE_CLUSTER_TYPES,
            ("atRestEncryptionEnabled", "engine", "replicationGroupId"),
            _by_type(
                {
                    **dict.fromkeys(REPLICATION_GROUP_TYPES, _replication_group),
                    **dict.fromkeys(CACHE_CLUSTER_TYPES, _cache_cluster),
                }
            ),
        ),
        Check(
            "stream",
            'a Kinesis stream is not encrypted (encryption type not "KMS")',
            frozenset(KINESIS),
            ("encryptionType", "streamEncryption.encryptionType"),
            _by_type(KINESIS),
        ),
        Check(
            "search-domain",
            "an OpenSearch/Elasticsearch domain is not encrypted at rest",
            frozenset(SEARCH_DOMAIN),
            ("encryptAtRest.enabled", "encryptionAtRestOptions.enabled"),
            _by_type(SEARCH_DOMAIN),
        ),
        Check(
            "queue",
            "an SQS queue turns SSE-SQS off without a KMS key (absent means the SSE-SQS default)",
            SQS_TYPES,
            ("sqsManagedSseEnabled", "kmsMasterKeyId"),
            _by_type(dict.fromkeys(SQS_TYPES, _sqs)),
        ),
        Check(
            "encryption-type",
            "an ECR repository or S3 vector bucket/index names an invalid encryption type, or aws:kms without a key",
            frozenset(ENCRYPTION_TYPE),
            (
                "encryptionConfigurations[].encryptionType",
                "encryptionConfigurations[].sseType",
                "encryptionConfigurations[].kmsKeyArn",
                "encryptionConfiguration.encryptionType",
                "encryptionConfiguration.sseType",
                "encryptionConfiguration.kmsKeyArn",
            ),
            _by_type(ENCRYPTION_TYPE),
        ),
    ),
    not_checked=(
        "S3 buckets (pulumi-aws and aws-native): since 5 January 2023 S3 encrypts every new object with SSE-S3 "
        "whatever the bucket declares, and it cannot be turned off "
        "(https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html)",
        "DynamoDB tables: encryption at rest is always on and cannot be disabled; serverSideEncryption only picks "
        "the key (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html)",
        "ElastiCache Serverless caches: always encrypted at rest "
        "(https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/at-rest-encryption.html); memcached clusters "
        "keep nothing on disk; global datastores take their primary group's setting",
        "CloudWatch log groups and Secrets Manager secrets: AWS always encrypts them and offers no weaker option",
        "which key is used (AWS-owned, AWS-managed or customer-managed KMS): any encryption passes",
        "SNS topics, MSK, MemoryDB, Timestream, Backup vaults, FSx, Glue and SageMaker stores, and the account-wide "
        "EBS encryption default (aws:ebs/encryptionByDefault), which this per-resource check cannot see",
        "Aurora cluster instances (aws:rds/clusterInstance): their cluster decides",
    ),
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


def _iam_pattern(pattern: str) -> re.Pattern[str]:
    """An IAM resource pattern as a regex: ``*`` matches any run of characters, ``?`` any one."""
    return re.compile(".*".join(".".join(re.escape(part) for part in piece.split("?")) for piece in pattern.split("*")))


def _covers(patterns: Iterable[Any], bucket: str, objects: bool) -> bool:
    """Whether a statement's Resource patterns cover the bucket itself, or (``objects``) every object in it.

    Every object is covered when a pattern matches both the empty key and a nested one: only a pattern whose tail is
    all ``*`` after the bucket's ``/`` does (``NAME/*``, ``NAME*``, ``*``), not ``NAME/uploads/*`` or ``NAME/?``.
    """
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        fields = pattern.split(":", 5)
        partition = fields[1] if len(fields) == 6 and fields[0] == "arn" else "aws"
        arn = f"arn:{partition}:s3:::{bucket}"
        regex = _iam_pattern(pattern)
        if objects and regex.fullmatch(f"{arn}/") and regex.fullmatch(f"{arn}/any/key.txt"):
            return True
        if not objects and regex.fullmatch(arn):
            return True
    return False


def denies_insecure_transport(document: Any, bucket: str) -> bool:
    """True when a bucket policy denies everyone s3:* (or *) when aws:SecureTransport is false, on the bucket and on
    every object in it (one statement or several)."""
    if not isinstance(document, Mapping):
        return False
    covered = {"bucket": False, "objects": False}
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        if everyone and actions & {"s3:*", "*"} and _condition_denies_plain_http(statement.get("Condition")):
            resources = as_list(statement.get("Resource"))
            covered["bucket"] |= _covers(resources, bucket, objects=False)
            covered["objects"] |= _covers(resources, bucket, objects=True)
    return all(covered.values())


def _bucket_policies(
    args: StackValidationArgs,
) -> tuple[list[tuple[PolicyResource, list[PolicyResource]]], list[PolicyResource]]:
    """(bucket, its policies) for every bucket of the stack, and the policies whose bucket is not in the stack."""
    buckets = [r for r in args.resources if r.resource_type in BUCKET_TYPES | {NATIVE_BUCKET}]
    policies = [r for r in args.resources if r.resource_type in BUCKET_POLICY_TYPES | {NATIVE_BUCKET_POLICY}]
    linked: dict[str, list[PolicyResource]] = {b.urn: [] for b in buckets}
    elsewhere: list[PolicyResource] = []
    for policy in policies:
        targets = references(policy, "bucket", buckets)
        for bucket in targets:
            linked[bucket.urn].append(policy)
        if not targets:
            elsewhere.append(policy)
    return [(b, linked[b.urn]) for b in buckets], elsewhere


def _document(policy: PolicyResource) -> Any:
    """A bucket policy's document; None when it is not JSON (S3 would reject it, so it denies nothing)."""
    try:
        return load_json(
            get(policy.props, "policy" if policy.resource_type in BUCKET_POLICY_TYPES else "policyDocument")
        )
    except ValueError:
        return None


def _insecure(name: str) -> str:
    return (
        "no Deny of s3:* to everyone when aws:SecureTransport is false on both the bucket and its objects "
        f'("{name}" and "{name}/*"), so plain-HTTP requests are allowed.'
    )


def _check_tls(args: StackValidationArgs, _config: Mapping[str, Any]) -> Iterator[Any]:
    pairs, elsewhere = _bucket_policies(args)
    for bucket, policies in pairs:
        if not policies:
            yield bucket.urn, f"bucket '{bucket.name}' has no bucket policy, so plain-HTTP requests are not denied."
            continue
        try:
            name = get(bucket.props, "bucketName" if bucket.resource_type == NATIVE_BUCKET else "bucket")
            documents = [_document(p) for p in policies]
        except UnknownValueError as err:
            err.message = f"{bucket.name}: {err.message}"
            yield err
            continue
        if not any(denies_insecure_transport(d, str(name or bucket.name)) for d in documents):
            names = ", ".join(p.name for p in policies)
            yield bucket.urn, f"bucket '{bucket.name}' policy ({names}) has {_insecure(str(name or bucket.name))}"
    # A bucket of another stack (a bucket has one policy, and the stack that needs it may own it): no bucket to pair
    # with, so the policy's own document must carry the deny, on the bucket it names.
    for policy in elsewhere:
        try:
            name = get(policy.props, "bucket")
            document = _document(policy)
        except UnknownValueError as err:
            err.message = f"{policy.name}: {err.message}"
            yield err
            continue
        if not denies_insecure_transport(document, str(name)):
            yield (
                policy.urn,
                f"bucket policy '{policy.name}' is for bucket {show(name)}, which is not in this stack, and has "
                + _insecure(str(name)),
            )


S3_TLS_ONLY = stack_policy(
    name="s3-tls-only",
    description=(
        "Every S3 bucket has a bucket policy that denies any request made without TLS "
        "(Effect Deny, Principal *, Action s3:*, Condition Bool aws:SecureTransport = false) on the bucket and on all "
        "its objects; so does every bucket policy whose bucket belongs to another stack."
    ),
    severity=Severity.MEDIUM,
    remediation=(
        "Add an aws.s3.BucketPolicy for the bucket with the statement {Sid: DenyInsecureTransport, Effect: Deny, "
        'Principal: "*", Action: "s3:*", Resource: [<bucket arn>, <bucket arn>/*], Condition: {Bool: '
        '{"aws:SecureTransport": "false"}}}.'
    ),
    checks=(
        Check(
            "deny-insecure-transport",
            "a bucket has no bucket policy, or none that denies everyone s3:* when aws:SecureTransport is false on "
            "the bucket and on all its objects; a bucket policy for a bucket of another stack is judged on its own "
            "document",
            BUCKET_TYPES | {NATIVE_BUCKET} | BUCKET_POLICY_TYPES | {NATIVE_BUCKET_POLICY},
            (
                "bucket",
                "bucketName",
                "policy",
                "policyDocument",
                "Statement[].Effect",
                "Statement[].Principal",
                "Statement[].Action",
                "Statement[].Resource",
                "Statement[].Condition",
            ),
            _check_tls,
        ),
    ),
    not_checked=(
        "S3 access points and directory buckets",
        "the TLS version (s3:TlsVersion)",
        "a bucket of another stack that has no bucket policy in any stack (only the stack that owns the bucket can "
        "see that)",
    ),
)

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _block_problems(flags: Mapping[str, Any] | None, where: str) -> Iterator[str]:
    off = [f for f in PUBLIC_ACCESS_FLAGS if not is_true(get(flags, f))]
    if off:
        yield f"{where} leaves {', '.join(off)} unset or false: the bucket can be made public."


def _block_check(where: str) -> PropsCheck:
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
    checks=(
        Check(
            "public-access-block",
            "a bucket has no linked public access block, or one of its four flags is unset or false",
            BUCKET_TYPES | PUBLIC_ACCESS_BLOCK_TYPES | {NATIVE_BUCKET},
            ("bucket", *PUBLIC_ACCESS_FLAGS, "publicAccessBlockConfiguration"),
            _check_public_access,
        ),
    ),
    not_checked=("the account-level public access block (aws:s3/accountPublicAccessBlock), which is not per bucket",),
)


# --- log retention (resource) ------------------------------------------------------------------------------------


LOG_GROUP_TYPES = frozenset({"aws:cloudwatch/logGroup:LogGroup", "aws-native:logs:LogGroup"})


def _check_retention(args: ResourceValidationArgs, config: Mapping[str, Any]) -> Iterator[str]:
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
    checks=(
        Check(
            "retention",
            "a log group keeps its events forever, or longer than maxRetentionDays",
            LOG_GROUP_TYPES,
            ("retentionInDays",),
            _check_retention,
        ),
    ),
    not_checked=("log groups that AWS services create on first write (they are not in the program)",),
    properties={
        "maxRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "description": "Optional upper bound on retentionInDays; unset means any explicit retention passes.",
        }
    },
)

POLICIES = (ENCRYPTION_AT_REST, S3_TLS_ONLY, S3_PUBLIC_ACCESS_BLOCK, LOG_RETENTION)
