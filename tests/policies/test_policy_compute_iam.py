"""imdsv2-required and iam-least-privilege: compliant factories, one case per violation, false positives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policytest_helpers import UNKNOWN, Res, messages, run

IMDS = {"httpTokens": "required", "httpEndpoint": "enabled"}


NO_ENDPOINT = {"httpEndpoint": "disabled", "httpTokens": "optional"}


def compliant_compute() -> list[Res]:
    """Everything that launches instances, from both providers, with IMDSv2 required or the endpoint off."""
    return [
        Res("aws:ec2/instance:Instance", "i", {"metadataOptions": IMDS}),
        Res("aws:ec2/launchTemplate:LaunchTemplate", "ok-lt", {"metadataOptions": IMDS}),
        Res("aws-native:ec2:Instance", "ni", {"metadataOptions": IMDS}),
        Res("aws-native:ec2:LaunchTemplate", "nlt", {"launchTemplateData": {"metadataOptions": IMDS}}),
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "ok-spot", {"metadataOptions": IMDS}),
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "ok-lc", {"metadataOptions": IMDS}),
        Res("aws-native:autoscaling:LaunchConfiguration", "nlc", {"metadataOptions": IMDS}),
        # No metadata service at all: nothing for IMDSv1 to expose, whatever httpTokens says.
        Res("aws:ec2/instance:Instance", "no-imds", {"metadataOptions": NO_ENDPOINT}),
        Res("aws-native:ec2:LaunchTemplate", "no-imds-lt", {"launchTemplateData": {"metadataOptions": NO_ENDPOINT}}),
        # Spot fleets that launch from templates (judged where the templates are), and autoscaling groups.
        Res(
            "aws:ec2/spotFleetRequest:SpotFleetRequest",
            "ok-fleet",
            {"launchTemplateConfigs": [{"launchTemplateSpecification": {"id": "lt-1", "version": "1"}}]},
        ),
        Res("aws-native:ec2:SpotFleet", "nfleet", {"spotFleetRequestConfigData": {"launchTemplateConfigs": []}}),
        Res("aws:autoscaling/group:Group", "asg", {"launchConfiguration": "lc", "maxSize": 1, "minSize": 1}),
        Res("aws:ec2/fleet:Fleet", "ec2-fleet", {"launchTemplateConfigs": [{"launchTemplateSpecification": {}}]}),
    ]


def test_compliant_compute_passes() -> None:
    assert messages(compliant_compute(), "imdsv2-required") == []


IMDS_CASES = [
    (
        "instance no options",
        Res("aws:ec2/instance:Instance", "x", {}),
        "[http-tokens] metadataOptions is not set, so IMDSv1 stays enabled; set metadataOptions.httpTokens to "
        '"required".',
    ),
    (
        "instance optional",
        Res("aws:ec2/instance:Instance", "x", {"metadataOptions": {"httpTokens": "optional"}}),
        '[http-tokens] metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "instance tokens unset",
        Res("aws:ec2/instance:Instance", "x", {"metadataOptions": {"httpEndpoint": "enabled"}}),
        '[http-tokens] metadataOptions.httpTokens=null: IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "template no options",
        Res("aws:ec2/launchTemplate:LaunchTemplate", "x", {"imageId": "ami-1"}),
        "[http-tokens] metadataOptions is not set, so IMDSv1 stays enabled; set metadataOptions.httpTokens to "
        '"required".',
    ),
    (
        "native instance optional",
        Res("aws-native:ec2:Instance", "x", {"metadataOptions": {"httpTokens": "optional"}}),
        '[http-tokens] metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "native template no options",
        Res("aws-native:ec2:LaunchTemplate", "x", {"launchTemplateData": {}}),
        "[http-tokens] launchTemplateData.metadataOptions is not set, so IMDSv1 stays enabled; set "
        'launchTemplateData.metadataOptions.httpTokens to "required".',
    ),
]


IMDS_CASES += [
    (
        "endpoint enabled, tokens optional",
        Res(
            "aws:ec2/instance:Instance", "x", {"metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "optional"}}
        ),
        '[http-tokens] metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "spot request no options",
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "x", {"spotPrice": "0.01"}),
        "[http-tokens] metadataOptions is not set, so IMDSv1 stays enabled; set metadataOptions.httpTokens to "
        '"required".',
    ),
    (
        "launch configuration optional",
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "x", {"metadataOptions": {"httpTokens": "optional"}}),
        '[http-tokens] metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "launch configuration no options",
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "x", {"imageId": "ami-1", "instanceType": "t3.micro"}),
        "[http-tokens] metadataOptions is not set, so IMDSv1 stays enabled; set metadataOptions.httpTokens to "
        '"required".',
    ),
    (
        "native launch configuration optional",
        Res("aws-native:autoscaling:LaunchConfiguration", "x", {"metadataOptions": {"httpTokens": "optional"}}),
        '[http-tokens] metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "spot fleet launch specification",
        Res("aws:ec2/spotFleetRequest:SpotFleetRequest", "x", {"launchSpecifications": [{"ami": "ami-1"}]}),
        "[spot-fleet-launch-specification] launchSpecifications[0] cannot set metadata options, so its instances keep "
        'IMDSv1; launch them from launchTemplateConfigs with a launch template whose httpTokens is "required".',
    ),
    (
        "native spot fleet launch specification",
        Res(
            "aws-native:ec2:SpotFleet",
            "x",
            {"spotFleetRequestConfigData": {"launchSpecifications": [{"imageId": "ami-1"}]}},
        ),
        "[spot-fleet-launch-specification] spotFleetRequestConfigData.launchSpecifications[0] cannot set metadata "
        "options, so its instances keep IMDSv1; launch them from launchTemplateConfigs with a launch template whose "
        'httpTokens is "required".',
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in IMDS_CASES], ids=[c[0] for c in IMDS_CASES])
def test_imdsv2_violations(resource: Res, expected: str) -> None:
    assert messages([*compliant_compute(), resource], "imdsv2-required") == [expected]


NOTE = "can't run policy 'imdsv2-required' from policy pack 'student-helper@v0.1.0' during preview: "
TEMPLATE_NOTE_CASES = [
    (
        "aws instance, template by id",
        Res("aws:ec2/instance:Instance", "web", {"launchTemplate": {"id": "lt-0abc", "version": "$Latest"}}),
        "[http-tokens] metadataOptions is not set, so 'web' takes its metadata options from launch template "
        '"lt-0abc"; '
        "imdsv2-required checks that template where it is defined.",
    ),
    (
        "spot request, template by id",
        Res("aws:ec2/spotInstanceRequest:SpotInstanceRequest", "web", {"launchTemplate": {"id": "lt-0abc"}}),
        "[http-tokens] metadataOptions is not set, so 'web' takes its metadata options from launch template "
        '"lt-0abc"; imdsv2-required checks that template where it is defined.',
    ),
    (
        "native instance, template by name",
        Res("aws-native:ec2:Instance", "web", {"launchTemplate": {"launchTemplateName": "web-lt", "version": "3"}}),
        "[http-tokens] metadataOptions is not set, so 'web' takes its metadata options from launch template "
        '"web-lt"; '
        "imdsv2-required checks that template where it is defined.",
    ),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [c[1:] for c in TEMPLATE_NOTE_CASES], ids=[c[0] for c in TEMPLATE_NOTE_CASES]
)
def test_instance_from_launch_template_gets_an_advisory_note(resource: Res, expected: str) -> None:
    # A resource policy sees one resource: the template is judged as its own resource, the instance gets a note.
    found = run([*compliant_compute(), resource], "imdsv2-required")
    assert [(v.enforcement_level, v.urn, v.message) for v in found] == [("advisory", resource.urn, NOTE + expected)]


def test_instance_own_metadata_options_win_over_its_template() -> None:
    own = {"launchTemplate": {"id": "lt-0abc"}, "metadataOptions": {"httpTokens": "optional"}}
    assert messages([Res("aws:ec2/instance:Instance", "web", own)], "imdsv2-required") == [
        '[http-tokens] metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".'
    ]


def test_bad_template_in_the_same_stack_is_a_mandatory_violation_on_the_template() -> None:
    template = Res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"metadataOptions": {"httpTokens": "optional"}})
    instance = Res("aws:ec2/instance:Instance", "web", {"launchTemplate": {"id": "lt-id"}})
    found = run([template, instance], "imdsv2-required")
    assert [(v.enforcement_level, v.urn) for v in found] == [("mandatory", template.urn), ("advisory", instance.urn)]


def doc(*statements: dict[str, Any]) -> str:
    """A policy document as pulumi-aws takes it: a JSON string."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


