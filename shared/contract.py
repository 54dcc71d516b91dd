"""The cross-stack contract: every output each layer exports, and the one way to read them downstream.

Layers are separate Pulumi projects. A consumer names the upstream stack in config (default
``organization/<project>/<env>``, the form a self-managed backend uses) and reads outputs only through
:func:`require_outputs`, so a renamed or missing output fails loudly with the layer, stack and output named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi

PROJECT = "student-helper"


class Layer(StrEnum):
    """The four layers, in deployment order."""

    NETWORK = "network"
    DATA = "data"
    COMPUTE = "compute"
    EDGE = "edge"

    @property
    def project(self) -> str:
        """The layer's Pulumi project name (``name:`` in its Pulumi.yaml)."""
        return f"{PROJECT}-{self.value}"

    @property
    def stack_config_key(self) -> str:
        """The config key, in a downstream layer, that names this layer's stack."""
        return f"{self.value}_stack"


LAYER_ORDER: tuple[Layer, ...] = (Layer.NETWORK, Layer.DATA, Layer.COMPUTE, Layer.EDGE)

# Each layer's exports. A layer's __main__.py must export exactly these names (a test checks it).
EXPORTS: dict[Layer, tuple[str, ...]] = {
    Layer.NETWORK: (
        "vpc_id",
        "vpc_cidr",
        "availability_zones",
        "subnet_ids",  # {"private": [...], "lambda": [...], "data": [...]}
        "route_table_ids",
        "security_group_ids",  # {"backend", "lambda", "database", "endpoints", "vpc_link"}
        "endpoint_ids",  # {"s3": ..., "sqs": ..., ...}
        "s3_prefix_list_id",
        "flow_log_group_name",
    ),
    Layer.DATA: (
        "documents_bucket",
        "documents_bucket_arn",
        "frontend_bucket",
        "frontend_bucket_arn",
        "frontend_bucket_regional_domain_name",
        "vectors_bucket",
        "vectors_bucket_arn",
        "vectors_index",
        "vectors_index_arn",
        "embedding_model_id",
        "embedding_dimension",
        "rds_endpoint",
        "rds_address",
        "rds_port",
        "rds_db_name",
        "rds_master_secret_arn",
        "app_secret_arns",  # {"google-api-key": arn, "anthropic-api-key": arn}
        "sqs_queue_url",
        "sqs_queue_arn",
        "sqs_visibility_timeout_seconds",
        "dlq_url",
        "dlq_arn",
        "lambda_ecr_repository",
        "lambda_ecr_repository_arn",
        "backend_ecr_repository",
        "backend_ecr_repository_arn",
    ),
    Layer.COMPUTE: (
        "ec2_instance_id",
        "ec2_private_ip",
        "ec2_role_arn",
        "lambda_function_name",
        "lambda_function_arn",
        "lambda_role_arn",
        "cloud_map_namespace_id",
        "cloud_map_service_arn",
    ),
    Layer.EDGE: (
        "api_endpoint",
        "api_id",
        "cloudfront_domain",
        "cloudfront_distribution_id",
        "cloudfront_distribution_arn",
        "frontend_origin",
    ),
}


class MissingUpstreamOutputError(Exception):
    """An upstream stack does not export an output this layer depends on."""


def default_stack_name(layer: Layer, environment: str) -> str:
    """The fully qualified stack name of ``layer`` for ``environment`` on a self-managed backend."""
    return f"organization/{layer.project}/{environment}"


@dataclass(frozen=True)
class Upstream:
    """An opened upstream stack: its layer, fully qualified name and StackReference."""

    layer: Layer
    stack_name: str
    reference: pulumi.StackReference

    def require_output(self, output: str) -> pulumi.Output[Any]:
        """The named output. Raises (at registration) if the output is not part of the layer's contract,
        and fails the deployment with the layer, stack and output named if the stack lacks it."""
        if output not in EXPORTS[self.layer]:
            raise MissingUpstreamOutputError(
                f"{self.layer.value} layer: '{output}' is not in its export contract "
                f"(shared/contract.py EXPORTS); known outputs: {', '.join(EXPORTS[self.layer])}"
            )

        def check(value: Any) -> Any:
            if value is None:
                raise MissingUpstreamOutputError(
                    f"{self.layer.value} layer: stack '{self.stack_name}' has no output '{output}'. "
                    f"Deploy the {self.layer.value} layer first (make deploy LAYER={self.layer.value}) "
                    f"or set '{self.layer.stack_config_key}' to the right stack."
                )
            return value

        return self.reference.get_output(output).apply(check)


def open_upstream(layer: Layer, environment: str, config: pulumi.Config | None = None) -> Upstream:
    """Open ``layer``'s stack for ``environment``; config key ``<layer>_stack`` overrides its name."""
    cfg = config or pulumi.Config()
    stack_name = cfg.get(layer.stack_config_key) or default_stack_name(layer, environment)
    reference = pulumi.StackReference(f"{layer.value}-stack", stack_name=stack_name)
    return Upstream(layer=layer, stack_name=stack_name, reference=reference)
