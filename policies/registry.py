"""The one list of every policy in the pack. Names are unique, and a policy that is mandatory by default judges inputs;
breaking either fails at import."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy

from . import compute, data, iam, network, protection, tagging

PACK_NAME = "student-helper"
PACK_DIR = Path(__file__).resolve().parent


def pack_version(pack_dir: Path = PACK_DIR) -> str:
    """The version in PulumiPolicy.yaml: what the CLI shows and publishes, so the pack's own messages say it too."""
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    return str(project["version"])


PACK_VERSION = pack_version()

# Other tools and users depend on these exact names being mandatory by default.
MANDATORY = ("no-nat-gateway", "imdsv2-required", "encryption-at-rest", "private-subnets-only", "iam-least-privilege")


def default_level(policy: Policy) -> EnforcementLevel:
    """The level a policy runs at when the config says nothing (the pack default is advisory)."""
    return policy.enforcement_level or EnforcementLevel.ADVISORY


class DuplicatePolicyError(ValueError):
    """Two policies share a name; the CLI would silently judge only one of them."""


class MandatoryStackPolicyError(ValueError):
    """A stack policy is mandatory by default: it would judge outputs after the changes it is meant to stop."""


def build(policies: Iterable[Policy]) -> tuple[Policy, ...]:
    """The policies in order, after checking their names are unique and every default-mandatory one is a resource
    policy (the CLI runs those on inputs before each change; stack policies run on outputs once the changes are made,
    where a setting the program left out is an unknown the provider computes: docs/policies.md, "Inputs or outputs")."""
    seen: set[str] = set()
    ordered: list[Policy] = []
    for policy in policies:
        if policy.name in seen:
            raise DuplicatePolicyError(f"policy name {policy.name!r} is registered twice")
        if default_level(policy) == EnforcementLevel.MANDATORY and not isinstance(policy, ResourceValidationPolicy):
            raise MandatoryStackPolicyError(
                f"policy {policy.name!r} is mandatory but judges the stack's outputs after the changes: make it a "
                "resource policy on inputs, or advisory"
            )
        seen.add(policy.name)
        ordered.append(policy)
    return tuple(ordered)


POLICIES: tuple[Policy, ...] = build(
    [
        *network.POLICIES,
        *compute.POLICIES,
        *data.POLICIES,
        *iam.POLICIES,
        *protection.POLICIES,
        *tagging.POLICIES,
    ]
)

BY_NAME: dict[str, Policy] = {p.name: p for p in POLICIES}
