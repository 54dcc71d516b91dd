"""Tagging: every taggable resource carries the required tags, counting the provider's default tags."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from .base import Check, NamedTypes, as_list, get, plain, resource_policy
from .taggable import tag_styles

DEFAULT_REQUIRED_TAGS = ("Project", "Environment", "Layer", "ManagedBy", "Owner")

# Read when the pack starts, so a missing or broken data file stops the pack before it serves anything, and the first
# Analyze does not pay for it.
TAGGABLE = tag_styles()


def tag_map(value: Any) -> dict[str, str]:
    """Tags as a dict, from a map (pulumi-aws) or a list of {key, value} (aws-native)."""
    value = plain(value)
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    tags: dict[str, str] = {}
    for item in as_list(value):
        if isinstance(item, Mapping) and "key" in item:
            tags[str(item["key"])] = str(item.get("value") or "")
    return tags


def provider_default_tags(args: ResourceValidationArgs) -> dict[str, str]:
    """The provider's ``defaultTags.tags`` (state stores provider config as JSON strings, so parse those)."""
    if args.provider is None:
        return {}
    default_tags = get(args.provider.props, "defaultTags")
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except ValueError:
            return {}
    return tag_map(get(default_tags, "tags"))


def _check_tags(args: ResourceValidationArgs, config: Mapping[str, Any]) -> Iterator[str]:
    tags = {**provider_default_tags(args), **tag_map(get(args.props, "tags"))}
    required = list(config.get("requiredTags") or DEFAULT_REQUIRED_TAGS)
    missing = [t for t in required if not tags.get(t, "").strip()]
    if missing:
        yield (
            f"tags (with the provider's defaultTags) lack {', '.join(missing)}; it has "
            f"{', '.join(sorted(tags)) or 'no tags'}."
        )


REQUIRED_TAGS = resource_policy(
    name="required-tags",
    description=(
        "Every taggable AWS resource carries the required tags (default Project, Environment, Layer, ManagedBy, "
        "Owner) with non-empty values, counting the provider's defaultTags."
    ),
    severity=Severity.LOW,
    remediation=(
        "Set default_tags on the aws provider (shared by every resource of the stack) or tags on the resource, "
        "for each tag named in the message."
    ),
    checks=(
        Check(
            "missing-tags",
            "a taggable resource lacks a required tag, or its value is empty",
            NamedTypes(TAGGABLE, "every taggable type of pulumi-aws (those with tagsAll) and aws-native"),
            ("tags", "provider defaultTags.tags"),
            _check_tags,
        ),
    ),
    not_checked=(
        "tag values: any non-empty value passes",
        "types the SDKs mark as not taggable, and tags that AWS or tag policies add outside the program",
    ),
    properties={
        "requiredTags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Tag keys every taggable resource must carry.",
            "default": list(DEFAULT_REQUIRED_TAGS),
        }
    },
)

POLICIES = (REQUIRED_TAGS,)
