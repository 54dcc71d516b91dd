"""Compute rules: whatever launches an EC2 instance must require IMDSv2 session tokens (or turn the endpoint off)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, as_list, elsewhere_note, get, launch_template_label, resource_policy, show

# Where each type keeps its metadata options: instances, launch templates, launch configurations and spot requests,
# from both providers.
METADATA_OPTIONS_PATH: dict[str, tuple[str, ...]] = {
    "aws:ec2/instance:Instance": ("metadataOptions",),
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest": ("metadataOptions",),
    "aws:ec2/launchTemplate:LaunchTemplate": ("metadataOptions",),
    "aws:ec2/launchConfiguration:LaunchConfiguration": ("metadataOptions",),
    "aws-native:ec2:Instance": ("metadataOptions",),
    "aws-native:ec2:LaunchTemplate": ("launchTemplateData", "metadataOptions"),
    "aws-native:autoscaling:LaunchConfiguration": ("metadataOptions",),
}
# Resources that can take their metadata options from a launch template instead of declaring their own.
FROM_TEMPLATE_TYPES = frozenset(
    {"aws:ec2/instance:Instance", "aws:ec2/spotInstanceRequest:SpotInstanceRequest", "aws-native:ec2:Instance"}
)
# Spot fleet launch specifications have no metadata options at all (neither provider's schema nor the EC2 API's
# SpotFleetLaunchSpecification), so their instances get the AMI's or account's default.
SPOT_FLEET_SPECS: dict[str, tuple[str, ...]] = {
    "aws:ec2/spotFleetRequest:SpotFleetRequest": ("launchSpecifications",),
    "aws-native:ec2:SpotFleet": ("spotFleetRequestConfigData", "launchSpecifications"),
}


def _metadata_options(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    path = METADATA_OPTIONS_PATH[args.resource_type]
    where = ".".join(path)
    options = get(args.props, *path)
    template = get(args.props, "launchTemplate") if args.resource_type in FROM_TEMPLATE_TYPES else None
    if options is None and template is not None:
        # It takes its metadata options from the template, and a resource policy sees one resource: the template is
        # judged by this policy as its own resource, wherever it is defined. An advisory note, not a pass.
        raise elsewhere_note(
            f"{where} is not set, so '{args.name}' takes its metadata options from launch template "
            f"{launch_template_label(template)}; imdsv2-required checks that template where it is defined."
        )
    if options is None:
        # Without metadata options the AMI's/account's default applies, which allows IMDSv1.
        yield f'{where} is not set, so IMDSv1 stays enabled; set {where}.httpTokens to "required".'
        return
    # With the endpoint off there is no metadata service at all, so no IMDSv1 to abuse: accepted whatever httpTokens
    # says. Source (HttpEndpoint: "If you specify a value of disabled, you cannot access your instance metadata"):
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceMetadataOptionsRequest.html
    if str(get(options, "httpEndpoint") or "").lower() == "disabled":
        return
    tokens = get(options, "httpTokens")
    if tokens != "required":
        yield f'{where}.httpTokens={show(tokens)}: IMDSv1 stays enabled; it must be "required".'


def _spot_fleet_specs(args: ResourceValidationArgs, _config: Mapping[str, Any]) -> Iterator[str]:
    path = SPOT_FLEET_SPECS[args.resource_type]
    for i, _ in enumerate(as_list(get(args.props, *path))):
        yield (
            f"{'.'.join(path)}[{i}] cannot set metadata options, so its instances keep IMDSv1; launch them from "
            'launchTemplateConfigs with a launch template whose httpTokens is "required".'
        )


IMDSV2_REQUIRED = resource_policy(
    name="imdsv2-required",
    description=(
        "Whatever launches an EC2 instance requires IMDSv2: instances, spot instance requests, launch templates and "
        'launch configurations (pulumi-aws and aws-native) set metadata options with httpTokens = "required", or '
        'turn the endpoint off (httpEndpoint = "disabled"); spot fleets launch from launch templates, because '
        "their launch specifications cannot set metadata options. Missing metadata options is a violation, except "
        "on an instance or spot request launched from a launch template: the template is judged where it is "
        "defined, and the instance gets an advisory note naming it."
    ),
    severity=Severity.HIGH,
    remediation=(
        'Set metadata_options={"http_tokens": "required", "http_endpoint": "enabled", '
        '"http_put_response_hop_limit": 1} (launch templates: launchTemplateData.metadataOptions for aws-native); '
        "move spot fleets to launchTemplateConfigs."
    ),
    checks=(
        Check(
            "http-tokens",
            'metadata options are missing, or httpTokens is not "required" while the endpoint is enabled',
            frozenset(METADATA_OPTIONS_PATH),
            (
                "metadataOptions.httpTokens",
                "metadataOptions.httpEndpoint",
                "launchTemplateData.metadataOptions.httpTokens",
                "launchTemplateData.metadataOptions.httpEndpoint",
                "launchTemplate",
            ),
            _metadata_options,
        ),
        Check(
            "spot-fleet-launch-specification",
            "a spot fleet launches instances from launch specifications, which cannot require IMDSv2",
            frozenset(SPOT_FLEET_SPECS),
            ("launchSpecifications", "spotFleetRequestConfigData.launchSpecifications"),
            _spot_fleet_specs,
        ),
    ),
    not_checked=(
        "autoscaling groups and EC2 fleets: they launch from launch templates and configurations, which are judged",
        "the AMI's ImdsSupport and the account's instance metadata defaults (aws:ec2/instanceMetadataDefaults), "
        "which can make IMDSv2 the default: they are outside the resource, so missing options still count as IMDSv1",
        "spot fleets' launchTemplateConfigs overrides (they carry no metadata options; the template is judged)",
    ),
    mandatory=True,
)

POLICIES = (IMDSV2_REQUIRED,)
