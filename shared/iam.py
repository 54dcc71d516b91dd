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


def objects_arn(bucket_arn: str) -> str:
    """Every object in one bucket: object-level S3 actions take ``<bucket-arn>/*``."""
    return f"{bucket_arn}/*"
