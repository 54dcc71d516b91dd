"""IAM rules: least privilege in every policy document, no AWS-managed admin policies, no open trust policies."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import as_list, get, load_json, resource_policy, show

# Actions that AWS authorises only on Resource "*" (the Service Authorization Reference lists no resource type for
# them), so a statement of nothing but these may use "*". Sources, per service:
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html (Describe*)
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsessionmanagermessagegatewayservice.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
DEFAULT_WILDCARD_RESOURCE_ACTIONS: tuple[str, ...] = (
    "ecr:GetAuthorizationToken",  # image pulls by the backend hosts and Lambda image builds
    "xray:PutTraceSegments",  # tracing from Lambda and the backend
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",  # custom metrics; scope it with the cloudwatch:namespace condition
    "ec2:DescribeNetworkInterfaces",  # Lambda in a VPC
    "ec2:DescribeInstances",
    "ssmmessages:CreateControlChannel",  # Session Manager, the only way onto the private hosts
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "secretsmanager:GetRandomPassword",
    "secretsmanager:ListSecrets",
    "bedrock:ListFoundationModels",
    "sts:GetCallerIdentity",
)

POLICY_DOCUMENT_TYPES: dict[str, tuple[str, ...]] = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws-native:iam:ManagedPolicy": ("policyDocument",),
    "aws-native:iam:RolePolicy": ("policyDocument",),
    "aws-native:iam:UserPolicy": ("policyDocument",),
    "aws-native:iam:GroupPolicy": ("policyDocument",),
}
# (property holding a list of inline policies, key of the document inside each)
INLINE_POLICY_LISTS: dict[str, tuple[str, str]] = {
    "aws:iam/role:Role": ("inlinePolicies", "policy"),
    "aws-native:iam:Role": ("policies", "policyDocument"),
    "aws-native:iam:User": ("policies", "policyDocument"),
    "aws-native:iam:Group": ("policies", "policyDocument"),
}
TRUST_POLICY_PATH: dict[str, str] = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws-native:iam:Role": "assumeRolePolicyDocument",
}
# Properties that attach managed policies by ARN: a single ARN or a list of them.
MANAGED_POLICY_ARNS: dict[str, str] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/role:Role": "managedPolicyArns",
    "aws:iam/user:User": "managedPolicyArns",
    "aws:iam/group:Group": "managedPolicyArns",
    "aws-native:iam:Role": "managedPolicyArns",
    "aws-native:iam:User": "managedPolicyArns",
    "aws-native:iam:Group": "managedPolicyArns",
}

AWS_MANAGED_ARN = re.compile(r"^arn:[a-z0-9-]+:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")
# job-function policies that grant administration of a whole area, without the FullAccess suffix.
ADMIN_JOB_FUNCTIONS = frozenset({"SystemAdministrator", "NetworkAdministrator", "DatabaseAdministrator"})


def admin_policy_name(arn: Any) -> str | None:
    """The policy name when ``arn`` is an AWS-managed administrator, power-user or ``*FullAccess`` policy."""
    if not isinstance(arn, str):
        return None
    match = AWS_MANAGED_ARN.match(arn)
    if not match:
        return None
    name = match.group("name")
    is_admin = (
        name.startswith("AdministratorAccess")
        or name == "PowerUserAccess"
        or name.endswith("FullAccess")
        or name in ADMIN_JOB_FUNCTIONS
    )
    return name if is_admin else None


def _statements(document: Any) -> list[Any]:
    if not isinstance(document, Mapping):
        return []
    return as_list(document.get("Statement"))


def _label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"Statement[{index}]" + (f" (Sid {sid!r})" if sid else "")


def _is_service_wildcard(action: Any) -> bool:
    # "*", "s3:*" and "*:*" grant everything in scope; "s3:Get*" is a narrower family and allowed.
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def is_wildcard_arn(resource: Any) -> bool:
    """True for an ARN that names no resource at all, so it means Resource "*" for its service (or every service).

    ``arn:aws:s3:::*``, ``arn:aws:sqs:*:*:*`` and ``arn:*:*:*:*:*`` qualify: the resource part (after the fifth
    colon) is only ``*``, or every segment from the service on is ``*``. A wildcard inside one named resource
    (``arn:aws:s3:::bucket/*``, ``...:log-group:name:log-stream:*``) names that resource and does not.
    """
    if not isinstance(resource, str) or not resource.startswith("arn:"):
        return False
    parts = resource.split(":", 5)
    if len(parts) > 2 and all(p == "*" for p in parts[2:]):
        return True
    return len(parts) == 6 and parts[5].strip("*/:") == "" and parts[5] != ""


def document_problems(document: Any, where: str, allowed_star_actions: frozenset[str]) -> Iterator[str]:
    """Least-privilege findings for one permissions document, each naming ``where`` and the statement."""
    for index, statement in enumerate(_statements(document)):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        label = f"{where} {_label(statement, index)}"
        for key in ("NotAction", "NotResource"):
            if key in statement:
                yield f"{label} is an Allow with {key}={show(statement[key])}: it grants everything not listed."
        actions = as_list(statement.get("Action"))
        wild = [a for a in actions if _is_service_wildcard(a)]
        if wild:
            yield f"{label} allows Action {show(wild)}: name the actions the workload calls."
        resources = as_list(statement.get("Resource"))
        star_arns = [r for r in resources if is_wildcard_arn(r)]
        if "*" in resources or star_arns:
            # IAM action names are case-insensitive.
            outside = sorted({str(a) for a in actions if str(a).lower() not in allowed_star_actions})
            if outside and "*" in resources:
                yield (
                    f'{label} allows Resource "*" for {show(outside)}: only actions that AWS authorises solely '
                    'on "*" may use it; name the resource ARNs.'
                )
            elif outside:
                yield (
                    f'{label} allows Resource {show(star_arns)}, which is effectively "*", for {show(outside)}: '
                    'only actions that AWS authorises solely on "*" may use it; name the resource ARNs.'
                )


def trust_problems(document: Any, where: str) -> Iterator[str]:
    """Findings for a trust policy that lets anyone (Principal ``*``) assume the role."""
    for index, statement in enumerate(_statements(document)):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
        if everyone:
            yield (
                f"{where} {_label(statement, index)} has Principal {show(principal)}: any AWS account can assume "
                "the role."
            )
        if "NotPrincipal" in statement:
            yield f"{where} {_label(statement, index)} is an Allow with NotPrincipal: it trusts everyone not listed."


def _parse(value: Any, where: str) -> tuple[Any, str | None]:
    try:
        return load_json(value), None
    except (json.JSONDecodeError, TypeError):
        return None, f"{where} is not a JSON policy document: {show(value)[:120]}."


def _check_iam(args: ResourceValidationArgs, config: Mapping[str, Any]) -> Iterator[str]:
    kind, props = args.resource_type, args.props
    allowed = frozenset(str(a).lower() for a in config.get("allowedWildcardResourceActions") or ())
    documents: list[tuple[str, Any]] = []
    if kind in POLICY_DOCUMENT_TYPES:
        path = POLICY_DOCUMENT_TYPES[kind]
        documents.append((".".join(path), get(props, *path)))
    if kind in INLINE_POLICY_LISTS:
        list_key, doc_key = INLINE_POLICY_LISTS[kind]
        for i, inline in enumerate(as_list(get(props, list_key))):
            documents.append((f"{list_key}[{i}].{doc_key}", get(inline, doc_key)))
    for where, raw in documents:
        if raw is None or raw == "":
            continue
        document, error = _parse(raw, where)
        if error:
            yield error
        yield from document_problems(document, where, allowed)
    if kind in TRUST_POLICY_PATH:
        key = TRUST_POLICY_PATH[kind]
        raw = get(props, key)
        if raw is not None:
            document, error = _parse(raw, key)
            if error:
                yield error
            yield from trust_problems(document, key)
    if kind in MANAGED_POLICY_ARNS:
        key = MANAGED_POLICY_ARNS[kind]
        for arn in as_list(get(props, key)):
            name = admin_policy_name(arn)
            if name:
                yield (
                    f"{key} attaches the AWS-managed policy {name} ({arn}): it grants far more than the workload needs."
                )


IAM_LEAST_PRIVILEGE = resource_policy(
    name="iam-least-privilege",
    description=(
        "Every IAM policy document (managed policies, role/user/group policies, role inline policies; pulumi-aws "
        'and aws-native) is least-privilege: no Allow with Action "*" or "service:*", no Allow with NotAction '
        'or NotResource, no Allow on Resource "*" unless every action is one AWS authorises only on "*" '
        "(configurable), no AWS-managed AdministratorAccess/PowerUserAccess/*FullAccess attachments, and no trust "
        'policy that lets "*" assume the role.'
    ),
    severity=Severity.CRITICAL,
    remediation=(
        'List the exact actions the workload calls and the ARNs it calls them on (an ARN may end in "/*" or '
        '":*" inside one bucket or log group). Replace AWS-managed admin/FullAccess policies with a customer '
        'policy. Trust a service principal or a named account/role. If an action really only works on "*", add '
        "it to allowedWildcardResourceActions in the pack config."
    ),
    check=_check_iam,
    mandatory=True,
    properties={
        "allowedWildcardResourceActions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-zA-Z0-9-]+:[A-Za-z0-9*]+$"},
            "description": 'Actions that may use Resource "*" because AWS authorises them only on "*".',
            "default": list(DEFAULT_WILDCARD_RESOURCE_ACTIONS),
        }
    },
)

POLICIES = (IAM_LEAST_PRIVILEGE,)
