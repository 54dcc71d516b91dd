"""Every IAM policy document in an export: identity, trust and resource policies, wherever a property holds one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tools.stack_export import Resource, contains_unknown


@dataclass(frozen=True)
class PolicyDocument:
    """One policy document: the resource, the property path it sits at, and its JSON text."""

    urn: str
    """The Pulumi URN of the resource whose inputs hold the policy."""
    path: str
    """The property path of the policy within the resource's inputs (``policy``, ``inlinePolicies[0].policy``)."""
    text: str
    """The policy as JSON text (keys sorted), with any implicit Resource spelled out for parliament."""
    resource_policy: bool = False
    """Has a Principal: a trust or resource policy, not an identity policy."""


def _as_policy(value: Any) -> dict[str, Any] | None:
    """The value as a policy document, if it is one (a dict or JSON text with a ``Statement``)."""
    if isinstance(value, str) and value.lstrip().startswith("{") and "Statement" in value:
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if isinstance(value, dict) and "Statement" in value:
        return value
    return None


def _implied_resource(res: Resource, statement: dict[str, Any]) -> str | None:
    """The resource a policy attached to ``res`` applies to when its statement names none (parliament needs it)."""
    if str(statement.get("Action", "")).startswith("sts:"):  # a trust policy: the role itself
        arn = res.outputs.get("arn")
        return arn if isinstance(arn, str) and arn.startswith("arn:") else f"arn:aws:iam::000000000000:role/{res.name}"
    if res.type == "aws:ecr/repositoryPolicy:RepositoryPolicy":  # a repository policy: the repository
        registry = res.outputs.get("registryId") or "000000000000"
        return f"arn:aws:ecr:{res.inputs.get('region') or '*'}:{registry}:repository/{res.inputs.get('repository')}"
    return None


def _with_implicit_resource(policy: dict[str, Any], res: Resource) -> dict[str, Any]:
    """A trust or resource policy with its implicit Resource spelled out, which parliament requires."""
    statements = policy.get("Statement")
    if not isinstance(statements, list):
        statements = [statements]
    fixed = []
    for st in statements:
        if isinstance(st, dict) and "Principal" in st and "Resource" not in st and "NotResource" not in st:
            implied = _implied_resource(res, st)
            st = {**st, "Resource": implied} if implied else st
        fixed.append(st)
    return {**policy, "Statement": fixed}


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _walk(sub, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _walk(sub, f"{path}[{i}]")


def policy_documents(resources: Iterable[Resource]) -> tuple[list[PolicyDocument], list[tuple[str, str]]]:
    """The analysable policy documents, and (urn, path) of those still unknown at preview time."""
    found: list[PolicyDocument] = []
    unknown: list[tuple[str, str]] = []
    for res in resources:
        for path, value in _walk(res.inputs, ""):
            policy = _as_policy(value)
            if policy is None:
                continue
            if contains_unknown(policy):
                unknown.append((res.urn, path))
                continue
            policy = _with_implicit_resource(policy, res)
            statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
            is_resource_policy = any(isinstance(st, dict) and "Principal" in st for st in statements)
            text = json.dumps(policy, sort_keys=True)
            found.append(PolicyDocument(urn=res.urn, path=path, text=text, resource_policy=is_resource_policy))
    return found, unknown
