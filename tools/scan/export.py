"""The resources of a stack export the scans translate, and the ones they skip on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import stack_export
from tools.stack_export import Resource


@dataclass(frozen=True)
class Skipped:
    """A resource deliberately not translated, and why."""

    urn: str
    type: str
    why: str
    """The reason shown in the report (provider, stack, stack reference, component or pending delete)."""


@dataclass
class Export:
    """A parsed stack export: the resources to translate and the skipped ones."""

    source: str
    """Where the export was read from (its file path), for messages and findings."""
    resources: list[Resource]
    """The managed resources, their properties decoded ``plain``, to translate and scan."""
    skipped: list[Skipped]


def skip_reason(resource: Resource) -> str | None:
    """Why a resource is not translated, or None when it must be."""
    if resource.is_provider:
        return "provider"
    if resource.type == stack_export.STACK_TYPE:
        return "stack"
    if resource.type == stack_export.STACK_REFERENCE_TYPE:
        return "stack reference"
    if not resource.custom:
        return "component"
    if resource.delete:
        return "pending delete"
    return None


def parse_export(document: dict[str, Any], source: str = "<export>") -> Export:
    """Split a stack export into resources to translate and skipped ones."""
    stack_export.check(document, source)
    translated: list[Resource] = []
    skipped: list[Skipped] = []
    for resource in stack_export.resources(document, form="plain", where=source):
        why = skip_reason(resource)
        if why:
            skipped.append(Skipped(urn=resource.urn, type=resource.type, why=why))
        else:
            translated.append(resource)
    return Export(source=source, resources=translated, skipped=skipped)


def load_export(path: Path) -> Export:
    """Read and parse a stack export file."""
    return parse_export(stack_export.read(path), source=str(path))