TRUST = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
READ_DOCS = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": "arn:aws:s3:::student-helper-documents/*",
}
LOGS = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn:*",
}
# A wildcard after a fully named parent (as AWS's ARN formats define parents) names that parent's children.
NAMED_WILDCARDS = {
    "Effect": "Allow",
    "Action": [
        "s3:GetObject",
        "logs:PutLogEvents",
        "dynamodb:Query",
        "lambda:InvokeFunction",
        "ssm:GetParametersByPath",
        "iam:PassRole",
        "execute-api:Invoke",
    ],
    "Resource": [
        "arn:aws:s3:::bucket/*",
        "arn:aws:s3:::bucket/uploads/2026-??/*",
        "arn:aws:s3:us-east-1:123456789012:accesspoint/reports/object/*",  # one access point's objects
        "arn:*:s3:::bucket/*",  # a principal acts in one partition only
        "arn:aws:logs:eu-west-1:123456789012:log-group:name:log-stream:*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:name:*",  # the form AWS reports a log group's ARN in
        "arn:aws:dynamodb:eu-west-1:123456789012:table/jobs/index/*",
        "arn:aws:lambda:eu-west-1:123456789012:function:worker:*",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/student-helper/dev/*",
        "arn:aws:iam::123456789012:role/service-role/*",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/*",
    ],
}
# Actions that AWS's service authorization reference lists with no resource type: only "*" can grant them.
STAR_ONLY = {
    "Effect": "Allow",
    "Action": [
        "ecr:GetAuthorizationToken",
        "XRay:PutTraceSegments",  # IAM action names are case-insensitive
        "xray:PutTelemetryRecords",
        "s3:ListAllMyBuckets",
        "s3vectors:ListVectorBuckets",
        "bedrock:ListFoundationModels",
        "ec2:DescribeInstances",
        "sts:GetCallerIdentity",
    ],
    "Resource": "*",
}
GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def github_trust(condition: dict[str, Any] | None, action: Any = "sts:AssumeRoleWithWebIdentity") -> dict[str, Any]:
    """A trust statement for GitHub Actions' OIDC provider with ``condition``."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Federated": GITHUB}, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return statement


AUD = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}


def compliant_iam() -> list[Res]:
    """Every IAM shape the policy parses, least-privilege, plus the false positives the peer suites found."""
    return [
        Res(
            "aws:iam/role:Role",
            "role",
            {
                "assumeRolePolicy": TRUST,
                "inlinePolicies": [{"name": "logs", "policy": doc(LOGS)}],
                "managedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
            },
        ),
        Res("aws:iam/policy:Policy", "p", {"policy": doc(READ_DOCS)}),
        Res("aws:iam/policy:Policy", "named-wildcards", {"policy": doc(NAMED_WILDCARDS)}),
        Res("aws:iam/policy:Policy", "star-only", {"policy": doc(STAR_ONLY)}),
        Res(
            "aws:iam/policy:Policy",
            "ecr-auth-any-region",  # a "*"-only action on an all-wildcard ARN is as fine as on "*"
            {
                "policy": doc(
                    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "arn:aws:ecr:*:*:*"}
                )
            },
        ),
        Res(
            "aws:iam/userPolicy:UserPolicy", "up", {"policy": doc({"Effect": "Deny", "Action": "*", "Resource": "*"})}
        ),  # a Deny may be as broad as it likes
        Res("aws:iam/groupPolicy:GroupPolicy", "gp", {"policy": doc({**READ_DOCS, "Action": "s3:Get*"})}),
        Res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "ssm",
            {"role": "role", "policyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"},
        ),
        Res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "basic",
            {"role": "role", "policyArn": "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
        ),
        Res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "own-full",
            {"role": "role", "policyArn": "arn:aws:iam::123456789012:policy/MyServiceFullAccess"},
        ),
        Res(
            "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
            "user-exclusive",
            {"userName": "u", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
        ),
        Res(
            "aws-native:iam:Role",
            "nrole",
            {
                "assumeRolePolicyDocument": {
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::1:root"},
                        "Action": "sts:AssumeRole",
                    }
                },
                "policies": [{"policyName": "x", "policyDocument": {"Statement": [LOGS]}}],
            },
        ),
        Res("aws-native:iam:ManagedPolicy", "nmp", {"policyDocument": {"Statement": READ_DOCS}}),
        Res("aws-native:iam:RolePolicy", "nrp", {"policyDocument": {"Statement": [READ_DOCS]}}),
        Res("aws-native:iam:User", "nuser", {"policies": [{"policyName": "x", "policyDocument": {"Statement": LOGS}}]}),
        Res(
            "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
            "ps-inline",
            {"instanceArn": "arn:aws:sso:::instance/i", "permissionSetArn": "ps", "inlinePolicy": doc(READ_DOCS)},
        ),
        Res(
            "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
            "ps-managed",
            {"managedPolicyArn": "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", "permissionSetArn": "ps"},
        ),
        Res(
            "aws-native:sso:PermissionSet",
            "nps",
            {
                "instanceArn": "arn:aws:sso:::instance/i",
                "inlinePolicy": {"Statement": [STAR_ONLY]},
                "managedPolicies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            },
        ),
        Res(
            "aws:iam/role:Role",
            "deploy-main",
            {
                "assumeRolePolicy": doc(
                    github_trust(
                        {
                            "StringEquals": {
                                **AUD,
                                "token.actions.githubusercontent.com:sub": "repo:my-org/infra:ref:refs/heads/main",
                            }
                        }
                    )
                )
            },
        ),
        Res(
            "aws-native:iam:Role",
            "deploy-org",
            {
                "assumeRolePolicyDocument": {
                    "Statement": [
                        github_trust(
                            {
                                "StringEquals": AUD,
                                "StringLike": {
                                    "token.actions.githubusercontent.com:sub": [
                                        "repo:my-org/*",
                                        "repo:my-org/app:environment:prod",
                                    ]
                                },
                            },
                            action=["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                        )
                    ]
                }
            },
        ),
    ]


def test_compliant_iam_passes() -> None:
    assert messages(compliant_iam(), "iam-least-privilege") == []


SCOPE = (
    'AWS lets these actions be scoped to resource ARNs (only actions that support no resource type may use "*"); '
    "name the resource ARNs."
)
ADMIN = "it grants far more than the workload needs."
PATTERN = (
    "a pattern over every resource of a type, not named resources; name the resource ARNs (a wildcard may only follow "
    "a fully named parent: <bucket>/*, log-group:<name>:log-stream:*, or an SSM parameter or IAM path under a literal "
    "prefix)."
)
NAME = "a wildcard in its resource name that follows no fully named parent"


def broad(action: str, resource: str, problem: str = NAME) -> tuple[str, Res, list[str]]:
    """A case: ``action`` granted on ``resource``, which names no resource, and the message it must get."""
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return (
        f"{action} on {resource}",
        Res("aws:iam/rolePolicy:RolePolicy", "x", {"role": "r", "policy": doc(statement)}),
        [
            f'[wildcard-resource] policy Statement[0] allows Resource "{resource}" ({problem}) for ["{action}"]: '
            + PATTERN
        ],
    )


# Each a type-level wildcard: every resource of a type (or of a name pattern) in the account, or beyond it.
BROAD_ARN_CASES = [
    broad("iam:PassRole", "arn:aws:iam::123456789012:role/*"),
    broad("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:*", "a wildcard in its region field"),
    broad("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*"),
    # The random suffix keeps a new secret of the same name from inheriting grants; "??????" gives that away.
    broad("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-??????"),
    broad("dynamodb:DeleteTable", "arn:aws:dynamodb:eu-west-1:123456789012:table/*"),
    # S3 types with a region and an account are not buckets: "accesspoint/" names no bucket, so these are every
    # access point, batch job and Storage Lens configuration in the account.
    broad("s3:GetObject", "arn:aws:s3:us-east-1:123456789012:accesspoint/*"),
    broad("s3:DescribeJob", "arn:aws:s3:us-east-1:123456789012:job/*"),
    broad("s3:GetStorageLensConfiguration", "arn:aws:s3:us-east-1:123456789012:storage-lens/*"),
    broad("lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:123456789012:function:*"),
    broad("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:*"),
    # "/aws/lambda" is no log group: the "/" is part of a log group's name, not a parent.
    broad("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/*"),
    broad("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:jobs-*"),
    broad("ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/*"),
    broad("s3:GetObject", "arn:aws:s3:::student-helper-*/*"),
    broad(
        "s3vectors:QueryVectors", "arn:aws:s3vectors:eu-west-1:*:bucket/v/index/i", "a wildcard in its account field"
    ),
    broad("s3:GetObject", "arn:*:*:*:*:*", "a wildcard in its service field"),
    broad("s3:GetObject", "arn:aws:s3:::*/*"),
]


