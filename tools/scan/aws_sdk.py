"""What the installed provider SDKs say about a resource type: its Terraform type, attribute names, tag style and
the outputs it always has.

This module is the project's one reader of the provider SDKs' source. The scan uses it at run time (Terraform names);
``python -m tools.gen_taggable`` uses it to write the pack's data file of taggable types, which everything else reads;
the offline runner's preview mode asks it which outputs a preview leaves unknown.

pulumi-aws is bridged from terraform-provider-aws, so every Pulumi property is a renamed Terraform attribute. The
Python SDK keeps enough of that to undo the renaming without importing the (very large) package: each resource class
carries ``@pulumi.type_token(...)``, and each property getter carries the engine's camelCase name over a snake_case
Python name that is the Terraform attribute name, except for list blocks, which Pulumi pluralises (Terraform
``ebs_block_device`` is ``ebsBlockDevices``). Nested block types are named ``<Parent><TerraformName>Args``, which
gives the singular name back.

The Terraform *type* name is not in the SDK. It is derived from the token (module + snake_case name) and checked
against the Terraform types the pinned checkov knows (see :mod:`tools.scan.oracle`); the legacy names that no rule
derives are listed in ``TF_TYPE_OVERRIDES``.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TOKEN_RE = re.compile(r'@pulumi\.type_token\("([^"]+)"\)\nclass (\w+)\(pulumi\.CustomResource\)')
_CLASS_RE = re.compile(r"^class (\w+)\b.*:$", re.MULTILINE)
_GETTER_RE = re.compile(
    r'@pulumi\.getter(?:\(name="(?P<camel>\w+)"\))?\s*\n\s*def (?P<py>\w+)\(self\) -> (?P<ann>[^\n]+):\n'
)
_NESTED_RE = re.compile(r"'(\w+Args)'")

# Modules whose Terraform prefix differs from the Pulumi module name, tried in order after the module name itself.
# "" means the bare ``aws_<name>`` form of the oldest resources (``aws_instance``, ``aws_security_group``).
MODULE_TF_PREFIXES: dict[str, tuple[str, ...]] = {
    "alb": ("alb", "lb"),
    "amp": ("prometheus",),
    "apigateway": ("api_gateway",),
    "bcmdata": ("bcmdataexports",),
    "bedrockmodel": ("bedrock_model",),
    "cloudcontrol": ("cloudcontrolapi",),
    "cfg": ("config",),
    "cloudhsmv2": ("cloudhsm_v2",),
    "costexplorer": ("ce",),
    "directconnect": ("dx",),
    "directoryservice": ("directory_service",),
    "ec2": ("ec2", "", "vpc"),
    "ec2clientvpn": ("ec2_client_vpn",),
    "ec2transitgateway": ("ec2_transit_gateway", "ec2"),
    "elasticbeanstalk": ("elastic_beanstalk",),
    "elb": ("elb", "", "load_balancer", "lb"),
    "lb": ("lb",),
    "macie": ("macie2",),
    "mediaconvert": ("media_convert",),
    "mediapackage": ("media_package",),
    "mediapackagev2": ("media_packagev2",),
    "mediastore": ("media_store",),
    "rds": ("rds", "db"),
    "resourceexplorer": ("resourceexplorer2",),
    "route53recoverycontrol": ("route53recoverycontrolconfig",),
    "s3": ("s3", "s3_bucket"),
    "servicediscovery": ("service_discovery",),
    "sqs": ("sqs", "sqs_queue"),
    "sns": ("sns", "sns_topic"),
}

# pulumi-aws folds a few newer Terraform services into an older module with a name prefix
# (``aws:s3/vectorsIndex:VectorsIndex`` is ``aws_s3vectors_index``).
SUBSERVICE_PREFIXES: dict[tuple[str, str], str] = {
    ("s3", "Vectors"): "s3vectors",
    ("s3", "Files"): "s3files",
    ("bedrock", "Agentcore"): "bedrockagentcore",
    ("bedrock", "Agent"): "bedrockagent",
    ("route53", "Profiles"): "route53profiles",
    ("ssm", "Contacts"): "ssmcontacts",
    ("ssm", "Quicksetup"): "ssmquicksetup",
    ("chime", "Sdkvoice"): "chimesdkvoice",
    ("cloudfront", "Keyvaluestore"): "cloudfrontkeyvaluestore",
    ("lex", "V2models"): "lexv2models",
    ("opensearch", "Serverless"): "opensearchserverless",
    ("pinpoint", "Smsvoicev2"): "pinpointsmsvoicev2",
    ("servicecatalog", "Appregistry"): "servicecatalogappregistry",
}

# Pulumi names no rule maps back. Each was checked against terraform-provider-aws's resource list.
TF_TYPE_OVERRIDES: dict[str, str] = {
    "aws:alb/loadBalancer:LoadBalancer": "aws_alb",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:apigateway/response:Response": "aws_api_gateway_gateway_response",
    "aws:appconfig/eventIntegration:EventIntegration": "aws_appintegrations_event_integration",
    "aws:appsync/dataSource:DataSource": "aws_appsync_datasource",
    "aws:appsync/graphQLApi:GraphQLApi": "aws_appsync_graphql_api",
    "aws:autoscaling/tag:Tag": "aws_autoscaling_group_tag",
    "aws:cfg/recorder:Recorder": "aws_config_configuration_recorder",
    "aws:cfg/recorderStatus:RecorderStatus": "aws_config_configuration_recorder_status",
    "aws:cfg/rule:Rule": "aws_config_config_rule",
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:iam/sshKey:SshKey": "aws_iam_user_ssh_key",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/snapshot:Snapshot": "aws_db_snapshot",
    "aws:rds/snapshotCopy:SnapshotCopy": "aws_db_snapshot_copy",
    "aws:rds/eventSubscription:EventSubscription": "aws_db_event_subscription",
    "aws:rds/clusterSnapshot:ClusterSnapshot": "aws_db_cluster_snapshot",
    "aws:rds/roleAssociation:RoleAssociation": "aws_db_instance_role_association",
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:s3/bucketObject:BucketObject": "aws_s3_bucket_object",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": "aws_s3vectors_vector_bucket",
    "aws:s3/vectorsIndex:VectorsIndex": "aws_s3vectors_index",
    "aws:s3/vectorsVectorBucketPolicy:VectorsVectorBucketPolicy": "aws_s3vectors_vector_bucket_policy",
    "aws:directoryservice/serviceRegion:ServiceRegion": "aws_directory_service_region",
    "aws:ses/mailFrom:MailFrom": "aws_ses_domain_mail_from",
    "aws:elb/sslNegotiationPolicy:SslNegotiationPolicy": "aws_lb_ssl_negotiation_policy",
    "aws:elb/loadBalancer:LoadBalancer": "aws_elb",
    "aws:codepipeline/pipeline:Pipeline": "aws_codepipeline",
    "aws:codedeploy/application:Application": "aws_codedeploy_app",
    "aws:cloudformation/cloudFormationType:CloudFormationType": "aws_cloudformation_type",
    "aws:cloudwatch/internetMonitor:InternetMonitor": "aws_internetmonitor_monitor",
    "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment": "aws_cognito_identity_pool_roles_attachment",
    "aws:controltower/controlTowerControl:ControlTowerControl": "aws_controltower_control",
    "aws:datasync/fsxOpenZfsFileSystem:FsxOpenZfsFileSystem": "aws_datasync_location_fsx_openzfs_file_system",
    "aws:docdb/elasticCluster:ElasticCluster": "aws_docdbelastic_cluster",
    "aws:ec2/dedicatedHost:DedicatedHost": "aws_ec2_host",
    "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment": (
        "aws_network_interface_sg_attachment"
    ),
    "aws:ec2/securityGroupAssociation:SecurityGroupAssociation": "aws_vpc_endpoint_security_group_association",
    "aws:ec2/vpcEndpointServiceAllowedPrinciple:VpcEndpointServiceAllowedPrinciple": (
        "aws_vpc_endpoint_service_allowed_principal"
    ),
    "aws:fsx/openZfsFileSystem:OpenZfsFileSystem": "aws_fsx_openzfs_file_system",
    "aws:fsx/openZfsSnapshot:OpenZfsSnapshot": "aws_fsx_openzfs_snapshot",
    "aws:fsx/openZfsVolume:OpenZfsVolume": "aws_fsx_openzfs_volume",
    "aws:guardduty/iPSet:IPSet": "aws_guardduty_ipset",
    "aws:guardduty/threatIntelSet:ThreatIntelSet": "aws_guardduty_threatintelset",
    "aws:opensearchingest/pipeline:Pipeline": "aws_osis_pipeline",
    "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec": "aws_route53_hosted_zone_dnssec",
    "aws:route53/resolverDnsSecConfig:ResolverDnsSecConfig": "aws_route53_resolver_dnssec_config",
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": (
        "aws_serverlessapplicationrepository_cloudformation_stack"
    ),
    "aws:waf/ipSet:IpSet": "aws_waf_ipset",
    "aws:wafregional/ipSet:IpSet": "aws_wafregional_ipset",
}


class UnmappedTypeError(LookupError):
    """A resource type the translation has no mapping for; the message names the type."""


def snake(name: str) -> str:
    """``camelCase``/``PascalCase`` to ``snake_case`` as the bridge does (``VpcIpv4Cidr`` → ``vpc_ipv4_cidr``)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


