"""Compute layer components: least-privilege roles, the EC2 backend, the processor Lambda, Cloud Map."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_aws as aws

from shared.config import EnvironmentConfig
from shared.constants import PORTS, PROCESSOR_FUNCTION
from shared.iam import managed_policy_arn, policy_document, service_trust_policy
from shared.naming import ResourceNamer
from shared.settings import ComputeSettings
from shared.userdata import SERVICE, render_backend_user_data

# AL2023's public SSM parameter (EC2 user guide, "Find AMIs using Systems Manager parameters"): resolved at
# deploy time, never a hard-coded AMI id. The instance ignores later AMI changes; roll it with --replace.
AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@dataclass(frozen=True)
class RoleArgs:
    """Inputs of :class:`ServiceRole`."""

    role_name: str
    """The IAM role name."""
    service: str
    """The service principal that assumes the role, e.g. ec2.amazonaws.com."""
    account_id: str
    """Our account, for the trust policy's confused-deputy guard."""
    policy: pulumi.Input[str]
    """The inline policy document (exact resources)."""
    managed_policies: Sequence[str] = ()
    """AWS-managed policy ARNs to attach."""
    instance_profile: bool = False
    """Also create an instance profile (for EC2)."""


class ServiceRole(pulumi.ComponentResource):
    """An IAM role for one service, with one inline least-privilege policy and named AWS-managed policies."""

    def __init__(self, name: str, args: RoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:compute:ServiceRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            args.role_name,
            name=args.role_name,
            assume_role_policy=service_trust_policy(args.service, source_account=args.account_id),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(f"{args.role_name}-policy", role=self.role.id, policy=args.policy, opts=child)
        self.attachments = [
            aws.iam.RolePolicyAttachment(
                f"{args.role_name}-{arn.rsplit('/', 1)[-1]}", role=self.role.name, policy_arn=arn, opts=child
            )
            for arn in args.managed_policies
        ]
        self.instance_profile = (
            aws.iam.InstanceProfile(args.role_name, name=args.role_name, role=self.role.name, opts=child)
            if args.instance_profile
            else None
        )
        self.register_outputs({"role_arn": self.role.arn})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """Depend on these before using the role: AWS checks the permissions when a resource is created."""
        return [self.policy, *self.attachments]


@dataclass(frozen=True)
class BackendInstanceArgs:
    """Inputs of :class:`BackendInstance`."""

    env: EnvironmentConfig
    """Instance type, log retention, termination protection in prod."""
    namer: ResourceNamer
    """Physical names."""
    settings: ComputeSettings
    """Image tag and root volume size."""
    subnet_id: pulumi.Input[str]
    """A private subnet."""
    security_group_id: pulumi.Input[str]
    """The backend group (8000 from the VPC link only)."""
    instance_profile_name: pulumi.Input[str]
    """The EC2 role's instance profile."""
    repository_url: pulumi.Input[str]
    """The backend ECR repository URL."""
    app_settings: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Non-secret settings written to the container's env file."""
    log_group_name: str
    """The container log group (created here; the role's policy names its exact ARN)."""
    image_parameter_name: str
    """The SSM parameter holding the image URI (created here; the role's policy names its exact ARN)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Role permissions the instance needs at boot."""


class BackendInstance(pulumi.ComponentResource):
    """The FastAPI backend: AL2023, Docker, the image from ECR, IMDSv2, encrypted gp3, no public IP."""

    def __init__(self, name: str, args: BackendInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:compute:BackendInstance", name, None, opts)
        env, namer = args.env, args.namer
        self.log_group = aws.cloudwatch.LogGroup(
            namer.name("backend-logs"),
            name=args.log_group_name,
            retention_in_days=env.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        image_uri = pulumi.Output.concat(args.repository_url, ":", args.settings.backend_image_tag)
        self.image = aws.ssm.Parameter(
            namer.name("backend-image"),
            name=args.image_parameter_name,
            type="String",
            description="Backend image URI (repository:tag) the instance runs; set from backend_image_tag",
            insecure_value=image_uri,  # an image URI is not a secret; `value` would mark it (and its users) secret
            opts=pulumi.ResourceOptions(parent=self),
        )
        ami = aws.ssm.get_parameter(name=AL2023_AMI_PARAMETER)
        user_data = pulumi.Output.from_input(args.app_settings).apply(
            lambda settings: render_backend_user_data(
                region=env.region,
                image_parameter=args.image_parameter_name,
                port=PORTS["fastapi"],
                log_group=args.log_group_name,
                settings=cast(Mapping[str, str], settings),  # resolved: every value is a plain string here
            )
        )
        self.instance = aws.ec2.Instance(
            namer.name("backend"),
            ami=ami.value,
            instance_type=env.ec2_instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[args.security_group_id],
            iam_instance_profile=args.instance_profile_name,
            associate_public_ip_address=False,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",  # IMDSv2 only
                # 2, not 1: the container reaches IMDS through Docker's bridge, one extra hop; with a limit of 1
                # the token response never arrives (EC2 user guide, "How IMDSv2 works": containers need 2).
                "http_put_response_hop_limit": 2,
            },
            root_block_device={
                "volume_type": "gp3",
                "volume_size": args.settings.ec2_root_volume_gb,
                "encrypted": True,
                "delete_on_termination": True,
            },
            monitoring=True,
            ebs_optimized=True,
            disable_api_termination=env.ec2_termination_protection,
            user_data=user_data,
            # A changed bootstrap (settings, not the image) re-runs on a fresh instance rather than drifting.
            user_data_replace_on_change=True,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.log_group, self.image, *args.depends_on], ignore_changes=["ami"]
            ),
        )
        # Rolling a new image: State Manager runs an association when it is created or updated, and the command
        # names the image, so a new tag updates the association and restarts the service on the instance.
        aws.ssm.Association(
            namer.name("backend-rollout"),
            association_name=namer.name("backend-rollout"),
            name="AWS-RunShellScript",
            targets=[{"key": "InstanceIds", "values": [self.instance.id]}],
            parameters={
                "commands": image_uri.apply(lambda image: f"systemctl restart {SERVICE}.service  # rolls out {image}")
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"instance_id": self.instance.id, "private_ip": self.instance.private_ip})


