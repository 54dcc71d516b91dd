"""Compute rules: EC2 instances and launch templates must require IMDSv2 session tokens."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import elsewhere_note, get, launch_template_label, resource_policy, show

# Where each type keeps its metadata options. Instances and templates from both providers are covered.
METADATA_OPTIONS_PATH: dict[str, tuple[str, ...]] = {
    "aws:ec2/instance:Instance": ("metadataOptions",),
    "aws:ec2/launchTemplate:LaunchTemplate": ("metadataOptions",),
    "aws-native:ec2:Instance": ("metadataOptions",),
    "aws-native:ec2:LaunchTemplate": ("launchTemplateData", "metadataOptions"),
}

INSTANCE_TYPES = frozenset({"aws:ec2/instance:Instance", "aws-native:ec2:Instance"})


def _check_imdsv2(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    path = METADATA_OPTIONS_PATH.get(args.resource_type)
    if path is None:
        return
    where = ".".join(path)
    options = get(args.props, *path)
    template = get(args.props, "launchTemplate") if args.resource_type in INSTANCE_TYPES else None
    if options is None and template is not None:
        # The instance takes its metadata options from the template, and a resource policy sees one resource: the
        # template is judged by this policy as its own resource, wherever it is defined. An advisory note, not a pass.
        raise elsewhere_note(
            f"{where} is not set, so instance '{args.name}' takes its metadata options from launch template "
            f"{launch_template_label(template)}; imdsv2-required checks that template where it is defined."
        )
    if options is None:
        # Without metadata options the AMI's/account's default applies, which allows IMDSv1.
        yield f'{where} is not set, so IMDSv1 stays enabled; set {where}.httpTokens to "required".'
        return
    tokens = get(options, "httpTokens")
    if tokens != "required":
        yield f'{where}.httpTokens={show(tokens)}: IMDSv1 stays enabled; it must be "required".'


IMDSV2_REQUIRED = resource_policy(
    name="imdsv2-required",
    description=(
        "EC2 instances and launch templates (pulumi-aws and aws-native) must set metadata options with "
        'httpTokens = "required" (IMDSv2 only). Missing metadata options is a violation, except on an instance '
        "launched from a launch template: the template is judged where it is defined, and the instance gets an "
        "advisory note naming it."
    ),
    severity=Severity.HIGH,
    remediation=(
        'Set metadata_options={"http_tokens": "required", "http_endpoint": "enabled", '
        '"http_put_response_hop_limit": 1} (launch templates: launchTemplateData.metadataOptions for aws-native).'
    ),
    check=_check_imdsv2,
    mandatory=True,
)

POLICIES = (IMDSV2_REQUIRED,)
