"""Whether a change to a resource's inputs updates it in place or replaces it, and from which source that is known.

No provider schema is available offline. aws-native resources are CloudFormation resources (the provider goes
through Cloud Control), so their registry schema decides: a property in ``createOnlyProperties`` replaces, one in
``conditionalCreateOnlyProperties`` may replace, any other updates in place. For pulumi-aws resources,
``replacements.yaml`` maps each type this project uses to the CloudFormation type of the same AWS API, with the
provider's own decisions where they differ (each with its source). Whatever neither source decides is "update (may
replace)". The schemas come from cfn-lint's copy in .venv-scan (tools/scan/oracle.py); without it, every
schema-based decision is "update (may replace)".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import yamlio
from tools.scan.oracle import Oracle, load_oracle

DATA_FILE = Path(__file__).resolve().with_name("replacements.yaml")
REPLACE, UPDATE, MAY_REPLACE = "replace", "update", "update (may replace)"
# The order of severity: a resource's action is its worst property's.
SEVERITY = {UPDATE: 0, MAY_REPLACE: 1, REPLACE: 2}
NO_SOURCE = "none"


@dataclass(frozen=True)
class Override:
    """The provider's own decision for one property, possibly only when other inputs have given values."""

    action: str
    """``replace`` or ``update``."""
    source: str
    """The key of the fact's source in the data file's ``sources``."""
    when: Mapping[str, Any] = field(default_factory=dict)
    """Inputs (in the new state) that must all have these values for the override to apply."""


@dataclass(frozen=True)
class TypeRule:
    """How one pulumi-aws type's property changes are decided."""

    cloudformation: str
    """The CloudFormation type of the same AWS API."""
    renames: Mapping[str, str]
    """pulumi-aws property -> CloudFormation property path (``A/B``), where the names differ beyond case."""
    overrides: Mapping[str, tuple[Override, ...]]
    """pulumi-aws property -> the provider's own decisions, first matching wins."""


@dataclass(frozen=True)
class Rules:
    """The parsed data file."""

    sources: Mapping[str, str]
    """Source key -> what it is and what it says."""
    always_update: frozenset[str]
    """Properties that never replace a resource, whatever its type (tags)."""
    types: Mapping[str, TypeRule]
    """pulumi-aws type token -> its rule."""


@dataclass(frozen=True)
class Decision:
    """How Pulumi applies a change to one property, and why we think so."""

    action: str
    """``replace``, ``update`` or ``update (may replace)``."""
    why: str
    """The fact, in words."""
    source: str
    """The fact's source: a key of the data file's ``sources``, ``cloudformation:<type>`` or ``none``."""


class RulesError(ValueError):
    """The data file is malformed; the message names the entry."""


def load_rules(path: Path = DATA_FILE) -> Rules:
    """Read and check ``replacements.yaml``."""
    document = yamlio.load(path.read_text(encoding="utf-8"))
    sources = {str(k): " ".join(str(v).split()) for k, v in (document.get("sources") or {}).items()}
    types: dict[str, TypeRule] = {}
    for token, entry in (document.get("types") or {}).items():
        overrides: dict[str, tuple[Override, ...]] = {}
        for prop, raw in (entry.get("overrides") or {}).items():
            listed = raw if isinstance(raw, list) else [raw]
            found = []
            for item in listed:
                if item.get("action") not in (REPLACE, UPDATE):
                    raise RulesError(f"{path.name}: {token} {prop}: action must be replace or update")
                if item.get("source") not in sources:
                    raise RulesError(f"{path.name}: {token} {prop}: unknown source {item.get('source')!r}")
                found.append(Override(item["action"], item["source"], dict(item.get("when") or {})))
            overrides[str(prop)] = tuple(found)
        if not entry.get("cloudformation"):
            raise RulesError(f"{path.name}: {token} names no cloudformation type")
        types[str(token)] = TypeRule(str(entry["cloudformation"]), dict(entry.get("renames") or {}), overrides)
    return Rules(sources, frozenset(document.get("always_update") or ()), types)


@functools.cache
def _rules() -> Rules:
    return load_rules()


@functools.cache
def _oracle() -> Oracle | None:
    try:
        return load_oracle()
    except (FileNotFoundError, StopIteration):
        return None


