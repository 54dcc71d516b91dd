"""Compute layer components: least-privilege roles, the EC2 backend, the processor Lambda, Cloud Map."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_aws as aws

from shared.constants import PORTS
from shared.iam import managed_policy_arn, policy_document, service_trust_policy
from shared.userdata import SERVICE, render_backend_user_data, render_env_file

# AL2023's public SSM parameters, one per architecture (EC2 user guide, "Find AMIs using Systems Manager
# parameters"): resolved at deploy time, never a hard-coded AMI id.
AL2023_AMI_PARAMETER_PREFIX = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default"


@dataclass(frozen=True)
class ServiceRoleArgs:
    """Inputs of :class:`ServiceRole`."""

    role_name: str
    """The IAM role name."""
    service: str
    """The service principal that assumes the role, e.g. ec2.amazonaws.com."""
    account_id: str
    """Our account, for the trust policy's confused-deputy guard where the service sends aws:SourceAccount."""
    policy: pulumi.Input[str]
    """The inline policy document (exact resources)."""
    managed_policies: Sequence[str] = ()
    """AWS-managed policy ARNs to attach."""
    instance_profile: bool = False
    """Also create an instance profile (for EC2)."""


class ServiceRole(pulumi.ComponentResource):
    """An IAM role for one service, with one inline least-privilege policy and named AWS-managed policies."""

    def __init__(self, name: str, args: ServiceRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
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
    def instance_profile_name(self) -> pulumi.Output[str]:
        """The instance profile's name (for EC2); only for roles created with ``instance_profile=True``."""
        if self.instance_profile is None:
            raise ValueError("this role has no instance profile: create it with instance_profile=True")
        return self.instance_profile.name

    @property
    def ready(self) -> list[pulumi.Resource]:
        """Depend on these before using the role: AWS checks the permissions when a resource is created."""
        return [self.policy, *self.attachments]


@dataclass(frozen=True)
class BackendInstanceArgs:
    """Inputs of :class:`BackendInstance`."""

    name_prefix: str
    """Base of the children's logical names: ``{prefix}-backend``, ``{prefix}-backend-logs``."""
    rollout_name: str
    """The State Manager association that restarts the service on a new image or settings."""
    region: str
    """Where the service reads its parameters and sends its logs."""
    instance_type: str
    """e.g. t3.small; its architecture picks the AL2023 AMI."""
    root_volume_gb: int
    """Root volume size (gp3, encrypted)."""
    termination_protection: bool
    """EC2 termination protection (``disable_api_termination``)."""
    log_retention_days: int
    """Retention of the container logs."""
    image_tag: str
    """The backend image tag in its repository (immutable)."""
    subnet_id: pulumi.Input[str]
    """A private subnet."""
    security_group_id: pulumi.Input[str]
    """The backend group (8000 from the VPC link only)."""
    instance_profile_name: pulumi.Input[str]
    """The EC2 role's instance profile."""
    repository_url: pulumi.Input[str]
    """The backend ECR repository URL."""
    app_settings: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Non-secret settings for the container's env file."""
    parameters: BackendParameters
    """Names of the log group and SSM parameters (the role's policy names their exact ARNs)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Role permissions the instance needs at boot."""


@dataclass(frozen=True)
class BackendParameters:
    """Where the backend's run-time inputs live; the instance reads them at every service start."""

    log_group: str
    """The container log group."""
    image: str
    """SSM parameter: the image URI (repository:tag)."""
    settings: str
    """SSM parameter: the env file of non-secret settings."""

    @classmethod
    def under(cls, path: str) -> BackendParameters:
        """The names in one hierarchy: the log group ``<path>``, the parameters ``<path>/image-uri`` and
        ``<path>/settings``."""
        return cls(log_group=path, image=f"{path}/image-uri", settings=f"{path}/settings")


def al2023_ami_parameter(architectures: Sequence[str]) -> str:
    """AL2023's public SSM parameter for the instance type's architecture (arm64 for Graviton types)."""
    arch = "arm64" if "arm64" in architectures and "x86_64" not in architectures else "x86_64"
    return f"{AL2023_AMI_PARAMETER_PREFIX}-{arch}"


class BackendInstance(pulumi.ComponentResource):
    """The FastAPI backend: AL2023, Docker, the image from ECR, IMDSv2, encrypted gp3, no public IP.

    The user data only installs the service; the image URI and the settings live in SSM parameters that the
    service reads each time it starts. A new image or a changed setting therefore rolls out with a service
    restart, never an instance replacement (which termination protection would block in prod).
    """

    def __init__(self, name: str, args: BackendInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("student-helper:compute:BackendInstance", name, None, opts)
        prefix, names = args.name_prefix, args.parameters
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{prefix}-backend-logs", name=names.log_group, retention_in_days=args.log_retention_days, opts=child
        )
        # insecure_value: neither value is a secret, and `value` would mark them (and the rollout command) secret.
        self.image = aws.ssm.Parameter(
            f"{prefix}-backend-image",
            name=names.image,
            type="String",
            description="Backend image URI (repository:tag) the instance runs; from backend_image_tag",
            insecure_value=pulumi.Output.concat(args.repository_url, ":", args.image_tag),
            opts=child,
        )
        self.settings = aws.ssm.Parameter(
            f"{prefix}-backend-settings",
            name=names.settings,
            type="String",
            description="Backend env file: non-secret settings only (names, URLs, ARNs)",
            insecure_value=pulumi.Output.from_input(args.app_settings).apply(
                lambda values: render_env_file(cast(Mapping[str, str], values))
            ),
            opts=child,
        )
        architectures = aws.ec2.get_instance_type(instance_type=args.instance_type).supported_architectures
        ami = aws.ssm.get_parameter(name=al2023_ami_parameter(architectures))
        self.instance = aws.ec2.Instance(
            f"{prefix}-backend",
            ami=ami.value,
            instance_type=args.instance_type,
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
                "volume_size": args.root_volume_gb,
                "encrypted": True,
                "delete_on_termination": True,
            },
            monitoring=True,
            ebs_optimized=True,
            disable_api_termination=args.termination_protection,
            # Termination protection guards against a console or CLI termination; a replacement that Pulumi plans
            # (new AMI with --replace, another subnet) must still succeed. The instance holds no data: the app
            # runs from its image, and its state is in RDS and S3. (force_destroy must be in state beforehand,
            # pulumi_aws Instance docs, so it is set from creation.)
            force_destroy=True,
            user_data=render_backend_user_data(
                region=args.region,
                image_parameter=names.image,
                settings_parameter=names.settings,
                port=PORTS["fastapi"],
                log_group=names.log_group,
            ),
            user_data_replace_on_change=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.log_group, self.image, self.settings, *args.depends_on],
                ignore_changes=["ami"],  # roll the AMI deliberately: pulumi up --replace <urn>
            ),
        )
        # State Manager runs an association when it is created or updated. The command names the image and a
        # digest of the settings, so either change updates the association and restarts the service, which then
        # reads the new values. try-restart does nothing while cloud-init has not started the service yet.
        rollout = pulumi.Output.all(self.image.insecure_value, self.settings.insecure_value).apply(
            lambda values: (
                f"systemctl try-restart {SERVICE}.service  # image {values[0]}, settings "
                f"{hashlib.sha256(str(values[1]).encode()).hexdigest()[:12]}"
            )
        )
        aws.ssm.Association(
            args.rollout_name,
            association_name=args.rollout_name,
            name="AWS-RunShellScript",
            targets=[{"key": "InstanceIds", "values": [self.instance.id]}],
            parameters={"commands": rollout},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.image, self.settings]),
        )
        self.register_outputs({"instance_id": self.instance.id, "private_ip": self.instance.private_ip})


