"""Mutation tests: inject each kind of violation into a copy of every project export; the matching policy must catch it.

Where the export already has a resource of the right type, that resource is broken in place (the realistic
regression); otherwise a resource is injected with the export's own stack, project, parent and provider.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from policytest_helpers import UNKNOWN

from policies.iam import wildcard_arn_problem
from tests.conftest import REPO_ROOT
from tools.policy_analyze import Violation, analyze, load_config
from tools.stack_export import read as load_export

Export = dict[str, Any]
Mutation = Callable[[Export], str]  # mutates the export in place and returns the URN that must be flagged


def _resources(export: Export) -> list[dict[str, Any]]:
    return export["deployment"]["resources"]


def _first(export: Export, type_: str) -> dict[str, Any] | None:
    return next((r for r in _resources(export) if r["type"] == type_), None)


def _inject(
    export: Export, type_: str, name: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None
) -> str:
    resources = _resources(export)
    stack = next(r for r in resources if r["type"] == "pulumi:pulumi:Stack")
    provider = next((r for r in resources if r["type"] == "pulumi:providers:aws"), None)
    prefix = stack["urn"].split("::pulumi:pulumi:Stack::")[0]
    urn = f"{prefix}::{type_}::{name}"
    state: dict[str, Any] = {
        "urn": urn,
        "custom": True,
        "id": f"{name}-id",
        "type": type_,
        "inputs": inputs,
        "outputs": outputs if outputs is not None else dict(inputs),
        "parent": stack["urn"],
    }
    if provider is not None:
        state["provider"] = f"{provider['urn']}::{provider.get('id', '')}"
    resources.append(state)
    return urn


def nat_gateway(export: Export) -> str:
    """A NAT gateway appears."""
    return _inject(export, "aws:ec2/natGateway:NatGateway", "mutant-nat", {"subnetId": "subnet-1"})


def public_subnet(export: Export) -> str:
    """A subnet starts mapping public IPs."""
    subnet = _first(export, "aws:ec2/subnet:Subnet")
    if subnet is None:
        return _inject(export, "aws:ec2/subnet:Subnet", "mutant-subnet", {"mapPublicIpOnLaunch": True})
    subnet["inputs"]["mapPublicIpOnLaunch"] = True
    return str(subnet["urn"])


def imdsv1(export: Export) -> str:
    """An instance or launch template allows IMDSv1."""
    for type_ in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"):
        found = _first(export, type_)
        if found is not None:
            found["inputs"]["metadataOptions"] = {"httpTokens": "optional"}
            return str(found["urn"])
    return _inject(export, "aws:ec2/instance:Instance", "mutant-host", {"metadataOptions": {"httpTokens": "optional"}})


def unencrypted(export: Export) -> str:
    """A database or queue stops encrypting, or an unencrypted volume appears."""
    db = _first(export, "aws:rds/instance:Instance")
    if db is not None:
        db["inputs"]["storageEncrypted"] = False
        return str(db["urn"])
    queue = _first(export, "aws:sqs/queue:Queue")
    if queue is not None:
        queue["inputs"]["sqsManagedSseEnabled"] = False
        queue["inputs"].pop("kmsMasterKeyId", None)
        return str(queue["urn"])
    return _inject(export, "aws:ebs/volume:Volume", "mutant-volume", {"encrypted": False})


def encryption_left_to_the_provider(export: Export) -> str:
    """A data store stops declaring encryption, shaped as a real preview sends it: the input gone, the computed output
    still unknown (judged on outputs, this was only an advisory note)."""
    for type_, key in (
        ("aws:rds/instance:Instance", "storageEncrypted"),
        ("aws:ec2/instance:Instance", "rootBlockDevice"),
    ):
        found = _first(export, type_)
        if found is not None:
            found["inputs"].pop(key, None)
            found["outputs"][key] = UNKNOWN
            return str(found["urn"])
    inputs = {"availabilityZone": "ap-southeast-2a", "size": 8}
    return _inject(export, "aws:ebs/volume:Volume", "mutant-volume", inputs, {**inputs, "encrypted": UNKNOWN})


def unencrypted_file_system(export: Export) -> str:
    """An unencrypted EFS file system appears."""
    return _inject(export, "aws:efs/fileSystem:FileSystem", "mutant-efs", {"encrypted": False})


def unencrypted_cache(export: Export) -> str:
    """A Redis OSS replication group without at-rest encryption appears."""
    return _inject(
        export,
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "mutant-cache",
        {"engine": "redis", "description": "c"},
    )


def nat_instance(export: Export) -> str:
    """A route table sends its default route to a network interface: a NAT instance."""
    table = _first(export, "aws:ec2/routeTable:RouteTable")
    route = {"cidrBlock": "0.0.0.0/0", "networkInterfaceId": "eni-0nat"}
    if table is None:
        return _inject(export, "aws:ec2/routeTable:RouteTable", "mutant-rt", {"vpcId": "vpc-1", "routes": [route]})
    table["inputs"]["routes"] = [route]
    return str(table["urn"])


def public_bucket_policy(export: Export) -> str:
    """A bucket policy starts granting anonymous reads."""
    policy = _first(export, "aws:s3/bucketPolicy:BucketPolicy")
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    if policy is None:
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        return _inject(export, "aws:s3/bucketPolicy:BucketPolicy", "mutant-policy", {"bucket": "b", "policy": document})
    document = json.loads(policy["inputs"]["policy"])
    document["Statement"].append(statement)
    policy["inputs"]["policy"] = json.dumps(document)
    return str(policy["urn"])


def internet_facing_load_balancer(export: Export) -> str:
    """An application load balancer appears without internal=true."""
    return _inject(export, "aws:lb/loadBalancer:LoadBalancer", "mutant-alb", {"subnets": ["subnet-1"]})


def elastic_ip(export: Export) -> str:
    """An Elastic IP appears."""
    return _inject(export, "aws:ec2/eip:Eip", "mutant-eip", {"domain": "vpc"})


def launch_configuration_imdsv1(export: Export) -> str:
    """An autoscaling launch configuration allows IMDSv1."""
    inputs = {"imageId": "ami-1", "instanceType": "t3.micro", "metadataOptions": {"httpTokens": "optional"}}
    return _inject(export, "aws:ec2/launchConfiguration:LaunchConfiguration", "mutant-lc", inputs)


def _role_policy(export: Export) -> dict[str, Any] | None:
    return _first(export, "aws:iam/rolePolicy:RolePolicy")


def misspelt_action(export: Export) -> str:
    """A role policy names an action AWS does not know."""
    role_policy = _role_policy(export)
    if role_policy is None:
        statement = {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"}
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        return _inject(export, "aws:iam/rolePolicy:RolePolicy", "mutant-typo", {"role": "r", "policy": document})
    document = json.loads(role_policy["inputs"]["policy"])
    document["Statement"][0]["Action"] = "s3:GetObjekt"
    role_policy["inputs"]["policy"] = json.dumps(document)
    return str(role_policy["urn"])


def scopable_action_on_star(export: Export) -> str:
    """A role policy grants an action that supports resource ARNs on Resource "*"."""
    statement = {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "s3:GetObject"], "Resource": "*"}
    role_policy = _role_policy(export)
    if role_policy is None:
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        return _inject(export, "aws:iam/rolePolicy:RolePolicy", "mutant-star", {"role": "r", "policy": document})
    document = json.loads(role_policy["inputs"]["policy"])
    document["Statement"].append(statement)
    role_policy["inputs"]["policy"] = json.dumps(document)
    return str(role_policy["urn"])


def type_level_wildcard(export: Export) -> str:
    """A role policy widens a grant from one named resource to every resource of its type (``log-group:*``,
    ``secret:*``), keeping the ARN's service, region and account."""
    role_policy = _role_policy(export)
    if role_policy is None:
        statement = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/*"}
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        return _inject(export, "aws:iam/rolePolicy:RolePolicy", "mutant-pass", {"role": "r", "policy": document})
    document = json.loads(role_policy["inputs"]["policy"])
    # An S3 bucket's name is its ARN's whole resource part, so "<bucket>/*" would stay a named parent's objects.
    statement, arn = next(
        (s, r)
        for s in document["Statement"]
        if s["Effect"] == "Allow"
        for r in ([s["Resource"]] if isinstance(s.get("Resource"), str) else s.get("Resource", []))
        if r.startswith("arn:") and ":s3:::" not in r
    )
    *fields, name = arn.split(":", 5)
    # The resource type and its separator ("log-group:", "secret:", "parameter/"), or nothing (an SQS queue's name).
    kind = re.match(r"^[^/:]*[/:]", name)
    statement["Resource"] = ":".join([*fields, (kind.group(0) if kind else "") + "*"])
    role_policy["inputs"]["policy"] = json.dumps(document)
    return str(role_policy["urn"])


def github_trust_without_subject(export: Export) -> str:
    """A role trusts GitHub Actions' OIDC provider for any repository."""
    trust = {
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
    }
    document = json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    role = _first(export, "aws:iam/role:Role")
    if role is None:
        return _inject(export, "aws:iam/role:Role", "mutant-deploy", {"assumeRolePolicy": document})
    role["inputs"]["assumeRolePolicy"] = document
    return str(role["urn"])


def admin_policy(export: Export) -> str:
    """A role policy grants everything, or an admin policy is attached."""
    role_policy = _first(export, "aws:iam/rolePolicy:RolePolicy")
    if role_policy is not None:
        role_policy["inputs"]["policy"] = json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        )
        return str(role_policy["urn"])
    return _inject(
        export,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "mutant-admin",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )


def world_ingress(export: Export) -> str:
    """A security group opens to the world."""
    rule = _first(export, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    if rule is not None:
        for key in ("referencedSecurityGroupId", "prefixListId", "cidrIpv6"):
            rule["inputs"].pop(key, None)
        rule["inputs"]["cidrIpv4"] = "0.0.0.0/0"
        return str(rule["urn"])
    return _inject(
        export,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "mutant-ingress",
        {"securityGroupId": "sg-1", "cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"},
    )


def endless_logs(export: Export) -> str:
    """A log group keeps logs forever."""
    group = _first(export, "aws:cloudwatch/logGroup:LogGroup")
    if group is None:
        return _inject(export, "aws:cloudwatch/logGroup:LogGroup", "mutant-logs", {})
    group["inputs"].pop("retentionInDays", None)
    return str(group["urn"])


MUTATIONS: list[tuple[str, Mutation]] = [
    ("no-nat-gateway", nat_gateway),
    ("private-subnets-only", public_subnet),
    ("imdsv2-required", imdsv1),
    ("no-nat-gateway", nat_instance),
    ("private-subnets-only", public_bucket_policy),
    ("private-subnets-only", internet_facing_load_balancer),
    ("private-subnets-only", elastic_ip),
    ("imdsv2-required", launch_configuration_imdsv1),
    ("encryption-at-rest", unencrypted),
    ("encryption-at-rest", encryption_left_to_the_provider),
    ("encryption-at-rest", unencrypted_file_system),
    ("encryption-at-rest", unencrypted_cache),
    ("iam-least-privilege", admin_policy),
    ("iam-least-privilege", misspelt_action),
    ("iam-least-privilege", scopable_action_on_star),
    ("iam-least-privilege", github_trust_without_subject),
    ("iam-least-privilege", type_level_wildcard),
    ("no-world-ingress", world_ingress),
    ("log-retention", endless_logs),
]


def test_project_exports_have_no_mandatory_violations(project_exports: dict[tuple[str, str], Path]) -> None:
    assert project_exports
    for key, path in project_exports.items():
        mandatory = [v for v in analyze(load_export(path)) if v.enforcement_level == "mandatory"]
        assert mandatory == [], f"{key}: {mandatory}"


@pytest.mark.parametrize(("policy", "mutation"), MUTATIONS, ids=[m.__name__ for _, m in MUTATIONS])
def test_injected_violation_is_caught(
    project_exports: dict[tuple[str, str], Path], policy: str, mutation: Mutation
) -> None:
    for key, path in project_exports.items():
        original = load_export(path)
        mutant = copy.deepcopy(original)
        target = mutation(mutant)
        before = [v for v in analyze(original) if v.policy == policy and v.urn == target]
        after = [v for v in analyze(mutant) if v.policy == policy and v.urn == target]
        assert before == [], f"{key}: {target} was already flagged: {before}"
        assert after, f"{key}: {policy} missed the injected violation on {target}"
        assert all(v.message and not v.message.startswith("can't run policy") for v in after), after


def test_the_project_grants_wildcards_only_under_named_parents(project_exports: dict[tuple[str, str], Path]) -> None:
    patterns: set[str] = set()
    for path in project_exports.values():
        for resource in _resources(load_export(path)):
            policy = resource.get("inputs", {}).get("policy")
            if resource["type"] != "aws:iam/rolePolicy:RolePolicy" or not isinstance(policy, str):
                continue
            for statement in json.loads(policy)["Statement"]:
                resources = statement.get("Resource", [])
                patterns |= {r for r in ([resources] if isinstance(resources, str) else resources) if "*" in r[4:]}
    assert {p.rsplit(":", 1)[-1] if ":log-stream:" in p else p[-2:] for p in patterns} == {"*", "/*"}, patterns
    assert [(p, wildcard_arn_problem(p)) for p in sorted(patterns) if wildcard_arn_problem(p)] == []


def _with_project_config(export: Export) -> list[Violation]:
    return analyze(export, load_config(REPO_ROOT / "policies" / "config.json"))


def test_buckets_without_an_encryption_configuration_still_pass(
    project_exports: dict[tuple[str, str], Path],
) -> None:
    # S3 encrypts every object with SSE-S3 whatever the bucket declares (docs/policies.md), so dropping the project's
    # encryption configurations is not a violation of encryption-at-rest.
    sse = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    data = {key: path for key, path in project_exports.items() if key[1] == "data"}
    assert data
    for key, path in data.items():
        export = load_export(path)
        before = len(_resources(export))
        export["deployment"]["resources"] = [r for r in _resources(export) if r["type"] != sse]
        assert len(_resources(export)) < before, f"{key}: the data layer has no encryption configuration to drop"
        assert [v for v in analyze(export) if v.policy == "encryption-at-rest"] == [], key


def test_an_exemption_waives_only_the_check_it_names(project_exports: dict[tuple[str, str], Path]) -> None:
    # policies/config.json exempts the frontend buckets from s3-tls-only's deny-insecure-transport. Dropping a
    # frontend bucket's public access block must still be reported: the exemption does not reach that check.
    block = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    for key, path in ((k, p) for k, p in project_exports.items() if k[1] == "data"):
        export = load_export(path)
        assert [v for v in _with_project_config(export) if v.policy.startswith("s3-")] == [], key
        frontend = next(r for r in _resources(export) if r["type"] == "aws:s3/bucket:Bucket" and "frontend" in r["urn"])
        export["deployment"]["resources"] = [
            r for r in _resources(export) if not (r["type"] == block and "frontend" in r["urn"])
        ]
        found = [(v.policy, v.check, v.urn) for v in _with_project_config(export) if v.policy.startswith("s3-")]
        assert found == [("s3-public-access-block", "public-access-block", frontend["urn"])], key


def _frontend_policy(export: Export) -> dict[str, Any]:
    return next(r for r in _resources(export) if r["type"] == "aws:s3/bucketPolicy:BucketPolicy")


def test_the_frontend_tls_exemption_is_verified_in_the_edge_layer(project_exports: dict[tuple[str, str], Path]) -> None:
    # policies/config.json waives deny-insecure-transport for each frontend bucket in the data layer, because the edge
    # layer owns its only policy. There the bucket is not a resource, so the pack judges the policy's own document.
    config = json.loads((REPO_ROOT / "policies" / "config.json").read_text())
    exempt = {e["resource"] for e in config["s3-tls-only"]["exemptions"] if e["check"] == "deny-insecure-transport"}
    envs = sorted({env for env, _ in project_exports})
    assert len(exempt) == len(envs), exempt
    for env in envs:
        data, edge = load_export(project_exports[(env, "data")]), load_export(project_exports[(env, "edge")])
        exempted = [r for r in _resources(data) if r["urn"].rsplit("::", 1)[-1] in exempt and r.get("custom")]
        assert [r["type"] for r in exempted] == ["aws:s3/bucket:Bucket"], env
        policy = _frontend_policy(edge)
        assert policy["inputs"]["bucket"] == exempted[0]["outputs"]["bucket"], env
        assert not [r for r in _resources(edge) if r["type"] == "aws:s3/bucket:Bucket"], env
        assert [v for v in _with_project_config(edge) if v.policy == "s3-tls-only"] == [], env

        document = json.loads(policy["inputs"]["policy"])
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "DenyInsecureTransport"]
        assert document["Statement"], f"{env}: the edge bucket policy has no DenyInsecureTransport statement to drop"
        policy["inputs"]["policy"] = policy["outputs"]["policy"] = json.dumps(document)
        name = policy["inputs"]["bucket"]
        assert [(v.check, v.urn, v.message) for v in _with_project_config(edge) if v.policy == "s3-tls-only"] == [
            (
                "deny-insecure-transport",
                policy["urn"],
                f"[deny-insecure-transport] bucket policy '{policy['urn'].rsplit('::', 1)[-1]}' is for bucket "
                f'"{name}", which is not in this stack, and has no Deny of s3:* to everyone when aws:SecureTransport '
                f'is false on both the bucket and its objects ("{name}" and "{name}/*"), so plain-HTTP requests are '
                "allowed.",
            )
        ], env