def cloudformation_type(token: str, rules: Rules | None = None) -> str | None:
    """The CloudFormation type a resource type is decided by: its own for aws-native, the mapped one for pulumi-aws."""
    if token.startswith("aws-native:"):
        from tools.scan.aws_sdk import UnmappedTypeError
        from tools.scan.cfn import cfn_type

        try:
            return cfn_type(token, _oracle())
        except UnmappedTypeError:
            return None
    rule = (rules or _rules()).types.get(token)
    return rule.cloudformation if rule else None


def _pointers(schema: Mapping[str, Any], key: str) -> list[tuple[str, ...]]:
    return [tuple(p.split("/")[2:]) for p in schema.get(key, []) if p.startswith("/properties/")]


def _schema_path(schema: Mapping[str, Any], prop: str, rename: str | None) -> tuple[str, ...] | None:
    """The CloudFormation property path of a pulumi property, or None when the schema has no such property."""
    if rename:
        return tuple(rename.split("/"))
    by_lower = {name.lower(): name for name in schema.get("properties", {})}
    name = by_lower.get(prop.lower())
    return (name,) if name else None


def _judge_path(path: tuple[str, ...], schema: Mapping[str, Any], cfn: str) -> Decision:
    source = f"cloudformation:{cfn}"
    shown = "/".join(path)
    for key, action in (("createOnlyProperties", REPLACE), ("conditionalCreateOnlyProperties", MAY_REPLACE)):
        pointers = _pointers(schema, key)
        if any(path[: len(p)] == p for p in pointers):
            word = "create-only" if action == REPLACE else "conditionally create-only"
            return Decision(action, f"{cfn} {shown} is {word}", source)
        if any(p[: len(path)] == path for p in pointers):
            return Decision(MAY_REPLACE, f"{cfn} {shown} has create-only parts", source)
    return Decision(UPDATE, f"{cfn} {shown} is updatable", source)


def describe_source(source: str, rules: Rules | None = None) -> str:
    """What a decision's source is, in words (for the report's list of sources)."""
    if source.startswith("cloudformation:"):
        cfn = source.split(":", 1)[1]
        oracle = _oracle()
        where = oracle.cfn_types.get(cfn, "?") if oracle else "?"
        return (
            f"the CloudFormation registry schema of {cfn} (createOnlyProperties, conditionalCreateOnlyProperties), "
            f"as the pinned cfn-lint ships it: cfnlint/data/schemas/resources/{where}.json"
        )
    if source == NO_SOURCE:
        return "no source: the project cannot know, so the change may replace the resource"
    return (rules or _rules()).sources.get(source, source)


def decide(token: str, prop: str, new_inputs: Mapping[str, Any], rules: Rules | None = None) -> Decision:
    """How a change to top-level input ``prop`` of a ``token`` resource is applied (``new_inputs``: its new state)."""
    rules = rules or _rules()
    if prop in rules.always_update:
        return Decision(UPDATE, "tags are updated in place by the service's tagging API", "always-update")
    rule = rules.types.get(token)
    if rule:
        for override in rule.overrides.get(prop, ()):
            if all(new_inputs.get(k, False if v is False else None) == v for k, v in override.when.items()):
                condition = "".join(f" when {k} is {v}" for k, v in override.when.items())
                verb = "replaces the resource" if override.action == REPLACE else "updates in place"
                return Decision(override.action, f"a change of {prop} {verb}{condition}", override.source)
    cfn = cloudformation_type(token, rules)
    if cfn is None:
        return Decision(MAY_REPLACE, f"no source for {token}", NO_SOURCE)
    oracle = _oracle()
    schema = oracle.cfn_schema(cfn) if oracle else None
    if schema is None:
        return Decision(
            MAY_REPLACE, f"the CloudFormation schema of {cfn} is not available (make scan-setup)", NO_SOURCE
        )
    path = _schema_path(schema, prop, rule.renames.get(prop) if rule else None)
    if path is None:
        return Decision(MAY_REPLACE, f"{cfn} has no property matching {prop}", NO_SOURCE)
    return _judge_path(path, schema, cfn)


def worst(actions: Sequence[str]) -> str:
    """The most severe of ``actions`` (``update`` when there are none)."""
    return max(actions, key=SEVERITY.__getitem__, default=UPDATE)
