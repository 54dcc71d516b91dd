"""Tagging: every taggable resource carries the required tags, counting the provider's default tags."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import ResourceValidationArgs, Severity

from policies.base import Check, LazyTypes, as_list, get, plain, resource_policy

DEFAULT_REQUIRED_TAGS = ("Project", "Environment", "Layer", "ManagedBy", "Owner")

_RESOURCE_CLASS = re.compile(r'@pulumi\.type_token\("([^"]+)"\)\nclass \w+\(pulumi\.CustomResource\):')
# A pulumi-aws resource is taggable when it has the computed tagsAll output; an aws-native one when it has tags.
_TAG_MARKERS = {"pulumi_aws": "def tags_all(self)", "pulumi_aws_native": "def tags(self)"}


@functools.cache
def taggable_types() -> frozenset[str]:
    """Type tokens of every taggable resource in the installed pulumi-aws and aws-native SDKs.

    Read from the SDK sources (no import: importing pulumi_aws takes seconds), so the list always matches the pins.
    """
    found: set[str] = set()
    for package, marker in _TAG_MARKERS.items():
        spec = importlib.util.find_spec(package)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in Path(root).rglob("*.py"):
                source = path.read_text(encoding="utf-8")
                if "pulumi.CustomResource" not in source:
                    continue
                matches = list(_RESOURCE_CLASS.finditer(source))
                for i, match in enumerate(matches):
                    end = matches[i + 1].start() if i + 1 < len(matches) else len(source)
                    if marker in source[match.end() : end]:
                        found.add(match.group(1))
    return frozenset(found)


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
            LazyTypes(taggable_types, "every taggable type of pulumi-aws (those with tagsAll) and aws-native"),
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
