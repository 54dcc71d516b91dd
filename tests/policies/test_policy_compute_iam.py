"""imdsv2-required and iam-least-privilege: compliant factories, one case per violation, false positives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policytest_helpers import Res, messages, run

IMDS = {"httpTokens": "required", "httpEndpoint": "enabled"}


def compliant_compute() -> list[Res]:
    """Instances and templates from both providers with IMDSv2 required."""
    return [
        Res("aws:ec2/instance:Instance", "i", {"metadataOptions": IMDS}),
        Res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"metadataOptions": IMDS}),
        Res("aws-native:ec2:Instance", "ni", {"metadataOptions": IMDS}),
        Res("aws-native:ec2:LaunchTemplate", "nlt", {"launchTemplateData": {"metadataOptions": IMDS}}),
    ]


def test_compliant_compute_passes() -> None:
    assert messages(compliant_compute(), "imdsv2-required") == []


IMDS_CASES = [
    (
        "instance no options",
        Res("aws:ec2/instance:Instance", "x", {}),
        'metadataOptions is not set, so IMDSv1 stays enabled; set metadataOptions.httpTokens to "required".',
    ),
    (
        "instance optional",
        Res("aws:ec2/instance:Instance", "x", {"metadataOptions": {"httpTokens": "optional"}}),
        'metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "instance tokens unset",
        Res("aws:ec2/instance:Instance", "x", {"metadataOptions": {"httpEndpoint": "enabled"}}),
        'metadataOptions.httpTokens=null: IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "template no options",
        Res("aws:ec2/launchTemplate:LaunchTemplate", "x", {"imageId": "ami-1"}),
        'metadataOptions is not set, so IMDSv1 stays enabled; set metadataOptions.httpTokens to "required".',
    ),
    (
        "native instance optional",
        Res("aws-native:ec2:Instance", "x", {"metadataOptions": {"httpTokens": "optional"}}),
        'metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".',
    ),
    (
        "native template no options",
        Res("aws-native:ec2:LaunchTemplate", "x", {"launchTemplateData": {}}),
        "launchTemplateData.metadataOptions is not set, so IMDSv1 stays enabled; set "
        'launchTemplateData.metadataOptions.httpTokens to "required".',
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
        "metadataOptions is not set, so instance 'web' takes its metadata options from launch template \"lt-0abc\"; "
        "imdsv2-required checks that template where it is defined.",
    ),
    (
        "native instance, template by name",
        Res("aws-native:ec2:Instance", "web", {"launchTemplate": {"launchTemplateName": "web-lt", "version": "3"}}),
        "metadataOptions is not set, so instance 'web' takes its metadata options from launch template \"web-lt\"; "
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
        'metadataOptions.httpTokens="optional": IMDSv1 stays enabled; it must be "required".'
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
# A trailing wildcard inside one named resource names that resource, not "*".
NAMED_WILDCARDS = {
    "Effect": "Allow",
    "Action": ["s3:GetObject", "logs:PutLogEvents", "sqs:SendMessage"],
    "Resource": [
        "arn:aws:s3:::bucket/*",
        "arn:aws:logs:eu-west-1:123456789012:log-group:name:log-stream:*",
        "arn:aws:sqs:eu-west-1:123456789012:jobs-*",
    ],
}


def compliant_iam() -> list[Res]:
    """Every IAM shape the policy parses, least-privilege, plus the false positives the issue lists."""
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
        Res(
            "aws:iam/policy:Policy",
            "ecr-auth-any-region",  # an allowed "*"-only action on an all-wildcard ARN is as fine as on "*"
            {
                "policy": doc(
                    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "arn:aws:ecr:*:*:*"}
                )
            },
        ),
        Res(
            "aws:iam/rolePolicy:RolePolicy",
            "rp",
            {
                "role": "role",
                "policy": doc(
                    # The AWS-required "*" actions, and lower-case spelling of one of them.
                    {
                        "Effect": "Allow",
                        "Action": ["ecr:GetAuthorizationToken", "XRay:PutTraceSegments", "xray:PutTelemetryRecords"],
                        "Resource": "*",
                    }
                ),
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
    ]


def test_compliant_iam_passes() -> None:
    assert messages(compliant_iam(), "iam-least-privilege") == []


IAM_CASES = [
    (
        "action star",
        Res("aws:iam/policy:Policy", "x", {"policy": doc({**READ_DOCS, "Action": "*"})}),
        ['policy Statement[0] allows Action ["*"]: name the actions the workload calls.'],
    ),
    (
        "service star",
        Res("aws:iam/rolePolicy:RolePolicy", "x", {"policy": doc({**READ_DOCS, "Sid": "All", "Action": ["s3:*"]})}),
        ["policy Statement[0] (Sid 'All') allows Action [\"s3:*\"]: name the actions the workload calls."],
    ),
    (
        "not action",
        Res(
            "aws:iam/userPolicy:UserPolicy",
            "x",
            {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"})},
        ),
        ['policy Statement[0] is an Allow with NotAction="iam:*": it grants everything not listed.'],
    ),
    (
        "not resource",
        Res(
            "aws:iam/groupPolicy:GroupPolicy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"})},
        ),
        ['policy Statement[0] is an Allow with NotResource="arn:aws:s3:::b": it grants everything not listed.'],
    ),
    (
        "resource star",
        Res(
            "aws:iam/policy:Policy",
            "x",
            {
                "policy": doc(
                    {"Effect": "Allow", "Action": ["s3:GetObject", "ecr:GetAuthorizationToken"], "Resource": ["*"]}
                )
            },
        ),
        [
            'policy Statement[0] allows Resource "*" for ["s3:GetObject"]: only actions that AWS authorises solely on '
            '"*" may use it; name the resource ARNs.'
        ],
    ),
    (
        "sqs all-wildcard arn",
        Res(
            "aws:iam/policy:Policy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:*"})},
        ),
        [
            'policy Statement[0] allows Resource ["arn:aws:sqs:*:*:*"], which is effectively "*", for '
            '["sqs:SendMessage"]: only actions that AWS authorises solely on "*" may use it; name the resource ARNs.'
        ],
    ),
    (
        "s3 every bucket",
        Res(
            "aws:iam/rolePolicy:RolePolicy",
            "x",
            {"policy": doc({**READ_DOCS, "Resource": ["arn:aws:s3:::student-helper-documents/*", "arn:aws:s3:::*"]})},
        ),
        [
            'policy Statement[0] allows Resource ["arn:aws:s3:::*"], which is effectively "*", for '
            '["s3:GetObject", "s3:PutObject"]: only actions that AWS authorises solely on "*" may use it; name the '
            "resource ARNs."
        ],
    ),
    (
        "every service",
        Res(
            "aws:iam/policy:Policy",
            "x",
            {"policy": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:*:*:*:*:*"})},
        ),
        [
            'policy Statement[0] allows Resource ["arn:*:*:*:*:*"], which is effectively "*", for ["s3:GetObject"]: '
            'only actions that AWS authorises solely on "*" may use it; name the resource ARNs.'
        ],
    ),
    (
        "every object of every bucket",
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
            'policyDocument Statement[0] allows Resource ["arn:aws:s3:::*/*"], which is effectively "*", for '
            '["s3:GetObject"]: only actions that AWS authorises solely on "*" may use it; name the resource ARNs.'
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
        ['inlinePolicies[1].policy Statement[0] allows Action ["*:*"]: name the actions the workload calls.'],
    ),
    (
        "open trust",
        Res(
            "aws:iam/role:Role",
            "x",
            {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})},
        ),
        ['assumeRolePolicy Statement[0] has Principal {"AWS": "*"}: any AWS account can assume the role.'],
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
        ['assumeRolePolicyDocument Statement[0] has Principal "*": any AWS account can assume the role.'],
    ),
    (
        "admin attachment",
        Res(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "x",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        [
            "policyArn attaches the AWS-managed policy AdministratorAccess "
            "(arn:aws:iam::aws:policy/AdministratorAccess): "
            "it grants far more than the workload needs."
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
            "policyArn attaches the AWS-managed policy PowerUserAccess "
            "(arn:aws-us-gov:iam::aws:policy/PowerUserAccess): "
            "it grants far more than the workload needs."
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
            "managedPolicyArns attaches the AWS-managed policy AmazonS3FullAccess (arn:aws:iam::aws:policy/"
            "AmazonS3FullAccess): it grants far more than the workload needs."
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
            "policyArn attaches the AWS-managed policy SystemAdministrator (arn:aws:iam::aws:policy/job-function/"
            "SystemAdministrator): it grants far more than the workload needs."
        ],
    ),
    (
        "iam full access native",
        Res("aws-native:iam:Role", "x", {"managedPolicyArns": ["arn:aws:iam::aws:policy/IAMFullAccess"]}),
        [
            "managedPolicyArns attaches the AWS-managed policy IAMFullAccess (arn:aws:iam::aws:policy/IAMFullAccess): "
            "it grants far more than the workload needs."
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
        ['policyDocument Statement[0] allows Action ["dynamodb:*"]: name the actions the workload calls.'],
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
            'policies[0].policyDocument Statement[0] allows Resource "*" for ["s3:GetObject"]: only actions that AWS '
            'authorises solely on "*" may use it; name the resource ARNs.'
        ],
    ),
    (
        "not json",
        Res("aws:iam/policy:Policy", "x", {"policy": "{not json"}),
        ['policy is not a JSON policy document: "{not json".'],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), [c[1:] for c in IAM_CASES], ids=[c[0] for c in IAM_CASES])
def test_iam_violations(resource: Res, expected: list[str]) -> None:
    assert messages([*compliant_iam(), resource], "iam-least-privilege") == expected


def test_allowed_wildcard_actions_are_configurable() -> None:
    statement = {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
    resources = [Res("aws:iam/policy:Policy", "x", {"policy": doc(statement)})]
    assert len(messages(resources, "iam-least-privilege")) == 1
    config = {"iam-least-privilege": {"allowedWildcardResourceActions": ["s3:ListAllMyBuckets"]}}
    assert messages(resources, "iam-least-privilege", config) == []
    # Configuring the list replaces the defaults, so the X-Ray actions are judged again.
    xray = [Res("aws:iam/policy:Policy", "y", {"policy": doc({**statement, "Action": "xray:PutTraceSegments"})})]
    assert len(messages(xray, "iam-least-privilege", config)) == 1
