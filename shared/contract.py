"""The cross-stack contract: every output each layer exports, and the one way to read them downstream.

Layers are separate Pulumi projects. A consumer names the upstream stack in config (default
``organization/<project>/<env>``, the form a self-managed backend uses) and reads outputs only through
:func:`require_outputs`, so a renamed or missing output fails loudly with the layer, stack and output named.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.constants import PROJECT

# The tools (make's deploy targets, the check, the reports) read the contract without running a program: only the
# functions that open a StackReference need the Pulumi SDK, so they import it, and a CLI starts without it.
if TYPE_CHECKING:
    import pulumi


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

# Each layer's exports, with what each one is. A layer's __main__.py must export exactly these names
# (shared.stack.export_layer refuses anything else) and a test checks every export against this table.
EXPORTS: dict[Layer, dict[str, str]] = {
    Layer.NETWORK: {
        "vpc_id": "The VPC id.",
        "vpc_cidr": "The VPC's IPv4 CIDR.",
        "availability_zones": "The two AZs the subnets use, in order.",
        "subnet_ids": "Subnet ids by role: private (EC2, VPC link), lambda (Lambda, endpoints), data (RDS).",
        "route_table_ids": "Private route table id by subnet role.",
        "security_group_ids": "Security group id by role: vpc_link, backend, lambda, database, endpoints.",
        "endpoint_ids": "VPC endpoint id by service suffix (s3 is the gateway endpoint).",
        "s3_prefix_list_id": "The regional S3 managed prefix list, for HTTPS egress to S3.",
        "flow_log_group_name": "The CloudWatch log group that receives the VPC flow logs.",
    },
    Layer.DATA: {
        "documents_bucket": "Name of the bucket students' PDFs are uploaded to.",
        "documents_bucket_arn": "ARN of the documents bucket.",
        "frontend_bucket": "Name of the private bucket holding the single-page app.",
        "frontend_bucket_arn": "ARN of the frontend bucket.",
        "frontend_bucket_regional_domain_name": "Regional S3 endpoint of the frontend bucket (CloudFront origin).",
        "vectors_bucket": "Name of the S3 Vectors bucket.",
        "vectors_bucket_arn": "ARN of the S3 Vectors bucket.",
        "vectors_index": "Name of the vector index.",
        "vectors_index_arn": "ARN of the vector index.",
        "embedding_model_id": "The Bedrock embedding model the index was built for.",
        "embedding_dimension": "The index's vector dimension.",
        "rds_endpoint": "PostgreSQL host:port.",
        "rds_address": "PostgreSQL host name.",
        "rds_port": "PostgreSQL port.",
        "rds_db_name": "The application database name.",
        "rds_master_secret_arn": "ARN of the RDS-managed master user secret.",
        "app_secret_arns": "ARN of each application API-key secret, by name.",
        "sqs_queue_url": "URL of the document-processing queue.",
        "sqs_queue_arn": "ARN of the document-processing queue.",
        "sqs_visibility_timeout_seconds": "The queue's visibility timeout (6x the Lambda timeout).",
        "dlq_url": "URL of the dead-letter queue.",
        "dlq_arn": "ARN of the dead-letter queue.",
        "lambda_ecr_repository": "URL of the processor image repository.",
        "lambda_ecr_repository_arn": "ARN of the processor image repository.",
        "backend_ecr_repository": "URL of the backend image repository.",
        "backend_ecr_repository_arn": "ARN of the backend image repository.",
    },
    Layer.COMPUTE: {
        "ec2_instance_id": "The backend instance id (for Session Manager).",
        "ec2_private_ip": "The backend's private IPv4 address.",
        "ec2_role_arn": "ARN of the backend's IAM role.",
        "lambda_function_name": "Name of the document-processor function.",
        "lambda_function_arn": "ARN of the document-processor function.",
        "lambda_role_arn": "ARN of the processor's IAM role.",
        "cloud_map_namespace_id": "The Cloud Map HTTP namespace id.",
        "cloud_map_service_arn": "ARN of the Cloud Map service the API's private integration targets.",
    },
    Layer.EDGE: {
        "api_endpoint": "The HTTP API's invoke URL.",
        "api_id": "The HTTP API id.",
        "cloudfront_domain": "The distribution's cloudfront.net domain.",
        "cloudfront_distribution_id": "The distribution id (for cache invalidations).",
        "cloudfront_distribution_arn": "The distribution ARN.",
        "frontend_origin": "The browser origin the SPA is served from (the custom domain when configured).",
    },
}


class MissingUpstreamOutputError(Exception):
    """An upstream stack does not export an output this layer depends on."""


# Self-managed (DIY) backends accept ``<org>/<project>/<stack>`` only with the literal org "organization"
# (Pulumi Automation API docs, fullyQualifiedStackName); Pulumi Cloud uses the team's organization instead.
SELF_MANAGED_ORGANIZATION = "organization"


def default_stack_name(layer: Layer, environment: str, organization: str = SELF_MANAGED_ORGANIZATION) -> str:
    """The fully qualified stack name of ``layer`` for ``environment`` in ``organization``."""
    return f"{organization}/{layer.project}/{environment}"


@dataclass(frozen=True)
class Upstream:
    """An opened upstream stack: its layer, fully qualified name and StackReference."""

    layer: Layer
    """Which layer the stack belongs to (named in every error)."""
    stack_name: str
    """The fully qualified stack name, e.g. organization/student-helper-network/dev."""
    reference: pulumi.StackReference
    """The reference the outputs are read through."""

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
                    f"Deploy the {self.layer.value} layer first "
                    f"(make up-{self.layer.value} ENV={self.stack_name.rsplit('/', 1)[-1]}) "
                    f"or set '{self.layer.stack_config_key}' to the right stack."
                )
            return value

        return self.reference.get_output(output).apply(check)


def open_upstream(layer: Layer, stack_name: str) -> Upstream:
    """Open ``layer``'s stack by its fully qualified name (see ``LayerContext.upstream``)."""
    import pulumi

    reference = pulumi.StackReference(f"{layer.value}-stack", stack_name=stack_name)
    return Upstream(layer=layer, stack_name=stack_name, reference=reference)
