"""Base tags and the one mechanism that applies them: a stack transform over every taggable resource."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from functools import cache

import pulumi

MANAGED_BY = "pulumi"
BASE_TAG_KEYS = ("Project", "Environment", "Layer", "ManagedBy", "Owner")


def base_tags(project: str, environment: str, layer: str, owner: str) -> dict[str, str]:
    """The tags every taggable resource carries: cost allocation and ownership."""
    return {
        "Project": project,
        "Environment": environment,
        "Layer": layer,
        "ManagedBy": MANAGED_BY,
        "Owner": owner,
    }


@cache
def tags_style(type_token: str) -> str | None:
    """How a resource type takes tags: ``"map"``, ``"list"`` (aws-native key/value list) or None if untaggable.

    Derived from the installed provider SDK (the resource class's constructor), so a new resource type is
    handled without a hand-kept list.
    """
    package, _, rest = type_token.partition(":")
    module_path, _, class_name = rest.rpartition(":")
    sdk = {"aws": "pulumi_aws", "aws-native": "pulumi_aws_native"}.get(package)
    if sdk is None or not module_path:
        return None
    module_name = module_path.split("/")[0]
    for candidate in (module_name, f"{module_name}_"):  # lambda -> lambda_
        try:
            module = importlib.import_module(f"{sdk}.{candidate}")
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if cls is None:
            continue
        parameters = inspect.signature(cls._internal_init).parameters
        if "tags" not in parameters:
            return None
        annotation = str(parameters["tags"].annotation)
        return "list" if "Sequence" in annotation else "map"
    return None


def merge_tags(existing: object, tags: Mapping[str, str], style: str) -> object:
    """``existing`` tags with ``tags`` filled in underneath: a resource's own tag value wins."""
    if style == "list":
        current = {t["key"]: t["value"] for t in existing or [] if isinstance(t, Mapping)}  # type: ignore[attr-defined]
        merged = {**tags, **current}
        return [{"key": k, "value": v} for k, v in merged.items()]
    return {**tags, **(dict(existing) if isinstance(existing, Mapping) else {})}


def register_tagging(tags: Mapping[str, str]) -> None:
    """Apply ``tags`` (plus a Name tag from the resource's logical name) to every taggable resource."""
    frozen = dict(tags)

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        style = tags_style(args.type_) if args.custom else None
        if style is None:
            return None
        wanted = {**frozen, "Name": args.name}
        props = dict(args.props)
        props["tags"] = merge_tags(props.get("tags"), wanted, style)
        return pulumi.ResourceTransformResult(props=props, opts=args.opts)

    pulumi.runtime.register_resource_transform(transform)
