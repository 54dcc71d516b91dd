"""Data layer: documents and frontend buckets, S3 Vectors, PostgreSQL, secrets, the processing queue, ECR."""

import pulumi_aws as aws

from shared.components import data as components
from shared.constants import PROCESSOR_FUNCTION
from shared.contract import Layer
from shared.iam import lambda_function_arn
from shared.settings import read_data_settings
from shared.stack import export_layer, start_layer

ctx = start_layer(Layer.DATA, read_data_settings)
env, namer, settings = ctx.env, ctx.namer, ctx.settings
network = ctx.upstream(Layer.NETWORK)
account_id = aws.get_caller_identity().account_id  # bucket names are global: the account keeps them unique
partition = aws.get_partition().partition
region = aws.get_region().region

# Protected (always in prod), so that no mistake takes the data. Only where nothing is protected may a destroy take a
# store's contents: `make destroy-all` must not stop half way, at the first bucket or repository holding objects.
protect = env.protect_stateful
disposable = not protect

documents_name = namer.bucket_name("documents", account_id)
frontend_name = namer.bucket_name("frontend", account_id)
access_logs = components.PrivateBucket(
    namer.name("access-logs"),
    components.PrivateBucketArgs(
        bucket_name=namer.bucket_name("access-logs", account_id),
        protect=protect,
        force_destroy=disposable,
        log_sources=(documents_name, frontend_name),
        log_source_account=account_id,
        expiration_days=settings.access_log_retention_days,
        versioned=True,  # an audit trail: an overwrite or delete leaves the previous object for a while
        noncurrent_version_days=settings.documents_noncurrent_version_days,
    ),
)
documents = components.PrivateBucket(
    namer.name("documents"),
    components.PrivateBucketArgs(
        bucket_name=documents_name,
        protect=protect,
        force_destroy=disposable,
        versioned=True,
        noncurrent_version_days=settings.documents_noncurrent_version_days,
        access_log_bucket=access_logs.bucket.id,
        # Its CORS rule (presigned uploads from the SPA) is the edge layer's: only it knows the SPA's origin.
    ),
)
frontend = components.PrivateBucket(
    namer.name("frontend"),
    components.PrivateBucketArgs(
        bucket_name=frontend_name,
        protect=protect,
        force_destroy=disposable,
        versioned=True,  # a bad release can be rolled back to the previous objects
        noncurrent_version_days=settings.documents_noncurrent_version_days,
        # The edge layer owns this bucket's policy (CloudFront OAC read plus TLS-only): one policy per bucket.
        tls_only_policy=False,
        access_log_bucket=access_logs.bucket.id,
    ),
)
vectors = components.VectorStore(
    "vectors",
    components.VectorStoreArgs(
        bucket_name=namer.name("vectors"),
        index_name=settings.vectors_index_name,
        dimension=settings.embedding_dimension,
        protect=protect,
        force_destroy=disposable,
        delete_before_replace=disposable,
    ),
)
database = components.Database(
    "database",
    components.DatabaseArgs(
        identifier=namer.name("postgres"),
        subnet_group_name=namer.name("db-subnets"),
        parameter_group_name=namer.name("postgres16"),
        monitoring_role_name=namer.name("rds-monitoring"),
        account_id=account_id,
        partition=partition,
        instance_class=env.rds_instance_class,
        allocated_storage_gb=env.rds_allocated_storage,
        multi_az=env.rds_multi_az,
        backup_retention_days=env.rds_backup_retention_days,
        deletion_protection=env.rds_deletion_protection,
        final_snapshot=env.rds_final_snapshot,
        performance_insights=env.rds_performance_insights,
        log_retention_days=env.log_retention_days,
        db_name=settings.db_name,
        username=settings.db_username,
        subnet_ids=network.require_output("subnet_ids").apply(lambda ids: ids["data"]),
        security_group_id=network.require_output("security_group_ids").apply(lambda ids: ids["database"]),
        protect=protect,
    ),
)
secrets = components.AppSecrets(
    "app-secrets",
    components.AppSecretsArgs(
        name_prefix=namer.prefix,
        paths={name: namer.secret_name(name) for name in ("google-api-key", "anthropic-api-key")},
        recovery_window_days=settings.secret_recovery_window_days,
        protect=protect,
    ),
)
queue = components.ProcessingQueue(
    "processing-queue",
    components.ProcessingQueueArgs(
        queue_name=namer.name("doc-processor"),
        dlq_name=namer.name("doc-processor-dlq"),
        consumer_timeout_seconds=env.lambda_timeout_seconds,
        protect=protect,
    ),
)
backend_repo = components.ContainerRepository(
    "backend-repository",
    components.ContainerRepositoryArgs(
        repository_name=namer.name("backend"),
        keep_images=settings.ecr_keep_images,
        protect=protect,
        force_delete=disposable,
    ),
)
processor_repo = components.ContainerRepository(
    "processor-repository",
    components.ContainerRepositoryArgs(
        repository_name=namer.name("processor"),
        keep_images=settings.ecr_keep_images,
        protect=protect,
        force_delete=disposable,
        lambda_function_arn=lambda_function_arn(partition, region, account_id, namer.name(PROCESSOR_FUNCTION)),
    ),
)

export_layer(
    Layer.DATA,
    {
        "documents_bucket": documents.bucket.bucket,
        "documents_bucket_arn": documents.bucket.arn,
        "frontend_bucket": frontend.bucket.bucket,
        "frontend_bucket_arn": frontend.bucket.arn,
        "frontend_bucket_regional_domain_name": frontend.bucket.bucket_regional_domain_name,
        "vectors_bucket": vectors.bucket.vector_bucket_name,
        "vectors_bucket_arn": vectors.bucket.vector_bucket_arn,
        "vectors_index": vectors.index.index_name,
        "vectors_index_arn": vectors.index.index_arn,
        "embedding_model_id": settings.embedding_model_id,
        "embedding_dimension": settings.embedding_dimension,
        "rds_endpoint": database.instance.endpoint,
        "rds_address": database.instance.address,
        "rds_port": database.instance.port,
        "rds_db_name": settings.db_name,
        "rds_master_secret_arn": database.master_secret_arn,
        "app_secret_arns": secrets.arns,
        "sqs_queue_url": queue.queue.url,
        "sqs_queue_arn": queue.queue.arn,
        "sqs_visibility_timeout_seconds": queue.visibility_timeout_seconds,
        "dlq_url": queue.dlq.url,
        "dlq_arn": queue.dlq.arn,
        "lambda_ecr_repository": processor_repo.repository.repository_url,
        "lambda_ecr_repository_arn": processor_repo.repository.arn,
        "backend_ecr_repository": backend_repo.repository.repository_url,
        "backend_ecr_repository_arn": backend_repo.repository.arn,
    },
)
