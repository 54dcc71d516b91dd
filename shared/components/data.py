"""Data layer components: private buckets, S3 Vectors, PostgreSQL, secrets, the processing queue, ECR."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pulumi
import pulumi_aws as aws

from shared import clock
from shared.constants import SQS_DEFAULTS, sqs_visibility_timeout
from shared.iam import managed_policy_arn, policy_document, service_trust_policy

# Metadata that S3 Vectors should store but not index for filtering: the chunk text is too large to filter on.
# Every other key (document_id, session_id, page_number) is filterable by default (S3 Vectors user guide,
# "Metadata filtering"; pulumi-aws VectorsIndex metadata_configuration.non_filterable_metadata_keys).
NON_FILTERABLE_METADATA_KEYS = ("text_content",)
FILTERABLE_METADATA_KEYS = ("document_id", "session_id", "page_number")


def tls_only_statement(bucket_arn: str) -> dict[str, object]:
    """Deny every request to the bucket or its objects that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def log_delivery_statement(
    log_bucket_arn: str, account_id: str, source_bucket_names: Sequence[str]
) -> dict[str, object]:
    """Let S3's logging service write access logs for our own source buckets only.

    With ACLs disabled (BucketOwnerEnforced) this bucket policy is the only way to grant delivery (S3 user guide,
    "Permissions for log delivery"); the source ARN and account conditions stop other buckets using it.
    """
    partition = log_bucket_arn.split(":", 2)[1]
    return {
        "Sid": "AllowS3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": [f"arn:{partition}:s3:::{name}" for name in source_bucket_names]},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    }


def final_snapshot_identifier(db_identifier: str, created_at: datetime) -> str:
    """``<db>-final-<UTC creation time>``: one name per incarnation of the database, so no destroy reuses one.

    A fixed name fails the second destroy of an environment with DBSnapshotAlreadyExists. The time is the one at which
    this incarnation is created; the instance ignores later changes to it (``ignore_changes``), and changing it
    would not replace the database anyway: ``final_snapshot_identifier`` is read only on delete and is not
    ForceNew in terraform-provider-aws's aws_db_instance schema. RDS allows letters, digits and single hyphens,
    starting with a letter, up to 255 characters (RDS API reference, DeleteDBInstance FinalDBSnapshotIdentifier).
    """
    return f"{db_identifier}-final-{created_at.astimezone(UTC):%Y%m%d%H%M%S}"