@pytest.mark.parametrize(
    ("resource", "expected"), [c[1:] for c in BROAD_ARN_CASES], ids=[c[0] for c in BROAD_ARN_CASES]
)
def test_a_wildcard_arn_without_a_named_parent_is_a_wildcard_resource(resource: Res, expected: list[str]) -> None:
    assert messages([*compliant_iam(), resource], "iam-least-privilege") == expected


def test_every_broad_arn_of_a_statement_is_named_with_its_reason() -> None:
    statement = {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
        "Resource": [
            "arn:aws:sqs:eu-west-1:123456789012:jobs",
            "arn:aws:sqs:eu-west-1:123456789012:jobs-*",
            "arn:aws:sqs:eu-west-?:123456789012:jobs",
        ],
    }
    resource = Res("aws:iam/policy:Policy", "x", {"policy": doc(statement)})
    assert messages([resource], "iam-least-privilege") == [
        '[wildcard-resource] policy Statement[0] allows Resource "arn:aws:sqs:eu-west-1:123456789012:jobs-*" '
        f'({NAME}), "arn:aws:sqs:eu-west-?:123456789012:jobs" (a wildcard in its region field) for '
        f'["sqs:SendMessage", "sqs:ReceiveMessage"]: {PATTERN}'
    ]


IAM_CASES = [
    (
        "action star",
        Res("aws:iam/policy:Policy", "x", {"policy": doc({**READ_DOCS, "Action": "*"})}),
        ['[wildcard-action] policy Statement[0] allows Action ["*"]: name the actions the workload calls.'],
    ),
    (
        "service star",
        Res("aws:iam/rolePolicy:RolePolicy", "x", {"policy": doc({**READ_DOCS, "Sid": "All", "Action": ["s3:*"]})}),
        [
            "[wildcard-action] policy Statement[0] (Sid 'All') allows Action [\"s3:*\"]: name the actions the workload "
            "calls."
        ],
    ),
    (
        "not action",
        Res(
            "aws:iam/userPolicy:UserPolicy",
            "x",
            {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"})},
        ),
        [
            '[not-action-or-resource] policy Statement[0] is an Allow with NotAction="iam:*": it grants everything '
            "not listed."
        ],
    ),
    (
        "not resource",
        Res(
            "aws:iam/groupPolicy:GroupPolicy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"})},
        ),
        [
            '[not-action-or-resource] policy Statement[0] is an Allow with NotResource="arn:aws:s3:::b": it grants '
            "everything not listed."
        ],
    ),
    (
        "resource star for a scopable action",
        Res(
            "aws:iam/policy:Policy",
            "x",
            {
                "policy": doc(
                    {"Effect": "Allow", "Action": ["s3:GetObject", "ecr:GetAuthorizationToken"], "Resource": ["*"]}
                )
            },
        ),
        [f'[wildcard-resource] policy Statement[0] allows Resource "*" for ["s3:GetObject"]: {SCOPE}'],
    ),
    (
        "resource star for an action whose only resource type is optional",
        Res(
            "aws:iam/rolePolicy:RolePolicy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"})},
        ),
        [f'[wildcard-resource] policy Statement[0] allows Resource "*" for ["cloudwatch:PutMetricData"]: {SCOPE}'],
    ),
    (
        "resource star for a family that includes scopable actions",
        Res(
            "aws:iam/policy:Policy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": ["ec2:Describe*", "kms:CreateKey"], "Resource": "*"})},
        ),
        [f'[wildcard-resource] policy Statement[0] allows Resource "*" for ["ec2:Describe*"]: {SCOPE}'],
    ),
    (
        "sqs all-wildcard arn",
        Res(
            "aws:iam/policy:Policy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:*"})},
        ),
        [
            '[wildcard-resource] policy Statement[0] allows Resource "arn:aws:sqs:*:*:*" (a wildcard in its region '
            f'field) for ["sqs:SendMessage"]: {PATTERN}'
        ],
    ),
    (
        "s3 every bucket beside a named one",
        Res(
            "aws:iam/rolePolicy:RolePolicy",
            "x",
            {"policy": doc({**READ_DOCS, "Resource": ["arn:aws:s3:::student-helper-documents/*", "arn:aws:s3:::*"]})},
        ),
        [
            f'[wildcard-resource] policy Statement[0] allows Resource "arn:aws:s3:::*" ({NAME}) for ["s3:GetObject", '
            f'"s3:PutObject"]: {PATTERN}'
        ],
    ),
    (
        "every object of every bucket, aws-native",
        Res(
            "aws-native:iam:ManagedPolicy",
            "x",
            {
                "policyDocument": {
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}]
                }
            },
        ),
        [
            f'[wildcard-resource] policyDocument Statement[0] allows Resource "arn:aws:s3:::*/*" ({NAME}) for '
            f'["s3:GetObject"]: {PATTERN}'
        ],
    ),
    (
        "action and resource star",
        Res("aws:iam/policy:Policy", "x", {"policy": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}),
        [
            '[wildcard-action] policy Statement[0] allows Action ["*"]: name the actions the workload calls.',
            f'[wildcard-resource] policy Statement[0] allows Resource "*" for ["*"]: {SCOPE}',
        ],
    ),
    (
        "role inline",
        Res(
            "aws:iam/role:Role",
            "x",
            {
                "assumeRolePolicy": TRUST,
                "inlinePolicies": [
                    {"name": "a", "policy": doc(READ_DOCS)},
                    {"name": "b", "policy": doc({**READ_DOCS, "Action": "*:*"})},
                ],
            },
        ),
        [
            '[wildcard-action] inlinePolicies[1].policy Statement[0] allows Action ["*:*"]: name the actions the '
            "workload calls."
        ],
    ),
    (
        "native role inline",
        Res(
            "aws-native:iam:Role",
            "x",
            {
                "policies": [
                    {
                        "policyName": "p",
                        "policyDocument": {
                            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
                        },
                    }
                ]
            },
        ),
        [
            f'[wildcard-resource] policies[0].policyDocument Statement[0] allows Resource "*" for ["s3:GetObject"]: '
            f"{SCOPE}"
        ],
    ),
    (
        "native group inline",
        Res(
            "aws-native:iam:Group",
            "x",
            {"policies": [{"policyName": "p", "policyDocument": {"Statement": {**READ_DOCS, "Action": "dynamodb:*"}}}]},
        ),
        [
            '[wildcard-action] policies[0].policyDocument Statement[0] allows Action ["dynamodb:*"]: name the actions '
            "the workload calls."
        ],
    ),
    (
        "native managed policy",
        Res(
            "aws-native:iam:ManagedPolicy",
            "x",
            {
                "policyDocument": {
                    "Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:::table/t"}
                }
            },
        ),
        [
            '[wildcard-action] policyDocument Statement[0] allows Action ["dynamodb:*"]: name the actions the workload '
            "calls."
        ],
    ),
    (
        "permission set inline policy",
        Res(
            "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
            "x",
            {"permissionSetArn": "ps", "inlinePolicy": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
        ),
        [
            '[wildcard-action] inlinePolicy Statement[0] allows Action ["*"]: name the actions the workload calls.',
            f'[wildcard-resource] inlinePolicy Statement[0] allows Resource "*" for ["*"]: {SCOPE}',
        ],
    ),
    (
        "native permission set inline policy",
        Res(
            "aws-native:sso:PermissionSet",
            "x",
            {"inlinePolicy": {"Statement": [{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"}]}},
        ),
        [f'[wildcard-resource] inlinePolicy Statement[0] allows Resource "*" for ["s3:DeleteObject"]: {SCOPE}'],
    ),
    (
        "typo in an allow",
        Res("aws:iam/policy:Policy", "x", {"policy": doc({**READ_DOCS, "Action": ["s3:GetObjekt"]})}),
        [
            '[unknown-action] policy Statement[0] names Action "s3:GetObjekt", which AWS\'s service authorization '
            "reference does not know (did you mean s3:GetObject?): a misspelt action grants nothing."
        ],
    ),
    (
        "typo in a deny",
        Res(
            "aws:iam/rolePolicy:RolePolicy",
            "x",
            {"policy": doc({"Effect": "Deny", "Action": "sqs:SendMesage", "Resource": "*"})},
        ),
        [
            '[unknown-action] policy Statement[0] names Action "sqs:SendMesage", which AWS\'s service authorization '
            "reference does not know (did you mean sqs:SendMessage?): a misspelt action denies nothing."
        ],
    ),
    (
        "unknown service prefix",
        Res(
            "aws-native:iam:ManagedPolicy",
            "x",
            {"policyDocument": {"Statement": {**READ_DOCS, "Action": "s4:GetObject", "Resource": "*"}}},
        ),
        [
            '[unknown-action] policyDocument Statement[0] names Action "s4:GetObject", which AWS\'s service '
            "authorization reference does not know: a misspelt action grants nothing."
        ],
    ),
    (
        "pattern that matches nothing",
        Res("aws:iam/policy:Policy", "x", {"policy": doc({**READ_DOCS, "NotAction": "s3:Frobnicate*"})}),
        [
            '[not-action-or-resource] policy Statement[0] is an Allow with NotAction="s3:Frobnicate*": it grants '
            "everything not listed.",
            '[unknown-action] policy Statement[0] names NotAction "s3:Frobnicate*", which AWS\'s service '
            "authorization reference does not know: a misspelt action grants nothing.",
        ],
    ),
    (
        "typo in a trust policy",
        Res(
            "aws:iam/role:Role",
            "x",
            {
                "assumeRolePolicy": doc(
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRol"}
                )
            },
        ),
        [
            '[unknown-action] assumeRolePolicy Statement[0] names Action "sts:AssumeRol", which AWS\'s service '
            "authorization reference does not know (did you mean sts:AssumeRole?): a misspelt action grants nothing."
        ],
    ),
    (
        "open trust",
        Res(
            "aws:iam/role:Role",
            "x",
            {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})},
        ),
        ['[open-trust] assumeRolePolicy Statement[0] has Principal {"AWS": "*"}: any AWS account can assume the role.'],
    ),
    (
        "open trust string",
        Res(
            "aws-native:iam:Role",
            "x",
            {
                "assumeRolePolicyDocument": {
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]
                }
            },
        ),
        ['[open-trust] assumeRolePolicyDocument Statement[0] has Principal "*": any AWS account can assume the role.'],
    ),
    (
        "not principal trust",
        Res(
            "aws:iam/role:Role",
            "x",
            {
                "assumeRolePolicy": doc(
                    {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}
                )
            },
        ),
        ["[open-trust] assumeRolePolicy Statement[0] is an Allow with NotPrincipal: it trusts everyone not listed."],
    ),
    (
        "admin attachment",
        Res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "x",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        [
            "[admin-managed-policy] policyArn attaches the AWS-managed policy AdministratorAccess "
            f"(arn:aws:iam::aws:policy/AdministratorAccess): {ADMIN}"
        ],
    ),
    (
        "power user other partition",
        Res(
            "aws:iam/userPolicyAttachment:UserPolicyAttachment",
            "x",
            {"policyArn": "arn:aws-us-gov:iam::aws:policy/PowerUserAccess"},
        ),
        [
            "[admin-managed-policy] policyArn attaches the AWS-managed policy PowerUserAccess "
            f"(arn:aws-us-gov:iam::aws:policy/PowerUserAccess): {ADMIN}"
        ],
    ),
    (
        "full access in role",
        Res(
            "aws:iam/role:Role",
            "x",
            {"assumeRolePolicy": TRUST, "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]},
        ),
        [
            "[admin-managed-policy] managedPolicyArns attaches the AWS-managed policy AmazonS3FullAccess "
            f"(arn:aws:iam::aws:policy/AmazonS3FullAccess): {ADMIN}"
        ],
    ),
    (
        "job function admin",
        Res(
            "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
            "x",
            {"policyArn": "arn:aws:iam::aws:policy/job-function/SystemAdministrator"},
        ),
        [
            "[admin-managed-policy] policyArn attaches the AWS-managed policy SystemAdministrator "
            f"(arn:aws:iam::aws:policy/job-function/SystemAdministrator): {ADMIN}"
        ],
    ),
    (
        "iam full access native",
        Res("aws-native:iam:Role", "x", {"managedPolicyArns": ["arn:aws:iam::aws:policy/IAMFullAccess"]}),
        [
            "[admin-managed-policy] managedPolicyArns attaches the AWS-managed policy IAMFullAccess "
            f"(arn:aws:iam::aws:policy/IAMFullAccess): {ADMIN}"
        ],
    ),
    (
        "exclusive group attachments",
        Res(
            "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
            "x",
            {"groupName": "g", "policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess-Amplify"]},
        ),
        [
            "[admin-managed-policy] policyArns attaches the AWS-managed policy AdministratorAccess-Amplify "
            f"(arn:aws:iam::aws:policy/AdministratorAccess-Amplify): {ADMIN}"
        ],
    ),
    (
        "permission set admin",
        Res(
            "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
            "x",
            {"managedPolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "permissionSetArn": "ps"},
        ),
        [
            "[admin-managed-policy] managedPolicyArn attaches the AWS-managed policy AdministratorAccess "
            f"(arn:aws:iam::aws:policy/AdministratorAccess): {ADMIN}"
        ],
    ),
    (
        "native permission set power user",
        Res("aws-native:sso:PermissionSet", "x", {"managedPolicies": ["arn:aws:iam::aws:policy/PowerUserAccess"]}),
        [
            "[admin-managed-policy] managedPolicies attaches the AWS-managed policy PowerUserAccess "
            f"(arn:aws:iam::aws:policy/PowerUserAccess): {ADMIN}"
        ],
    ),
    (
        "not json",
        Res("aws:iam/policy:Policy", "x", {"policy": "{not json"}),
        ['[invalid-document] policy is not a JSON policy document: "{not json".'],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in IAM_CASES], ids=[c[0] for c in IAM_CASES])
def test_iam_violations(resource: Res, expected: list[str]) -> None:
    assert messages([*compliant_iam(), resource], "iam-least-privilege") == expected


ANY_REPO = "a workflow in any repository can assume the role. Require StringEquals/StringLike"
PIN = 'token.actions.githubusercontent.com:sub = "repo:<owner>/<repository>:..." with a literal owner.'
SUB = "token.actions.githubusercontent.com:sub"
GITHUB_CASES = [
    ("no condition", None, f"it has no condition on {SUB}"),
    ("audience only", {"StringEquals": AUD}, f"it has no condition on {SUB}"),
    ("sub is star", {"StringEquals": AUD, "StringLike": {SUB: "*"}}, f'it has {SUB} ["*"]'),
    ("any repo of any owner", {"StringLike": {SUB: "repo:*"}}, f'it has {SUB} ["repo:*"]'),
    ("wildcard owner", {"StringLike": {SUB: "repo:my-*/infra:*"}}, f'it has {SUB} ["repo:my-*/infra:*"]'),
    (
        "one open value among pinned ones",
        {"StringLike": {SUB: ["repo:my-org/infra:*", "repo:*/infra:*"]}},
        f'it has {SUB} [["repo:my-org/infra:*", "repo:*/infra:*"]]',
    ),
    (
        "IfExists passes without the claim",
        {"StringLikeIfExists": {SUB: "repo:my-org/infra:*"}},
        f'it has {SUB} ["repo:my-org/infra:*"]',
    ),
    (
        "negated operator",
        {"StringNotEquals": {SUB: "repo:evil/repo:*"}},
        f'it has {SUB} ["repo:evil/repo:*"]',
    ),
]


@pytest.mark.parametrize(("condition", "found"), [c[1:] for c in GITHUB_CASES], ids=[c[0] for c in GITHUB_CASES])
def test_github_oidc_trust_must_pin_the_repository_owner(condition: dict[str, Any] | None, found: str) -> None:
    expected = (
        "[github-oidc-subject] {where} Statement[0] trusts GitHub Actions' OIDC provider, but "
        f"{found}: {ANY_REPO} {PIN}"
    )
    aws = Res("aws:iam/role:Role", "gha", {"assumeRolePolicy": doc(github_trust(condition))})
    native = Res("aws-native:iam:Role", "gha", {"assumeRolePolicyDocument": {"Statement": [github_trust(condition)]}})
    assert messages([*compliant_iam(), aws], "iam-least-privilege") == [expected.format(where="assumeRolePolicy")]
    assert messages([*compliant_iam(), native], "iam-least-privilege") == [
        expected.format(where="assumeRolePolicyDocument")
    ]


def test_github_trust_rule_needs_the_web_identity_action() -> None:
    # The same principal with sts:TagSession only cannot be assumed through it, so the sub condition is moot.
    tag_only = Res("aws:iam/role:Role", "gha", {"assumeRolePolicy": doc(github_trust(None, action="sts:TagSession"))})
    wildcard = Res("aws:iam/role:Role", "gha2", {"assumeRolePolicy": doc(github_trust(None, action="sts:*"))})
    found = messages([tag_only, wildcard], "iam-least-privilege")
    assert [m.split(" Statement")[0] for m in found] == ["[github-oidc-subject] assumeRolePolicy"]
    assert run([tag_only, wildcard], "iam-least-privilege")[0].urn == wildcard.urn


def test_extra_wildcard_actions_are_configurable() -> None:
    statement = {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}
    resources = [Res("aws:iam/policy:Policy", "x", {"policy": doc(statement)})]
    assert len(messages(resources, "iam-least-privilege")) == 1
    config = {"iam-least-privilege": {"allowedWildcardResourceActions": ["cloudwatch:PutMetricData"]}}
    assert messages(resources, "iam-least-privilege", config) == []
    # The configured list adds to AWS's record: the "*"-only actions still pass without being listed.
    star_only = [Res("aws:iam/policy:Policy", "y", {"policy": doc(STAR_ONLY)})]
    assert messages(star_only, "iam-least-privilege", config) == []


def test_an_unknown_value_stops_only_the_check_that_reads_it() -> None:
    # The trust policy is unknown during preview; the admin attachment on the same role is still a violation.
    role = Res(
        "aws:iam/role:Role",
        "role-in-preview",
        {"assumeRolePolicy": UNKNOWN, "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
    )
    found = run([role], "iam-least-privilege")
    assert [(v.enforcement_level, v.check) for v in found] == [
        ("mandatory", "admin-managed-policy"),
        ("advisory", "invalid-document"),
    ]
    assert found[1].message.endswith(
        "during preview: [invalid-document] string value at .assumeRolePolicy can't be known during preview; it can "
        "be checked only at apply time"
    )
