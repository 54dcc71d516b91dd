"""What stops a stack from being destroyed, read from its ``pulumi stack export``, and how to lift each part.

Pure functions over the export: the destroy targets refuse before destroying anything while any of these is on,
so an environment is never left half destroyed by a protection met in its third layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tools.stack_export import Resource, resources


@dataclass(frozen=True)
class Protection:
    """One protection on one deployed resource."""

    urn: str
    """The protected resource."""
    kind: str
    """``protect`` (Pulumi), ``deletion-protection`` (RDS), ``termination-protection`` (EC2), or
    ``unnamed-final-snapshot`` (an RDS destroy that would fail half way for want of a snapshot name)."""
    lift: tuple[str, ...]
    """The commands that lift it, in order."""


def _unnamed_final_snapshot(resource: Resource) -> bool:
    inputs = resource.inputs
    return inputs.get("skipFinalSnapshot") in (False, "false") and not inputs.get("finalSnapshotIdentifier")


def _flag(resource: Resource, name: str) -> bool:
    # The state records what AWS reported at the last update or refresh, so outputs win over inputs.
    for section in (resource.outputs, resource.inputs):
        value = section.get(name)
        if value is not None:
            return value is True or value == "true"
    return False


def protections(export: Mapping[str, Any], layer: str, env: str, region: str) -> list[Protection]:
    """Every protection in one stack export; AWS-side ones first, since a refresh must see them lifted."""
    refresh = f"make refresh-{layer} ENV={env}"
    found: list[Protection] = []
    protected: list[Protection] = []
    for resource in resources(export):
        urn, outputs = resource.urn, resource.outputs
        if resource.type == "aws:rds/instance:Instance" and _flag(resource, "deletionProtection"):
            name = outputs.get("identifier") or resource.id or "<db-instance-identifier>"
            lift = (
                f"aws rds modify-db-instance --region {region} --db-instance-identifier {name} "
                "--no-deletion-protection --apply-immediately"
            )
            found.append(Protection(urn, "deletion-protection", (lift, refresh)))
        if resource.type == "aws:rds/instance:Instance" and _unnamed_final_snapshot(resource):
            # A database created before its final snapshot was named keeps the null name (ignore_changes), and the
            # provider refuses the delete: "final_snapshot_identifier is required when skip_final_snapshot is
            # false". Snapshot it by hand, then let Pulumi delete it without one.
            name = outputs.get("identifier") or resource.id or "<db-instance-identifier>"
            steps = (
                f"aws rds create-db-snapshot --region {region} --db-instance-identifier {name} "
                f"--db-snapshot-identifier {name}-final-manual && aws rds wait db-snapshot-available --region {region} "
                f"--db-snapshot-identifier {name}-final-manual",
                f"set student-helper-{layer}:rds_final_snapshot: false in stacks/{layer}/Pulumi.{env}.yaml, then "
                f"make up-{layer} ENV={env}",
            )
            found.append(Protection(urn, "unnamed-final-snapshot", steps))
        if resource.type == "aws:ec2/instance:Instance" and _flag(resource, "disableApiTermination"):
            instance = resource.id or "<instance-id>"
            lift = (
                f"aws ec2 modify-instance-attribute --region {region} --instance-id {instance} "
                "--no-disable-api-termination"
            )
            found.append(Protection(urn, "termination-protection", (lift, refresh)))
        if resource.protect:
            unprotect = f"pulumi state unprotect --cwd stacks/{layer} --stack {env} --yes '{urn}'"
            protected.append(Protection(urn, "protect", (unprotect,)))
    return found + protected


def retained(export: Mapping[str, Any]) -> list[str]:
    """URNs that Pulumi leaves in AWS on destroy (``retainOnDelete``): their data outlives the stack."""
    return [r.urn for r in resources(export) if r.retain_on_delete]