@dataclass(frozen=True)
class ProcessorFunctionArgs:
    """Inputs of :class:`ProcessorFunction`."""

    function_name: str
    """The function; its log group is ``/aws/lambda/<function_name>``, where Lambda writes."""
    memory_mb: int
    timeout_seconds: int
    """Function timeout (the queue's visibility timeout is six times it)."""
    log_retention_days: int
    image_tag: str
    """The processor image tag in its repository (immutable)."""
    max_concurrency: int
    """The most invocations the SQS event source runs at once."""
    reserved_concurrency: int | None
    """Concurrency reserved for the function; None (the default) reserves nothing."""
    role_arn: pulumi.Input[str]
    repository_url: pulumi.Input[str]
    """The processor ECR repository URL."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
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
        function_name = args.function_name
        # Lambda would create this group on first log with no expiry; creating it first sets the retention.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{function_name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.function = aws.lambda_.Function(
            function_name,
            name=function_name,
            package_type="Image",
            image_uri=pulumi.Output.concat(args.repository_url, ":", args.image_tag),
            role=args.role_arn,
            memory_size=args.memory_mb,
            timeout=args.timeout_seconds,
            # None (the default) reserves nothing: a reservation must leave 100 unreserved executions in the
            # account, which a new account (10 in all) cannot. The event source below does the throttling.
            reserved_concurrent_executions=args.reserved_concurrency,
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
            # At most this many invocations at once (2 to 1000); settings keep any reservation at or above it, or
            # SQS messages would be throttled back to the queue and burn their receives.
            scaling_config={"maximum_concurrency": args.max_concurrency},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"function_name": self.function.name, "function_arn": self.function.arn})


@dataclass(frozen=True)
class ServiceDiscoveryArgs:
    """Inputs of :class:`ServiceDiscovery`."""

    name_prefix: str
    """Base of the service's and registration's logical names."""
    namespace_name: str
    service_name: str
    """The backend's service in the namespace."""
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
            args.namespace_name,
            name=args.namespace_name,
            description="Student Helper private services for the API Gateway VPC link",
            opts=child,
        )
        self.service = aws.servicediscovery.Service(
            f"{args.name_prefix}-backend-service",
            name=args.service_name,
            namespace_id=self.namespace.id,
            description="The FastAPI backend on port 8000",
            opts=child,
        )
        self.registration = aws.servicediscovery.Instance(
            f"{args.name_prefix}-backend-registration",
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


def role_policy(statements: pulumi.Input[list[dict[str, object]]]) -> pulumi.Output[str]:
    """An inline policy document from statements that may still be outputs."""
    return pulumi.Output.from_input(statements).apply(policy_document)