def stateful(protect: bool, *, retain: bool, parent: pulumi.Resource | None) -> pulumi.ResourceOptions:
    """Options for data that must survive mistakes: ``protect`` as the layer asks (always in prod), and
    retain-on-delete as well where the resource holds data that no snapshot covers (``retain``: the component knows)."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect and retain)


@dataclass(frozen=True)
class PrivateBucketArgs:
    """Inputs of :class:`PrivateBucket`."""

    bucket_name: str
    """The physical bucket name (validated by ResourceNamer)."""
    protect: bool = False
    """Protect the bucket, and keep it if it leaves the program or the stack is destroyed."""
    force_destroy: bool = False
    """Let a destroy delete the bucket with its objects (only where nothing is protected)."""
    versioned: bool = False
    """Keep previous versions of overwritten or deleted objects."""
    noncurrent_version_days: int | None = None
    """Expire previous versions after this many days (versioned buckets)."""
    tls_only_policy: bool = True
    """Attach the deny-non-TLS bucket policy here. False when another layer owns the bucket policy."""
    access_log_bucket: pulumi.Input[str] | None = None
    """Send S3 server access logs to this bucket, under ``<bucket name>/``."""
    log_sources: Sequence[str] = field(default_factory=tuple)
    """For an access-log bucket: the source bucket names whose logs S3 may deliver here."""
    log_source_account: str | None = None
    """The account of the log sources (the delivery's ``aws:SourceAccount``); required with ``log_sources``."""
    expiration_days: int | None = None
    """Expire current objects after this many days (access logs)."""

    def __post_init__(self) -> None:
        if self.log_sources and not self.log_source_account:
            raise ValueError(f"bucket {self.bucket_name}: log_sources need log_source_account")


class PrivateBucket(pulumi.ComponentResource):
    """An S3 bucket that is private, encrypted, owner-enforced and, by default, TLS-only."""

    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:data:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name,
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            # Retained as well as protected: no snapshot holds a bucket's objects.
            opts=stateful(args.protect, retain=True, parent=self),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            # ACLs off: access comes from policies only (the S3 default for new buckets since April 2023).
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        if args.versioned:
            aws.s3.BucketVersioning(
                f"{name}-versioning",
                bucket=self.bucket.id,
                versioning_configuration={"status": "Enabled"},
                opts=child,
            )
        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {
                "id": "abort-incomplete-uploads",
                "status": "Enabled",
                "filter": {},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ]
        if args.noncurrent_version_days:
            rules.append(
                {
                    "id": "expire-noncurrent-versions",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
                }
            )
        if args.expiration_days:
            rules.append(
                {
                    "id": "expire-objects",
                    "status": "Enabled",
                    "filter": {},
                    "expiration": {"days": args.expiration_days},
                }
            )
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=self.bucket.id, rules=rules, opts=child)
        if args.access_log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-access-logging",
                bucket=self.bucket.id,
                target_bucket=args.access_log_bucket,
                target_prefix=f"{args.bucket_name}/",
                opts=child,
            )
        if args.tls_only_policy:
            sources, account = list(args.log_sources), args.log_source_account or ""
            aws.s3.BucketPolicy(
                f"{name}-policy",
                bucket=self.bucket.id,
                policy=self.bucket.arn.apply(
                    lambda arn: policy_document(
                        ([log_delivery_statement(arn, account, sources)] if sources else []) + [tls_only_statement(arn)]
                    )
                ),
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


@dataclass(frozen=True)
class VectorStoreArgs:
    """Inputs of :class:`VectorStore`."""

    bucket_name: str
    """The vector bucket's name; the index's logical name is ``{bucket_name}-index``."""
    index_name: str
    """The index's name, which follows the embedding model and dimension."""
    dimension: int
    protect: bool
    """Protect and retain the bucket and the index."""
    force_destroy: bool
    """Let a destroy delete the bucket with its vectors (only where nothing is protected)."""
    delete_before_replace: bool
    """Delete a replaced index before creating its successor (only where its vectors are disposable)."""


class VectorStore(pulumi.ComponentResource):
    """An S3 Vectors bucket and its cosine / float32 index for document chunks."""

    def __init__(self, name: str, args: VectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:data:VectorStore", name, None, opts)
        # Encryption is not set: S3 Vectors encrypts every vector bucket with SSE-S3 unless told to use KMS.
        self.bucket = aws.s3.VectorsVectorBucket(
            args.bucket_name,
            vector_bucket_name=args.bucket_name,
            force_destroy=args.force_destroy,
            opts=stateful(args.protect, retain=True, parent=self),
        )
        # Every property of an index forces a replacement (S3 Vectors has no UpdateIndex; pulumi-aws and
        # terraform-provider-aws mark each "Forces new resource"). The name follows the model and dimension, so a new
        # model never collides with the index it replaces; with delete_before_replace (outside prod) the old index also
        # goes first, so any other replacement (a changed metadata key) deploys too. Protected (prod), it is retained as
        # well: docs/deploying.md, "Prod".
        self.index = aws.s3.VectorsIndex(
            f"{args.bucket_name}-index",
            vector_bucket_name=self.bucket.vector_bucket_name,
            index_name=args.index_name,
            data_type="float32",
            dimension=args.dimension,
            distance_metric="cosine",
            metadata_configuration={"non_filterable_metadata_keys": list(NON_FILTERABLE_METADATA_KEYS)},
            opts=pulumi.ResourceOptions.merge(
                stateful(args.protect, retain=True, parent=self),
                pulumi.ResourceOptions(delete_before_replace=args.delete_before_replace),
            ),
        )
        self.register_outputs({"bucket_arn": self.bucket.vector_bucket_arn, "index_arn": self.index.index_arn})


@dataclass(frozen=True)
class DatabaseArgs:
    """Inputs of :class:`Database`."""

    identifier: str
    """The DB instance identifier; its log groups' logical names are ``{identifier}-<log>-logs``."""
    subnet_group_name: str
    """The DB subnet group."""
    parameter_group_name: str
    """The PostgreSQL 16 parameter group (TLS forced)."""
    monitoring_role_name: str
    """The Enhanced Monitoring role."""
    account_id: str
    """Our account, for the monitoring role's confused-deputy guard."""
    partition: str
    """For the AWS-managed monitoring policy's ARN."""
    instance_class: str
    """e.g. db.t3.medium."""
    allocated_storage_gb: int
    """gp3 storage, 20 GiB or more."""
    multi_az: bool
    """A standby in a second AZ."""
    backup_retention_days: int
    """Automated backups, 1 to 35 days."""
    deletion_protection: bool
    """RDS's own deletion protection."""
    final_snapshot: bool
    """Take a final snapshot (and keep the automated backups) when the database is deleted."""
    performance_insights: bool
    """Performance Insights, at its 7-day free retention."""
    log_retention_days: int
    """Retention of the PostgreSQL and upgrade logs."""
    db_name: str
    username: str
    """The master user; RDS keeps its password in Secrets Manager."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """data-a and data-b, in two AZs."""
    security_group_id: pulumi.Input[str]
    """The database group (5432 from the backend and the Lambda only)."""
    protect: bool
    """Pulumi ``protect`` (not retained: the final snapshot holds the data)."""


class Database(pulumi.ComponentResource):
    """PostgreSQL 16 with TLS forced, encrypted gp3, an RDS-managed master secret, and logs with retention."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:data:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identifier = args.identifier
        subnet_group = aws.rds.SubnetGroup(
            args.subnet_group_name, name=args.subnet_group_name, subnet_ids=args.subnet_ids, opts=child
        )
        parameters = aws.rds.ParameterGroup(
            args.parameter_group_name,
            name=args.parameter_group_name,
            family="postgres16",
            description="student-helper PostgreSQL 16: TLS required",
            parameters=[{"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"}],
            opts=child,
        )
        # RDS would create these groups itself with no expiry; creating them first sets the retention.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{identifier}-{kind}-logs",
                name=f"/aws/rds/instance/{identifier}/{kind}",
                retention_in_days=args.log_retention_days,
                opts=child,
            )
            for kind in ("postgresql", "upgrade")
        ]
        monitoring_role = aws.iam.Role(
            args.monitoring_role_name,
            name=args.monitoring_role_name,
            assume_role_policy=service_trust_policy("monitoring.rds.amazonaws.com", source_account=args.account_id),
            opts=child,
        )
        monitoring_policy = aws.iam.RolePolicyAttachment(
            args.monitoring_role_name,
            role=monitoring_role.name,
            policy_arn=managed_policy_arn(args.partition, "service-role/AmazonRDSEnhancedMonitoringRole"),
            opts=child,
        )
        keep_final_snapshot = args.final_snapshot
        instance_opts = pulumi.ResourceOptions.merge(
            stateful(args.protect, retain=False, parent=self),
            pulumi.ResourceOptions(
                depends_on=[*log_groups, monitoring_policy],
                # Set once, when this incarnation is created; a later run's time must not rename its final snapshot.
                ignore_changes=["finalSnapshotIdentifier"],
            ),
        )
        self.instance = aws.rds.Instance(
            identifier,
            identifier=identifier,
            engine="postgres",
            engine_version="16",
            auto_minor_version_upgrade=True,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=args.db_name,
            username=args.username,
            manage_master_user_password=True,  # the password lives in Secrets Manager, never in config
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnet_group.name,
            parameter_group_name=parameters.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            deletion_protection=args.deletion_protection,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not keep_final_snapshot,
            skip_final_snapshot=not keep_final_snapshot,
            # Named even where no final snapshot is taken: the name is fixed at creation (ignore_changes), so turning
            # rds_final_snapshot on later finds one in the state; a null name with skip_final_snapshot off would fail
            # the destroy ("final_snapshot_identifier is required when skip_final_snapshot is false").
            final_snapshot_identifier=final_snapshot_identifier(identifier, clock.now()),
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            monitoring_interval=60,
            monitoring_role_arn=monitoring_role.arn,
            performance_insights_enabled=args.performance_insights,
            performance_insights_retention_period=7 if args.performance_insights else None,
            opts=instance_opts,
        )
        self.master_secret_arn = self.instance.master_user_secrets.apply(lambda secrets: secrets[0].secret_arn)
        self.register_outputs({"endpoint": self.instance.endpoint, "master_secret_arn": self.master_secret_arn})


