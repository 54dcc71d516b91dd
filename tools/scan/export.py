"""Reading a ``pulumi stack export`` (version 3): the resources to translate, and the ones skipped on purpose."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class _Unknown:
    """A value Pulumi does not know yet (a preview's computed output, or an encrypted secret)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN_VALUE: Any = _Unknown()


@dataclass(frozen=True)
class Resource:
    """One custom resource of an export, with its properties decoded."""

    urn: str
    """The Pulumi URN, which findings are reported against."""
    type: str
    """The Pulumi type token (``aws:s3/bucketV2:BucketV2``, ``aws-native:s3vectors:Index``)."""
    name: str
    """The Pulumi resource name (the URN's last segment)."""
    id: str
    """The provider's id of the resource; empty when it does not exist yet (a preview)."""
    inputs: dict[str, Any]
    """The decoded input properties, by engine (camelCase) name."""
    outputs: dict[str, Any]
    """The decoded output properties (the state), by engine (camelCase) name."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Input property name → the URNs of the resources its value came from."""

    @property
    def stack(self) -> str:
        """The stack name from the URN (``urn:pulumi:<stack>::<project>::...``)."""
        return self.urn.split("::")[0].removeprefix("urn:pulumi:")


@dataclass(frozen=True)
class Skipped:
    """A resource deliberately not translated, and why."""

    urn: str
    """The Pulumi URN of the skipped resource."""
    type: str
    """The Pulumi type token of the skipped resource."""
    why: str
    """The reason shown in the report (provider, stack, stack reference, component or pending delete)."""


@dataclass
class Export:
    """A parsed stack export: the resources to translate and the skipped ones."""

    source: str
    """Where the export was read from (its file path), for messages and findings."""
    resources: list[Resource]
    """The custom resources to translate and scan."""
    skipped: list[Skipped]
    """The resources deliberately not translated."""


def decode(value: Any) -> Any:
    """A property value with secrets unwrapped and unknowns, assets and archives replaced by UNKNOWN_VALUE."""
    if value == UNKNOWN:
        return UNKNOWN_VALUE
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            if "plaintext" in value:
                return decode(json.loads(value["plaintext"]))
            return UNKNOWN_VALUE  # encrypted with a key we do not have
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return UNKNOWN_VALUE  # code and files are not configuration the scanners check
        if sig == RESOURCE_REF_SIG:
            return decode(value.get("id", value.get("urn")))
        return {k: decode(v) for k, v in value.items()}
    return value


def skip_reason(state: dict[str, Any]) -> str | None:
    """Why a resource state is not translated, or None when it must be."""
    rtype = state["type"]
    if rtype.startswith("pulumi:providers:"):
        return "provider"
    if rtype == "pulumi:pulumi:Stack":
        return "stack"
    if rtype == "pulumi:pulumi:StackReference":
        return "stack reference"
    if not state.get("custom", False):
        return "component"
    return None


def parse_export(document: dict[str, Any], source: str = "<export>") -> Export:
    """Split a stack export into resources to translate and skipped ones."""
    if document.get("version") != 3 or "deployment" not in document:
        raise ValueError(f"{source}: not a version 3 stack export (`pulumi stack export` output)")
    resources: list[Resource] = []
    skipped: list[Skipped] = []
    for state in document["deployment"].get("resources") or []:
        why = skip_reason(state)
        if why:
            skipped.append(Skipped(urn=state["urn"], type=state["type"], why=why))
            continue
        if state.get("delete"):
            skipped.append(Skipped(urn=state["urn"], type=state["type"], why="pending delete"))
            continue
        resources.append(
            Resource(
                urn=state["urn"],
                type=state["type"],
                name=state["urn"].rsplit("::", 1)[-1],
                id=state.get("id") or "",
                inputs=decode(state.get("inputs") or {}),
                outputs=decode(state.get("outputs") or {}),
                property_dependencies=dict(state.get("propertyDependencies") or {}),
            )
        )
    return Export(source=source, resources=resources, skipped=skipped)


def load_export(path: Path) -> Export:
    """Read and parse a stack export file."""
    return parse_export(json.loads(path.read_text(encoding="utf-8")), source=str(path))


def contains_unknown(value: Any) -> bool:
    """True if a decoded property value holds a value unknown at preview anywhere inside it."""
    if value is UNKNOWN_VALUE:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False
