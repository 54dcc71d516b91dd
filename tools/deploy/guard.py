"""What stops a stack from being destroyed, read from its ``pulumi stack export``, and how to lift each part.

Pure functions over the export: the destroy targets refuse before destroying anything while any of these is on,
so an environment is never left half destroyed by a protection met in its third layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Protection:
    """One protection on one deployed resource."""

    urn: str
    """The protected resource."""
    kind: str
    """``protect`` (Pulumi), ``deletion-protection`` (RDS) or ``termination-protection`` (EC2)."""
    lift: tuple[str, ...]
    """The commands that lift it, in order."""


def _flag(resource: Mapping[str, Any], name: str) -> bool:
    # The state records what AWS reported at the last update or refresh, so outputs win over inputs.
    for section in ("outputs", "inputs"):
        value = (resource.get(section) or {}).get(name)
        if value is not None:
            return value is True or value == "true"
    return False


def protections(export: Mapping[str, Any], layer: str, env: str, region: str) -> list[Protection]:
    """Every protection in one stack export; AWS-side ones first, since a refresh must see them lifted."""
    refresh = f"make refresh-{layer} ENV={env}"
    found: list[Protection] = []
    protected: list[Protection] = []
    for resource in export.get("deployment", {}).get("resources", []):
        urn, outputs = resource["urn"], resource.get("outputs") or {}
        if resource.get("type") == "aws:rds/instance:Instance" and _flag(resource, "deletionProtection"):
            name = outputs.get("identifier") or resource.get("id", "<db-instance-identifier>")
            lift = (
                f"aws rds modify-db-instance --region {region} --db-instance-identifier {name} "
                "--no-deletion-protection --apply-immediately"
            )
            found.append(Protection(urn, "deletion-protection", (lift, refresh)))
        elif resource.get("type") == "aws:ec2/instance:Instance" and _flag(resource, "disableApiTermination"):
            instance = resource.get("id", "<instance-id>")
            lift = (
                f"aws ec2 modify-instance-attribute --region {region} --instance-id {instance} "
                "--no-disable-api-termination"
            )
            found.append(Protection(urn, "termination-protection", (lift, refresh)))
        if resource.get("protect"):
            unprotect = f"pulumi state unprotect --cwd stacks/{layer} --stack {env} --yes '{urn}'"
            protected.append(Protection(urn, "protect", (unprotect,)))
    return found + protected


def retained(export: Mapping[str, Any]) -> list[str]:
    """URNs that Pulumi leaves in AWS on destroy (``retainOnDelete``): their data outlives the stack."""
    return [r["urn"] for r in export.get("deployment", {}).get("resources", []) if r.get("retainOnDelete")]