@dataclass(frozen=True)
class AppSecretsArgs:
    """Inputs of :class:`AppSecrets`."""

    name_prefix: str
    """Base of the secrets' logical names, ``{prefix}-<secret>``."""
    paths: Mapping[str, str]
    """Each secret to create, without a value, and its Secrets Manager name (a path)."""
    recovery_window_days: int
    """How long a deleted secret stays recoverable."""
    protect: bool
    """Pulumi ``protect`` (not retained: the recovery window keeps a deleted value)."""


class AppSecrets(pulumi.ComponentResource):
    """Secrets Manager entries for the application's API keys, created empty: values are set out of band."""

    def __init__(self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:data:AppSecrets", name, None, opts)
        self.secrets = {
            secret: aws.secretsmanager.Secret(
                f"{args.name_prefix}-{secret}",
                name=path,
                description=f"{secret} for the Student Helper application; value set with put-secret-value",
                recovery_window_in_days=args.recovery_window_days,
                opts=stateful(args.protect, retain=False, parent=self),
            )
            for secret, path in args.paths.items()
        }
        self.arns = {secret: resource.arn for secret, resource in self.secrets.items()}
        self.register_outputs({"arns": self.arns})


@dataclass(frozen=True)
class ProcessingQueueArgs:
    """Inputs of :class:`ProcessingQueue`."""

    queue_name: str
    dlq_name: str
    """Its dead-letter queue."""
    consumer_timeout_seconds: int
    """The consuming Lambda's timeout, which sets the visibility timeout."""
    protect: bool
    """Protect the dead-letter queue, which holds the documents that failed."""


class ProcessingQueue(pulumi.ComponentResource):
    """The document-processing queue and its dead-letter queue, both encrypted."""

    def __init__(self, name: str, args: ProcessingQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:data:ProcessingQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dlq = aws.sqs.Queue(
            args.dlq_name,
            name=args.dlq_name,
            message_retention_seconds=SQS_DEFAULTS["dlq_message_retention_seconds"],
            sqs_managed_sse_enabled=True,
            opts=stateful(args.protect, retain=False, parent=self),
        )
        self.visibility_timeout_seconds = sqs_visibility_timeout(args.consumer_timeout_seconds)
        self.queue = aws.sqs.Queue(
            args.queue_name,
            name=args.queue_name,
            visibility_timeout_seconds=self.visibility_timeout_seconds,
            message_retention_seconds=SQS_DEFAULTS["message_retention_seconds"],
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": SQS_DEFAULTS["max_receive_count"]}
                )
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{args.dlq_name}-redrive-allow",
            queue_url=self.dlq.id,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        self.register_outputs({"queue_url": self.queue.url, "dlq_url": self.dlq.url})


def lambda_pull_statement(function_arn: str) -> dict[str, object]:
    """Let Lambda fetch image layers for one function only (Lambda developer guide, "Amazon ECR permissions")."""
    return {
        "Sid": "LambdaECRImageRetrievalPolicy",
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Condition": {"StringEquals": {"aws:sourceArn": function_arn}},
    }


def ecr_lifecycle_policy(keep_images: int) -> str:
    """Expire all but the newest ``keep_images`` images (ECR lifecycle policy syntax)."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the last {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass(frozen=True)
class ContainerRepositoryArgs:
    """Inputs of :class:`ContainerRepository`."""

    repository_name: str
    """The ECR repository name."""
    keep_images: int
    """How many images the lifecycle policy keeps."""
    protect: bool
    """Protect and retain the repository: its images are what a rollback or a rebuilt environment deploys."""
    force_delete: bool
    """Let a destroy delete the repository with its images (only where nothing is protected)."""
    lambda_function_arn: str | None = None
    """The one Lambda function allowed to pull images (Lambda pulls with its service principal, not a role)."""


class ContainerRepository(pulumi.ComponentResource):
    """An ECR repository: immutable tags, scan on push, KMS encryption, and a keep-last-N lifecycle."""

    def __init__(self, name: str, args: ContainerRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:data:ContainerRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            args.repository_name,
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            # KMS with the AWS-managed aws/ecr key: encrypted with KMS at no key cost.
            encryption_configurations=[{"encryption_type": "KMS"}],
            force_delete=args.force_delete,
            # Retained as well as protected: the image history is what a rollback or a rebuilt environment deploys.
            opts=stateful(args.protect, retain=True, parent=self),
        )
        aws.ecr.LifecyclePolicy(
            f"{args.repository_name}-lifecycle",
            repository=self.repository.name,
            policy=ecr_lifecycle_policy(args.keep_images),
            opts=child,
        )
        if args.lambda_function_arn:
            aws.ecr.RepositoryPolicy(
                f"{args.repository_name}-lambda-pull",
                repository=self.repository.name,
                policy=policy_document([lambda_pull_statement(args.lambda_function_arn)]),
                opts=child,
            )
        self.register_outputs({"repository_url": self.repository.repository_url})
