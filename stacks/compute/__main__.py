"""Compute layer: least-privilege roles, the EC2 backend, the processor Lambda, and Cloud Map for the API."""

import pulumi_aws as aws

from shared.components import compute as components
from shared.constants import PROCESSOR_FUNCTION
from shared.contract import Layer
from shared.iam import backend_statements, processor_statements
from shared.settings import read_compute_settings
from shared.stack import export_layer, start_layer
from shared.workloads import chat_model_arns, data_grants, workload_settings

ctx = start_layer(Layer.COMPUTE, read_compute_settings)
env, namer, settings = ctx.env, ctx.namer, ctx.settings
network = ctx.upstream(Layer.NETWORK)
data = ctx.upstream(Layer.DATA)

partition = aws.get_partition().partition
region = aws.get_region().region
account_id = aws.get_caller_identity().account_id
subnets = network.require_output("subnet_ids")
groups = network.require_output("security_group_ids")
grants = data_grants(data, env, partition, region)
chat_models = chat_model_arns(settings.chat_model_id, partition, region)
backend_names = components.BackendParameters.under(namer.path("backend"))


def arn_of(parameter: str) -> str:
    """An SSM parameter of the backend, by exact ARN."""
    return components.ssm_parameter_arn(partition, region, account_id, parameter)


backend_role = components.ServiceRole(
    "backend-role",
    components.ServiceRoleArgs(
        role_name=namer.name("backend"),
        service="ec2.amazonaws.com",
        account_id=account_id,
        instance_profile=True,
        managed_policies=components.ec2_managed_policies(partition),
        policy=components.role_policy(
            grants.apply(
                lambda g: backend_statements(
                    documents_bucket_arn=g.documents_bucket_arn,
                    queue_arn=g.queue_arn,
                    secret_arns=g.secret_arns,
                    chat_model_arns=chat_models,
                    embedding_model_arn=g.embedding_model_arn,
                    vectors_index_arn=g.vectors_index_arn,
                    repository_arn=g.backend_repository_arn,
                    log_streams_arn=components.log_streams_arn(partition, region, account_id, backend_names.log_group),
                    parameter_arns=[arn_of(backend_names.image), arn_of(backend_names.settings)],
                )
            )
        ),
    ),
)
processor_role = components.ServiceRole(
    "processor-role",
    components.ServiceRoleArgs(
        role_name=namer.name("doc-processor"),
        service="lambda.amazonaws.com",
        account_id=account_id,
        managed_policies=components.lambda_managed_policies(partition),
        policy=components.role_policy(
            grants.apply(
                lambda g: processor_statements(
                    documents_bucket_arn=g.documents_bucket_arn,
                    queue_arn=g.queue_arn,
                    secret_arns=g.secret_arns,
                    embedding_model_arn=g.embedding_model_arn,
                    vectors_index_arn=g.vectors_index_arn,
                )
            )
        ),
    ),
)

app_settings = workload_settings(data, env)
backend = components.BackendInstance(
    "backend",
    components.BackendInstanceArgs(
        name_prefix=namer.prefix,
        rollout_name=namer.name("backend-rollout"),
        region=env.region,
        instance_type=env.ec2_instance_type,
        root_volume_gb=settings.ec2_root_volume_gb,
        termination_protection=env.ec2_termination_protection,
        log_retention_days=env.log_retention_days,
        image_tag=settings.backend_image_tag,
        subnet_id=subnets.apply(lambda ids: ids["private"][0]),
        security_group_id=groups.apply(lambda ids: ids["backend"]),
        instance_profile_name=backend_role.instance_profile_name,
        repository_url=data.require_output("backend_ecr_repository"),
        app_settings={**app_settings, "AWS_REGION": region, "CHAT_MODEL_ID": settings.chat_model_id},
        parameters=backend_names,
        depends_on=backend_role.ready,
    ),
)
processor = components.ProcessorFunction(
    "processor",
    components.ProcessorFunctionArgs(
        function_name=namer.name(PROCESSOR_FUNCTION),
        memory_mb=env.lambda_memory_mb,
        timeout_seconds=env.lambda_timeout_seconds,
        log_retention_days=env.log_retention_days,
        image_tag=settings.processor_image_tag,
        max_concurrency=settings.processor_max_concurrency,
        reserved_concurrency=settings.lambda_reserved_concurrency,
        role_arn=processor_role.role.arn,
        repository_url=data.require_output("lambda_ecr_repository"),
        subnet_ids=subnets.apply(lambda ids: ids["lambda"]),
        security_group_id=groups.apply(lambda ids: ids["lambda"]),
        queue_arn=grants.apply(lambda g: g.queue_arn),
        environment=app_settings,
        depends_on=processor_role.ready,
    ),
)
discovery = components.ServiceDiscovery(
    "service-discovery",
    components.ServiceDiscoveryArgs(
        name_prefix=namer.prefix,
        namespace_name=namer.name("services"),
        service_name="backend",
        instance_id=backend.instance.id,
        private_ip=backend.instance.private_ip,
    ),
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