# The provider SDKs this module reads: the type-token package -> the Python package and its distribution.
SDK_PACKAGES: dict[str, tuple[str, str]] = {
    "aws": ("pulumi_aws", "pulumi-aws"),
    "aws-native": ("pulumi_aws_native", "pulumi-aws-native"),
}
# What makes a resource taggable: pulumi-aws resources that take tags have the computed ``tagsAll`` output (the
# resource's tags merged with the provider's default tags; ``aws:autoscaling/group`` has ``tags`` without it,
# they are propagation rules); aws-native resources have ``tags``.
TAG_MARKERS = {"aws": "tagsAll", "aws-native": "tags"}


@functools.cache
def package_root(package: str = "pulumi_aws") -> Path:
    """An installed SDK's package directory (found without importing it: the import takes seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations)))


def sdk_root() -> Path:
    """The installed ``pulumi_aws`` package directory."""
    return package_root("pulumi_aws")


def _resource_classes(provider: str) -> dict[str, tuple[Path, str]]:
    """Every custom resource token of one provider's SDK → (its Python file, its class name)."""
    package, _ = SDK_PACKAGES[provider]
    found: dict[str, tuple[Path, str]] = {}
    for path in sorted(package_root(package).rglob("*.py")):
        if path.name.startswith("_") or path.name == "outputs.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "@pulumi.type_token(" not in text:
            continue
        for match in _TOKEN_RE.finditer(text):
            if match.group(1).startswith(f"{provider}:"):
                found[match.group(1)] = (path, match.group(2))
    return found


@functools.cache
def resource_files() -> dict[str, tuple[Path, str]]:
    """Every pulumi-aws custom resource token → (its Python file, its class name)."""
    return _resource_classes("aws")


@functools.cache
def _provider_classes(provider: str) -> dict[str, tuple[Path, str]]:
    return resource_files() if provider == "aws" else _resource_classes(provider)


@functools.cache
def computed_outputs(token: str) -> frozenset[str]:
    """The outputs a resource always has, whether or not the program sets them (engine names).

    The SDK types such an output ``pulumi.Output[T]`` (the package schema lists it as required) and every other one
    ``pulumi.Output[Optional[T]]``. For pulumi-aws, pulumi-terraform-bridge makes an output optional exactly when its
    Terraform attribute is optional and not computed (tfgen's ``variable.optional``), so these are the attributes a
    program must set and those the provider computes: ``arn``, and optional-and-computed settings such as an EBS
    volume's ``encrypted``. A preview leaves each one the program did not set unknown.
    """
    provider = token.split(":", 1)[0]
    if provider not in SDK_PACKAGES or token not in _provider_classes(provider):
        raise UnmappedTypeError(f"unmapped resource type {token!r}: no provider SDK here has such a resource")
    path, class_name = _provider_classes(provider)[token]
    body = _class_bodies(path.read_text(encoding="utf-8"))[class_name]
    return frozenset(
        match.group("camel") or match.group("py")
        for match in _GETTER_RE.finditer(body)
        if not match.group("ann").startswith("pulumi.Output[Optional[")
    )


def sdk_versions() -> dict[str, str]:
    """The installed version of each provider SDK, by distribution name."""
    from importlib.metadata import version

    return {dist: version(dist) for _, dist in SDK_PACKAGES.values()}


def tag_styles() -> dict[str, str]:
    """Every taggable resource type of both SDKs → ``"map"`` (tags map) or ``"list"`` (a list of key/value tags).

    Read from each resource class's getters: the marker in :data:`TAG_MARKERS` says the type is taggable, the ``tags``
    getter's annotation says the shape (a Sequence is a list, anything else, a map or aws-native's free-form JSON, a
    map).
    """
    styles: dict[str, str] = {}
    for provider, marker in TAG_MARKERS.items():
        by_file: dict[Path, list[tuple[str, str]]] = {}
        for token, (path, class_name) in _resource_classes(provider).items():
            by_file.setdefault(path, []).append((token, class_name))
        for path, classes in by_file.items():
            bodies = _class_bodies(path.read_text(encoding="utf-8"))
            for token, class_name in classes:
                getters = _props_of(bodies[class_name], class_name)
                if marker in getters and "tags" in getters:
                    styles[token] = "list" if getters["tags"].is_list else "map"
    return dict(sorted(styles.items()))


def tf_type_candidates(token: str) -> list[str]:
    """The Terraform types a pulumi-aws token may stand for, most likely first."""
    if token in TF_TYPE_OVERRIDES:
        return [TF_TYPE_OVERRIDES[token]]
    try:
        _, module_path, name = token.split(":")
        module = module_path.split("/")[0]
    except ValueError as err:
        raise UnmappedTypeError(f"not a pulumi-aws type token: {token!r}") from err
    for (mod, head), prefix in SUBSERVICE_PREFIXES.items():
        if module == mod and name.startswith(head) and name[len(head) : len(head) + 1].isupper():
            return [f"aws_{prefix}_{snake(name[len(head) :])}"]
    # pulumi-aws 6 suffixed the S3 bucket-configuration resources with V2; Terraform never did.
    if module == "s3" and name.endswith("V2"):
        name = name[:-2]
    prefixes = MODULE_TF_PREFIXES.get(module, (module,))
    if module not in prefixes:
        prefixes = (module, *prefixes)
    return [f"aws_{p}_{snake(name)}" if p else f"aws_{snake(name)}" for p in prefixes]


def tf_type(token: str, known_tf_types: Iterable[str] = ()) -> str:
    """The Terraform resource type of a pulumi-aws token; ``known_tf_types`` picks among the candidates."""
    if token not in resource_files():
        raise UnmappedTypeError(f"unmapped resource type {token!r}: pulumi-aws {sdk_version()} has no such resource")
    candidates = tf_type_candidates(token)
    known = set(known_tf_types)
    return next((c for c in candidates if c in known), candidates[0])


@functools.cache
def sdk_version() -> str:
    """The installed pulumi-aws version (for error messages)."""
    from importlib.metadata import version

    return version("pulumi-aws")


@dataclass(frozen=True)
class Prop:
    """One property of a resource or nested block: its Terraform name and shape."""

    tf_name: str
    """The Terraform attribute name; for a pluralised list block, the singular block name."""
    is_list: bool
    """Whether the SDK annotates the property as a sequence (a list block or a list of values)."""
    nested: str | None
    """The nested block's Args class name, if the property is a block."""


def _class_bodies(text: str) -> dict[str, str]:
    """Top-level class name → its source text."""
    starts = [(m.start(), m.group(1)) for m in _CLASS_RE.finditer(text)]
    bodies: dict[str, str] = {}
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        bodies[name] = text[start:end]
    return bodies


def _props_of(body: str, type_prefix: str) -> dict[str, Prop]:
    """Engine (camelCase) name → Prop, for the getters in one class body."""
    props: dict[str, Prop] = {}
    for match in _GETTER_RE.finditer(body):
        python_name = match.group("py")
        camel = match.group("camel") or python_name
        annotation = match.group("ann")
        nested_match = _NESTED_RE.search(annotation)
        nested = nested_match.group(1) if nested_match else None
        is_list = "Sequence[" in annotation
        tf_name = python_name
        if nested and is_list and nested.startswith(type_prefix):
            # The nested type is named from the Terraform (singular) block name; the property name was pluralised.
            singular = snake(nested[len(type_prefix) : -len("Args")])
            if singular and python_name in {singular + "s", singular + "es", singular[:-1] + "ies"}:
                tf_name = singular
        props[camel] = Prop(tf_name=tf_name, is_list=is_list, nested=nested)
    return props


@functools.cache
def _module_inputs(module_dir: Path) -> dict[str, str]:
    """The nested input types of one SDK module: class name → source."""
    path = module_dir / "_inputs.py"
    return _class_bodies(path.read_text(encoding="utf-8")) if path.exists() else {}


@functools.cache
def resource_props(token: str) -> dict[str, Prop]:
    """The properties of a pulumi-aws resource (state: inputs and outputs), by engine name."""
    try:
        path, class_name = resource_files()[token]
    except KeyError as err:
        raise UnmappedTypeError(f"unmapped resource type {token!r}") from err
    bodies = _class_bodies(path.read_text(encoding="utf-8"))
    props: dict[str, Prop] = {}
    for candidate in (f"_{class_name}State", f"{class_name}Args", class_name):
        if candidate in bodies:
            for camel, prop in _props_of(bodies[candidate], class_name).items():
                props.setdefault(camel, prop)
    return props


@functools.cache
def nested_props(token: str, args_class: str) -> dict[str, Prop]:
    """The properties of a nested block type (``InstanceRootBlockDeviceArgs``) of a resource's module."""
    path, _ = resource_files()[token]
    body = _module_inputs(path.parent).get(args_class)
    if body is None:
        return {}
    return _props_of(body, args_class[: -len("Args")])
