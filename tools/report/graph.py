"""One environment's architecture as a graph, derived only from its stack exports (no hand-kept list of edges).

:func:`architecture_graph` takes the four layer exports of one environment (``{"network": export, ...}``, each
a ``pulumi stack export`` document) and returns an :class:`ArchitectureGraph`: nodes, clusters and edges that
:mod:`tools.report.diagram` draws. The rules:

**Nodes.** :data:`TYPES` gives each resource type a role. ``node`` types (EC2, Lambda, RDS, buckets, the vector
bucket and index, queues, repositories, secrets, Cloud Map services, the HTTP API, the VPC link, CloudFront,
VPC endpoints, flow logs) are drawn, one node each. Every other resource is *folded* into what it belongs to,
and the node records the URNs of everything folded into it, so every resource of the exports appears in the
graph. ``owner`` types configure one resource, named by one property (a bucket's versioning by ``bucket``, a
security-group rule by ``securityGroupId``, an API route by ``apiId``, an event source mapping by
``functionName``) and fold into it. ``consumer`` types (IAM roles, instance profiles, security groups, log
groups, SSM parameters, RDS subnet and parameter groups, CloudFront policies, Cloud Map namespaces, route
tables) fold into every node that uses them (a security group shared by ten endpoints is part of all ten); one
that nothing uses folds into what it refers to (the default security group into the VPC). ``vpc`` and
``subnet`` resources are clusters, not nodes. A type missing from the table is drawn as a generic node, so a new
resource is never silently dropped.

**Clusters.** The VPC holds one cluster per route table (this project has one per subnet role), which holds one
cluster per subnet. A node sits in the subnets its resources name (``subnetId``, ``subnetIds``,
``vpcConfig.subnetIds``, a DB subnet group's subnets): one subnet, that subnet's cluster; several, the
smallest cluster holding them all. A node that names only the VPC sits in the VPC cluster.

**References.** A resource refers to another through (a) its ``propertyDependencies`` within one export (and
``dependencies`` not attributed to a property, as ``dependsOn``), and (b) across layers, a property that depends
on a ``StackReference``: every string in that property's value (JSON documents such as IAM policies are
parsed) is matched against the identifying outputs (:data:`IDENTIFIER_KEYS` and the id) of the referenced
stack's resources. A string refers to the resource whose identifier equals it, or, failing that, is the longest
prefix of it followed by ``/``, ``:``, ``@`` or ``*`` (``<bucket arn>/*``, ``<repository url>:<tag>``). Strings
shorter than :data:`MIN_IDENTIFIER_LENGTH`, preview unknowns and tags never match. An export without
``propertyDependencies`` (an older CLI) has every input but tags matched against the other exports.

**Edges.** A reference from resource X to resource R is an edge from X's node(s) to R's, read as "X uses R",
which is the direction traffic or data flows for almost every reference (CloudFront to its origin bucket, the
API's integration to the Cloud Map service, the Cloud Map registration to the instance, a queue's redrive
policy to its DLQ, a role policy to what it grants). :data:`REVERSED` lists the properties that state the
opposite: an event source mapping's ``eventSourceArn`` (the queue feeds the function), an ingress rule's source
group, and resource policies and CORS rules (the grantee reaches the owner). References that land inside the
same node, or on a cluster (placement), are not edges. An edge is ``access`` when every reference behind it is
a permission (an IAM or resource policy, a CORS rule), else ``flow``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tools.stack_export import STACK_REFERENCE_TYPE, UNKNOWN, Resource, resources, walk

Role = Literal["node", "owner", "consumer", "vpc", "subnet"]

# Strings shorter than this never count as a reference: "true", "ANY", port numbers, short names.
MIN_IDENTIFIER_LENGTH = 12
# Top-level outputs that identify a resource (besides its id). Outputs naming *other* resources
# (``role``, ``vpcId``, ``monitoringRoleArn``) are deliberately absent.
IDENTIFIER_KEYS = frozenset(
    {
        "arn",
        "name",
        "url",
        "bucket",
        "bucketDomainName",
        "bucketRegionalDomainName",
        "domainName",
        "endpoint",
        "address",
        "repositoryUrl",
        "indexArn",
        "vectorBucketArn",
        "identifier",
    }
)
# Inputs that never refer to anything.
IGNORED_PROPERTIES = frozenset({"tags", "tagsAll"})
PREFIX_SEPARATORS = "/:@*"
# Properties whose references are permissions (drawn dashed) rather than traffic.
GRANT_PROPERTIES = frozenset({"policy", "redriveAllowPolicy", "corsRules", "corsConfiguration"})
# Properties whose references are never "use" (for folding): a rule's peer group is not its owner's consumer.
PEER_PROPERTIES = frozenset(
    {
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "referencedSecurityGroupId"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "referencedSecurityGroupId"),
    }
)
# (type, property) whose references read "R reaches X" rather than "X uses R": the edge runs R -> X.
REVERSED = frozenset(
    {
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "eventSourceArn"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "referencedSecurityGroupId"),
        ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
        ("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "corsRules"),
        ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "redriveAllowPolicy"),
        ("aws:ecr/repositoryPolicy:RepositoryPolicy", "policy"),
        ("aws:apigatewayv2/api:Api", "corsConfiguration"),
    }
)
GENERIC_ICON = "aws.general.General"


@dataclass(frozen=True)
class TypeRule:
    """How one resource type is drawn."""

    role: Role
    """``node`` (drawn), ``owner``/``consumer`` (folded), ``vpc``/``subnet`` (a cluster)."""
    icon: str = GENERIC_ICON
    """The diagrams icon as ``<module>.<Class>`` under ``diagrams`` (nodes only)."""
    owner: str = ""
    """For ``owner`` types: the input naming the resource this one folds into."""


def _node(icon: str) -> TypeRule:
    return TypeRule("node", icon)


def _owner(prop: str) -> TypeRule:
    return TypeRule("owner", owner=prop)


CONSUMER = TypeRule("consumer")
_S3_CONFIG = (
    "bucketPublicAccessBlock:BucketPublicAccessBlock",
    "bucketOwnershipControls:BucketOwnershipControls",
    "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "bucketVersioning:BucketVersioning",
    "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "bucketLogging:BucketLogging",
    "bucketPolicy:BucketPolicy",
    "bucketCorsConfiguration:BucketCorsConfiguration",
)

TYPES: dict[str, TypeRule] = {
    # Clusters.
    "aws:ec2/vpc:Vpc": TypeRule("vpc"),
    "aws:ec2/subnet:Subnet": TypeRule("subnet"),
    # Drawn.
    "aws:ec2/instance:Instance": _node("aws.compute.EC2"),
    "aws:lambda/function:Function": _node("aws.compute.Lambda"),
    "aws:rds/instance:Instance": _node("aws.database.RDS"),
    "aws:s3/bucket:Bucket": _node("aws.storage.S3"),
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": _node("aws.storage.SimpleStorageServiceS3BucketWithObjects"),
    "aws:s3/vectorsIndex:VectorsIndex": _node("aws.storage.SimpleStorageServiceS3Object"),
    "aws:sqs/queue:Queue": _node("aws.integration.SQS"),
    "aws:ecr/repository:Repository": _node("aws.compute.ECR"),
    "aws:secretsmanager/secret:Secret": _node("aws.security.SecretsManager"),
    "aws:servicediscovery/service:Service": _node("aws.network.CloudMap"),
    "aws:apigatewayv2/api:Api": _node("aws.network.APIGateway"),
    "aws:apigatewayv2/vpcLink:VpcLink": _node("aws.network.Privatelink"),
    "aws:cloudfront/distribution:Distribution": _node("aws.network.CloudFront"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _node("aws.network.Endpoint"),
    "aws:ec2/flowLog:FlowLog": _node("aws.network.VPCFlowLogs"),
    # Folded into the resource one input names.
    **{f"aws:s3/{token}": _owner("bucket") for token in _S3_CONFIG},
    "aws:iam/rolePolicy:RolePolicy": _owner("role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _owner("role"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _owner("securityGroupId"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _owner("securityGroupId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _owner("subnetId"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": _owner("functionName"),
    "aws:apigatewayv2/integration:Integration": _owner("apiId"),
    "aws:apigatewayv2/route:Route": _owner("apiId"),
    "aws:apigatewayv2/stage:Stage": _owner("apiId"),
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _owner("queueUrl"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _owner("repository"),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _owner("repository"),
    "aws:servicediscovery/instance:Instance": _owner("serviceId"),
    "aws:ssm/association:Association": _owner("targets"),
    # Folded into whatever uses them.
    "aws:iam/role:Role": CONSUMER,
    "aws:iam/instanceProfile:InstanceProfile": CONSUMER,
    "aws:ec2/securityGroup:SecurityGroup": CONSUMER,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": CONSUMER,
    "aws:ec2/routeTable:RouteTable": CONSUMER,
    "aws:cloudwatch/logGroup:LogGroup": CONSUMER,
    "aws:ssm/parameter:Parameter": CONSUMER,
    "aws:rds/subnetGroup:SubnetGroup": CONSUMER,
    "aws:rds/parameterGroup:ParameterGroup": CONSUMER,
    "aws:cloudfront/originAccessControl:OriginAccessControl": CONSUMER,
    "aws:cloudfront/cachePolicy:CachePolicy": CONSUMER,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": CONSUMER,
    "aws:servicediscovery/httpNamespace:HttpNamespace": CONSUMER,
}
GENERIC = TypeRule("node")


def _endpoint_label(name: str, inputs: Mapping[str, Any]) -> str:
    service = str(inputs.get("serviceName", ""))
    parts = service.split(".")
    suffix = ".".join(parts[3:]) if len(parts) > 3 and service.startswith("com.amazonaws.") else service
    return f"{suffix or name}\n{str(inputs.get('vpcEndpointType', '')).lower()} endpoint"


# Labels for some types, from the short logical name and the inputs; other types show the short name.
LABELS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "aws:ec2/instance:Instance": lambda n, i: f"{n}\n{i.get('instanceType', '')}",
    "aws:lambda/function:Function": lambda n, i: f"{n}\n{i.get('memorySize', '?')} MB, {i.get('timeout', '?')} s",
    "aws:rds/instance:Instance": lambda n, i: (
        f"{n}\n{i.get('engine', '')} {i.get('engineVersion', '')}\n{i.get('instanceClass', '')}"
        + (" multi-AZ" if i.get("multiAz") else "")
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint_label,
    "aws:s3/vectorsIndex:VectorsIndex": lambda n, i: f"{n}\n{i.get('dimension', '?')}-d {i.get('distanceMetric', '')}",
    "aws:s3/vectorsVectorBucket:VectorsVectorBucket": lambda n, _: f"{n}\n(S3 Vectors)",
    "aws:servicediscovery/service:Service": lambda n, i: f"{n}\nCloud Map service {i.get('name', '')}",
    "aws:sqs/queue:Queue": lambda n, _: f"{n}\nSQS queue",
}


@dataclass(frozen=True)
class Node:
    """One drawn resource and everything folded into it."""

    id: str
    """Stable id, ``<layer>.<Type>.<logical name>``; also the Graphviz node id."""
    label: str
    """The text under the icon: the logical name without the common prefix, plus details for some types."""
    icon: str
    """The diagrams icon, ``<module>.<Class>`` under ``diagrams`` (``aws.compute.EC2``)."""
    type: str
    """Type token of the resource the node is drawn for."""
    layer: str
    """The layer whose export holds that resource."""
    urn: str
    """URN of the resource the node is drawn for."""
    urns: tuple[str, ...]
    """Every URN the node stands for: its own and those folded into it, sorted."""
    cluster: str | None
    """Id of the innermost cluster the node sits in; None outside the VPC."""


@dataclass(frozen=True)
class Cluster:
    """A box in the drawing: the VPC, a subnet group (one route table) or a subnet."""

    id: str
    """Stable id; clusters nest through :attr:`parent`."""
    label: str
    kind: Literal["vpc", "subnet-group", "subnet"]
    """What the box is."""
    parent: str | None
    """Id of the enclosing cluster; None for the VPC."""
    urns: tuple[str, ...]
    """URNs folded into the box itself (the VPC, a subnet and its route table association), sorted."""


@dataclass(frozen=True)
class Edge:
    """A directed edge between two nodes, with every reference that gives it."""

    src: str
    """Node id the edge starts from."""
    dst: str
    """Node id the edge points to."""
    reasons: tuple[str, ...]
    """Provenance, sorted: ``<logical name>.<property>`` of each reference, then ``[tcp 5432]`` for a
    security-group rule and ``(reversed)`` when the reference reads backwards."""
    kind: Literal["flow", "access"]
    """``access`` when every reference is a permission (IAM or resource policy, CORS), else ``flow``."""


@dataclass(frozen=True)
class ArchitectureGraph:
    """One environment's architecture: nodes, clusters and edges, all in a deterministic order."""

    stack: str
    """The stack (environment) name read from the exports."""
    nodes: tuple[Node, ...]
    """Drawn resources, sorted by id."""
    clusters: tuple[Cluster, ...]
    """Boxes, parents before children."""
    edges: tuple[Edge, ...]
    """Edges, sorted by (src, dst)."""

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        return next(n for n in self.nodes if n.id == node_id)

    def nodes_of(self, urn: str) -> tuple[Node, ...]:
        """Every node that stands for ``urn`` (its own node, or the nodes it is folded into)."""
        return tuple(n for n in self.nodes if urn in n.urns)

    def clusters_of(self, urn: str) -> tuple[Cluster, ...]:
        """Every cluster that stands for ``urn``."""
        return tuple(c for c in self.clusters if urn in c.urns)

    def edge(self, src: str, dst: str) -> Edge | None:
        """The edge from ``src`` to ``dst``, if any."""
        return next((e for e in self.edges if e.src == src and e.dst == dst), None)

    def cluster_path(self, cluster_id: str | None) -> tuple[str, ...]:
        """Ids of ``cluster_id`` and its ancestors, innermost first."""
        by_id = {c.id: c for c in self.clusters}
        path: list[str] = []
        while cluster_id is not None:
            path.append(cluster_id)
            cluster_id = by_id[cluster_id].parent
        return tuple(path)


