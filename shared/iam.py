"""Pure builders for IAM policy documents and the exact ARNs they name (no wildcards standing in for ARNs)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

POLICY_VERSION = "2012-10-17"


def policy_document(statements: Sequence[Mapping[str, Any]]) -> str:
    """A policy document as the JSON string IAM expects, statements in the given order."""
    return json.dumps({"Version": POLICY_VERSION, "Statement": [dict(s) for s in statements]}, sort_keys=False)


# Service principals whose own documentation says to put aws:SourceAccount in a role's trust policy, so they send
# the key when they assume the role. Only these get the confused-deputy condition: "If the key that you specify in
# a policy condition is not present in the request context, the values do not match" (IAM user guide, condition
# operators), so the condition on a service that does not send the key makes the role impossible to assume.
# EC2 is deliberately absent: neither the EC2 user guide's instance-role trust policy nor any AWS page says that
# ec2.amazonaws.com sends aws:SourceAccount, and AWS lists no such services anywhere (prowler-cloud/prowler#2810).
SOURCE_ACCOUNT_SERVICES: Final[dict[str, str]] = {
    "lambda.amazonaws.com": (
        'Lambda developer guide, execution role: "you can include the aws:SourceAccount and aws:SourceArn global '
        'condition context keys in your role trust policy"'
    ),
    "monitoring.rds.amazonaws.com": (
        'RDS user guide, Enhanced Monitoring, "Protecting against the confused deputy problem": "we recommend using '
        'the aws:SourceArn and aws:SourceAccount global condition context keys in a trust policy"'
    ),
    "vpc-flow-logs.amazonaws.com": (
        'Amazon VPC user guide, "IAM role for publishing flow logs to CloudWatch Logs": its trust policy example '
        "conditions on aws:SourceAccount and aws:SourceArn (vpc-flow-log/*) against the confused deputy problem"
    ),
}


def service_trust_policy(service: str, *, source_account: str) -> str:
    """A trust policy letting one AWS service principal assume the role, for our account only where the service
    sends ``aws:SourceAccount`` (see :data:`SOURCE_ACCOUNT_SERVICES`)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if service in SOURCE_ACCOUNT_SERVICES:
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
    the profile's destination regions. Bedrock authorizes Converse as ``bedrock:InvokeModel`` and ConverseStream as
    ``bedrock:InvokeModelWithResponseStream`` (Bedrock API reference: "This operation requires permission for the
    bedrock:InvokeModelWithResponseStream action"), so a streamed answer needs the second on the same ARNs.
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
            # Streamed answers (ConverseStream, InvokeModelWithResponseStream) from the chat model only: embeddings
            # never stream.
            "Sid": "StreamAnswers",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModelWithResponseStream",
            "Resource": sorted(chat_model_arns),
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
