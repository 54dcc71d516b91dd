"""Production data protection: deletion protection, multi-AZ, backups, versioning and ``protect`` on stateful data."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from .base import (
    Check,
    StackRun,
    get,
    is_true,
    is_unknown,
    judge,
    peek,
    references,
    show,
    stack_of,
    stack_policy,
    unknown_error,
)
from .data import BUCKET_TYPES, NATIVE_BUCKET

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
        "aws-native:ec2:Volume",
        "aws:dynamodb/table:Table",
        "aws-native:dynamodb:Table",
        "aws:efs/fileSystem:FileSystem",
        "aws-native:efs:FileSystem",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:neptune/cluster:Cluster",
        "aws:docdb/cluster:Cluster",
        "aws:redshift/cluster:Cluster",
    }
)
RDS_INSTANCE_TYPES = frozenset({"aws:rds/instance:Instance", "aws-native:rds:DbInstance"})
RDS_CLUSTER_TYPES = frozenset({"aws:rds/cluster:Cluster", "aws-native:rds:DbCluster"})
DATABASE_TYPES = RDS_INSTANCE_TYPES | RDS_CLUSTER_TYPES


def _in_production(args: StackValidationArgs, config: Mapping[str, Any]) -> list[PolicyResource]:
    production = set(config.get("productionStacks") or ())
    return [r for r in args.resources if stack_of(r.urn) in production]


DatabaseRule = Callable[[PolicyResource, Mapping[str, Any]], Iterator[str]]


def _unless_aurora_member(resource: PolicyResource, rule: DatabaseRule, config: Mapping[str, Any]) -> Iterator[str]:
    if resource.resource_type == "aws-native:rds:DbInstance" and get(resource.props, "dbClusterIdentifier"):
        return  # an Aurora member: the cluster carries these settings
    yield from rule(resource, config)


def _database_check(rule: DatabaseRule) -> StackRun:
    """A stack check that runs ``rule`` on every production RDS instance and cluster (not Aurora members)."""

    def run(args: StackValidationArgs, config: Mapping[str, Any]) -> Iterator[Any]:
        for resource in _in_production(args, config):
            if resource.resource_type in DATABASE_TYPES:
                yield from judge(resource, functools.partial(_judge_database, resource, rule, config))

    return run


def _judge_database(
    resource: PolicyResource, rule: DatabaseRule, config: Mapping[str, Any], _props: Mapping[str, Any]
) -> Iterator[str]:
    return _unless_aurora_member(resource, rule, config)


def _deletion_protection(resource: PolicyResource, _config: Mapping[str, Any]) -> Iterator[str]:
    if not is_true(get(resource.props, "deletionProtection")):
        value = get(resource.props, "deletionProtection")
        yield f"deletionProtection={show(value)}: the database can be deleted by a deploy."


def _multi_az(resource: PolicyResource, _config: Mapping[str, Any]) -> Iterator[str]:
    if resource.resource_type in RDS_INSTANCE_TYPES and not is_true(get(resource.props, "multiAz")):
        yield f"multiAz={show(get(resource.props, 'multiAz'))}: one AZ failure takes the database down."


def _backup_retention(resource: PolicyResource, config: Mapping[str, Any]) -> Iterator[str]:
    min_days = int(config.get("minBackupRetentionDays") or 7)
    days = get(resource.props, "backupRetentionPeriod")
    # Absent means the engine default of 1 day for pulumi-aws/CloudFormation-created databases.
    if not isinstance(days, int | float) or days < min_days:
        yield f"backupRetentionPeriod={show(days)}: keep automated backups at least {min_days} days."


def _final_snapshot(resource: PolicyResource, _config: Mapping[str, Any]) -> Iterator[str]:
    if is_true(get(resource.props, "skipFinalSnapshot")):
        yield "skipFinalSnapshot=true: deleting the database leaves no final snapshot."


def _protect(args: StackValidationArgs, config: Mapping[str, Any]) -> Iterator[Any]:
    for resource in _in_production(args, config):
        if resource.resource_type in STATEFUL_TYPES and not resource.opts.protect:
            yield (
                resource.urn,
                (
                    f"'{resource.name}' ({resource.resource_type}) holds data but is not protect=True: a deploy or "
                    "destroy can delete it."
                ),
            )


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


def _versioning(args: StackValidationArgs, config: Mapping[str, Any]) -> Iterator[Any]:
    in_prod = _in_production(args, config)
    for resource in in_prod:
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
    checks=(
        Check(
            "protect",
            "a stateful resource in production is not protect=True",
            STATEFUL_TYPES,
            ("resource option protect",),
            _protect,
        ),
        Check(
            "deletion-protection",
            "a production database has no deletion protection",
            DATABASE_TYPES,
            ("deletionProtection",),
            _database_check(_deletion_protection),
        ),
        Check(
            "multi-az",
            "a production RDS instance is single-AZ",
            RDS_INSTANCE_TYPES,
            ("multiAz",),
            _database_check(_multi_az),
        ),
        Check(
            "backup-retention",
            "a production database keeps automated backups fewer than minBackupRetentionDays",
            DATABASE_TYPES,
            ("backupRetentionPeriod",),
            _database_check(_backup_retention),
        ),
        Check(
            "final-snapshot",
            "deleting a production database leaves no final snapshot",
            DATABASE_TYPES,
            ("skipFinalSnapshot",),
            _database_check(_final_snapshot),
        ),
        Check(
            "versioning",
            "a production bucket has no versioning with status Enabled",
            BUCKET_TYPES | VERSIONING_TYPES | {NATIVE_BUCKET},
            ("bucket", "versioningConfiguration.status"),
            _versioning,
        ),
    ),
    not_checked=(
        "stacks not named in productionStacks",
        "backups of stores other than RDS (AWS Backup plans, DynamoDB point-in-time recovery, EFS backups)",
        "retainOnDelete and deletion protection of non-RDS stores",
    ),
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