@dataclass(frozen=True)
class _Reference:
    """Resource ``src`` refers to resource ``dst`` through input ``prop``."""

    src: str
    """URN of the referring resource."""
    prop: str
    """The top-level input holding the reference (``dependsOn`` for an explicit dependency)."""
    dst: str
    """URN of the resource referred to."""


@dataclass
class _Index:
    """Identifiers of one export's resources, for matching cross-layer values."""

    by_value: dict[str, set[str]] = field(default_factory=dict)
    """Identifier string -> URNs of the resources it identifies."""

    def add(self, value: Any, urn: str) -> None:
        """Record ``value`` as an identifier of ``urn`` if it is a string long enough to be one."""
        if isinstance(value, str) and len(value) >= MIN_IDENTIFIER_LENGTH and UNKNOWN not in value:
            self.by_value.setdefault(value, set()).add(urn)

    def resolve(self, value: str) -> set[str]:
        """URNs ``value`` refers to: an exact identifier, else the longest identifier prefix before a separator."""
        if len(value) < MIN_IDENTIFIER_LENGTH or UNKNOWN in value:
            return set()
        if value in self.by_value:
            return self.by_value[value]
        cuts = sorted((i for i, ch in enumerate(value) if ch in PREFIX_SEPARATORS), reverse=True)
        for cut in cuts:
            if value[:cut] in self.by_value:
                return self.by_value[value[:cut]]
        return set()


