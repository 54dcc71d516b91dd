"""Compute layer: least-privilege roles, the EC2 backend, the processor Lambda, and Cloud Map for the API."""

import pulumi
import pulumi_aws as aws

from shared.components.compute import (
    BackendInstance,
    BackendInstanceArgs,
    ProcessorFunction,
    ProcessorFunctionArgs,
    RoleArgs,
    ServiceDiscovery,
    ServiceDiscoveryArgs,
    ServiceRole,
    ec2_managed_policies,
    lambda_managed_policies,
    log_streams_arn,
    role_policy,
    ssm_parameter_arn,
    visibility_timeout_problem,
)
from shared.constants import PROJECT
from shared.contract import Layer
from shared.iam import backend_statements, bedrock_foundation_model_arn, processor_statements
from shared.settings import read_compute_settings
from shared.stack import export_layer, start_layer

ctx = start_layer(Layer.COMPUTE, read_compute_settings)
env, namer, settings = ctx.env, ctx.namer, ctx.settings
network = ctx.upstream(Layer.NETWORK)
data = ctx.upstream(Layer.DATA)

partition = aws.get_partition().partition
region = aws.get_region().region
account_id = aws.get_caller_identity().account_id
subnets = network.require_output("subnet_ids")
groups = network.require_output("security_group_ids")
secret_arns = pulumi.Output.all(
    data.require_output("app_secret_arns"), data.require_output("rds_master_secret_arn")
).apply(lambda values: [*values[0].values(), values[1]])
embedding_model_arn = data.require_output("embedding_model_id").apply(
    lambda model: bedrock_foundation_model_arn(partition, region, model)
)


def fail_if_queue_too_short(visibility: float) -> int:
    """Refuse a Lambda timeout the upstream queue cannot hold (a message would be processed twice)."""
    problem = visibility_timeout_problem(int(visibility), env.lambda_timeout_seconds)
    if problem:
        raise ValueError(f"stack '{env.stack}': {problem}")
    return int(visibility)


queue_arn = pulumi.Output.all(
    data.require_output("sqs_queue_arn"), data.require_output("sqs_visibility_timeout_seconds")
).apply(lambda values: (fail_if_queue_too_short(values[1]), values[0])[1])

backend_log_group = f"/{PROJECT}/{env.environment}/backend"
backend_image_parameter = f"/{PROJECT}/{env.environment}/backend/image-uri"
# Every ARN the two roles are scoped to, from the upstream exports: no patterns stand in for them.
grants = pulumi.Output.all(
    documents=data.require_output("documents_bucket_arn"),
    queue=queue_arn,
    secrets=secret_arns,
    embedding=embedding_model_arn,
    index=data.require_output("vectors_index_arn"),
    repository=data.require_output("backend_ecr_repository_arn"),
)
backend_role = ServiceRole(
    "backend-role",
    RoleArgs(
        role_name=namer.name("backend"),
        service="ec2.amazonaws.com",
        account_id=account_id,
        instance_profile=True,
        managed_policies=ec2_managed_policies(partition),
        policy=role_policy(
            grants.apply(
                lambda v: backend_statements(
                    documents_bucket_arn=v["documents"],
                    queue_arn=v["queue"],
                    secret_arns=v["secrets"],
                    chat_model_arn=bedrock_foundation_model_arn(partition, region, settings.chat_model_id),
                    embedding_model_arn=v["embedding"],
                    vectors_index_arn=v["index"],
                    repository_arn=v["repository"],
                    log_streams_arn=log_streams_arn(partition, region, account_id, backend_log_group),
                    image_parameter_arn=ssm_parameter_arn(partition, region, account_id, backend_image_parameter),
                )
            )
        ),
    ),
)
processor_role = ServiceRole(
    "processor-role",
    RoleArgs(
        role_name=namer.name("doc-processor"),
        service="lambda.amazonaws.com",
        account_id=account_id,
        managed_policies=lambda_managed_policies(partition),
        policy=role_policy(
            grants.apply(
                lambda v: processor_statements(
                    documents_bucket_arn=v["documents"],
                    queue_arn=v["queue"],
                    secret_arns=v["secrets"],
                    embedding_model_arn=v["embedding"],
                    vectors_index_arn=v["index"],
                )
            )
        ),
    ),
)

# Non-secret settings shared by both workloads: names and ARNs only, never secret values. (No AWS_REGION
# here: Lambda reserves it and sets it itself; the backend gets it below.)
app_settings: dict[str, pulumi.Input[str]] = {
    "ENVIRONMENT": env.environment,
    "DOCUMENTS_BUCKET": data.require_output("documents_bucket"),
    "SQS_QUEUE_URL": data.require_output("sqs_queue_url"),
    "VECTORS_BUCKET": data.require_output("vectors_bucket"),
    "VECTORS_INDEX": data.require_output("vectors_index"),
    "EMBEDDING_MODEL_ID": data.require_output("embedding_model_id"),
    # Stack outputs cross the wire as JSON numbers (floats): render the dimension as an integer.
    "EMBEDDING_DIMENSION": data.require_output("embedding_dimension").apply(lambda d: str(int(d))),
    "RDS_ENDPOINT": data.require_output("rds_endpoint"),
    "RDS_DB_NAME": data.require_output("rds_db_name"),
    "RDS_MASTER_SECRET_ARN": data.require_output("rds_master_secret_arn"),
    "GOOGLE_API_KEY_SECRET_ARN": data.require_output("app_secret_arns").apply(lambda arns: arns["google-api-key"]),
    "ANTHROPIC_API_KEY_SECRET_ARN": data.require_output("app_secret_arns").apply(
        lambda arns: arns["anthropic-api-key"]
    ),
}

backend = BackendInstance(
    "backend",
    BackendInstanceArgs(
        env=env,
        namer=namer,
        settings=settings,
        subnet_id=subnets.apply(lambda ids: ids["private"][0]),
        security_group_id=groups.apply(lambda ids: ids["backend"]),
        instance_profile_name=backend_role.instance_profile.name,  # type: ignore[union-attr]
        repository_url=data.require_output("backend_ecr_repository"),
        app_settings={**app_settings, "AWS_REGION": region, "CHAT_MODEL_ID": settings.chat_model_id},
        log_group_name=backend_log_group,
        image_parameter_name=backend_image_parameter,
        depends_on=backend_role.ready,
    ),
)
processor = ProcessorFunction(
    "processor",
    ProcessorFunctionArgs(
        env=env,
        namer=namer,
        settings=settings,
        role_arn=processor_role.role.arn,
        repository_url=data.require_output("lambda_ecr_repository"),
        subnet_ids=subnets.apply(lambda ids: ids["lambda"]),
        security_group_id=groups.apply(lambda ids: ids["lambda"]),
        queue_arn=queue_arn,
        environment=app_settings,
        depends_on=processor_role.ready,
    ),
)
discovery = ServiceDiscovery(
    "service-discovery",
    ServiceDiscoveryArgs(namer=namer, instance_id=backend.instance.id, private_ip=backend.instance.private_ip),
)

export_layer(
    Layer.COMPUTE,
    {
        "ec2_instance_id": backend.instance.id,
        "ec2_private_ip": backend.instance.private_ip,
        "ec2_role_arn": backend_role.role.arn,
        "lambda_function_name": processor.function.name,
        "lambda_function_arn": processor.function.arn,
        "lambda_role_arn": processor_role.role.arn,
        "cloud_map_namespace_id": discovery.namespace.id,
        "cloud_map_service_arn": discovery.service.arn,
    },
)