@dataclass(frozen=True)
class ProcessorFunctionArgs:
    """Inputs of :class:`ProcessorFunction`."""

    env: EnvironmentConfig
    """Memory, timeout, log retention."""
    namer: ResourceNamer
    """Physical names."""
    settings: ComputeSettings
    """Image tag and reserved concurrency."""
    role_arn: pulumi.Input[str]
    """The Lambda role."""
    repository_url: pulumi.Input[str]
    """The processor ECR repository URL."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """The lambda subnets."""
    security_group_id: pulumi.Input[str]
    """The Lambda group."""
    queue_arn: pulumi.Input[str]
    """The processing queue the function consumes."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Environment variables built from upstream outputs."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Role permissions: CreateFunction checks the VPC permissions, the mapping checks the SQS ones."""


class ProcessorFunction(pulumi.ComponentResource):
    """The document processor: a container-image Lambda in the VPC, traced, fed one message at a time by SQS."""

    def __init__(self, name: str, args: ProcessorFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:compute:ProcessorFunction", name, None, opts)
        env, namer = args.env, args.namer
        function_name = namer.name(PROCESSOR_FUNCTION)
        # Lambda would create this group on first log with no expiry; creating it first sets the retention.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{function_name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=env.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function = aws.lambda_.Function(
            function_name,
            name=function_name,
            package_type="Image",
            image_uri=pulumi.Output.concat(args.repository_url, ":", args.settings.processor_image_tag),
            role=args.role_arn,
            memory_size=env.lambda_memory_mb,
            timeout=env.lambda_timeout_seconds,
            reserved_concurrent_executions=args.settings.lambda_reserved_concurrency,
            vpc_config={"subnet_ids": args.subnet_ids, "security_group_ids": [args.security_group_id]},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            environment={"variables": args.environment},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, *args.depends_on]),
        )
        self.event_source = aws.lambda_.EventSourceMapping(
            f"{function_name}-sqs",
            event_source_arn=args.queue_arn,
            function_name=self.function.arn,
            batch_size=1,  # one document per invocation
            function_response_types=["ReportBatchItemFailures"],
            # Never more pollers than reserved concurrency, or SQS messages are throttled back and burn retries.
            scaling_config={"maximum_concurrency": args.settings.lambda_reserved_concurrency},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"function_name": self.function.name, "function_arn": self.function.arn})


@dataclass(frozen=True)
class ServiceDiscoveryArgs:
    """Inputs of :class:`ServiceDiscovery`."""

    namer: ResourceNamer
    """Physical names."""
    instance_id: pulumi.Input[str]
    """The backend instance, registered by id."""
    private_ip: pulumi.Input[str]
    """Its private IPv4 address."""


class ServiceDiscovery(pulumi.ComponentResource):
    """A Cloud Map HTTP namespace and service with the backend registered by IPv4 and port.

    An HTTP API private integration can target only an ALB or NLB listener or a Cloud Map service (API Gateway
    developer guide, "private integrations for HTTP APIs"); Cloud Map is the one without an hourly charge.
    API Gateway resolves it with DiscoverInstances, which works for HTTP namespaces.
    """

    def __init__(self, name: str, args: ServiceDiscoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:compute:ServiceDiscovery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = aws.servicediscovery.HttpNamespace(
            args.namer.name("services"),
            name=args.namer.name("services"),
            description="Student Helper private services for the API Gateway VPC link",
            opts=child,
        )
        self.service = aws.servicediscovery.Service(
            args.namer.name("backend-service"),
            name="backend",
            namespace_id=self.namespace.id,
            description="The FastAPI backend on port 8000",
            opts=child,
        )
        self.registration = aws.servicediscovery.Instance(
            args.namer.name("backend-registration"),
            service_id=self.service.id,
            instance_id=args.instance_id,
            attributes={"AWS_INSTANCE_IPV4": args.private_ip, "AWS_INSTANCE_PORT": str(PORTS["fastapi"])},
            opts=child,
        )
        self.register_outputs({"service_arn": self.service.arn, "namespace_id": self.namespace.id})


def ec2_managed_policies(partition: str) -> list[str]:
    """Session Manager access for the backend (no SSH, no bastion)."""
    return [managed_policy_arn(partition, "AmazonSSMManagedInstanceCore")]


def lambda_managed_policies(partition: str) -> list[str]:
    """ENI management and logs for a VPC-attached Lambda."""
    return [managed_policy_arn(partition, "service-role/AWSLambdaVPCAccessExecutionRole")]


def ssm_parameter_arn(partition: str, region: str, account_id: str, name: str) -> str:
    """``arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash>``."""
    return f"arn:{partition}:ssm:{region}:{account_id}:parameter/{name.lstrip('/')}"


def log_streams_arn(partition: str, region: str, account_id: str, log_group_name: str) -> str:
    """Every stream of one log group: ``arn:<partition>:logs:<region>:<account>:log-group:<name>:log-stream:*``."""
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}:log-stream:*"


def visibility_timeout_problem(visibility_timeout_seconds: int, lambda_timeout_seconds: int) -> str | None:
    """Why the queue's visibility timeout is too short for this function, or None if it is long enough."""
    needed = 6 * lambda_timeout_seconds
    if visibility_timeout_seconds >= needed:
        return None
    return (
        f"the data layer's queue has a visibility timeout of {visibility_timeout_seconds} s, but a "
        f"{lambda_timeout_seconds} s Lambda timeout needs at least {needed} s (6x, AWS guidance for SQS event "
        "sources): set the same lambda_timeout_seconds in both layers and deploy the data layer first"
    )


def role_policy(statements: pulumi.Input[list[dict[str, object]]]) -> pulumi.Output[str]:
    """An inline policy document from statements that may still be outputs."""
    return pulumi.Output.from_input(statements).apply(policy_document)