def _strings(value: Any) -> Iterator[str]:
    """Every string inside ``value``; JSON documents held in strings (policies) are opened."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[" and text[-1:] in "}]":
            try:
                yield from _strings(json.loads(text))
                return
            except ValueError:
                pass
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _root(export: Mapping[str, Any]) -> tuple[str, str]:
    """(stack, project) of an export, read from its URNs."""
    first = next((r for r in resources(export) if r.urn.startswith("urn:pulumi:") and "::" in r.urn), None)
    return (first.stack, first.project) if first else ("", "")


def _rule(resource: Resource) -> TypeRule:
    """How a resource's type is drawn."""
    return TYPES.get(resource.type, GENERIC)


class _Builder:
    """Builds the graph; one instance per call of :func:`architecture_graph`."""

    def __init__(self, exports: Mapping[str, Mapping[str, Any]]) -> None:
        self.resources: dict[str, Resource] = {}
        self.stack_refs: dict[str, str | None] = {}  # StackReference URN -> layer key of the export it reads
        self.indexes: dict[str, _Index] = {layer: _Index() for layer in exports}
        projects = {_root(export): layer for layer, export in exports.items()}
        for resource in walk(exports):
            if resource.type == STACK_REFERENCE_TYPE:
                org_project_stack = str(resource.inputs.get("name", resource.id)).split("/")
                key = (org_project_stack[-1], org_project_stack[-2]) if len(org_project_stack) >= 2 else None
                self.stack_refs[resource.urn] = projects.get(key) if key else None
            if not resource.is_managed:
                continue
            self.resources[resource.urn] = resource
            if _rule(resource).role != "owner":  # an owner-folded resource shares its owner's identifiers
                index = self.indexes[resource.layer]
                index.add(resource.id, resource.urn)
                for key_name in IDENTIFIER_KEYS:
                    index.add(resource.outputs.get(key_name), resource.urn)
        self.references = self._references(exports)
        self.refs_from: dict[str, list[_Reference]] = {}
        self.refs_to: dict[str, list[_Reference]] = {}
        for ref in self.references:
            self.refs_from.setdefault(ref.src, []).append(ref)
            self.refs_to.setdefault(ref.dst, []).append(ref)
        self._holders: dict[str, frozenset[str]] = {}
        self._resolving: set[str] = set()
        self._cycles = 0

    # --- references -------------------------------------------------------------------------------------
    def _match(self, src: str, prop: str, value: Any, layers: list[str]) -> Iterator[_Reference]:
        for text in _strings(value):
            for layer in layers:
                for dst in sorted(self.indexes[layer].resolve(text)):
                    if dst != src:
                        yield _Reference(src, prop, dst)

    def _references(self, exports: Mapping[str, Mapping[str, Any]]) -> list[_Reference]:
        found: set[_Reference] = set()
        for resource in self.resources.values():
            others = sorted(other for other in exports if other != resource.layer)
            src, inputs = resource.urn, resource.inputs
            attributed: set[str] = set()
            if resource.property_dependencies is None:
                for prop, value in inputs.items():
                    if prop not in IGNORED_PROPERTIES:
                        found.update(self._match(src, prop, value, others))
            else:
                for prop, deps in resource.property_dependencies.items():
                    if prop in IGNORED_PROPERTIES:
                        continue
                    for dep in deps:
                        attributed.add(dep)
                        if dep in self.stack_refs:
                            upstream = self.stack_refs[dep]
                            found.update(self._match(src, prop, inputs.get(prop), [upstream] if upstream else others))
                        elif dep in self.resources and dep != src:
                            found.add(_Reference(src, prop, dep))
            for dep in resource.dependencies:
                if dep not in attributed and dep in self.resources and dep != src:
                    found.add(_Reference(src, "dependsOn", dep))
        return sorted(found, key=lambda r: (r.src, r.prop, r.dst))

    # --- folding ----------------------------------------------------------------------------------------
    def _folds_into(self, ref: _Reference) -> bool:
        """Whether ``ref`` is the owner property of an owner-folded resource (the fold itself, not a use)."""
        rule = _rule(self.resources[ref.src])
        return rule.role == "owner" and ref.prop == rule.owner

    def holders(self, urn: str) -> frozenset[str]:
        """Ids of the nodes and clusters ``urn`` is drawn as or folded into."""
        if urn in self._holders:
            return self._holders[urn]
        if urn in self._resolving:  # a cycle of folds: this path contributes nothing
            self._cycles += 1
            return frozenset()
        self._resolving.add(urn)
        cycles_before = self._cycles
        resource = self.resources[urn]
        role = _rule(resource).role
        result: frozenset[str] = frozenset()
        if role in ("node", "vpc", "subnet"):
            result = frozenset({self.node_id(resource)})
        elif role == "owner":
            owners = [r.dst for r in self.refs_from.get(urn, []) if r.prop == _rule(resource).owner]
            result = self._union(owners) or self._consumer_holders(urn)
        else:
            result = self._consumer_holders(urn)
        if not result:  # nothing to fold into: draw it
            result = frozenset({self.node_id(resource)})
        self._resolving.discard(urn)
        if self._cycles == cycles_before or not self._resolving:  # a result cut short by a cycle is not kept
            self._holders[urn] = result
        return result

    def _consumer_holders(self, urn: str) -> frozenset[str]:
        users = [
            r.src
            for r in self.refs_to.get(urn, [])
            if not self._folds_into(r) and (self.resources[r.src].type, r.prop) not in PEER_PROPERTIES
        ]
        return self._union(users) or self._union([r.dst for r in self.refs_from.get(urn, [])])

    def _union(self, urns: list[str]) -> frozenset[str]:
        out: set[str] = set()
        for other in urns:
            out |= self.holders(other)
        return frozenset(out)

    def node_id(self, resource: Resource) -> str:
        """The stable id of the node or cluster drawn for ``resource``."""
        short_type = resource.type.rsplit(":", 1)[-1]
        return f"{resource.layer}.{short_type}.{resource.name}"


