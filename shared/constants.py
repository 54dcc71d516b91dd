"""Network and messaging constants from the original design, corrected where the issues say so."""

from __future__ import annotations

from typing import Final

PROJECT: Final[str] = "student-helper"

VPC_CIDR: Final[str] = "10.0.0.0/16"

# Subnet CIDRs by role, one per AZ index. "public" stays reserved in the plan only: this architecture has no
# public subnet, internet gateway or NAT (ingress is API Gateway + VPC link, egress is VPC endpoints).
RESERVED_PUBLIC_CIDR: Final[str] = "10.0.0.0/24"
SUBNET_CIDRS: Final[dict[str, tuple[str, ...]]] = {
    "private": ("10.0.1.0/24", "10.0.6.0/24"),  # EC2 backend and the API Gateway VPC link ENIs
    "lambda": ("10.0.2.0/24", "10.0.5.0/24"),  # Lambda ENIs and interface endpoint ENIs
    "data": ("10.0.3.0/24", "10.0.4.0/24"),  # RDS data-a / data-b: a DB subnet group needs two AZs
}

# The processor function's name suffix: the data layer scopes the processor repository's policy to its exact ARN
# before the compute layer creates it, so both layers take the name from here.
PROCESSOR_FUNCTION: Final[str] = "doc-processor"

PORTS: Final[dict[str, int]] = {
    "https": 443,
    "fastapi": 8000,
    "postgres": 5432,
}

# SQS defaults from the original design. The visibility timeout is *not* a constant: AWS requires it to be at
# least six times the function timeout for an SQS event source (see sqs_visibility_timeout below).
SQS_DEFAULTS: Final[dict[str, int]] = {
    "message_retention_seconds": 1_209_600,  # 4 days is the SQS default; the design keeps 14 days
    "dlq_message_retention_seconds": 1_209_600,  # 14 days, the SQS maximum: failed documents stay inspectable
    "max_receive_count": 3,
}
# AWS: "set the source queue's visibility timeout to at least six times the timeout that you configure on
# your function" (Lambda developer guide, "Using Lambda with Amazon SQS").
SQS_VISIBILITY_TIMEOUT_FACTOR: Final[int] = 6
SQS_MAX_VISIBILITY_TIMEOUT_SECONDS: Final[int] = 43_200


def sqs_visibility_timeout(lambda_timeout_seconds: int) -> int:
    """The source queue's visibility timeout for a Lambda consumer: six times the function timeout.

    AWS: "set the source queue's visibility timeout to at least six times the timeout that you configure on
    your function" (Lambda developer guide, services-sqs-configure). The original's 360 s against a 300 s
    timeout lets a message reappear while a retried invocation still holds it.
    """
    return min(SQS_VISIBILITY_TIMEOUT_FACTOR * lambda_timeout_seconds, SQS_MAX_VISIBILITY_TIMEOUT_SECONDS)


# Interface endpoints a VPC without NAT needs, by what needs them. Service names are
# com.amazonaws.<region>.<suffix>; s3 is a gateway endpoint and is always created.
INTERFACE_ENDPOINT_SERVICES: Final[dict[str, str]] = {
    "ecr.api": "ECR API: image manifests and the auth token for pulls",
    "ecr.dkr": "ECR Docker registry: image pulls (layers come from S3 through the gateway)",
    "ssm": "Session Manager: the SSM agent's control channel",
    "ssmmessages": "Session Manager: interactive session data channel",
    "ec2messages": "SSM agent messages (older agents still use it)",
    "logs": "CloudWatch Logs from the instance and the Lambda",
    "s3vectors": "S3 Vectors: vector put/query from the backend and the Lambda",
    "sqs": "SQS: the backend enqueues document-processing jobs",
    "secretsmanager": "Secrets Manager: API keys and the RDS master secret at run time",
    "bedrock-runtime": "Bedrock runtime: embeddings and chat completions",
}
GATEWAY_ENDPOINT_SERVICES: Final[tuple[str, ...]] = ("s3",)


def endpoint_service_name(region: str, service: str) -> str:
    """``com.amazonaws.<region>.<service>``, the usual name of an AWS endpoint service. The network layer asks the
    Region for the real one (some partitions differ); this form serves ``make doctor``'s filter and the mocks."""
    return f"com.amazonaws.{region}.{service}"


# CloudWatch Logs accepts only these retention values (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS_ALLOWED: Final[tuple[int, ...]] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
