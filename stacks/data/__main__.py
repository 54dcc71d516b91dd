"""Data layer: documents and frontend buckets, S3 Vectors, PostgreSQL, secrets, the processing queue, ECR."""

import pulumi_aws as aws

from shared.components.data import (
    AppSecrets,
    AppSecretsArgs,
    ContainerRepository,
    ContainerRepositoryArgs,
    Database,
    DatabaseArgs,
    PrivateBucket,
    PrivateBucketArgs,
    ProcessingQueue,
    ProcessingQueueArgs,
    VectorStore,
    VectorStoreArgs,
)
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

documents_name = namer.bucket_name("documents", account_id)
frontend_name = namer.bucket_name("frontend", account_id)
access_logs = PrivateBucket(
    namer.name("access-logs"),
    PrivateBucketArgs(
        bucket_name=namer.bucket_name("access-logs", account_id),
        env=env,
        log_sources=(documents_name, frontend_name),
        expiration_days=settings.access_log_retention_days,
        versioned=True,  # an audit trail: an overwrite or delete leaves the previous object for a while
        noncurrent_version_days=settings.documents_noncurrent_version_days,
        protect=True,
    ),
)
documents = PrivateBucket(
    namer.name("documents"),
    PrivateBucketArgs(
        bucket_name=documents_name,
        env=env,
        versioned=True,
        noncurrent_version_days=settings.documents_noncurrent_version_days,
        access_log_bucket=access_logs.bucket.id,
        protect=True,
        # Its CORS rule (presigned uploads from the SPA) is the edge layer's: only it knows the SPA's origin.
    ),
)
frontend = PrivateBucket(
    namer.name("frontend"),
    PrivateBucketArgs(
        bucket_name=frontend_name,
        env=env,
        versioned=True,  # a bad release can be rolled back to the previous objects
        noncurrent_version_days=settings.documents_noncurrent_version_days,
        # The edge layer owns this bucket's policy (CloudFront OAC read plus TLS-only): one policy per bucket.
        tls_only_policy=False,
        access_log_bucket=access_logs.bucket.id,
        protect=True,
    ),
)
vectors = VectorStore("vectors", VectorStoreArgs(env=env, namer=namer, settings=settings))
database = Database(
    "database",
    DatabaseArgs(
        env=env,
        namer=namer,
        settings=settings,
        subnet_ids=network.require_output("subnet_ids").apply(lambda ids: ids["data"]),
        security_group_id=network.require_output("security_group_ids").apply(lambda ids: ids["database"]),
    ),
)
secrets = AppSecrets(
    "app-secrets",
    AppSecretsArgs(
        env=env,
        namer=namer,
        names=("google-api-key", "anthropic-api-key"),
        recovery_window_days=settings.secret_recovery_window_days,
    ),
)
queue = ProcessingQueue("processing-queue", ProcessingQueueArgs(env=env, namer=namer))
backend_repo = ContainerRepository(
    "backend-repository",
    ContainerRepositoryArgs(env=env, repository_name=namer.name("backend"), keep_images=settings.ecr_keep_images),
)
processor_repo = ContainerRepository(
    "processor-repository",
    ContainerRepositoryArgs(
        env=env,
        repository_name=namer.name("processor"),
        keep_images=settings.ecr_keep_images,
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