def _ports(inputs: Mapping[str, Any]) -> str:
    """``tcp 5432`` for a security-group rule's inputs; "" for anything else."""
    low, high, protocol = inputs.get("fromPort"), inputs.get("toPort"), inputs.get("ipProtocol")
    if low is None or protocol is None:
        return ""
    return f"{protocol} {low}" + (f"-{high}" if high not in (None, low) else "")


def _common_prefix(names: list[str]) -> str:
    """The longest ``-``-terminated prefix every name shares (``student-helper-dev-``); "" for under two names."""
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    length = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    prefix = first[:length]
    return prefix[: prefix.rfind("-") + 1]


def architecture_graph(exports: Mapping[str, Mapping[str, Any]]) -> ArchitectureGraph:
    """The architecture of one environment from its layer exports, keyed by layer (``network``, ``data``, ...)."""
    builder = _Builder(exports)
    resources = builder.resources
    stack = next((s for s, _ in (_root(e) for e in exports.values()) if s), "")
    prefix = _common_prefix(sorted(r.name for r in resources.values()))

    def short(name: str) -> str:
        return name[len(prefix) :] if name.startswith(prefix) and len(name) > len(prefix) else name

    holders = {urn: builder.holders(urn) for urn in resources}
    drawn: dict[str, Resource] = {}
    for urn, held_by in holders.items():
        own = builder.node_id(resources[urn])
        if own in held_by:
            drawn[own] = resources[urn]
    folded: dict[str, set[str]] = {holder: set() for holder in drawn}
    for urn, held_by in holders.items():
        for holder in held_by:
            folded[holder].add(urn)

    # --- clusters: VPC > one group per route table > one box per subnet ---------------------------------
    clusters: dict[str, Cluster] = {}
    subnets = {i: r for i, r in drawn.items() if _rule(r).role == "subnet"}
    vpcs = {i: r for i, r in drawn.items() if _rule(r).role == "vpc"}
    for vpc_id, vpc in sorted(vpcs.items()):
        cidr = vpc.inputs.get("cidrBlock") or vpc.outputs.get("cidrBlock", "")
        clusters[vpc_id] = Cluster(vpc_id, f"VPC {vpc.name} {cidr}".strip(), "vpc", None, ())
    subnet_group: dict[str, str | None] = {}
    for subnet_id, subnet in sorted(subnets.items()):
        vpc_ids = sorted(h for ref in builder.refs_from.get(subnet.urn, []) for h in holders[ref.dst] if h in vpcs)
        tables = sorted(
            ref.dst
            for assoc in builder.refs_to.get(subnet.urn, [])
            if resources[assoc.src].type == "aws:ec2/routeTableAssociation:RouteTableAssociation"
            for ref in builder.refs_from.get(assoc.src, [])
            if resources[ref.dst].type == "aws:ec2/routeTable:RouteTable"
        )
        parent = vpc_ids[0] if vpc_ids else None
        if tables:
            table = resources[tables[0]]
            group_id = f"{parent or 'vpc'}/{builder.node_id(table)}"
            group_label = f"{short(table.name).removesuffix('-rt')} subnets (route table {short(table.name)})"
            clusters.setdefault(group_id, Cluster(group_id, group_label, "subnet-group", parent, ()))
            parent = group_id
        subnet_group[subnet_id] = parent
    for subnet_id, subnet in sorted(subnets.items()):
        cidr = subnet.inputs.get("cidrBlock", "")
        zone = subnet.inputs.get("availabilityZone") or subnet.outputs.get("availabilityZone", "")
        label = f"{short(subnet.name)} {cidr} {zone}".strip()
        clusters[subnet_id] = Cluster(subnet_id, label, "subnet", subnet_group[subnet_id], ())
    clusters = {
        cid: Cluster(c.id, c.label, c.kind, c.parent, tuple(sorted(folded.get(cid, ())))) for cid, c in clusters.items()
    }

    def ancestry(cluster_id: str | None) -> list[str]:
        path: list[str] = []
        while cluster_id is not None:
            path.append(cluster_id)
            cluster_id = clusters[cluster_id].parent
        return path

    def placement(urns: set[str]) -> str | None:
        boxes = sorted(
            {h for urn in urns for ref in builder.refs_from.get(urn, []) for h in holders[ref.dst] if h in clusters}
        )
        in_subnets = [b for b in boxes if clusters[b].kind == "subnet"] or boxes
        if not in_subnets:
            return None
        common = ancestry(in_subnets[0])
        for box in in_subnets[1:]:
            path = set(ancestry(box))
            common = [c for c in common if c in path]
        return common[0] if common else None

    # --- nodes ------------------------------------------------------------------------------------------
    nodes: list[Node] = []
    for node_id, resource in sorted(drawn.items()):
        if node_id in clusters:
            continue
        label = LABELS.get(resource.type, lambda n, _: n)(short(resource.name), resource.inputs).strip()
        nodes.append(
            Node(
                id=node_id,
                label=label,
                icon=_rule(resource).icon,
                type=resource.type,
                layer=resource.layer,
                urn=resource.urn,
                urns=tuple(sorted(folded[node_id])),
                cluster=placement(folded[node_id]),
            )
        )
    node_ids = {n.id for n in nodes}

    # --- edges ------------------------------------------------------------------------------------------
    reasons: dict[tuple[str, str], set[tuple[str, bool]]] = {}
    for ref in builder.references:
        if builder._folds_into(ref):
            continue
        src_nodes = holders[ref.src] & node_ids
        dst_nodes = holders[ref.dst] & node_ids
        if not src_nodes or not dst_nodes or src_nodes <= dst_nodes:
            continue  # placement in a cluster, or a reference inside the node(s) that hold both ends
        source = resources[ref.src]
        reversed_ = (source.type, ref.prop) in REVERSED
        ports = _ports(source.inputs)
        reason = f"{source.name}.{ref.prop}" + (f" [{ports}]" if ports else "") + (" (reversed)" if reversed_ else "")
        grant = ref.prop in GRANT_PROPERTIES
        for a in sorted(src_nodes):
            for b in sorted(dst_nodes):
                if a != b:
                    pair = (b, a) if reversed_ else (a, b)
                    reasons.setdefault(pair, set()).add((reason, grant))
    edges = tuple(
        Edge(
            src=src,
            dst=dst,
            reasons=tuple(sorted(r for r, _ in found)),
            kind="access" if all(grant for _, grant in found) else "flow",
        )
        for (src, dst), found in sorted(reasons.items())
    )
    ordered_clusters = sorted(clusters.values(), key=lambda c: (len(ancestry(c.id)), c.id))
    return ArchitectureGraph(stack=stack, nodes=tuple(nodes), clusters=tuple(ordered_clusters), edges=edges)
