"""Production data protection: deletion protection, multi-AZ, backups, versioning and ``protect`` on stateful data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from .base import get, is_true, is_unknown, peek, references, show, stack_of, stack_policy, unknown_error
from .data import BUCKET_TYPES, NATIVE_BUCKET, judge

VERSIONING_TYPES = frozenset(
    {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
)
# Resources whose deletion loses data that no deploy can bring back.
STATEFUL_TYPES = frozenset(
    {
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws-native:rds:DbInstance",
        "aws-native:rds:DbCluster",
        *BUCKET_TYPES,
        NATIVE_BUCKET,
        "aws:s3/vectorsVectorBucket:VectorsVectorBucket",
        "aws:s3/vectorsIndex:VectorsIndex",
        "aws-native:s3vectors:VectorBucket",
        "aws-native:s3vectors:Index",
        "aws:secretsmanager/secret:Secret",
        "aws-native:secretsmanager:Secret",
        "aws:ecr/repository:Repository",
        "aws-native:ecr:Repository",
        "aws:ebs/volume:Volume",
        "aws:dynamodb/table:Table",
        "aws:efs/fileSystem:FileSystem",
    }
)
RDS_INSTANCE_TYPES = frozenset({"aws:rds/instance:Instance", "aws-native:rds:DbInstance"})
RDS_CLUSTER_TYPES = frozenset({"aws:rds/cluster:Cluster", "aws-native:rds:DbCluster"})


def _database(resource: PolicyResource, min_days: int) -> Iterator[str]:
    props = resource.props
    if resource.resource_type == "aws-native:rds:DbInstance" and get(props, "dbClusterIdentifier"):
        return  # an Aurora member: the cluster carries these settings
    if not is_true(get(props, "deletionProtection")):
        yield f"deletionProtection={show(get(props, 'deletionProtection'))}: the database can be deleted by a deploy."
    if resource.resource_type in RDS_INSTANCE_TYPES and not is_true(get(props, "multiAz")):
        yield f"multiAz={show(get(props, 'multiAz'))}: one AZ failure takes the database down."
    days = get(props, "backupRetentionPeriod")
    # Absent means the engine default of 1 day for pulumi-aws/CloudFormation-created databases.
    if not isinstance(days, int | float) or days < min_days:
        yield f"backupRetentionPeriod={show(days)}: keep automated backups at least {min_days} days."
    if is_true(get(props, "skipFinalSnapshot")):
        yield "skipFinalSnapshot=true: deleting the database leaves no final snapshot."


def _database_check(resource: PolicyResource, min_days: int) -> Callable[[Mapping[str, Any]], Iterator[str]]:
    return lambda _props: _database(resource, min_days)


def _versioned_buckets(resources: list[PolicyResource]) -> Iterator[Any]:
    buckets = [r for r in resources if r.resource_type in BUCKET_TYPES]
    enabled: set[str] = set()
    for versioning in (r for r in resources if r.resource_type in VERSIONING_TYPES):
        targets = references(versioning, "bucket", buckets)
        # Linked buckets are settled here either way, so a bucket is never also reported as unversioned.
        enabled.update(t.urn for t in targets)
        status = peek(versioning.props, "versioningConfiguration", "status")
        if is_unknown(status):
            yield unknown_error([versioning.name, "versioningConfiguration", "status"])
        elif status != "Enabled":
            yield versioning.urn, f'versioningConfiguration.status={show(status)}: it must be "Enabled".'
    for bucket in buckets:
        if bucket.urn not in enabled:
            yield bucket.urn, f"bucket '{bucket.name}' has no BucketVersioning with status Enabled naming it."


def _native_bucket(props: Mapping[str, Any]) -> Iterator[str]:
    status = get(props, "versioningConfiguration", "status")
    if status != "Enabled":
        yield f'versioningConfiguration.status={show(status)}: it must be "Enabled".'


def _check_protection(args: StackValidationArgs, config: Mapping[str, Any]) -> Iterator[Any]:
    production = set(config.get("productionStacks") or ())
    in_prod = [r for r in args.resources if stack_of(r.urn) in production]
    if not in_prod:
        return
    min_days = int(config.get("minBackupRetentionDays") or 7)
    for resource in in_prod:
        if resource.resource_type in STATEFUL_TYPES and not resource.opts.protect:
            yield (
                resource.urn,
                (
                    f"'{resource.name}' ({resource.resource_type}) holds data but is not protect=True: a deploy or "
                    "destroy can delete it."
                ),
            )
        if resource.resource_type in RDS_INSTANCE_TYPES | RDS_CLUSTER_TYPES:
            yield from judge(resource, _database_check(resource, min_days))
        if resource.resource_type == NATIVE_BUCKET:
            yield from judge(resource, _native_bucket)
    yield from _versioned_buckets(in_prod)


PROD_DATA_PROTECTION = stack_policy(
    name="prod-data-protection",
    description=(
        "In production stacks (stack name in productionStacks): RDS instances and clusters have deletion "
        "protection, multi-AZ (instances), backups kept at least minBackupRetentionDays (default 7) and a final "
        "snapshot; S3 buckets have versioning Enabled; and every stateful resource (databases, buckets, vector "
        "buckets and indexes, secrets, ECR repositories, EBS volumes, DynamoDB tables, EFS) has protect=True."
    ),
    severity=Severity.HIGH,
    remediation=(
        "In prod set deletion_protection=True, multi_az=True, backup_retention_period>=7 and "
        'skip_final_snapshot=False on RDS; add aws.s3.BucketVersioning(status="Enabled") per bucket; pass '
        "opts=pulumi.ResourceOptions(protect=True) to every stateful resource."
    ),
    check=_check_protection,
    properties={
        "productionStacks": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Stack names (the stack part of each URN) that hold production data.",
            "default": ["prod", "production"],
        },
        "minBackupRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "maximum": 35,
            "description": "Fewest days of automated RDS backups in production.",
            "default": 7,
        },
    },
)

POLICIES = (PROD_DATA_PROTECTION,)
