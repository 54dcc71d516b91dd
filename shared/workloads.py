"""What the compute layer derives from the data layer's exports: checked ARNs, grants and app settings.

Kept out of ``stacks/compute/__main__.py`` so that the program only wires components together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from shared.config import EnvironmentConfig
from shared.constants import SQS_VISIBILITY_TIMEOUT_FACTOR, sqs_visibility_timeout
from shared.contract import Upstream
from shared.iam import bedrock_foundation_model_arn
from shared.settings import is_inference_profile


def visibility_timeout_problem(visibility_timeout_seconds: int, lambda_timeout_seconds: int) -> str | None:
    """Why the queue's visibility timeout is too short for this function, or None if it is long enough."""
    needed = sqs_visibility_timeout(lambda_timeout_seconds)
    if visibility_timeout_seconds >= needed:
        return None
    return (
        f"the data layer's queue has a visibility timeout of {visibility_timeout_seconds} s, but a "
        f"{lambda_timeout_seconds} s Lambda timeout needs at least {needed} s ({SQS_VISIBILITY_TIMEOUT_FACTOR}x, AWS "
        "guidance for SQS event sources): set the same lambda_timeout_seconds in both layers and deploy the data "
        "layer first"
    )


def checked_queue_arn(data: Upstream, env: EnvironmentConfig) -> pulumi.Output[str]:
    """The queue ARN, failing the deployment if the queue cannot hold a message for this Lambda timeout."""

    def check(values: list[Any]) -> str:
        arn, visibility = values
        # Stack outputs cross the wire as JSON numbers (floats).
        problem = visibility_timeout_problem(int(visibility), env.lambda_timeout_seconds)
        if problem:
            raise ValueError(f"stack '{env.stack}': {problem}")
        return str(arn)

    return pulumi.Output.all(
        data.require_output("sqs_queue_arn"), data.require_output("sqs_visibility_timeout_seconds")
    ).apply(check)


def chat_model_arns(model_id: str, partition: str, region: str) -> list[str]:
    """What ``bedrock:InvokeModel`` must name for the chat model.

    A foundation model is one ARN. A cross-region inference profile needs the profile's ARN and the
    foundation-model ARN in every destination region it routes to (Bedrock user guide, "Prerequisites for
    inference profiles"); both come from the provider, so the grant names exactly the profile's regions.
    """
    if not is_inference_profile(model_id):
        return [bedrock_foundation_model_arn(partition, region, model_id)]
    profile = aws.bedrock.get_inference_profile(inference_profile_id=model_id)
    return [profile.inference_profile_arn, *sorted(model.model_arn for model in profile.models)]


@dataclass(frozen=True)
class DataGrants:
    """The data layer's ARNs the two roles are scoped to, resolved together."""

    documents_bucket_arn: str
    queue_arn: str
    """The processing queue (checked against the Lambda timeout)."""
    secret_arns: list[str]
    """The app secrets and the RDS master secret."""
    embedding_model_arn: str
    """The embedding model the index was built for."""
    vectors_index_arn: str
    backend_repository_arn: str
    """The backend image repository."""


def data_grants(data: Upstream, env: EnvironmentConfig, partition: str, region: str) -> pulumi.Output[DataGrants]:
    """Every ARN the roles need, from the data layer's exports: no pattern stands in for any of them."""
    return pulumi.Output.all(
        data.require_output("documents_bucket_arn"),
        checked_queue_arn(data, env),
        data.require_output("app_secret_arns"),
        data.require_output("rds_master_secret_arn"),
        data.require_output("embedding_model_id"),
        data.require_output("vectors_index_arn"),
        data.require_output("backend_ecr_repository_arn"),
    ).apply(
        lambda v: DataGrants(
            documents_bucket_arn=v[0],
            queue_arn=v[1],
            secret_arns=[*v[2].values(), v[3]],
            embedding_model_arn=bedrock_foundation_model_arn(partition, region, v[4]),
            vectors_index_arn=v[5],
            backend_repository_arn=v[6],
        )
    )


def workload_settings(data: Upstream, env: EnvironmentConfig) -> dict[str, pulumi.Input[str]]:
    """Non-secret settings both workloads share: names and ARNs only, never secret values.

    No AWS_REGION here: Lambda reserves that name and sets it itself.
    """
    secrets = data.require_output("app_secret_arns")
    return {
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
        "GOOGLE_API_KEY_SECRET_ARN": secrets.apply(lambda arns: arns["google-api-key"]),
        "ANTHROPIC_API_KEY_SECRET_ARN": secrets.apply(lambda arns: arns["anthropic-api-key"]),
    }
