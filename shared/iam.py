"""Pure builders for IAM policy documents and the exact ARNs they name (no wildcards standing in for ARNs)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

POLICY_VERSION = "2012-10-17"


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    """A policy document as the JSON string IAM expects, statements in the given order."""
    return json.dumps({"Version": POLICY_VERSION, "Statement": [dict(s) for s in statements]}, sort_keys=False)


def service_trust_policy(service: str, *, source_account: str | None = None) -> str:
    """A trust policy letting one AWS service principal assume the role (optionally only for our account)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        # Confused-deputy guard (IAM user guide, "The confused deputy problem").
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return policy_document([statement])


def managed_policy_arn(partition: str, path_and_name: str) -> str:
    """The ARN of an AWS-managed policy, e.g. ``service-role/AWSLambdaVPCAccessExecutionRole``."""
    return f"arn:{partition}:iam::aws:policy/{path_and_name}"


def bedrock_foundation_model_arn(partition: str, region: str, model_id: str) -> str:
    """``arn:<partition>:bedrock:<region>::foundation-model/<model-id>`` (foundation models have no account)."""
    return f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"


def lambda_function_arn(partition: str, region: str, account_id: str, function_name: str) -> str:
    """``arn:<partition>:lambda:<region>:<account>:function:<name>``, known before the function exists."""
    return f"arn:{partition}:lambda:{region}:{account_id}:function:{function_name}"


def objects_arn(bucket_arn: str) -> str:
    """Every object in one bucket: object-level S3 actions take ``<bucket-arn>/*``."""
    return f"{bucket_arn}/*"


# Actions AWS only authorizes on Resource "*" (Service Authorization Reference: no resource types listed).
ECR_LOGIN_ACTION = "ecr:GetAuthorizationToken"
XRAY_PUT_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def backend_statements(
    *,
    documents_bucket_arn: str,
    queue_arn: str,
    secret_arns: Sequence[str],
    chat_model_arns: Sequence[str],
    embedding_model_arn: str,
    vectors_index_arn: str,
    repository_arn: str,
    log_streams_arn: str,
    parameter_arns: Sequence[str],
) -> list[dict[str, Any]]:
    """The EC2 backend's permissions, each on the exact resources it uses.

    ``chat_model_arns`` is one foundation-model ARN, or an inference profile's ARN plus the model's ARN in each of
    the profile's destination regions.
    """
    return [
        {
            "Sid": "DocumentObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": objects_arn(documents_bucket_arn),
        },
        {"Sid": "EnqueueProcessing", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
        {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": sorted(secret_arns),
        },
        {
            # The chat model answers; the embedding model embeds the question for retrieval, which must use
            # the same model (and dimension) the processor indexed with.
            "Sid": "InvokeModels",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": sorted({*chat_model_arns, embedding_model_arn}),
        },
        {
            # QueryVectors with a metadata filter or returnMetadata also needs GetVectors (S3 Vectors API
            # reference, QueryVectors).
            "Sid": "QueryVectors",
            "Effect": "Allow",
            "Action": ["s3vectors:QueryVectors", "s3vectors:GetVectors"],
            "Resource": vectors_index_arn,
        },
        {"Sid": "PullBackendImage", "Effect": "Allow", "Action": list(ECR_PULL_ACTIONS), "Resource": repository_arn},
        {"Sid": "ReadRunSettings", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": sorted(parameter_arns)},
        {
            # AWS's rule: GetAuthorizationToken has no resource type, so it can only be granted on "*".
            "Sid": "EcrAuthToken",
            "Effect": "Allow",
            "Action": ECR_LOGIN_ACTION,
            "Resource": "*",
        },
        {
            "Sid": "ContainerLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": log_streams_arn,
        },
    ]


def processor_statements(
    *,
    documents_bucket_arn: str,
    queue_arn: str,
    secret_arns: Sequence[str],
    embedding_model_arn: str,
    vectors_index_arn: str,
) -> list[dict[str, Any]]:
    """The processor Lambda's permissions, each on the exact resources it uses."""
    return [
        {
            # What an SQS event source mapping needs (Lambda developer guide, "Execution role permissions").
            "Sid": "ConsumeProcessingQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": queue_arn,
        },
        {
            "Sid": "ReadDocuments",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": objects_arn(documents_bucket_arn),
        },
        {"Sid": "WriteVectors", "Effect": "Allow", "Action": "s3vectors:PutVectors", "Resource": vectors_index_arn},
        {"Sid": "Embed", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": embedding_model_arn},
        {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": sorted(secret_arns),
        },
        {
            # X-Ray's put actions have no resource type: "*" is the only grant AWS accepts.
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": list(XRAY_PUT_ACTIONS),
            "Resource": "*",
        },
    ]
