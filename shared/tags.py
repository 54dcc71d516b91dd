"""Base tags and the one mechanism that applies them: a stack transform over every taggable resource."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from policies.taggable import tag_style

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


def tags_style(type_token: str) -> str | None:
    """How a resource type takes tags: ``"map"``, ``"list"`` (aws-native key/value list) or None if untaggable.

    From the policy pack's data file of taggable types (generated from the pinned provider SDKs), so the transform
    tags exactly the resources the ``required-tags`` policy checks.
    """
    return tag_style(type_token)


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
