"""pulumi-aws resources → a Terraform plan JSON that ``checkov --framework terraform_plan`` reads.

The plan format is Terraform's JSON output format (``terraform show -json``): ``planned_values`` carries the
attribute values, ``resource_changes`` the create actions and ``configuration`` the expressions. checkov only builds
edges between resources from ``configuration.root_module.resources[].expressions.<attr>.references``, and only for
attributes that are absent or null in ``planned_values`` (checkov/terraform/plan_parser.py ``_add_references``), as
Terraform writes them for values known after apply. So an attribute that came from another translated resource is
written as unknown in the values and as a reference in the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tools.scan import aws_sdk
from tools.stack_export import UNKNOWN_VALUE, Resource

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.0"
PROVIDER = "registry.terraform.io/hashicorp/aws"


@dataclass
class PlanTranslation:
    """A plan document and, for every Terraform address in it, the Pulumi URN it came from."""

    plan: dict[str, Any]
    """The Terraform plan JSON document (``terraform show -json`` format)."""
    urns: dict[str, str] = field(default_factory=dict)
    """Terraform address → Pulumi URN; empty when there were no pulumi-aws resources to translate."""


def tf_name(pulumi_name: str, taken: set[str]) -> str:
    """A valid Terraform resource name for a Pulumi resource name, unique within ``taken`` (``a.b`` → ``a_b``)."""
    base = re.sub(r"[^A-Za-z0-9_-]", "_", pulumi_name) or "resource"
    if not re.match(r"[A-Za-z_]", base):
        base = f"r_{base}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def convert_value(token: str, props: dict[str, aws_sdk.Prop], camel: str, value: Any) -> Any:
    """One property value in Terraform's shape: blocks as lists of objects, nested names snake_case."""
    prop = props.get(camel)
    if prop is not None and prop.nested is not None:
        nested = aws_sdk.nested_props(token, prop.nested)
        if isinstance(value, dict):
            return [convert_object(token, nested, value)]
        if isinstance(value, list):
            return [convert_object(token, nested, v) if isinstance(v, dict) else v for v in value]
    return value


def convert_object(token: str, props: dict[str, aws_sdk.Prop], obj: dict[str, Any]) -> dict[str, Any]:
    """A Pulumi object (resource properties or a nested block) as Terraform attributes; unknowns are dropped."""
    out: dict[str, Any] = {}
    for camel, value in obj.items():
        if camel.startswith("__") or value is UNKNOWN_VALUE:
            continue
        prop = props.get(camel)
        name = prop.tf_name if prop is not None else aws_sdk.snake(camel)
        out[name] = _strip_unknowns(convert_value(token, props, camel, value))
    return out


def _strip_unknowns(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_unknowns(v) for k, v in value.items() if v is not UNKNOWN_VALUE}
    if isinstance(value, list):
        return [_strip_unknowns(v) for v in value if v is not UNKNOWN_VALUE]
    return value


def merged_properties(resource: Resource) -> dict[str, Any]:
    """The resource's state: outputs (what is deployed, defaults included) with inputs filling unknown outputs."""
    merged = dict(resource.inputs)
    for key, value in resource.outputs.items():
        if value is not UNKNOWN_VALUE or key not in merged:
            merged[key] = value
    return merged


def _reference_attr(value: Any, dep: Resource) -> str:
    """Which attribute of ``dep`` a value was read from (``id`` unless it matches the ARN or name)."""
    if value == dep.id:
        return "id"
    for attr in ("arn", "name", "bucket"):
        if value is not UNKNOWN_VALUE and value == dep.outputs.get(attr):
            return attr
    return "id"


def translate_plan(resources: Iterable[Resource], known_tf_types: Iterable[str] = ()) -> PlanTranslation:
    """A Terraform plan document for the pulumi-aws resources among ``resources``; other providers' are ignored."""
    known = frozenset(known_tf_types)
    aws = [r for r in resources if r.type.startswith("aws:")]
    taken: dict[str, set[str]] = {}
    address_of: dict[str, str] = {}
    typed: list[tuple[Resource, str, str]] = []
    for res in aws:
        rtype = aws_sdk.tf_type(res.type, known)
        name = tf_name(res.name, taken.setdefault(rtype, set()))
        address_of[res.urn] = f"{rtype}.{name}"
        typed.append((res, rtype, name))
    by_urn = {r.urn: r for r in aws}

    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    config: list[dict[str, Any]] = []
    urns: dict[str, str] = {}
    for res, rtype, name in typed:
        props = aws_sdk.resource_props(res.type)
        raw = merged_properties(res)
        values = convert_object(res.type, props, raw)
        expressions: dict[str, Any] = {}
        after_unknown: dict[str, Any] = {}
        for camel, dep_urns in sorted((res.property_dependencies or {}).items()):
            deps = [by_urn[u] for u in dep_urns if u in by_urn]
            if not deps:
                continue
            attr = props[camel].tf_name if camel in props else aws_sdk.snake(camel)
            refs: list[str] = []
            for dep in deps:
                dep_addr = address_of[dep.urn]
                refs += [f"{dep_addr}.{_reference_attr(raw.get(camel), dep)}", dep_addr]
            expressions[attr] = {"references": refs}
            if not isinstance(values.get(attr), (dict, list)) or not values.get(attr):
                # Known after apply in Terraform's terms: checkov then follows the reference.
                values.pop(attr, None)
                after_unknown[attr] = True
            elif all(not isinstance(v, (dict, list)) for v in values[attr]):
                values[attr] = [None for _ in values[attr]]
        address = f"{rtype}.{name}"
        urns[address] = res.urn
        common = {"address": address, "mode": "managed", "type": rtype, "name": name, "provider_name": PROVIDER}
        planned.append({**common, "schema_version": 0, "values": values, "sensitive_values": {}})
        changes.append(
            {
                **common,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": after_unknown,
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        )
        config.append(
            {
                "address": address,
                "mode": "managed",
                "type": rtype,
                "name": name,
                "provider_config_key": "aws",
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    plan = {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        # No provider_config: Pulumi providers are skipped, so checkov's provider checks would have no URN to report.
        "configuration": {"root_module": {"resources": config}},
    }
    return PlanTranslation(plan=plan, urns=urns)
