"""Mutation tests: inject each kind of violation into a copy of every project export; the matching policy must catch it.

Where the export already has a resource of the right type, that resource is broken in place (the realistic
regression); otherwise a resource is injected with the export's own stack, project, parent and provider.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.policy_analyze import analyze, load_export

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
        db["outputs"]["storageEncrypted"] = False
        return str(db["urn"])
    queue = _first(export, "aws:sqs/queue:Queue")
    if queue is not None:
        queue["outputs"]["sqsManagedSseEnabled"] = False
        queue["outputs"].pop("kmsMasterKeyId", None)
        return str(queue["urn"])
    return _inject(export, "aws:ebs/volume:Volume", "mutant-volume", {"encrypted": False})


def bucket_without_sse(export: Export) -> str:
    """A bucket loses (or never had) its encryption configuration."""
    sse = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    bucket = _first(export, "aws:s3/bucket:Bucket")
    if bucket is not None:
        export["deployment"]["resources"] = [r for r in _resources(export) if r["type"] != sse]
        return str(bucket["urn"])
    return _inject(export, "aws:s3/bucket:Bucket", "mutant-bucket", {}, {"id": "mutant-1", "bucket": "mutant-1"})


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
    ("encryption-at-rest", unencrypted),
    ("encryption-at-rest", bucket_without_sse),
    ("iam-least-privilege", admin_policy),
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
