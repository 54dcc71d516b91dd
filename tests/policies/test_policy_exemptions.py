"""Exemptions name a policy, one of its checks, one resource and a reason: they waive that check and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from policytest_helpers import Res, run

from policies.base import checks_of
from policies.registry import POLICIES
from tools.policy_analyze import InputError, parse_config

ROOT = Path(__file__).resolve().parents[2]
REASON = "Reviewed by the platform team in ticket PLAT-123"


def exempt(policy: str, resource: str, check: str) -> dict[str, Any]:
    """A pack config with one exemption."""
    return {policy: {"exemptions": [{"resource": resource, "check": check, "reason": REASON}]}}


def checks(resources: list[Res], policy: str, config: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(resource name, check id) of every violation."""
    return [(v.urn.rsplit("::", 1)[1], v.check) for v in run(resources, policy, config)]


# One resource that violates two checks of the same policy, per policy kind (resource and stack policies).
TWO_CHECKS = [
    (
        "private-subnets-only",
        Res("aws:ec2/launchConfiguration:LaunchConfiguration", "lc", {"associatePublicIpAddress": True}),
        Res("aws:lambda/function:Function", "fn", {}),
        "public-ip",
    ),
    (
        "iam-least-privilege",
        Res(
            "aws:iam/policy:Policy",
            "p",
            {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})},
        ),
        None,
        "wildcard-action",
    ),
    (
        "encryption-at-rest",
        Res("aws:ec2/instance:Instance", "host", {"rootBlockDevice": {"encrypted": False}}),
        Res("aws:efs/fileSystem:FileSystem", "efs", {}),
        "ebs",
    ),
]


@pytest.mark.parametrize(("policy", "target", "other", "waived"), TWO_CHECKS, ids=[c[0] for c in TWO_CHECKS])
def test_an_exemption_waives_one_check_for_one_resource(
    policy: str, target: Res, other: Res | None, waived: str
) -> None:
    resources = [target, *([other] if other else [])]
    before = checks(resources, policy)
    assert (target.name, waived) in before
    after = checks(resources, policy, exempt(policy, target.name, waived))
    assert after == [c for c in before if c != (target.name, waived)]
    # By URN as well as by logical name.
    assert checks(resources, policy, exempt(policy, target.urn, waived)) == after


def test_a_resource_violating_two_checks_keeps_the_one_not_exempted() -> None:
    both = Res(
        "aws:iam/policy:Policy",
        "p",
        {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})},
    )
    assert checks([both], "iam-least-privilege") == [("p", "wildcard-action"), ("p", "wildcard-resource")]
    config = exempt("iam-least-privilege", "p", "wildcard-resource")
    assert checks([both], "iam-least-privilege", config) == [("p", "wildcard-action")]


def test_an_exemption_for_another_resource_or_policy_changes_nothing() -> None:
    fn = Res("aws:lambda/function:Function", "fn", {})
    assert checks([fn], "private-subnets-only", exempt("private-subnets-only", "other-fn", "lambda-outside-vpc")) == [
        ("fn", "lambda-outside-vpc")
    ]


BAD_EXEMPTIONS = [
    ({"resource": "fn", "reason": REASON}, "'check' is a required property"),
    ({"resource": "fn", "check": "lambda-outside-vpc"}, "'reason' is a required property"),
    ({"resource": "fn", "check": "lambda-outside-vpc", "reason": "because"}, "'because' is too short"),
    ({"resource": "fn", "check": "no-such-check", "reason": REASON}, "'no-such-check' is not one of ['public-subnet'"),
    ({"resource": "fn", "check": "nat-gateway", "reason": REASON}, "'nat-gateway' is not one of"),  # another policy's
    ({"resource": "", "check": "lambda-outside-vpc", "reason": REASON}, "should be non-empty"),
    ({"resource": "fn", "check": "lambda-outside-vpc", "reason": REASON, "until": "2027"}, "Additional properties"),
]


@pytest.mark.parametrize(("exemption", "error"), BAD_EXEMPTIONS, ids=[e for _, e in BAD_EXEMPTIONS])
def test_config_schema_rejects_an_exemption_without_a_known_check_or_reason(
    exemption: dict[str, Any], error: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_config({"private-subnets-only": {"exemptions": [exemption]}})
    assert "private-subnets-only.exemptions.0" in str(info.value)
    assert error in str(info.value)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_every_policy_enumerates_its_check_ids_in_the_schema(policy: Any) -> None:
    schema = policy.config_schema.properties["exemptions"]
    assert schema["items"]["required"] == ["resource", "check", "reason"]
    assert schema["items"]["properties"]["check"]["enum"] == [c.id for c in checks_of(policy)]


def test_the_project_config_names_a_check_in_every_exemption() -> None:
    config = json.loads((ROOT / "policies" / "config.json").read_text())
    parse_config(config)  # schema-valid, so every check id exists
    exemptions = [
        e for settings in config.values() if isinstance(settings, dict) for e in settings.get("exemptions", [])
    ]
    assert exemptions and all(e["check"] for e in exemptions)
